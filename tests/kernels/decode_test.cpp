// Decode kernels: the naive twins against the training kernels' references (the same math), the
// fast kernels against the naive twins in double on awkward sizes and on every instruction set the
// machine has, and the same bits however the work is split across a team's column and head shares
// and across row counts (thread counts: tests/nn/gpt_inference_test.cpp). bf16 weights: the
// rounding against hand-worked bit patterns, and the float kernel's bits on the rounded weights.
#include "kernels/decode.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include "fixture.h"
#include "kernels/attention.h"
#include "kernels/kernel_testing.h"
#include "kernels/matmul.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::all_close;
using testing::randn;

using testing::available_isas;

TEST(LinearPacked, NaiveIsTheLinearLayer) {
    const int M = 3, K = 7, N = 5;
    const auto x = randn<double>(M * K, 1), w = randn<double>(N * K, 2), b = randn<double>(N, 3);
    for (bool with_bias : {true, false}) {
        std::vector<double> got(M * N), want(M * N);
        linear_forward_naive(got.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, M, K,
                             N);
        matmul_forward_naive(want.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, M, K,
                             N);
        EXPECT_TRUE(all_close(got, want, 1e-14, 1e-14));
    }
}

std::vector<float> packed(const std::vector<float>& w, int K, int N) {
    std::vector<float> p(packed_linear_size(K, N), -7.0f);
    pack_linear(p.data(), w.data(), K, N);
    return p;
}

TEST(LinearPacked, PackingIsBlocksOf16ColumnsZeroPadded) {
    const int K = 3, N = 18;
    std::vector<float> w(N * K);
    for (int i = 0; i < N * K; ++i) w[i] = static_cast<float>(i);
    const std::vector<float> p = packed(w, K, N);
    ASSERT_EQ(p.size(), 2u * K * kPackedCols);
    for (int n = 0; n < 2 * kPackedCols; ++n) {
        for (int k = 0; k < K; ++k) {
            const float got = p[(n / kPackedCols) * K * kPackedCols + k * kPackedCols + n % 16];
            EXPECT_EQ(got, n < N ? w[n * K + k] : 0.0f) << "column " << n << " k " << k;
        }
    }
}

// The packed product over the inputs [k0, k1) of x (M,K) and w (N,K), on every ISA, with and
// without a bias, against the naive layer in double on the sliced inputs x[:, k0:k1] and w[:,
// k0:k1].
void expect_packed_matches_naive(const std::vector<float>& x, const std::vector<float>& w,
                                 const std::vector<float>& b, int M, int K, int N, int k0, int k1) {
    const int Ks = k1 - k0;
    std::vector<double> xs(M * Ks), ws(N * Ks);
    for (int m = 0; m < M; ++m) {
        for (int k = k0; k < k1; ++k) xs[m * Ks + k - k0] = x[m * K + k];
    }
    for (int n = 0; n < N; ++n) {
        for (int k = k0; k < k1; ++k) ws[n * Ks + k - k0] = w[n * K + k];
    }
    const auto bd = testing::cast<double>(b);
    const std::vector<float> pw = packed(w, K, N);
    for (bool with_bias : {true, false}) {
        std::vector<double> want(M * N);
        linear_forward_naive(want.data(), xs.data(), ws.data(), with_bias ? bd.data() : nullptr, M,
                             Ks, N);
        for (Isa isa : available_isas()) {
            std::vector<float> got(M * N, -7.0f);
            linear_packed_forward_isa(isa, got.data(), x.data(), pw.data(),
                                      with_bias ? b.data() : nullptr, M, K, N, 0, N, k0, k1);
            EXPECT_TRUE(all_close(got, want, 1e-5, 1e-5))
                << isa_name(isa) << (with_bias ? " bias" : " no bias");
        }
    }
}

TEST(LinearPacked, FastMatchesNaiveOnAwkwardSizes) {
    for (int M : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33}) {  // the row tiles: 1..4, 5..8 and beyond
        for (int K : {1, 7, 16, 17, 128, 131, 512}) {
            for (int N : {1, 3, 8, 13, 16, 17, 65, 129, 384}) {
                SCOPED_TRACE(::testing::Message() << "M=" << M << " K=" << K << " N=" << N);
                const auto x = randn(M * K, 1), w = randn(N * K, 2, 0.1), b = randn(N, 3);
                expect_packed_matches_naive(x, w, b, M, K, N, 0, K);
            }
        }
    }
}

