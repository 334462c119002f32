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
void to_float(float* out, const bf16* in, long n) { bf16_detail::convert(out, in, n); }

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
