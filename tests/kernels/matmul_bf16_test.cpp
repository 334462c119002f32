// Tests of the bf16 gemm (kernels/matmul_bf16.h). Oracles: gemm_bf16_naive (the definition: a
// running float sum, pairs along K, the odd product first) and gemm_bf16_tiles_naive (AMX's
// order: chunks of 32, even and odd products apart), each checked by hand on a small product;
// the fp32 gemm on the same rounded inputs (a different summation order, so within a bound
// derived from K); and the thread count (bit-identical results).
//
// What "equal" means here: the portable path and the naive twin do the same float operations in
// the same order, so they are bit-equal on any input. vdpbf16ps does them in that order too
// (Intel SDM; measured bit-equal on Zen 4) but treats denormal inputs as zero and flushes denormal
// sums to zero: on data whose products and partial sums stay clear of the denormal range (random
// values in [-1, 1]: the smallest nonzero partial sum is far above 2^-126) it is bit-equal as
// well, and on denormal data it is tested within the flushed amounts.
#include "kernels/matmul_bf16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/kernel_testing.h"
#include "kernels/matmul.h"

namespace wiggle::kernels {
namespace {

std::vector<bf16> random_bf16(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<bf16> v(n);
    for (auto& x : v) x = to_bf16(dist(rng));
    return v;
}

std::vector<float> widen(const std::vector<bf16>& v) {
    std::vector<float> out(v.size());
    to_float(out.data(), v.data(), static_cast<long>(v.size()));
    return out;
}

// The paths to test: the portable one, and vdpbf16ps where the CPU has it.
std::vector<Isa> bf16_paths() {
    std::vector<Isa> paths = {Isa::Generic};
    if (bf16_instructions()) paths.push_back(Isa::Avx512);
    return paths;
}

struct Shape {
    int M, N, K;
};
// Awkward shapes: 1s, K odd, sizes just off the tiles (4×16 portable, 6×64 AVX-512), K across
// the K blocks (N = 300, K = 1100: two blocks on every path), N across several panels and N
// blocks, and a row stride of 4 KiB (K = 2048: op(A) = A is packed, not read in place).
const Shape kShapes[] = {{1, 1, 1},      {1, 1, 2},      {1, 17, 3},     {5, 1, 7},
                         {2, 3, 0},      {7, 65, 33},    {6, 64, 256},   {13, 64, 257},
                         {37, 129, 300}, {12, 200, 513}, {97, 70, 64},   {64, 130, 601},
                         {3, 2100, 9},   {8, 70, 2048},  {5, 300, 1100}, {4, 40, 1500}};

std::string describe(const std::string& path, const Shape& s, bool ta, bool tb, bool acc) {
    return path + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
           " K=" + std::to_string(s.K) + (ta ? " Aᵀ" : " A") + (tb ? " Bᵀ" : " B") +
           (acc ? " accumulate" : "");
}

TEST(GemmBf16, NaiveMatchesHandComputedProduct) {
    // A (2,3) · B (3,2), small integers (exact in bf16 and in every sum)
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {7, 8, 9, 10, 11, 12};
    bf16 A[6], B[6];
    for (int i = 0; i < 6; i++) A[i] = to_bf16(a[i]), B[i] = to_bf16(b[i]);
    float C[4] = {1, 1, 1, 1};
    gemm_bf16_naive(C, A, B, 2, 2, 3, false, false, false);
    EXPECT_EQ(C[0], 58);
    EXPECT_EQ(C[1], 64);
    EXPECT_EQ(C[2], 139);
    EXPECT_EQ(C[3], 154);
    gemm_bf16_naive(C, A, B, 2, 2, 3, false, false, true);
    EXPECT_EQ(C[0], 116);
    EXPECT_EQ(C[3], 308);
}

TEST(GemmBf16, NaiveSumsThePairsOddProductFirst) {
    // K = 2: p0 = 2^-24 (k = 0), p1 = 1 (k = 1), accumulated onto C = 2^-24. The documented
    // order gives (2^-24 + 1) + 2^-24 = 1 (each addition a tie, to even); the even product
    // first would give (2^-24 + 2^-24) + 1 = 1 + 2^-23.
    const bf16 A[] = {to_bf16(std::ldexp(1.0f, -12)), to_bf16(1.0f)};
    const bf16 B[] = {to_bf16(std::ldexp(1.0f, -12)), to_bf16(1.0f)};
    for (Isa isa : bf16_paths()) {
        float C = std::ldexp(1.0f, -24);
        gemm_bf16_isa(isa, &C, A, B, 1, 1, 2, false, false, true);
        EXPECT_EQ(C, 1.0f) << isa_name(isa);
    }
    float C = std::ldexp(1.0f, -24);
    gemm_bf16_naive(&C, A, B, 1, 1, 2, false, false, true);
    EXPECT_EQ(C, 1.0f);
}

TEST(GemmBf16, EveryPathEqualsTheNaiveTwinBitForBit) {
    uint32_t seed = 1;
    for (const Shape& s : kShapes) {
        const auto A = random_bf16(static_cast<size_t>(s.M) * s.K, seed++);
        const auto B = random_bf16(static_cast<size_t>(s.K) * s.N, seed++);
        const auto C0 = widen(random_bf16(static_cast<size_t>(s.M) * s.N, seed++));
        for (int t = 0; t < 8; t++) {
            const bool ta = t & 1, tb = t & 2, acc = t & 4;
            std::vector<float> want = C0;
            gemm_bf16_naive(want.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, acc);
            for (Isa isa : bf16_paths()) {
                std::vector<float> got = C0;
                gemm_bf16_isa(isa, got.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, acc);
                testing::expect_bits(got, want, describe(isa_name(isa), s, ta, tb, acc));
            }
        }
    }
}

// Both sum the same exact products (a product of two bf16 is exact in float) and C, in
// different orders (the fp32 gemm adds C after its own blocked sum). Each is within γ_n·Σ|terms|
// of the exact sum (recursive summation of n = K + 1 terms, γ_n = n·u/(1 − n·u), u = 2^-24,
// whatever the order or tree of additions, no deeper than n), so they differ by at most 2·γ_n·(|C|
// + Σ_k |a_k·b_k|). `bf16_gemm(path, C, A, B, shape, ta, tb, acc)` runs each path.
template <class Bf16Gemm>
void expect_close_to_fp32(const std::vector<Shape>& shapes, uint32_t seed,
                          const std::vector<std::string>& paths, const Bf16Gemm& bf16_gemm) {
    for (const Shape& s : shapes) {
        const auto A = random_bf16(static_cast<size_t>(s.M) * s.K, seed++);
        const auto B = random_bf16(static_cast<size_t>(s.K) * s.N, seed++);
        const auto C0 = widen(random_bf16(static_cast<size_t>(s.M) * s.N, seed++));
        const auto Af = widen(A), Bf = widen(B);
        std::vector<double> Aabs(Af.size()), Babs(Bf.size());
        for (size_t i = 0; i < Af.size(); i++) Aabs[i] = std::fabs(Af[i]);
        for (size_t i = 0; i < Bf.size(); i++) Babs[i] = std::fabs(Bf[i]);
        const double u = std::ldexp(1.0, -24), n = s.K + 1.0;
        const double gamma = n * u / (1 - n * u);
        for (int t = 0; t < 8; t++) {
            const bool ta = t & 1, tb = t & 2, acc = t & 4;
            std::vector<float> want = C0;
            gemm(want.data(), Af.data(), Bf.data(), s.M, s.N, s.K, ta, tb, acc);
            std::vector<double> mass(C0.size());  // Σ_k |a_k·b_k| (+ |C|)
            gemm_naive<double>(mass.data(), Aabs.data(), Babs.data(), s.M, s.N, s.K, ta, tb, false);
            for (const std::string& path : paths) {
                std::vector<float> got = C0;
                bf16_gemm(path, got.data(), A.data(), B.data(), s, ta, tb, acc);
                for (size_t i = 0; i < got.size(); i++) {
                    const double tol = 2 * gamma * (mass[i] + (acc ? std::fabs(C0[i]) : 0.0));
                    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tol)
                        << describe(path, s, ta, tb, acc) << ": element " << i << ", fp32 gemm "
                        << want[i] << ", bf16 gemm " << got[i];
                }
            }
        }
    }
}

TEST(GemmBf16, AgreesWithTheFp32GemmOnTheSameRoundedInputs) {
    std::vector<std::string> paths;
    for (Isa isa : bf16_paths()) paths.push_back(isa_name(isa));
    expect_close_to_fp32({std::begin(kShapes), std::end(kShapes)}, 100, paths,
                         [](const std::string& path, float* C, const bf16* A, const bf16* B,
                            const Shape& s, bool ta, bool tb, bool acc) {
                             const Isa isa = path == "avx512" ? Isa::Avx512 : Isa::Generic;
                             gemm_bf16_isa(isa, C, A, B, s.M, s.N, s.K, ta, tb, acc);
                         });
}

TEST(GemmBf16, SameBitsForAnyThreadCount) {
    // Big enough to be threaded (2·M·N·K ≥ kGemmMinParallelFlops), K over several blocks.
    const int M = 131, N = 300, K = 1100;
    static_assert(2.0 * M * N * K >= kGemmMinParallelFlops);
    const auto A = random_bf16(static_cast<size_t>(M) * K, 11);
    const auto B = random_bf16(static_cast<size_t>(K) * N, 12);
    const auto C0 = widen(random_bf16(static_cast<size_t>(M) * N, 13));
    for (Isa isa : bf16_paths()) {
        for (int t = 0; t < 8; t++) {
            const bool ta = t & 1, tb = t & 2, acc = t & 4;
            testing::expect_thread_invariant([&] {
                std::vector<float> C = C0;
                gemm_bf16_isa(isa, C.data(), A.data(), B.data(), M, N, K, ta, tb, acc);
                return C;
            });
        }
    }
}

// The linear layer's epilogue: the naive twin on C filled with the bias and accumulating is the
// definition; the rounded output is to_bf16 of it, element by element (NaN and infinity
// included: A holds one of each, so some sums overflow or are NaN). K = 1100 and 1500 span two K
// blocks on every path, where the rounding happens only in the last. `naive`: the path's order's
// twin; `linear`: the path's gemm_bf16_linear.
using NaiveGemm = void (*)(float*, const bf16*, const bf16*, int, int, int, bool, bool, bool);
template <class Linear>
void expect_linear_epilogue(const std::string& path, const std::vector<Shape>& shapes,
                            uint32_t seed, NaiveGemm naive, const Linear& linear) {
    for (const Shape& s : shapes) {
        auto A = random_bf16(static_cast<size_t>(s.M) * s.K, seed++);
        const auto B = random_bf16(static_cast<size_t>(s.K) * s.N, seed++, 4.0f);
        const auto bias = widen(random_bf16(static_cast<size_t>(s.N), seed++));
        if (A.size() > 2 && s.K > 1) {
            A[1] = to_bf16(std::numeric_limits<float>::infinity());
            A[A.size() - 1] = to_bf16(std::numeric_limits<float>::quiet_NaN());
        }
        for (int t = 0; t < 8; t++) {
            const bool ta = t & 1, tb = t & 2, with_bias = t & 4;
            std::vector<float> want(static_cast<size_t>(s.M) * s.N, 0.0f);
            if (with_bias) {
                for (int i = 0; i < s.M; i++) {
                    std::copy(bias.begin(), bias.end(), want.begin() + static_cast<long>(i) * s.N);
                }
            }
            naive(want.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, true);
            std::vector<bf16> want16(want.size());
            to_bf16_naive(want16.data(), want.data(), static_cast<long>(want.size()));
            const float* b = with_bias ? bias.data() : nullptr;
            const std::string what =
                describe(path, s, ta, tb, false) + (with_bias ? " bias" : " no bias");
            std::vector<float> got(want.size(), 7.0f);
            linear(got.data(), nullptr, b, A.data(), B.data(), s.M, s.N, s.K, ta, tb);
            std::vector<float> scratch(want.size(), 7.0f);
            std::vector<bf16> got16(want.size(), to_bf16(7.0f));
            linear(scratch.data(), got16.data(), b, A.data(), B.data(), s.M, s.N, s.K, ta, tb);
            for (size_t i = 0; i < want.size(); i++) {
                const auto w = std::bit_cast<uint32_t>(want[i]);
                ASSERT_TRUE(w == std::bit_cast<uint32_t>(got[i]) ||
                            (std::isnan(want[i]) && std::isnan(got[i])))
                    << what << ": float element " << i << " expected " << want[i] << ", got "
                    << got[i];
                ASSERT_EQ(static_cast<uint16_t>(got16[i]), static_cast<uint16_t>(want16[i]))
                    << what << ": bf16 element " << i << " expected " << to_float(want16[i])
                    << ", got " << to_float(got16[i]);
            }
        }
    }
}

TEST(GemmBf16, LinearEpilogueIsTheBiasThenTheSumsThenTheRounding) {
    for (Isa isa : bf16_paths()) {
        expect_linear_epilogue(isa_name(isa), {std::begin(kShapes), std::end(kShapes)}, 300,
                               gemm_bf16_naive,
                               [isa](auto... args) { gemm_bf16_linear(isa, args...); });
    }
}

TEST(GemmBf16, LinearEpilogueSameBitsForAnyThreadCount) {
    const int M = 131, N = 300, K = 1100;  // threaded, two K blocks
    const auto A = random_bf16(static_cast<size_t>(M) * K, 21);
    const auto B = random_bf16(static_cast<size_t>(K) * N, 22);
    const auto bias = widen(random_bf16(static_cast<size_t>(N), 23));
    for (Isa isa : bf16_paths()) {
        testing::expect_thread_invariant([&] {
            std::vector<float> scratch(static_cast<size_t>(M) * N);
            std::vector<bf16> C16(scratch.size());
            gemm_bf16_linear(isa, scratch.data(), C16.data(), bias.data(), A.data(), B.data(), M, N,
                             K, false, true);
            return widen(C16);
        });
    }
}

TEST(GemmBf16, EmptyProducts) {
    const bf16 one = to_bf16(1.0f);
    for (Isa isa : bf16_paths()) {
        float C[6] = {1, 2, 3, 4, 5, 6};
        gemm_bf16_isa(isa, C, &one, &one, 2, 3, 0, false, false, true);  // C += nothing
        EXPECT_EQ(C[5], 6.0f);
        gemm_bf16_isa(isa, C, &one, &one, 2, 3, 0, false, false, false);  // C = the empty sum
        for (float c : C) EXPECT_EQ(c, 0.0f);
        gemm_bf16_isa(isa, C, &one, &one, 0, 3, 5, false, false, false);  // no rows: no-op
        const float bias[3] = {0.5f, -1.0f, 3.0f};
        bf16 C16[6];
        gemm_bf16_linear(isa, C, C16, bias, &one, &one, 2, 3, 0, false, true);  // the bias alone
        EXPECT_EQ(to_float(C16[4]), -1.0f);
        gemm_bf16_linear(isa, C, nullptr, bias, &one, &one, 2, 3, 0, false, true);
        EXPECT_EQ(C[5], 3.0f);
    }
}

TEST(GemmBf16, DenormalsAreFlushedOnlyByTheBf16Instructions) {
    // Inputs around 2^-64 (some bf16 denormals among them), so that products and sums fall in
    // and below the denormal range. The portable path stays bit-equal to the naive twin; the
    // vdpbf16ps path flushes denormal inputs and sums to zero, each flush changing a sum by less
    // than 2^-126: it may differ from the naive twin by at most 2·(K + 1) of those.
    const int M = 9, N = 33, K = 41;
    std::mt19937 rng(5);
    std::vector<bf16> A(M * K), B(K * N);
    for (auto& x : A) x = to_bf16(std::ldexp(static_cast<float>(rng() % 255) - 127, -64 - 7));
    for (auto& x : B) x = to_bf16(std::ldexp(static_cast<float>(rng() % 255) - 127, -64 - 7));
    A[0] = bf16(0x0001);  // the smallest bf16 denormal
    B[0] = bf16(0x8042);
    std::vector<float> want(M * N);
    gemm_bf16_naive(want.data(), A.data(), B.data(), M, N, K, false, false, false);
    for (Isa isa : bf16_paths()) {
        std::vector<float> got(M * N);
        gemm_bf16_isa(isa, got.data(), A.data(), B.data(), M, N, K, false, false, false);
        if (isa == Isa::Generic) {
            testing::expect_bits(got, want, "portable path on denormals");
            continue;
        }
        for (int i = 0; i < M * N; i++) {
            EXPECT_LE(std::fabs(got[i] - want[i]), 2.0 * (K + 1) * std::ldexp(1.0, -126))
                << "element " << i;
        }
    }
}

// ---- The AMX path: the tiles order -------------------------------------------------------------

TEST(GemmBf16, TilesNaiveSumsEachChunksEvenAndOddProductsApart) {
    // K = 4, products 2^24, 1, −2^24, 1. The pairs order: 1, then 2^24 + 1 = 2^24 (a tie, to
    // even), + 1 = 2^24 again, − 2^24 = 0. The tiles order: even 2^24 − 2^24 = 0, odd 1 + 1 = 2.
    const bf16 one = to_bf16(1.0f), big = to_bf16(std::ldexp(1.0f, 24));
    const bf16 A[] = {one, one, one, one};
    const bf16 B[] = {big, one, to_bf16(-std::ldexp(1.0f, 24)), one};
    float pairs = 0, tiles = 0;
    gemm_bf16_naive(&pairs, A, B, 1, 1, 4, false, false, false);
    gemm_bf16_tiles_naive(&tiles, A, B, 1, 1, 4, false, false, false);
    EXPECT_EQ(pairs, 0.0f);
    EXPECT_EQ(tiles, 2.0f);
    // K = 34: the two big products in different chunks. Chunk 0: 2^24 + 1 rounds to 2^24 (a tie,
    // to even); chunk 1: −2^24 + 1 = −(2^24 − 1), exact; the sum 1. One chunk of 64 would give 2.
    std::vector<bf16> A2(34, one), B2(34, to_bf16(0.0f));
    B2[0] = big, B2[1] = one, B2[32] = to_bf16(-std::ldexp(1.0f, 24)), B2[33] = one;
    tiles = 0;
    gemm_bf16_tiles_naive(&tiles, A2.data(), B2.data(), 1, 1, 34, false, false, false);
    EXPECT_EQ(tiles, 1.0f);
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here: the naive twin alone was checked";
    float amx = 0;
    gemm_bf16_amx(&amx, A, B, 1, 1, 4, false, false, false);
    EXPECT_EQ(amx, 2.0f) << "tdpbf16ps does not sum in the documented tiles order";
    amx = 0;
    gemm_bf16_amx(&amx, A2.data(), B2.data(), 1, 1, 34, false, false, false);
    EXPECT_EQ(amx, 1.0f) << "tdpbf16ps does not sum in chunks of 32";
}

// kShapes and sizes just off AMX's tiles (32×32 outputs, chunks of 32, K blocks of up to 512).
std::vector<Shape> amx_shapes() {
    std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
    shapes.insert(shapes.end(), {{32, 32, 32},
                                 {33, 31, 63},
                                 {16, 17, 96},
                                 {17, 16, 31},
                                 {31, 65, 257},
                                 {64, 64, 544},
                                 {129, 33, 290}});
    return shapes;
}

TEST(GemmBf16, AmxEqualsTheTilesNaiveTwinBitForBit) {
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here";
    uint32_t seed = 500;
    for (const Shape& s : amx_shapes()) {
        const auto A = random_bf16(static_cast<size_t>(s.M) * s.K, seed++);
        const auto B = random_bf16(static_cast<size_t>(s.K) * s.N, seed++);
        const auto C0 = widen(random_bf16(static_cast<size_t>(s.M) * s.N, seed++));
        for (int t = 0; t < 8; t++) {
            const bool ta = t & 1, tb = t & 2, acc = t & 4;
            std::vector<float> want = C0, got = C0;
            gemm_bf16_tiles_naive(want.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, acc);
            gemm_bf16_amx(got.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, acc);
            testing::expect_bits(got, want, describe("amx", s, ta, tb, acc));
        }
    }
}

TEST(GemmBf16, TilesOrderAgreesWithTheFp32GemmOnTheSameRoundedInputs) {
    // The tiles order sums the same K + 1 terms in a tree of float additions: the same bound.
    expect_close_to_fp32(
        amx_shapes(), 600, {"tiles naive"},
        [](const std::string&, float* C, const bf16* A, const bf16* B, const Shape& s, bool ta,
           bool tb, bool acc) { gemm_bf16_tiles_naive(C, A, B, s.M, s.N, s.K, ta, tb, acc); });
}

TEST(GemmBf16, AmxSameBitsForAnyThreadCount) {
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here";
    const int M = 131, N = 300, K = 1100;  // threaded, K over several blocks
    const auto A = random_bf16(static_cast<size_t>(M) * K, 31);
    const auto B = random_bf16(static_cast<size_t>(K) * N, 32);
    const auto C0 = widen(random_bf16(static_cast<size_t>(M) * N, 33));
    for (int t = 0; t < 8; t++) {
        const bool ta = t & 1, tb = t & 2, acc = t & 4;
        testing::expect_thread_invariant([&] {
            std::vector<float> C = C0;
            gemm_bf16_amx(C.data(), A.data(), B.data(), M, N, K, ta, tb, acc);
            return C;
        });
    }
}

// Where C is too big for the caches (> 4 MiB) the K blocks may fill 1 MiB of packed B instead of
// 512 KiB: here one block of K = 700 instead of two, on every path. Rows of the big product
// against the naive twin of those rows alone.
TEST(GemmBf16, DeepKBlocksForABigCGiveTheNaiveTwinsBits) {
    const int M = 1800, N = 600, K = 700;  // C: 4.3 MB
    const auto A = random_bf16(static_cast<size_t>(M) * K, 51);
    const auto B = random_bf16(static_cast<size_t>(K) * N, 52);
    const auto C0 = widen(random_bf16(static_cast<size_t>(M) * N, 53));
    for (Isa isa : bf16_paths()) {
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            std::vector<float> big = C0;
            gemm_bf16_isa(isa, big.data(), A.data(), B.data(), M, N, K, ta, tb, true);
            for (const auto& [i0, m] : {std::pair{0, 13}, std::pair{M - 11, 11}}) {
                std::vector<bf16> a_rows(static_cast<size_t>(m) * K);  // op(A)'s rows, (m,K)
                for (int i = 0; i < m; i++) {
                    for (int k = 0; k < K; k++) {
                        a_rows[static_cast<size_t>(i) * K + k] =
                            ta ? A[static_cast<size_t>(k) * M + i0 + i]
                               : A[static_cast<size_t>(i0 + i) * K + k];
                    }
                }
                std::vector<float> want(C0.begin() + static_cast<long>(i0) * N,
                                        C0.begin() + static_cast<long>(i0 + m) * N);
                gemm_bf16_naive(want.data(), a_rows.data(), B.data(), m, N, K, false, tb, true);
                testing::expect_bits(
                    std::vector<float>(big.begin() + static_cast<long>(i0) * N,
                                       big.begin() + static_cast<long>(i0 + m) * N),
                    want,
                    describe(isa_name(isa), {M, N, K}, ta, tb, true) + " rows " +
                        std::to_string(i0) + "..");
            }
        }
    }
}