// However a team splits the columns, and however many rows come at once, every output gets the
// same bits (each is summed over k in order), and a share writes nothing outside its columns.
TEST(LinearPacked, SameBitsForAnySplitOrRowCountAndNothingElseWritten) {
    const int K = 131, N = 100;
    for (int M : {1, 2, 3, 4, 5, 8, 9, 19}) {
        const auto x = randn(M * K, 14), w = randn(N * K, 15, 0.1), b = randn(N, 16);
        const std::vector<float> pw = packed(w, K, N);
        for (Isa isa : available_isas()) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " M=" << M);
            std::vector<float> whole(M * N);
            linear_packed_forward_isa(isa, whole.data(), x.data(), pw.data(), b.data(), M, K, N, 0,
                                      N, 0, K);
            for (int m = 0; m < M; ++m) {  // one row at a time
                std::vector<float> row(N);
                linear_packed_forward_isa(isa, row.data(), x.data() + m * K, pw.data(), b.data(), 1,
                                          K, N, 0, N, 0, K);
                for (int n = 0; n < N; ++n) ASSERT_EQ(row[n], whole[m * N + n]) << m << "," << n;
            }
            for (auto [n0, n1] :
                 {std::pair{0, 1}, {3, 19}, {16, 48}, {17, 100}, {99, 100}, {40, 40}, {5, 6}}) {
                SCOPED_TRACE(::testing::Message() << "columns " << n0 << ".." << n1);
                std::vector<float> part(M * N, -7.0f);
                linear_packed_forward_isa(isa, part.data(), x.data(), pw.data(), b.data(), M, K, N,
                                          n0, n1, 0, K);
                for (int m = 0; m < M; ++m) {
                    for (int n = 0; n < N; ++n) {
                        const float want = n >= n0 && n < n1 ? whole[m * N + n] : -7.0f;
                        ASSERT_EQ(part[m * N + n], want) << "row " << m << " column " << n;
                    }
                }
            }
        }
    }
}

// The IEEE rounding, ties to even, on bit patterns worked by hand (PyTorch's .to(torch.bfloat16)
// gives the same): halfway cases, just off halfway, the carry into the exponent, overflow to inf,
// NaNs (a signaling NaN whose payload lies in the low half must not become inf), zeros and
// subnormals.
TEST(Bf16, RoundsToNearestTiesToEven) {
    const std::pair<uint32_t, uint16_t> cases[] = {
        {0x3F800000u, 0x3F80u},  // 1
        {0x3F808000u, 0x3F80u},  // halfway between 0x3F80 and 0x3F81: to the even one
        {0x3F818000u, 0x3F82u},  // halfway between 0x3F81 and 0x3F82: to the even one
        {0x3F808001u, 0x3F81u},  // just above halfway
        {0x3F807FFFu, 0x3F80u},  // just below
        {0xBF808001u, 0xBF81u},  // negative
        {0x3FFFFFFFu, 0x4000u},  // the carry rounds up into the exponent: 2
        {0x7F7FFFFFu, 0x7F80u},  // the largest float rounds to inf
        {0x7F800000u, 0x7F80u},  // inf
        {0xFF800000u, 0xFF80u},  // −inf
        {0x7FC00000u, 0x7FC0u},  // quiet NaN
        {0x7F800001u, 0x7FC0u},  // signaling NaN, payload in the low half only: still NaN
        {0x00000001u, 0x0000u},  // the smallest subnormal rounds to 0
        {0x00008000u, 0x0000u},  // halfway to the smallest bf16 subnormal: to the even 0
        {0x00018000u, 0x0002u},  // halfway between subnormals 1 and 2: to the even 2
        {0x80000000u, 0x8000u},  // −0
    };
    for (auto [in, want] : cases) {
        const uint16_t got = static_cast<uint16_t>(to_bf16(std::bit_cast<float>(in)));
        EXPECT_EQ(got, want) << std::hex << "0x" << in;
        // widening is exact: the bf16's bits become the float's upper half
        EXPECT_EQ(std::bit_cast<uint32_t>(to_float(bf16(want))), uint32_t{want} << 16);
    }
}

