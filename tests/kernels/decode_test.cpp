// Decode kernels: the naive twins against the training kernels' references (the same math), the
// fast kernels against the naive twins in double on awkward sizes and on every instruction set the
// machine has, and the same bits however the work is split across a team's column and head shares
// and across row counts (thread counts: tests/nn/gpt_inference_test.cpp).
#include "kernels/decode.h"

#include <gtest/gtest.h>

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

TEST(LinearPacked, FastMatchesNaiveOnAwkwardSizes) {
    for (int M : {1, 2, 3, 4, 5, 8, 33}) {
        for (int K : {1, 7, 16, 17, 128, 131, 512}) {
            for (int N : {1, 3, 8, 13, 16, 17, 65, 129, 384}) {
                SCOPED_TRACE(::testing::Message() << "M=" << M << " K=" << K << " N=" << N);
                const auto x = randn(M * K, 1), w = randn(N * K, 2, 0.1), b = randn(N, 3);
                const auto xd = testing::cast<double>(x), wd = testing::cast<double>(w),
                           bd = testing::cast<double>(b);
                const std::vector<float> pw = packed(w, K, N);
                for (bool with_bias : {true, false}) {
                    std::vector<double> want(M * N);
                    linear_forward_naive(want.data(), xd.data(), wd.data(),
                                         with_bias ? bd.data() : nullptr, M, K, N);
                    for (Isa isa : available_isas()) {
                        std::vector<float> got(M * N, -7.0f);
                        linear_packed_forward_isa(isa, got.data(), x.data(), pw.data(),
                                                  with_bias ? b.data() : nullptr, M, K, N, 0, N);
                        EXPECT_TRUE(all_close(got, want, 1e-5, 1e-5))
                            << isa_name(isa) << (with_bias ? " bias" : " no bias");
                    }
                }
            }
        }
    }
}

// However a team splits the columns, and however many rows come at once, every output gets the
// same bits (each is summed over k in order), and a share writes nothing outside its columns.
TEST(LinearPacked, SameBitsForAnySplitOrRowCountAndNothingElseWritten) {
    const int K = 131, N = 100;
    for (int M : {1, 2, 5, 9}) {
        const auto x = randn(M * K, 14), w = randn(N * K, 15, 0.1), b = randn(N, 16);
        const std::vector<float> pw = packed(w, K, N);
        for (Isa isa : available_isas()) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " M=" << M);
            std::vector<float> whole(M * N);
            linear_packed_forward_isa(isa, whole.data(), x.data(), pw.data(), b.data(), M, K, N, 0,
                                      N);
            for (int m = 0; m < M; ++m) {  // one row at a time
                std::vector<float> row(N);
                linear_packed_forward_isa(isa, row.data(), x.data() + m * K, pw.data(), b.data(), 1,
                                          K, N, 0, N);
                for (int n = 0; n < N; ++n) ASSERT_EQ(row[n], whole[m * N + n]) << m << "," << n;
            }
            for (auto [n0, n1] :
                 {std::pair{0, 1}, {3, 19}, {16, 48}, {17, 100}, {99, 100}, {40, 40}, {5, 6}}) {
                SCOPED_TRACE(::testing::Message() << "columns " << n0 << ".." << n1);
                std::vector<float> part(M * N, -7.0f);
                linear_packed_forward_isa(isa, part.data(), x.data(), pw.data(), b.data(), M, K, N,
                                          n0, n1);
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
            for (int hs : {1, 5, 16, 32, 33}) {
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
