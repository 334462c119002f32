// The vectorized layer norm, compiled once per instruction set by layernorm.cpp (portable),
// layernorm_avx2.cpp and layernorm_avx512.cpp. Rows are independent; the backward's dweight and
// dbias are summed per fixed chunk of rows into scratch, then the chunks in order, so the result
// does not depend on the thread count.
#pragma once

#include <cmath>

#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace layernorm_detail {
constexpr long kParallelMin = 1 << 14;  // elements; below this one thread is faster

// One row: o = (x − mean)·rstd·weight + bias (float, or rounded to bf16 by vstore); returns mean
// and rstd.
template <typename Out>
inline void norm_row(Out* o, float* mean, float* rstd, const float* x, const float* weight,
                     const float* bias, int C, float eps) {
    const int Cv = C - C % kW;  // the vector part of a row; the tail is masked
    const int tail = C - Cv;
    vf acc = vzero();
    for (int c = 0; c < Cv; c += kW) acc = vadd(acc, vload(x + c));
    if (tail) acc = vadd(acc, vload_n(x + Cv, tail));
    const float m = vhsum(acc) / static_cast<float>(C);
    const vf vm = vset1(m);
    // Two passes over a row that sits in L1: Σ(x − mean)² is accurate where E[x²] − mean²
    // cancels.
    acc = vzero();
    for (int c = 0; c < Cv; c += kW) {
        const vf d = vsub(vload(x + c), vm);
        acc = vfma(d, d, acc);
    }
    if (tail) {
        const vf d = vsub(vload_n(x + Cv, tail, m), vm);  // masked lanes: m − m = 0
        acc = vfma(d, d, acc);
    }
    const float s = 1.0f / std::sqrt(vhsum(acc) / static_cast<float>(C) + eps);
    const vf vs = vset1(s);
    for (int c = 0; c < Cv; c += kW) {
        const vf xh = vmul(vsub(vload(x + c), vm), vs);
        vstore(o + c, vfma(xh, vload(weight + c), bias ? vload(bias + c) : vzero()));
    }
    if (tail) {
        const vf xh = vmul(vsub(vload_n(x + Cv, tail), vm), vs);
        const vf b = bias ? vload_n(bias + Cv, tail) : vzero();
        vstore_n(o + Cv, vfma(xh, vload_n(weight + Cv, tail), b), tail);
    }
    *mean = m;
    *rstd = s;
}

template <typename Out>
void forward(Out* out, float* mean, float* rstd, const float* inp, const float* weight,
             const float* bias, int N, int C, float eps) {
    for_rows(N, C, static_cast<long>(N) * C >= kParallelMin, [=](int n) {
        norm_row(out + static_cast<long>(n) * C, mean + n, rstd + n, inp + static_cast<long>(n) * C,
                 weight, bias, C, eps);
    });
}

// res = a + b, then out = layernorm(res), one row at a time while the row is in L1.
template <typename Out>
void residual_forward(float* res, Out* out, float* mean, float* rstd, const float* a,
                      const float* b, const float* weight, const float* bias, int N, int C,
                      float eps) {
    const int Cv = C - C % kW;
    const int tail = C - Cv;
    for_rows(N, C, static_cast<long>(N) * C >= kParallelMin, [=](int n) {
        const long off = static_cast<long>(n) * C;
        float* r = res + off;
        for (int c = 0; c < Cv; c += kW)
            vstore(r + c, vadd(vload(a + off + c), vload(b + off + c)));
        if (tail)
            vstore_n(r + Cv, vadd(vload_n(a + off + Cv, tail), vload_n(b + off + Cv, tail)), tail);
        norm_row(out + off, mean + n, rstd + n, r, weight, bias, C, eps);
    });
}
}  // namespace layernorm_detail

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps) {
    layernorm_detail::forward(out, mean, rstd, inp, weight, bias, N, C, eps);
}
void layernorm_forward(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps) {
    layernorm_detail::forward(out, mean, rstd, inp, weight, bias, N, C, eps);
}
void residual_layernorm_forward(float* res, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C, float eps) {
    layernorm_detail::residual_forward(res, out, mean, rstd, a, b, weight, bias, N, C, eps);
}
void residual_layernorm_forward(float* res, bf16* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C, float eps) {
    layernorm_detail::residual_forward(res, out, mean, rstd, a, b, weight, bias, N, C, eps);
}