std::vector<bf16> packed_bf16(const std::vector<float>& w, int K, int N) {
    std::vector<bf16> p(packed_linear_bf16_size(K, N), bf16(0x7FC0));  // NaN: must be overwritten
    pack_linear_bf16(p.data(), w.data(), K, N);
    return p;
}

TEST(LinearPacked, Bf16PackingPairsTheRowsOfEachColumnZeroPadded) {
    const int K = 3, N = 18, Kp = 4;  // K odd: a zero row pads it to even
    std::vector<float> w(N * K);
    for (int i = 0; i < N * K; ++i)
        w[i] = 1.0f + static_cast<float>(i) / 1024.0f;  // needs rounding
    const std::vector<bf16> p = packed_bf16(w, K, N);
    ASSERT_EQ(p.size(), 2u * Kp * kPackedCols);
    for (int n = 0; n < 2 * kPackedCols; ++n) {
        for (int k = 0; k < Kp; ++k) {
            const bf16 got = p[(n / kPackedCols) * Kp * kPackedCols + (k / 2) * 2 * kPackedCols +
                               (n % 16) * 2 + k % 2];
            const bf16 want = n < N && k < K ? to_bf16(w[n * K + k]) : bf16(0);
            EXPECT_EQ(got, want) << "column " << n << " k " << k;
        }
    }
}

// A range of the inputs [k0, k1): the partial sum a team member computes over the inputs it owns,
// against the naive layer on those inputs alone (the sliced x and weight), with and without a
// bias; the empty range gives the bias alone.
TEST(LinearPacked, InputRangesAreTheProductOfTheSlices) {
    for (int M : {1, 3, 6}) {
        for (int K : {7, 33, 128}) {
            const int N = 37;
            const auto x = randn(M * K, 31), w = randn(N * K, 32, 0.1), b = randn(N, 33);
            for (auto [k0, k1] : {std::pair{0, K}, {1, K}, {K / 3, K - K / 4}, {2, 5}, {4, 4}}) {
                SCOPED_TRACE(::testing::Message()
                             << "M=" << M << " K=" << K << " inputs " << k0 << ".." << k1);
                expect_packed_matches_naive(x, w, b, M, K, N, k0, k1);
            }
        }
    }
}

// bf16 weights give exactly the bits of the float kernel on the same weights rounded to bf16 (the
// same multiply-adds in the same order: two rows per load change nothing), for any size (odd K
// included), row count, share of the columns and range of the inputs (odd first or last row: half
// a pair); the float kernel is checked against the naive layer above.
TEST(LinearPacked, Bf16GivesTheFloatKernelsBitsOnTheRoundedWeights) {
    for (int M : {1, 2, 5, 33}) {
        for (int K : {1, 2, 7, 16, 17, 128, 131}) {
            for (int N : {1, 13, 16, 17, 65, 129}) {
                SCOPED_TRACE(::testing::Message() << "M=" << M << " K=" << K << " N=" << N);
                const auto x = randn(M * K, 21), w = randn(N * K, 22, 0.1), b = randn(N, 23);
                std::vector<float> rounded(w.size());
                for (size_t i = 0; i < w.size(); ++i) rounded[i] = to_float(to_bf16(w[i]));
                const std::vector<float> pf = packed(rounded, K, N);
                const std::vector<bf16> pb = packed_bf16(w, K, N);
                const int n0 = N / 3, n1 = N - N / 4;  // a share that cuts vectors
                for (auto [k0, k1] : {std::pair{0, K}, {K / 3, K - K / 4}, {1, K}}) {
                    SCOPED_TRACE(::testing::Message() << "inputs " << k0 << ".." << k1);
                    for (Isa isa : available_isas()) {
                        std::vector<float> want(M * N, -7.0f), got(M * N, -7.0f);
                        linear_packed_forward_isa(isa, want.data(), x.data(), pf.data(), b.data(),
                                                  M, K, N, n0, n1, k0, k1);
                        linear_packed_forward_isa(isa, got.data(), x.data(), pb.data(), b.data(), M,
                                                  K, N, n0, n1, k0, k1);
                        for (int i = 0; i < M * N; ++i) {
                            ASSERT_EQ(std::bit_cast<uint32_t>(got[i]),
                                      std::bit_cast<uint32_t>(want[i]))
                                << isa_name(isa) << " output " << i << ": " << got[i] << " vs "
                                << want[i];
                        }
                    }
                }
            }
        }
    }
}

