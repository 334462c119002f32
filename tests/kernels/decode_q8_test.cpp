// int8 decoding (kernels/decode.h): the quantization on hand-worked groups and its error bound;
// the naive twin against the float product of the dequantized inputs and weights in double; every
// path (AVX512-VNNI where the CPU has it, the portable loops) bit for bit against the naive twin on
// awkward sizes and group sizes, for any share of the columns, any range of the input groups and
// any row count, writing nothing outside its share; a packed column dequantized back.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/decode.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::available_isas;
using testing::randn;

TEST(QuantizeQ8, HandWorkedGroups) {
    // s = 1.27 / 127 = 0.01; q = round(x / s); a group of zeros has s = 0 and q = 0
    const std::vector<float> x = {0.5f, -1.27f, 0.0f, 1.27f, 0.0f, 0.0f, 0.0f, 0.0f};
    std::vector<std::int8_t> q(8);
    std::vector<float> s(2);
    quantize_q8(q.data(), s.data(), x.data(), 8, 4);
    EXPECT_FLOAT_EQ(s[0], 0.01f);
    EXPECT_EQ(s[1], 0.0f);
    EXPECT_EQ((std::vector<int>(q.begin(), q.end())),
              (std::vector<int>{50, -127, 0, 127, 0, 0, 0, 0}));
}

TEST(QuantizeQ8, ErrorIsAtMostHalfAStepAndReported) {
    for (int G : {1, 3, 32, 64}) {
        const int n = 4 * G;
        const auto x = randn(n, 5);
        std::vector<std::int8_t> q(n);
        std::vector<float> s(n / G);
        const float reported = quantize_q8(q.data(), s.data(), x.data(), n, G);
        float worst = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float err = std::fabs(x[i] - q[i] * s[i / G]);
            worst = std::max(worst, err);
            EXPECT_LE(err, 0.5f * s[i / G] * (1 + 1e-5f)) << "G=" << G << " i=" << i;
            EXPECT_LE(std::abs(int(q[i])), 127);
        }
        EXPECT_EQ(reported, worst) << "G=" << G;
    }
}

struct Quantized {
    std::vector<std::int8_t> q;  // (N,K)
    std::vector<float> s;        // (N, K/G)
};
Quantized quantize_rows(const std::vector<float>& w, int N, int K, int G) {
    Quantized r{std::vector<std::int8_t>(static_cast<size_t>(N) * K),
                std::vector<float>(static_cast<size_t>(N) * (K / G))};
    for (int n = 0; n < N; ++n) {
        quantize_q8(r.q.data() + static_cast<size_t>(n) * K,
                    r.s.data() + static_cast<size_t>(n) * (K / G),
                    w.data() + static_cast<size_t>(n) * K, K, G);
    }
    return r;
}

std::vector<std::uint8_t> packed_q8(const std::vector<float>& w, int K, int N, int G) {
    std::vector<std::uint8_t> p(packed_linear_q8_bytes(K, N, G), 0xAB);
    pack_linear_q8(p.data(), w.data(), K, N, G);
    return p;
}

// The definition: the float product of the dequantized inputs and weights, here in double (the
// naive twin sums each group exactly in int32, so only its float steps may differ).
TEST(LinearQ8, NaiveIsTheProductOfTheDequantizedValues) {
    const int M = 3, K = 96, N = 7;
    for (int G : {1, 4, 32}) {
        const auto x = randn(M * K, 1), w = randn(N * K, 2, 0.1), b = randn(N, 3);
        const Quantized qw = quantize_rows(w, N, K, G), qx = quantize_rows(x, M, K, G);
        std::vector<float> got(M * N);
        linear_q8_forward_naive(got.data(), x.data(), qw.q.data(), qw.s.data(), b.data(), M, K, N,
                                G);
        for (int m = 0; m < M; ++m) {
            for (int n = 0; n < N; ++n) {
                double want = b[n];
                for (int k = 0; k < K; ++k) {
                    want += double(qx.q[m * K + k]) * qx.s[m * (K / G) + k / G] *
                            double(qw.q[n * K + k]) * qw.s[n * (K / G) + k / G];
                }
                EXPECT_NEAR(got[m * N + n], want, 1e-5 * (1 + std::fabs(want))) << m << "," << n;
            }
        }
    }
}

