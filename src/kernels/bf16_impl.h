// The buffer conversions between float and bf16, compiled once per instruction set by bf16.cpp
// (portable), bf16_avx2.cpp and bf16_avx512.cpp: simd.h's vload widens, its vstore rounds like the
// scalar to_bf16. They stream memory, so they run in blocks on the pool's threads; element by
// element, so the thread count cannot change a bit.
#pragma once

#include <algorithm>

#include "kernels/bf16.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace bf16_detail {
constexpr long kBlock = 1 << 14;  // elements per work item of the pool

// out (n) = in (n) converted, float to bf16 or bf16 to float
template <typename Out, typename In>
void convert(Out* out, const In* in, long n) {
    const long blocks = (n + kBlock - 1) / kBlock;
    for_items(static_cast<int>(blocks), n >= 2 * kBlock, [=](int blk) {
        const long begin = blk * kBlock, end = std::min(n, begin + kBlock);
        long i = begin;
        for (; i + kW <= end; i += kW) vstore(out + i, vload(in + i));
        const int rest = static_cast<int>(end - i);
        if (rest > 0) vstore_n(out + i, vload_n(in + i, rest), rest);
    });
}
}  // namespace bf16_detail

void to_bf16(bf16* out, const float* in, long n) { bf16_detail::convert(out, in, n); }

void to_bf16_sum_columns(bf16* out, float* sums, const float* in, int M, int N) {
    // One item per thread, a range of whole cache lines of columns read row after row (contiguous
    // pieces, which the prefetchers follow); a range's running sums stay in L1 in chunks of
    // kCols. Any split of the columns gives the same bits: each column is summed alone.
    constexpr int kCols = 1024;
    const bool parallel = static_cast<long>(M) * N >= 2 * bf16_detail::kBlock;
    const int items = parallel ? std::max(1, std::min(num_threads(), N / 64)) : 1;
    auto bound = [&](int i) { return i == items ? N : N / 16 * i / items * 16; };
    for_items(items, parallel, [=](int item) {
        alignas(64) float acc[kCols];
        for (int c0 = bound(item); c0 < bound(item + 1); c0 += kCols) {
            const int w = std::min(kCols, bound(item + 1) - c0);
            std::copy(sums + c0, sums + c0 + w, acc);
            for (long m = 0; m < M; ++m) {
                const float* row = in + m * N + c0;
                bf16* orow = out + m * N + c0;
                int j = 0;
                for (; j + kW <= w; j += kW) {
                    const vf x = vload(row + j);
                    vstore(acc + j, vadd(vload(acc + j), x));
                    vstore(orow + j, x);
                }
                if (j < w) {
                    const int rest = w - j;
                    const vf x = vload_n(row + j, rest);
                    vstore_n(acc + j, vadd(vload_n(acc + j, rest), x), rest);
                    vstore_n(orow + j, x, rest);
                }
            }
            std::copy(acc, acc + w, sums + c0);
        }
    });
}
void to_float(float* out, const bf16* in, long n) { bf16_detail::convert(out, in, n); }

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
