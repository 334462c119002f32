// The vectorized maps of the elementwise kernels (exp, tanh), compiled once per instruction set by
// elementwise.cpp (portable), elementwise_avx2.cpp and elementwise_avx512.cpp. Elementwise, so
// threading over blocks cannot change a bit.
// tanh: Cephes's tanhf: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above (no
// cancellation there, since tanh ≥ 0.55); within a few ulp of the C library.
#pragma once

#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace elementwise_detail {
constexpr int kBlock = 4096;           // elements per work item of the pool
constexpr int kParallelMin = 1 << 15;  // below this, one thread is faster than waking another

inline vf vtanh(vf x) {
    const vf a = vabs(x);
    const vf z = vmul(x, x);
    vf p = vset1(-5.70498872745e-3f);
    p = vfma(p, z, vset1(2.06390887954e-2f));
    p = vfma(p, z, vset1(-5.37397155531e-2f));
    p = vfma(p, z, vset1(1.33314422036e-1f));
    p = vfma(p, z, vset1(-3.33332819422e-1f));
    const vf small = vfma(vmul(p, z), x, x);  // x + x³·P(x²)
    const vf e = vexp(vadd(a, a));
    const vf large = vcopysign(vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f)))), x);
    return vselect_lt(a, vset1(0.625f), small, large);
}

template <typename F>
inline void map_blocks(float* out, const float* inp, int N, F f) {
    auto block = [&](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        int i = blk * kBlock;
        for (; i + kW <= end; i += kW) vstore(out + i, f(vload(inp + i)));
        if (i < end) vstore_n(out + i, f(vload_n(inp + i, end - i)), end - i);
    };
    for_items((N + kBlock - 1) / kBlock, N >= kParallelMin, block);
}
}  // namespace elementwise_detail

void exp_map(float* out, const float* inp, int N) {
    elementwise_detail::map_blocks(out, inp, N, [](vf x) { return vexp(x); });
}

void tanh_map(float* out, const float* inp, int N) {
    elementwise_detail::map_blocks(out, inp, N, [](vf x) { return elementwise_detail::vtanh(x); });
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