// Every path's bits against the naive twin on the sliced inputs x[:, k0:k1] and w[:, k0:k1], only
// the columns [n0, n1) written.
void expect_q8_matches_naive(const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b, int M, int K, int N, int G, int n0,
                             int n1, int k0, int k1) {
    const int Ks = k1 - k0;
    std::vector<float> xs(static_cast<size_t>(M) * Ks), ws(static_cast<size_t>(N) * Ks);
    for (int m = 0; m < M; ++m) {
        std::copy_n(x.begin() + m * K + k0, Ks, xs.begin() + m * Ks);
    }
    for (int n = 0; n < N; ++n) std::copy_n(w.begin() + n * K + k0, Ks, ws.begin() + n * Ks);
    const Quantized qw = quantize_rows(ws, N, Ks, G);  // the groups of the slice are w's groups
    const std::vector<std::uint8_t> pw = packed_q8(w, K, N, G);
    for (bool with_bias : {true, false}) {
        const float* bias = with_bias ? b.data() : nullptr;
        std::vector<float> want(static_cast<size_t>(M) * N);
        linear_q8_forward_naive(want.data(), xs.data(), qw.q.data(), qw.s.data(), bias, M, Ks, N,
                                G);
        for (Isa isa : available_isas()) {
            std::vector<float> got(static_cast<size_t>(M) * N, -7.0f);
            linear_q8_forward_isa(isa, got.data(), x.data(), pw.data(), bias, M, K, N, G, n0, n1,
                                  k0, k1);
            for (int m = 0; m < M; ++m) {
                for (int n = 0; n < N; ++n) {
                    const float g = got[m * N + n];
                    const float e = n >= n0 && n < n1 ? want[m * N + n] : -7.0f;
                    ASSERT_EQ(std::bit_cast<std::uint32_t>(g), std::bit_cast<std::uint32_t>(e))
                        << isa_name(isa) << (with_bias ? " bias" : " no bias") << " row " << m
                        << " column " << n << ": " << g << " vs " << e;
                }
            }
        }
    }
}

TEST(LinearQ8, EveryPathGivesTheNaiveBitsOnAwkwardSizes) {
    for (int M : {1, 2, 5}) {
        for (auto [K, G] :
             {std::pair{4, 4}, {6, 2}, {12, 3}, {64, 64}, {96, 32}, {192, 64}, {40, 8}, {7, 1}}) {
            for (int N : {1, 5, 16, 17, 40, 70, 129, 300}) {  // 129, 300: past one 8-block tile
                SCOPED_TRACE(::testing::Message()
                             << "M=" << M << " K=" << K << " G=" << G << " N=" << N);
                const auto x = randn(M * K, 11), w = randn(N * K, 12, 0.1), b = randn(N, 13);
                expect_q8_matches_naive(x, w, b, M, K, N, G, 0, N, 0, K);
            }
        }
    }
}

// A team's shares: ranges of columns that cut blocks, ranges of groups (a partial sum over some
// inputs), many rows or one.
TEST(LinearQ8, SharesOfColumnsAndGroupsAreTheSlicesProducts) {
    const int K = 192, N = 300;  // 19 blocks: two 8-block tiles, then 4 and 1 blocks
    for (int G : {4, 32, 64}) {
        for (int M : {1, 3, 9}) {
            const auto x = randn(M * K, 21), w = randn(N * K, 22, 0.1), b = randn(N, 23);
            for (auto [n0, n1] : {std::pair{0, 1},
                                  {3, 19},
                                  {16, 48},
                                  {17, 70},
                                  {69, 70},
                                  {5, 6},
                                  {100, 260},
                                  {128, 256},
                                  {250, 300}}) {
                for (auto [g0, g1] : {std::pair{0, K / G}, {1, K / G}, {0, 1}, {1, 2}}) {
                    SCOPED_TRACE(::testing::Message()
                                 << "G=" << G << " M=" << M << " columns " << n0 << ".." << n1
                                 << " groups " << g0 << ".." << g1);
                    expect_q8_matches_naive(x, w, b, M, K, N, G, n0, n1, g0 * G, g1 * G);
                }
            }
        }
    }
}

TEST(LinearQ8, PackingReportsItsErrorAndAColumnDequantizesBack) {
    const int K = 96, N = 21, G = 32;
    const auto w = randn(N * K, 31, 0.1);
    std::vector<std::uint8_t> p(packed_linear_q8_bytes(K, N, G));
    const float err = pack_linear_q8(p.data(), w.data(), K, N, G);
    const Quantized qw = quantize_rows(w, N, K, G);
    float worst = 0.0f;
    for (int n = 0; n < N; ++n) {
        std::vector<float> column(K);
        unpack_column_q8(column.data(), p.data(), K, N, G, n);
        for (int k = 0; k < K; ++k) {
            const float want = qw.q[n * K + k] * qw.s[n * (K / G) + k / G];
            ASSERT_EQ(column[k], want) << "column " << n << " k " << k;
            worst = std::max(worst, std::fabs(w[n * K + k] - want));
        }
    }
    EXPECT_EQ(err, worst);
    EXPECT_GT(err, 0.0f);
}

}  // namespace
}  // namespace wiggle
