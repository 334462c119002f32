// The vectorized optimizer updates, compiled once per instruction set by adamw.cpp (portable),
// adamw_avx2.cpp and adamw_avx512.cpp. Elementwise updates are threaded over fixed blocks; the sum
// of squares is summed per fixed chunk (written to a slot per chunk) and then the chunks in order,
// so nothing depends on the thread count.
#pragma once

#include "kernels/adamw.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace adamw_detail {
constexpr int kBlock = kSumSquaresChunk;  // elements per work item of the pool, and per sum chunk
constexpr long kParallelMin = 1 << 15;    // below this, one thread is faster
}  // namespace adamw_detail

// Hoisted: decay = 1 − lr·wd, step = lr/(1 − β1ᵗ), inv_bc2_sqrt = 1/√(1 − β2ᵗ).
// torch's AdamW: p·decay; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// p −= step · m / (√v · inv_bc2_sqrt + eps).
void adamw_update(float* params, float* m, float* v, const float* grads, int N, float beta1,
                  float beta2, float eps, float decay, float step, float inv_bc2_sqrt) {
    using namespace adamw_detail;
    const int blocks = (N + kBlock - 1) / kBlock;
    const vf b1 = vset1(beta1), b2 = vset1(beta2), omb1 = vset1(1.0f - beta1),
             omb2 = vset1(1.0f - beta2), ve = vset1(eps), vdec = vset1(decay), vstep = vset1(step),
             vinv = vset1(inv_bc2_sqrt);
    auto update = [=](vf p, vf mm, vf vv, vf g, vf* po, vf* mo, vf* vo) {
        mm = vfma(b1, mm, vmul(omb1, g));
        vv = vfma(b2, vv, vmul(omb2, vmul(g, g)));
        const vf denom = vfma(vsqrt(vv), vinv, ve);
        *po = vfnma(vstep, vdiv(mm, denom), vmul(p, vdec));
        *mo = mm;
        *vo = vv;
    };
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        int i = blk * kBlock;
        vf p, mm, vv;
        for (; i + kW <= end; i += kW) {
            update(vload(params + i), vload(m + i), vload(v + i), vload(grads + i), &p, &mm, &vv);
            vstore(params + i, p);
            vstore(m + i, mm);
            vstore(v + i, vv);
        }
        if (i < end) {
            const int n = end - i;
            update(vload_n(params + i, n), vload_n(m + i, n), vload_n(v + i, n),
                   vload_n(grads + i, n), &p, &mm, &vv);
            vstore_n(params + i, p, n);
            vstore_n(m + i, mm, n);
            vstore_n(v + i, vv, n);
        }
    });
}

void sgd_update(float* params, float* momentum_buf, const float* grads, int N, float lr,
                float momentum, float weight_decay) {
    using namespace adamw_detail;
    const int blocks = (N + kBlock - 1) / kBlock;
    const vf vlr = vset1(lr), vmom = vset1(momentum), vwd = vset1(weight_decay);
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        for (int i = blk * kBlock; i < end; i += kW) {
            const int n = end - i < kW ? end - i : kW;
            const vf p = vload_n(params + i, n);
            const vf g = vfma(vwd, p, vload_n(grads + i, n));
            const vf b = vfma(vmom, vload_n(momentum_buf + i, n), g);
            vstore_n(momentum_buf + i, b, n);
            vstore_n(params + i, vfnma(vlr, b, p), n);
        }
    });
}

// partial[c] = Σ x² over chunk c (kBlock elements): float lanes over at most 16 vectors, then
// double, so a chunk's sum is good to about 1e-7 relative.
void sum_squares_chunks(double* partial, const float* x, int N) {
    using namespace adamw_detail;
    const int blocks = (N + kBlock - 1) / kBlock;
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        double total = 0.0;
        for (int i0 = blk * kBlock; i0 < end; i0 += 16 * kW) {
            const int e = i0 + 16 * kW < end ? i0 + 16 * kW : end;
            vf acc = vzero();
            for (int i = i0; i < e; i += kW) {
                const int n = e - i < kW ? e - i : kW;
                const vf a = n == kW ? vload(x + i) : vload_n(x + i, n);
                acc = vfma(a, a, acc);
            }
            total += static_cast<double>(vhsum(acc));
        }
        partial[blk] = total;
    });
}

void scale(float* x, float s, int N) {
    using namespace adamw_detail;
    const int blocks = (N + kBlock - 1) / kBlock;
    const vf vs = vset1(s);
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        int i = blk * kBlock;
        for (; i + kW <= end; i += kW) vstore(x + i, vmul(vload(x + i), vs));
        if (i < end) vstore_n(x + i, vmul(vload_n(x + i, end - i), vs), end - i);
    });
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
