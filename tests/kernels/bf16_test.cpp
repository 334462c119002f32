// Tests of the bf16 buffer conversions (kernels/bf16.h). Oracle: the scalar to_bf16 (itself tested
// on hand-picked cases in decode_test.cpp), which every path must match bit for bit, denormals,
// NaNs and infinities included, on every instruction set and thread count.
#include "kernels/bf16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "kernels/kernel_testing.h"

namespace wiggle::kernels {
namespace {

// Floats of every kind: random bit patterns (all exponents, NaNs and denormals among them), the
// special values, ties, and ordinary values in [-1, 1].
std::vector<float> awkward_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u,
                                 0x7F800001u, 0xFF800001u, 0x00000001u, 0x807FFFFFu, 0x00008000u,
                                 0x00018000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x3F808000u, 0x3F818000u,
                                 0x00800000u, 0x80800000u, 0x007FFFFFu};
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) {
        switch (rng() % 4) {
            case 0:
                v[i] = std::bit_cast<float>(static_cast<uint32_t>(rng()));
                break;
            case 1:
                v[i] = std::bit_cast<float>(specials[rng() % std::size(specials)]);
                break;
            default:
                v[i] = unit(rng);
        }
    }
    return v;
}

TEST(Bf16Buffers, EveryPathRoundsLikeTheScalarToBf16) {
    const std::vector<float> in = awkward_floats(4096 + 37, 7);
    std::vector<bf16> want(in.size());
    to_bf16_naive(want.data(), in.data(), static_cast<long>(in.size()));
    for (size_t i = 0; i < in.size(); i++) ASSERT_EQ(want[i], to_bf16(in[i]));
    for (Isa isa : testing::available_isas()) {
        // every length up to a few vectors, from unaligned starts, then the whole buffer
        for (long off : {0L, 1L, 3L}) {
            for (long n = 0; n <= 100; n++) {
                std::vector<bf16> got(n + 1, bf16(0x1234));
                to_bf16_isa(isa, got.data(), in.data() + off, n);
                for (long i = 0; i < n; i++) {
                    ASSERT_EQ(static_cast<uint16_t>(got[i]), static_cast<uint16_t>(want[off + i]))
                        << isa_name(isa) << ": n " << n << ", offset " << off << ", element " << i
                        << ", input bits 0x" << std::hex << std::bit_cast<uint32_t>(in[off + i]);
                }
                EXPECT_EQ(static_cast<uint16_t>(got[n]), 0x1234u) << "wrote past the end";
            }
        }
        std::vector<bf16> got(in.size());
        to_bf16_isa(isa, got.data(), in.data(), static_cast<long>(in.size()));
        EXPECT_EQ(got, want) << isa_name(isa);
    }
    std::vector<bf16> got(in.size());
    to_bf16(got.data(), in.data(), static_cast<long>(in.size()));
    EXPECT_EQ(got, want);
}

// Buffers past the pool's block size run on several threads: still the scalar loop's bits.
TEST(Bf16Buffers, LargeBuffersOnThreadsMatchTheScalarLoop) {
    const std::vector<float> in = awkward_floats((1 << 17) + 45, 8);
    const long n = static_cast<long>(in.size());
    std::vector<bf16> want(in.size());
    to_bf16_naive(want.data(), in.data(), n);
    const int saved = num_threads();
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<bf16> got(in.size());
        to_bf16(got.data(), in.data(), n);
        EXPECT_EQ(got, want) << threads << " threads";
        std::vector<float> back(in.size());
        to_float(back.data(), want.data(), n);
        for (long i = 0; i < n; i++) {
            ASSERT_EQ(std::bit_cast<uint32_t>(back[i]),
                      uint32_t{static_cast<uint16_t>(want[i])} << 16)
                << threads << " threads, element " << i;
        }
    }
    set_num_threads(saved);
}

// The bf16 copy of an output gradient with its bias's gradient: the scalar to_bf16 of every
// element, and each column's running sum over the rows in order (the definition, below), bit for
// bit on every path, on awkward widths (lanes, cache lines and the 1024-column chunks), with and
// without sums, on 1 to 3 threads.
TEST(Bf16Buffers, ColumnSumsWithTheCopyAreTheRowOrderSums) {
    const int saved = num_threads();
    for (auto [M, N] : {std::pair{1, 1}, {3, 17}, {70, 65}, {33, 384}, {9, 1100}, {129, 2077}}) {
        // sums of ordinary values, denormals and −0 (awkward_floats' NaNs would swamp them); the
        // copy alone also on awkward_floats
        std::vector<float> in = testing::random_floats(static_cast<size_t>(M) * N, 9);
        for (size_t i = 0; i < in.size(); i += 7) in[i] = i % 2 ? -0.0f : 3e-40f;
        const std::vector<float> start = testing::random_floats(N, 10);
        const std::vector<float> awkward = awkward_floats(in.size(), 11);
        std::vector<bf16> want_awkward(in.size());
        to_bf16_naive(want_awkward.data(), awkward.data(), static_cast<long>(in.size()));
        std::vector<bf16> want(in.size());
        to_bf16_naive(want.data(), in.data(), static_cast<long>(in.size()));
        std::vector<float> want_sums = start;
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) want_sums[n] += in[static_cast<size_t>(m) * N + n];
        }
        for (Isa isa : testing::available_isas()) {
            for (int threads : {1, 2, 3}) {
                SCOPED_TRACE(::testing::Message() << isa_name(isa) << " M=" << M << " N=" << N
                                                  << " on " << threads << " thread(s)");
                set_num_threads(threads);
                std::vector<bf16> got(in.size(), bf16(0x1234));
                std::vector<float> sums = start;
                to_bf16_sum_columns_isa(isa, got.data(), sums.data(), in.data(), M, N);
                EXPECT_EQ(got, want);
                testing::expect_bits(sums, want_sums, "column sums");
                std::vector<bf16> copy(in.size());
                to_bf16_sum_columns_isa(isa, copy.data(), sums.data(), awkward.data(), M, N);
                EXPECT_EQ(copy, want_awkward) << "awkward floats";
                to_bf16_sum_columns_isa(isa, copy.data(), nullptr, awkward.data(), M, N);
                EXPECT_EQ(copy, want_awkward) << "without sums";
            }
        }
    }
    set_num_threads(saved);
}

TEST(Bf16Buffers, WideningIsExact) {
    std::vector<bf16> in(1 << 16);
    for (uint32_t i = 0; i < in.size(); i++) in[i] = bf16(i);  // every bf16
    std::vector<float> out(in.size());
    to_float(out.data(), in.data(), static_cast<long>(in.size()));
    for (uint32_t i = 0; i < in.size(); i++) ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), i << 16);
}

}  // namespace
}  // namespace wiggle::kernels