// The keys of qkv (T,3C) transposed into kt (C, ldk), and its values copied into v (T, C).
template <typename F>
void split_cache(std::vector<F>& kt, std::vector<F>& v, const std::vector<F>& qkv, int T, int C,
                 int ldk) {
    kt.assign(static_cast<size_t>(C) * ldk, F(1e30));  // unused columns: poison
    v.assign(static_cast<size_t>(T) * C, F(0));
    for (int t = 0; t < T; ++t) {
        for (int c = 0; c < C; ++c) {
            kt[static_cast<size_t>(c) * ldk + t] = qkv[static_cast<size_t>(t) * 3 * C + C + c];
            v[static_cast<size_t>(t) * C + c] = qkv[static_cast<size_t>(t) * 3 * C + 2 * C + c];
        }
    }
}

TEST(AttentionDecode, NaiveIsTheLastRowOfCausalAttention) {
    const int T = 6, NH = 3, hs = 4, C = NH * hs;
    const auto qkv = randn<double>(T * 3 * C, 7);
    std::vector<double> full(T * C), full_att(NH * T * T);
    attention_forward_naive(full.data(), full_att.data(), qkv.data(), 1, T, C, NH);
    for (int P = 1; P <= T; ++P) {  // the query of position P−1 over positions 0..P−1
        SCOPED_TRACE(::testing::Message() << "P=" << P);
        std::vector<double> kt, v;
        split_cache(kt, v, qkv, T, C, T + 2);
        const double* q = qkv.data() + static_cast<size_t>(P - 1) * 3 * C;
        std::vector<double> out(C), att(NH * P);
        attention_decode_forward_naive(out.data(), att.data(), q, kt.data(), v.data(), P, NH, hs,
                                       T + 2);
        const std::vector<double> want(full.begin() + (P - 1) * C, full.begin() + P * C);
        EXPECT_TRUE(all_close(out, want, 1e-12, 1e-12));
        for (int h = 0; h < NH; ++h) {
            for (int p = 0; p < P; ++p) {
                EXPECT_NEAR(att[h * P + p], full_att[(h * T + (P - 1)) * T + p], 1e-12);
            }
        }
    }
}

TEST(AttentionDecode, FastMatchesNaiveOnAwkwardSizes) {
    for (int P : {1, 2, 5, 16, 17, 33, 64, 100}) {
        for (int NH : {1, 3, 4}) {
            for (int hs : {1, 5, 16, 32, 33, 64, 80}) {
                for (int pad : {0, 3}) {
                    SCOPED_TRACE(::testing::Message()
                                 << "P=" << P << " NH=" << NH << " hs=" << hs << " ldk=P+" << pad);
                    const int C = NH * hs, ldk = P + pad;
                    // scale 2: peaked softmaxes as well as flat ones
                    const auto qkv = randn(P * 3 * C, 8, 2.0);
                    std::vector<float> kt, v;
                    split_cache(kt, v, qkv, P, C, ldk);
                    std::vector<double> ktd, vd;
                    split_cache(ktd, vd, testing::cast<double>(qkv), P, C, ldk);
                    const float* q = qkv.data() + static_cast<size_t>(P - 1) * 3 * C;
                    const std::vector<double> qd(q, q + C);
                    std::vector<double> want(C), want_att(NH * P);
                    attention_decode_forward_naive(want.data(), want_att.data(), qd.data(),
                                                   ktd.data(), vd.data(), P, NH, hs, ldk);
                    for (Isa isa : available_isas()) {
                        std::vector<float> out(C, -7.0f), att(NH * P, -7.0f);
                        attention_decode_forward_isa(isa, out.data(), att.data(), q, kt.data(),
                                                     v.data(), P, NH, hs, ldk, 0, NH);
                        EXPECT_TRUE(all_close(out, want, 1e-5, 1e-5)) << isa_name(isa) << " out";
                        EXPECT_TRUE(all_close(att, want_att, 1e-5, 1e-6))
                            << isa_name(isa) << " att";
                    }
                }
            }
        }
    }
}

