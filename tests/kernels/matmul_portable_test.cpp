// The portable gemm's bits: gemm_isa(Isa::Generic) against a plain scalar statement of its
// summation order (below), bit for bit, and against the naive gemm in double within rounding.
// Natively this checks GenericKernel; the browser build compiles this same file into a node-run
// test (web/CMakeLists.txt, run by scripts/test-web) where Isa::Generic is the WebAssembly
// SIMD128 kernel (kernels/matmul_wasm.cpp). Both equal to the reference means the page computes
// the native portable build's bits, which page_test.js checks end to end on the baby GPT.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/kernel_testing.h"
#include "kernels/matmul.h"

namespace wiggle::kernels {
namespace {

// The portable gemm's arithmetic, one C element at a time: per K block of kGemmPortableKc, a
// float sum from +0 of a·b (multiply, then add) in k order; then C = sum (+ bias) for the first
// block without accumulate, else C += sum.
void gemm_portable_reference(float* C, const float* A, const float* B, const float* bias, int M,
                             int N, int K, bool trans_a, bool trans_b, bool accumulate) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float& c = C[static_cast<long>(i) * N + j];
            if (K == 0 && !accumulate) c = bias ? bias[j] : 0.0f;
            for (int k0 = 0; k0 < K; k0 += kGemmPortableKc) {
                float sum = 0.0f;
                for (int k = k0; k < K && k < k0 + kGemmPortableKc; k++) {
                    const float a =
                        trans_a ? A[static_cast<long>(k) * M + i] : A[static_cast<long>(i) * K + k];
                    const float b =
                        trans_b ? B[static_cast<long>(j) * K + k] : B[static_cast<long>(k) * N + j];
                    const float p = a * b;
                    sum = sum + p;
                }
                c = k0 == 0 && !accumulate ? (bias ? sum + bias[j] : sum) : c + sum;
            }
        }
    }
}

using wiggle::testing::random_floats;

uint32_t bits(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    return u;
}

// "1.5 (0x3fc00000)": the value, to the last digit, and its bits.
std::string show(float x) {
    char text[48];
    std::snprintf(text, sizeof text, "%.9g (0x%08x)", x, static_cast<unsigned>(bits(x)));
    return text;
}

// got == want bit for bit, else the first differing element, both values and their bits.
::testing::AssertionResult same_bits(const std::vector<float>& got, const std::vector<float>& want,
                                     int N) {
    for (size_t e = 0; e < want.size(); e++) {
        if (bits(got[e]) != bits(want[e])) {
            return ::testing::AssertionFailure() << "C[" << e / N << "][" << e % N << "]: got "
                                                 << show(got[e]) << ", expected " << show(want[e]);
        }
    }
    return ::testing::AssertionSuccess();
}

struct Shape {
    int M, N, K;
};

// Awkward sizes: 1, primes around the tiles (4×8, 4×16), 257 and 600 (K blocks of 256 and a
// partial one, N beyond a 512-column block).
const Shape kShapes[] = {
    {1, 1, 1},    {1, 7, 13},   {7, 13, 33},   {13, 33, 65},  {33, 65, 257},
    {65, 257, 1}, {257, 1, 7},  {257, 65, 13}, {65, 33, 600}, {33, 257, 300},
    {7, 1, 257},  {1, 257, 65}, {13, 13, 513}, {6, 600, 33},  {64, 1031, 17},
};

std::string name(const Shape& s, bool ta, bool tb, bool acc, bool bias) {
    return "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
           " trans_a=" + std::to_string(ta) + " trans_b=" + std::to_string(tb) +
           " accumulate=" + std::to_string(acc) + " bias=" + std::to_string(bias);
}

TEST(MatmulPortable, GemmHasTheReferenceBitsAllTransposes) {
    for (const Shape& s : kShapes) {
        const auto A = random_floats(static_cast<size_t>(s.M) * s.K, 1);
        const auto B = random_floats(static_cast<size_t>(s.K) * s.N, 2);
        const auto C0 = random_floats(static_cast<size_t>(s.M) * s.N, 3);
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                for (int acc = 0; acc < 2; acc++) {
                    std::vector<float> want = C0, got = C0;
                    gemm_portable_reference(want.data(), A.data(), B.data(), nullptr, s.M, s.N, s.K,
                                            ta, tb, acc);
                    gemm_isa(Isa::Generic, got.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb,
                             acc);
                    EXPECT_TRUE(same_bits(got, want, s.N)) << name(s, ta, tb, acc, false);

                    // and the naive twin in double, within float rounding of K terms
                    std::vector<double> exact(C0.begin(), C0.end());
                    const std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end());
                    gemm_naive<double>(exact.data(), Ad.data(), Bd.data(), s.M, s.N, s.K, ta, tb,
                                       acc);
                    double worst = 0;
                    for (size_t e = 0; e < exact.size(); e++) {
                        worst = std::max(worst, std::fabs(got[e] - exact[e]));
                    }
                    EXPECT_LE(worst, 1e-6 * (s.K + 4) + 1e-6) << name(s, ta, tb, acc, false);
                }
            }
        }
    }
}

TEST(MatmulPortable, LinearForwardHasTheReferenceBitsWithBias) {
    for (const Shape& s : kShapes) {
        // out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N)
        const auto inp = random_floats(static_cast<size_t>(s.M) * s.K, 4);
        const auto weight = random_floats(static_cast<size_t>(s.N) * s.K, 5);
        const auto bias = random_floats(static_cast<size_t>(s.N), 6);
        for (bool with_bias : {false, true}) {
            const float* b = with_bias ? bias.data() : nullptr;
            std::vector<float> want(static_cast<size_t>(s.M) * s.N), got(want.size(), 7.0f);
            gemm_portable_reference(want.data(), inp.data(), weight.data(), b, s.M, s.N, s.K, false,
                                    true, false);
            matmul_forward_isa(Isa::Generic, got.data(), inp.data(), weight.data(), b, s.M, s.K,
                               s.N);
            EXPECT_TRUE(same_bits(got, want, s.N)) << name(s, false, true, false, with_bias);
        }
    }
}

// Each sum starts at +0, as the reference's: products that are all −0 (0 · −1) sum to +0, not −0.
TEST(MatmulPortable, SumsStartAtPositiveZero) {
    const int M = 5, N = 9, K = 3;
    const std::vector<float> A(M * K, 0.0f), B(K * N, -1.0f);
    std::vector<float> C(M * N, 1.0f);
    gemm_isa(Isa::Generic, C.data(), A.data(), B.data(), M, N, K, false, false, false);
    for (int e = 0; e < M * N; e++) {
        ASSERT_FALSE(std::signbit(C[e])) << "C[" << e / N << "][" << e % N << "] is " << C[e];
    }
}

}  // namespace
}  // namespace wiggle::kernels