// scratch: chunks·2·C floats, chunks = ceil(N / rows_per_chunk).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int N, int C, int rows_per_chunk, float* scratch) {
    using namespace layernorm_detail;
    const int Cv = C - C % kW;
    const int tail = C - Cv;
    const int chunks = (N + rows_per_chunk - 1) / rows_per_chunk;
    for_items(chunks, static_cast<long>(N) * C >= kParallelMin, [=](int chunk) {
        float* pw = scratch + 2L * C * chunk;  // this chunk's Σ dout·xhat
        float* pb = pw + C;                    // and Σ dout
        for (int c = 0; c < C; ++c) pw[c] = 0.0f, pb[c] = 0.0f;
        const int end = (chunk + 1) * rows_per_chunk < N ? (chunk + 1) * rows_per_chunk : N;
        for (int n = chunk * rows_per_chunk; n < end; ++n) {
            const float* x = inp + static_cast<long>(n) * C;
            const float* d = dout + static_cast<long>(n) * C;
            float* dx = dinp + static_cast<long>(n) * C;
            const vf vm = vset1(mean[n]), vs = vset1(rstd[n]);
            // dnorm = weight·dout; a = mean(dnorm), b = mean(dnorm·xhat).
            vf sa = vzero(), sb = vzero();
            for (int c = 0; c < Cv; c += kW) {
                const vf xh = vmul(vsub(vload(x + c), vm), vs);
                const vf dn = vmul(vload(weight + c), vload(d + c));
                sa = vadd(sa, dn);
                sb = vfma(dn, xh, sb);
            }
            if (tail) {
                const vf xh = vmul(vsub(vload_n(x + Cv, tail), vm), vs);
                const vf dn = vmul(vload_n(weight + Cv, tail), vload_n(d + Cv, tail));
                sa = vadd(sa, dn);
                sb = vfma(dn, xh, sb);
            }
            const vf a = vset1(vhsum(sa) / static_cast<float>(C));
            const vf b = vset1(vhsum(sb) / static_cast<float>(C));
            // dx += (dnorm − a − xhat·b)·rstd; dweight += dout·xhat; dbias += dout.
            for (int c = 0; c < Cv; c += kW) {
                const vf xh = vmul(vsub(vload(x + c), vm), vs);
                const vf dd = vload(d + c);
                const vf dn = vmul(vload(weight + c), dd);
                vstore(dx + c, vfma(vfnma(xh, b, vsub(dn, a)), vs, vload(dx + c)));
                vstore(pw + c, vfma(dd, xh, vload(pw + c)));
                vstore(pb + c, vadd(dd, vload(pb + c)));
            }
            if (tail) {
                const vf xh = vmul(vsub(vload_n(x + Cv, tail), vm), vs);
                const vf dd = vload_n(d + Cv, tail);
                const vf dn = vmul(vload_n(weight + Cv, tail), dd);
                vstore_n(dx + Cv, vfma(vfnma(xh, b, vsub(dn, a)), vs, vload_n(dx + Cv, tail)),
                         tail);
                vstore_n(pw + Cv, vfma(dd, xh, vload_n(pw + Cv, tail)), tail);
                vstore_n(pb + Cv, vadd(dd, vload_n(pb + Cv, tail)), tail);
            }
        }
    });
    // The chunk partials in index order.
    for (int chunk = 0; chunk < chunks; ++chunk) {
        const float* pw = scratch + 2L * C * chunk;
        const float* pb = pw + C;
        for (int c = 0; c < C; ++c) dweight[c] += pw[c];
        if (dbias) {
            for (int c = 0; c < C; ++c) dbias[c] += pb[c];
        }
    }
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