// A C too big for the caches (over 4 MiB) takes AMX's deep K blocks (K = 600 in one block, not
// two): the same bits as the same rows computed alone (a small C, blocks of 512) and as the tiles
// naive twin on them.
TEST(GemmBf16, AmxDeepKBlocksForABigCGiveTheSameBits) {
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here";
    const int M = 26300, N = 40, K = 600;  // C: 4.2 MB
    const auto A = random_bf16(static_cast<size_t>(M) * K, 41);
    const auto B = random_bf16(static_cast<size_t>(K) * N, 42);
    const auto C0 = widen(random_bf16(static_cast<size_t>(M) * N, 43));
    for (int t = 0; t < 8; t++) {
        const bool ta = t & 1, tb = t & 2, acc = t & 4;
        std::vector<float> big = C0;
        gemm_bf16_amx(big.data(), A.data(), B.data(), M, N, K, ta, tb, acc);
        for (const auto& [i0, m] : {std::pair{0, 70}, std::pair{M - 45, 45}}) {
            const bf16* a = ta ? A.data() + i0 : A.data() + static_cast<long>(i0) * K;
            std::vector<float> rows(C0.begin() + static_cast<long>(i0) * N,
                                    C0.begin() + static_cast<long>(i0 + m) * N);
            std::vector<float> want = rows;
            gemm_bf16_strided_amx(rows.data(), N, a, ta ? M : K, B.data(), tb ? K : N, m, N, K, ta,
                                  tb, acc);
            std::vector<bf16> a_rows(static_cast<size_t>(m) * K);  // op(A)'s rows, (m,K)
            for (int i = 0; i < m; i++) {
                for (int k = 0; k < K; k++) {
                    a_rows[static_cast<size_t>(i) * K + k] =
                        ta ? A[static_cast<size_t>(k) * M + i0 + i]
                           : A[static_cast<size_t>(i0 + i) * K + k];
                }
            }
            gemm_bf16_tiles_naive(want.data(), a_rows.data(), B.data(), m, N, K, false, tb, acc);
            const std::string what =
                describe("amx deep", {M, N, K}, ta, tb, acc) + " rows " + std::to_string(i0) + "..";
            testing::expect_bits(rows, want, what + " alone vs naive");
            testing::expect_bits(std::vector<float>(big.begin() + static_cast<long>(i0) * N,
                                                    big.begin() + static_cast<long>(i0 + m) * N),
                                 want, what + " in the big product vs naive");
        }
    }
}

