// The vectorized decode kernels, compiled once per instruction set by decode.cpp (portable),
// decode_avx2.cpp and decode_avx512.cpp.
//
// linear_rows_forward: a tile of MT input rows × NT weight rows keeps MT·NT = kW accumulators of
// kW lanes, sums over K in lanes, then sums across the lanes of all kW at once (vhsum_each, the
// same tree as vhsum). Every output's arithmetic is the same whichever tile or thread computes
// it, so the split never changes a bit.
// attention_decode_forward: scores vectorized over positions (keys transposed), the weighted sum of
// values vectorized over the head's channels.
#pragma once

#include <cmath>

#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace decode_detail {

// Multiply-adds (M·N·K) from which the columns are split across threads: handing a range to a
// worker costs ~1 µs, so the baby model's 128×384 and 128×512 products (49k, 65k multiply-adds,
// 3-8 µs) split and its 128×128 one does not.
constexpr long kLinearParallelMin = 1L << 15;
// Multiply-adds (2·P·C) below which attention stays on one thread.
constexpr long kAttentionParallelMin = 1L << 17;

// out[m0..m0+MT, n0..n0+NT] from rows m0.. of inp and rows n0.. of weight: MT·NT = kW
// accumulators, summed across their lanes all at once (vhsum_each). AVX-512: 1×16 when decoding
// one row, 2×8 for pairs of rows (each weight vector loaded once for two multiply-adds).
template <int MT, int NT>
inline void linear_tile(float* out, const float* inp, const float* weight, const float* bias, int K,
                        int N, int m0, int n0) {
    static_assert(MT * NT == kW, "one accumulator per lane of the sum vector");
    const int Kv = K - K % kW, tail = K - Kv;
    const float* x = inp + static_cast<long>(m0) * K;
    const float* w = weight + static_cast<long>(n0) * K;
    vf acc[kW];  // acc[i·NT + j]: row m0+i, column n0+j
#pragma GCC unroll 16
    for (int a = 0; a < kW; ++a) acc[a] = vzero();
    for (int k = 0; k < Kv; k += kW) {
        vf xv[MT];
#pragma GCC unroll 16
        for (int i = 0; i < MT; ++i) xv[i] = vload(x + static_cast<long>(i) * K + k);
#pragma GCC unroll 16
        for (int j = 0; j < NT; ++j) {
            const vf wv = vload(w + static_cast<long>(j) * K + k);
#pragma GCC unroll 16
            for (int i = 0; i < MT; ++i) acc[i * NT + j] = vfma(wv, xv[i], acc[i * NT + j]);
        }
    }
    if (tail) {
        vf xv[MT];
#pragma GCC unroll 16
        for (int i = 0; i < MT; ++i) xv[i] = vload_n(x + static_cast<long>(i) * K + Kv, tail);
#pragma GCC unroll 16
        for (int j = 0; j < NT; ++j) {
            const vf wv = vload_n(w + static_cast<long>(j) * K + Kv, tail);
#pragma GCC unroll 16
            for (int i = 0; i < MT; ++i) acc[i * NT + j] = vfma(wv, xv[i], acc[i * NT + j]);
        }
    }
    float sums[kW];
    vstore(sums, vhsum_each(acc));
#pragma GCC unroll 16
    for (int i = 0; i < MT; ++i) {
        float* o = out + static_cast<long>(m0 + i) * N + n0;
#pragma GCC unroll 16
        for (int j = 0; j < NT; ++j) o[j] = sums[i * NT + j] + (bias ? bias[n0 + j] : 0.0f);
    }
}

// out[m, n] alone (the columns left over after the tiles): the same arithmetic as a tile's.
inline void linear_one(float* out, const float* inp, const float* weight, const float* bias, int K,
                       int N, int m, int n) {
    const int Kv = K - K % kW, tail = K - Kv;
    const float* x = inp + static_cast<long>(m) * K;
    const float* w = weight + static_cast<long>(n) * K;
    vf acc = vzero();
    for (int k = 0; k < Kv; k += kW) acc = vfma(vload(w + k), vload(x + k), acc);
    if (tail) acc = vfma(vload_n(w + Kv, tail), vload_n(x + Kv, tail), acc);
    out[static_cast<long>(m) * N + n] = vhsum(acc) + (bias ? bias[n] : 0.0f);
}

// Columns [n_begin, n_end) of every row.
inline void linear_columns(float* out, const float* inp, const float* weight, const float* bias,
                           int M, int K, int N, int n_begin, int n_end) {
    int n = n_begin;
    for (; n + kW <= n_end; n += kW) {
        int m = 0;
        for (; m + 2 <= M; m += 2) {
            linear_tile<2, kW / 2>(out, inp, weight, bias, K, N, m, n);
            linear_tile<2, kW / 2>(out, inp, weight, bias, K, N, m, n + kW / 2);
        }
        if (m < M) linear_tile<1, kW>(out, inp, weight, bias, K, N, m, n);
    }
    for (; n < n_end; ++n) {
        for (int m = 0; m < M; ++m) linear_one(out, inp, weight, bias, K, N, m, n);
    }
}

}  // namespace decode_detail

void linear_rows_forward(float* out, const float* inp, const float* weight, const float* bias,
                         int M, int K, int N) {
    using namespace decode_detail;
    if (M <= 0 || N <= 0) return;
    // One contiguous range of columns per thread (so each core keeps reading the same part of
    // the weights, which can then stay in its own L2), in multiples of the column tile.
    const long work = static_cast<long>(M) * N * K;
    const int tiles = (N + kW - 1) / kW;
    int items = work >= kLinearParallelMin ? num_threads() : 1;
    if (items > tiles) items = tiles;
    if (items < 1) items = 1;
    const int items_n = items;
    for_items(items, items > 1, [=](int item) {
        const int t0 = static_cast<int>(static_cast<long>(tiles) * item / items_n);
        const int t1 = static_cast<int>(static_cast<long>(tiles) * (item + 1) / items_n);
        const int n0 = t0 * kW, n1 = t1 * kW < N ? t1 * kW : N;
        linear_columns(out, inp, weight, bias, M, K, N, n0, n1);
    });
}

void linear_rows_forward_columns(float* out, const float* inp, const float* weight,
                                 const float* bias, int M, int K, int N, int n0, int n1) {
    decode_detail::linear_columns(out, inp, weight, bias, M, K, N, n0, n1);
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
                              const float* v, int P, int NH, int hs, int ldk) {
    using namespace decode_detail;
    if (P <= 0) return;
    const bool parallel = 2L * P * NH * hs >= kAttentionParallelMin;
    for_items(NH, parallel, [=](int h) { attention_head(out, att, q, kt, v, P, NH, hs, ldk, h); });
}

void attention_decode_forward_heads(float* out, float* att, const float* q, const float* kt,
                                    const float* v, int P, int NH, int hs, int ldk, int h0,
                                    int h1) {
    if (P <= 0) return;
    for (int h = h0; h < h1; ++h) {
        decode_detail::attention_head(out, att, q, kt, v, P, NH, hs, ldk, h);
    }
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