// A cache kept in bf16 (int8 decoding's): widening is exact, so the bf16 kernel gives the float
// kernel's bits on the widened cache, on every instruction set and head range.
TEST(AttentionDecode, Bf16CacheGivesTheFloatKernelsBitsOnTheWidenedCache) {
    for (int P : {1, 2, 5, 16, 17, 33, 100}) {
        for (int NH : {1, 3}) {
            for (int hs : {1, 5, 16, 33}) {
                SCOPED_TRACE(::testing::Message() << "P=" << P << " NH=" << NH << " hs=" << hs);
                const int C = NH * hs, ldk = P + 3;
                const auto qkv = randn(P * 3 * C, 9, 2.0);
                std::vector<float> kt, v;
                split_cache(kt, v, qkv, P, C, ldk);
                std::vector<bf16> kt16(kt.size()), v16(v.size());
                to_bf16_naive(kt16.data(), kt.data(), static_cast<long>(kt.size()));
                to_bf16_naive(v16.data(), v.data(), static_cast<long>(v.size()));
                for (size_t i = 0; i < kt.size(); ++i) kt[i] = to_float(kt16[i]);
                for (size_t i = 0; i < v.size(); ++i) v[i] = to_float(v16[i]);
                const float* q = qkv.data() + static_cast<size_t>(P - 1) * 3 * C;
                for (Isa isa : available_isas()) {
                    for (auto [h0, h1] : {std::pair{0, NH}, {NH - 1, NH}}) {
                        std::vector<float> want(C, -7.0f), want_att(NH * P, -7.0f);
                        std::vector<float> out(C, -7.0f), att(NH * P, -7.0f);
                        attention_decode_forward_isa(isa, want.data(), want_att.data(), q,
                                                     kt.data(), v.data(), P, NH, hs, ldk, h0, h1);
                        attention_decode_forward_isa(isa, out.data(), att.data(), q, kt16.data(),
                                                     v16.data(), P, NH, hs, ldk, h0, h1);
                        EXPECT_EQ(out, want) << isa_name(isa) << " heads " << h0 << ".." << h1;
                        EXPECT_EQ(att, want_att) << isa_name(isa) << " heads " << h0 << ".." << h1;
                    }
                }
            }
        }
    }
}

// A team member's share: heads [h0, h1) only, the same bits as all heads, nothing else written.
TEST(AttentionDecode, HeadRangesGiveTheSameBitsAndTouchNothingElse) {
    const int P = 37, NH = 5, hs = 20, C = NH * hs, ldk = 40;
    const auto qkv = randn(P * 3 * C, 17);
    std::vector<float> kt, v;
    split_cache(kt, v, qkv, P, C, ldk);
    const float* q = qkv.data() + static_cast<size_t>(P - 1) * 3 * C;
    for (Isa isa : available_isas()) {
        std::vector<float> out(C), att(NH * P);
        attention_decode_forward_isa(isa, out.data(), att.data(), q, kt.data(), v.data(), P, NH, hs,
                                     ldk, 0, NH);
        for (auto [h0, h1] : {std::pair{0, 1}, {1, 3}, {4, 5}, {2, 2}}) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " heads " << h0 << ".." << h1);
            std::vector<float> part(C, -7.0f), part_att(NH * P, -7.0f);
            attention_decode_forward_isa(isa, part.data(), part_att.data(), q, kt.data(), v.data(),
                                         P, NH, hs, ldk, h0, h1);
            for (int c = 0; c < C; ++c) {
                const int h = c / hs;
                ASSERT_EQ(part[c], h >= h0 && h < h1 ? out[c] : -7.0f) << "channel " << c;
            }
            for (int i = 0; i < NH * P; ++i) {
                const int h = i / P;
                ASSERT_EQ(part_att[i], h >= h0 && h < h1 ? att[i] : -7.0f) << "att " << i;
            }
        }
    }
}

}  // namespace
}  // namespace wiggle