// The epilogue on AMX: the tiles naive twin on C filled with the bias, then to_bf16.
TEST(GemmBf16, AmxLinearEpilogueIsTheBiasThenTheSumsThenTheRounding) {
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here";
    expect_linear_epilogue("amx", amx_shapes(), 700, gemm_bf16_tiles_naive,
                           [](auto... args) { gemm_bf16_linear_amx(args...); });
}

TEST(GemmBf16, AmxEmptyProductsAndDenormals) {
    if (!amx_instructions()) GTEST_SKIP() << "no AMX here";
    const bf16 one = to_bf16(1.0f);
    float C[6] = {1, 2, 3, 4, 5, 6};
    gemm_bf16_amx(C, &one, &one, 2, 3, 0, false, false, true);  // C += nothing
    EXPECT_EQ(C[5], 6.0f);
    gemm_bf16_amx(C, &one, &one, 2, 3, 0, false, false, false);  // the empty sum
    for (float c : C) EXPECT_EQ(c, 0.0f);
    // Denormal data (as in DenormalsAreFlushedOnlyByTheBf16Instructions): within the flushed
    // amounts of the tiles naive twin.
    const int M = 9, N = 33, K = 41;
    std::mt19937 rng(5);
    std::vector<bf16> A(M * K), B(K * N);
    for (auto& x : A) x = to_bf16(std::ldexp(static_cast<float>(rng() % 255) - 127, -64 - 7));
    for (auto& x : B) x = to_bf16(std::ldexp(static_cast<float>(rng() % 255) - 127, -64 - 7));
    A[0] = bf16(0x0001);
    B[0] = bf16(0x8042);
    std::vector<float> want(M * N), got(M * N);
    gemm_bf16_tiles_naive(want.data(), A.data(), B.data(), M, N, K, false, false, false);
    gemm_bf16_amx(got.data(), A.data(), B.data(), M, N, K, false, false, false);
    for (int i = 0; i < M * N; i++) {
        EXPECT_LE(std::fabs(got[i] - want[i]), 2.0 * (K + 1) * std::ldexp(1.0, -126))
            << "element " << i;
    }
}

}  // namespace
}  // namespace wiggle::kernels
