// The vectorized decode kernels, compiled once per instruction set by decode.cpp (portable),
// decode_avx2.cpp and decode_avx512.cpp.
//
// linear_packed_forward: the weights packed in blocks of 16 columns, each (K,16) contiguous, so a
// product streams its share of the weights front to back. One vector accumulator holds kW
// outputs, each summed over k = 0..K−1 in order, one multiply-add at a time: no sum across lanes,
// and every output's arithmetic is the same whichever tile, row count or thread computes it.
// attention_decode_forward: scores vectorized over positions (keys transposed), the weighted sum of
// values vectorized over the head's channels.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/decode.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace decode_detail {

constexpr int kBlockVecs = kPackedCols / kW;  // vectors in a packed block of columns

// out[m0..m0+MT, vector columns v0..v0+NV) (vector v: columns v·kW..v·kW+kW−1) of rows m0.. of
// inp: MT·NV accumulators, one weight load per vector and k shared by the MT rows. Only the
// columns in [n0, n1) are stored.
template <int MT, int NV>
inline void linear_tile(float* out, const float* inp, const float* packed, const float* bias, int K,
                        int N, int m0, int v0, int n0, int n1) {
    vf acc[MT][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MT; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = vzero();
    }
    const float* w[NV];  // vector v's column block, at its lanes for k = 0
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
        const int v = v0 + j;
        w[j] =
            packed + (static_cast<long>(v / kBlockVecs) * K * kPackedCols) + (v % kBlockVecs) * kW;
    }
    const float* x = inp + static_cast<long>(m0) * K;
    for (int k = 0; k < K; ++k) {
        vf xk[MT];
#pragma GCC unroll 8
        for (int i = 0; i < MT; ++i) xk[i] = vset1(x[static_cast<long>(i) * K + k]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {
            const vf wv = vload(w[j] + static_cast<long>(k) * kPackedCols);
#pragma GCC unroll 8
            for (int i = 0; i < MT; ++i) acc[i][j] = vfma(xk[i], wv, acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MT; ++i) {
        float* o = out + static_cast<long>(m0 + i) * N;
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {
            const int c0 = (v0 + j) * kW;  // first column of the vector
            if (c0 >= n0 && c0 + kW <= n1) {
                vstore(o + c0, bias ? vadd(acc[i][j], vload(bias + c0)) : acc[i][j]);
            } else {  // a vector the range cuts: its columns in [n0, n1) one by one
                float lanes[kW];
                vstore(lanes, acc[i][j]);
                for (int l = 0; l < kW; ++l) {
                    const int n = c0 + l;
                    if (n >= n0 && n < n1) o[n] = lanes[l] + (bias ? bias[n] : 0.0f);
                }
            }
        }
    }
}

// Rows [m0, m0+rows) of vectors [v, v+NV), rows ≤ 4.
template <int NV>
inline void linear_rows(float* out, const float* inp, const float* packed, const float* bias, int K,
                        int N, int m0, int rows, int v, int n0, int n1) {
    switch (rows) {
        case 4:
            return linear_tile<4, NV>(out, inp, packed, bias, K, N, m0, v, n0, n1);
        case 3:
            return linear_tile<3, NV>(out, inp, packed, bias, K, N, m0, v, n0, n1);
        case 2:
            return linear_tile<2, NV>(out, inp, packed, bias, K, N, m0, v, n0, n1);
        default:
            return linear_tile<1, NV>(out, inp, packed, bias, K, N, m0, v, n0, n1);
    }
}

// Rows 0..M of columns [n0, n1). One row (decoding): up to 8 vectors at a time, each accumulator a
// chain of dependent multiply-adds, so it takes 4 or more side by side to keep the loads flowing.
// Many rows (a recompute): 4 vectors at a time, all the rows in groups of up to 4 inside, so the
// group's weights are read from memory once and from L1 for the other rows.
inline void linear_packed(float* out, const float* inp, const float* packed, const float* bias,
                          int M, int K, int N, int n0, int n1) {
    const int vb = n0 / kW, ve = (n1 + kW - 1) / kW;  // the vectors that cover [n0, n1)
    if (M == 1) {
        int v = vb;
        for (; v + 8 <= ve; v += 8) linear_tile<1, 8>(out, inp, packed, bias, K, N, 0, v, n0, n1);
        for (; v + 4 <= ve; v += 4) linear_tile<1, 4>(out, inp, packed, bias, K, N, 0, v, n0, n1);
        for (; v + 2 <= ve; v += 2) linear_tile<1, 2>(out, inp, packed, bias, K, N, 0, v, n0, n1);
        for (; v < ve; ++v) linear_tile<1, 1>(out, inp, packed, bias, K, N, 0, v, n0, n1);
        return;
    }
    int v = vb;
    for (; v + 4 <= ve; v += 4) {
        for (int m = 0; m < M; m += 4) {
            linear_rows<4>(out, inp, packed, bias, K, N, m, std::min(4, M - m), v, n0, n1);
        }
    }
    for (; v < ve; ++v) {
        for (int m = 0; m < M; m += 4) {
            linear_rows<1>(out, inp, packed, bias, K, N, m, std::min(4, M - m), v, n0, n1);
        }
    }
}

}  // namespace decode_detail

void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1) {
    if (M <= 0 || n0 >= n1) return;
    decode_detail::linear_packed(out, inp, packed, bias, M, K, N, n0, n1);
}

namespace decode_detail {

// Head h of attention_decode_forward: its scores, probabilities and output channels.
inline void attention_head(float* out, float* att, const float* q, const float* kt, const float* v,
                           int P, int NH, int hs, int ldk, int h) {
    const int C = NH * hs;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const int Pv = P - P % kW, ptail = P - Pv;
    float* a = att + static_cast<long>(h) * P;
    const float* qh = q + static_cast<long>(h) * hs;
    const float* kh = kt + static_cast<long>(h) * hs * ldk;
    const vf vscale = vset1(scale);
    // scores a[p] = (q_h · k_h[p]) · scale, four vectors of positions at a time
    int p = 0;
    for (; p + 4 * kW <= Pv; p += 4 * kW) {
        vf s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
        for (int d = 0; d < hs; ++d) {
            const vf qd = vset1(qh[d]);
            const float* kr = kh + static_cast<long>(d) * ldk + p;
            s0 = vfma(qd, vload(kr), s0);
            s1 = vfma(qd, vload(kr + kW), s1);
            s2 = vfma(qd, vload(kr + 2 * kW), s2);
            s3 = vfma(qd, vload(kr + 3 * kW), s3);
        }
        vstore(a + p, vmul(s0, vscale));
        vstore(a + p + kW, vmul(s1, vscale));
        vstore(a + p + 2 * kW, vmul(s2, vscale));
        vstore(a + p + 3 * kW, vmul(s3, vscale));
    }
    for (; p < Pv; p += kW) {
        vf s = vzero();
        for (int d = 0; d < hs; ++d) {
            s = vfma(vset1(qh[d]), vload(kh + static_cast<long>(d) * ldk + p), s);
        }
        vstore(a + p, vmul(s, vscale));
    }
    if (ptail) {
        vf s = vzero();
        for (int d = 0; d < hs; ++d) {
            s = vfma(vset1(qh[d]), vload_n(kh + static_cast<long>(d) * ldk + Pv, ptail), s);
        }
        vstore_n(a + Pv, vmul(s, vscale), ptail);
    }
    // softmax over p, max-subtracted; the masked lanes are −inf, so they add e^−inf = 0
    vf mx = vset1(-INFINITY);
    for (p = 0; p < Pv; p += kW) mx = vmax(mx, vload(a + p));
    if (ptail) mx = vmax(mx, vload_n(a + Pv, ptail, -INFINITY));
    const vf vm = vset1(vhmax(mx));
    vf sum = vzero();
    for (p = 0; p < Pv; p += kW) {
        const vf e = vexp(vsub(vload(a + p), vm));
        vstore(a + p, e);
        sum = vadd(sum, e);
    }
    if (ptail) {
        const vf e = vexp(vsub(vload_n(a + Pv, ptail, -INFINITY), vm));
        vstore_n(a + Pv, e, ptail);
        sum = vadd(sum, e);
    }
    const vf inv = vset1(1.0f / vhsum(sum));
    for (p = 0; p < Pv; p += kW) vstore(a + p, vmul(vload(a + p), inv));
    if (ptail) vstore_n(a + Pv, vmul(vload_n(a + Pv, ptail), inv), ptail);
    // out_h = Σ_p a[p] · v_h[p], vectorized over the channels, even and odd p apart
    const float* vh = v + static_cast<long>(h) * hs;
    float* o = out + static_cast<long>(h) * hs;
    for (int d = 0; d < hs; d += kW) {
        const int n = hs - d < kW ? hs - d : kW;
        vf acc0 = vzero(), acc1 = vzero();
        if (n == kW) {
            for (p = 0; p + 1 < P; p += 2) {
                acc0 = vfma(vset1(a[p]), vload(vh + static_cast<long>(p) * C + d), acc0);
                acc1 = vfma(vset1(a[p + 1]), vload(vh + static_cast<long>(p + 1) * C + d), acc1);
            }
            if (p < P) acc0 = vfma(vset1(a[p]), vload(vh + static_cast<long>(p) * C + d), acc0);
            vstore(o + d, vadd(acc0, acc1));
        } else {
            for (p = 0; p + 1 < P; p += 2) {
                acc0 = vfma(vset1(a[p]), vload_n(vh + static_cast<long>(p) * C + d, n), acc0);
                acc1 =
                    vfma(vset1(a[p + 1]), vload_n(vh + static_cast<long>(p + 1) * C + d, n), acc1);
            }
            if (p < P) {
                acc0 = vfma(vset1(a[p]), vload_n(vh + static_cast<long>(p) * C + d, n), acc0);
            }
            vstore_n(o + d, vadd(acc0, acc1), n);
        }
    }
}

}  // namespace decode_detail

void attention_decode_forward(float* out, float* att, const float* q, const float* kt,
                              const float* v, int P, int NH, int hs, int ldk, int h0, int h1) {
    if (P <= 0) return;
    for (int h = h0; h < h1; ++h) {
        decode_detail::attention_head(out, att, q, kt, v, P, NH, hs, ldk, h);
    }
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
