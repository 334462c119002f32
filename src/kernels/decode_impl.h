// The vectorized decode kernels, compiled once per instruction set by decode.cpp (portable),
// decode_avx2.cpp and decode_avx512.cpp.
//
// linear_packed_forward: the weights packed in blocks of 16 columns, each (K,16) contiguous (in
// bf16, rows in pairs), so a product streams its share of the weights front to back. One vector
// accumulator holds kW outputs, each summed over its inputs k = k0..k1−1 in order, one multiply-add
// at a time: no sum across lanes, and every output's arithmetic is the same whichever tile, row
// count or thread computes it. attention_decode_forward: scores vectorized over positions (keys
// transposed), the weighted sum of values vectorized over the head's channels.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/decode.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace decode_detail {

constexpr int kBlockVecs = kPackedCols / kW;  // vectors in a packed block of columns

// The weights of vector v (columns v·kW..v·kW+kW−1) at k = 0: its column block, at its lanes.
inline const float* vector_weights(const float* packed, int K, int v) {
    return packed + static_cast<long>(v / kBlockVecs) * K * kPackedCols + (v % kBlockVecs) * kW;
}
// bf16: rows in pairs, each pair of a block 2·kPackedCols halves, a column's two rows side by side.
inline const bf16* vector_weights(const bf16* packed, int K, int v) {
    return packed + static_cast<long>(v / kBlockVecs) * (K + K % 2) * kPackedCols +
           (v % kBlockVecs) * kW * 2;
}

// Stores the accumulators of linear_tile plus the bias, only the columns in [n0, n1).
template <int MT, int NV>
inline void store_tile(float* out, const vf (&acc)[MT][NV], const float* bias, int N, int m0,
                       int v0, int n0, int n1) {
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

// out[m0..m0+MT, vector columns v0..v0+NV) of rows m0.. of inp, summed over k in [k0, k1): MT·NV
// accumulators, one weight load per vector and k shared by the MT rows. Only the columns in
// [n0, n1) are stored. W is float or bf16; bf16 weights come two rows per load, and each
// accumulator still takes row k, then row k+1: the same multiply-adds in the same order as on
// float weights.
template <int MT, int NV, typename W>
inline void linear_tile(float* out, const float* inp, const W* packed, const float* bias, int K,
                        int N, int m0, int v0, int n0, int n1, int k0, int k1) {
    vf acc[MT][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MT; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = vzero();
    }
    const W* w[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) w[j] = vector_weights(packed, K, v0 + j);
    const float* x = inp + static_cast<long>(m0) * K;
    if constexpr (std::is_same_v<W, float>) {
        for (int k = k0; k < k1; ++k) {
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
    } else {
        int k = k0;
        if (k % 2 == 1 && k < k1) {  // an odd first row: the second half of the pair k−1, k
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) {
                vf we, wo;
                vload_bf16_pairs(w[j] + static_cast<long>(k - 1) * kPackedCols, we, wo);
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i) {
                    acc[i][j] = vfma(vset1(x[static_cast<long>(i) * K + k]), wo, acc[i][j]);
                }
            }
            ++k;
        }
        for (; k + 1 < k1; k += 2) {  // the pair of rows k, k+1 starts k·kPackedCols halves in
            vf xe[MT], xo[MT];
#pragma GCC unroll 8
            for (int i = 0; i < MT; ++i) {
                xe[i] = vset1(x[static_cast<long>(i) * K + k]);
                xo[i] = vset1(x[static_cast<long>(i) * K + k + 1]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) {
                vf we, wo;
                vload_bf16_pairs(w[j] + static_cast<long>(k) * kPackedCols, we, wo);
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i) acc[i][j] = vfma(xe[i], we, acc[i][j]);
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i) acc[i][j] = vfma(xo[i], wo, acc[i][j]);
            }
        }
        if (k < k1) {  // a last row alone: the first half of its pair
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) {
                vf we, wo;
                vload_bf16_pairs(w[j] + static_cast<long>(k) * kPackedCols, we, wo);
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i) {
                    acc[i][j] = vfma(vset1(x[static_cast<long>(i) * K + k]), we, acc[i][j]);
                }
            }
        }
    }
    store_tile(out, acc, bias, N, m0, v0, n0, n1);
}

// Many rows (a batch, a recompute) run in tiles of up to kTileRows rows by kTileVecs vectors: the
// weights of a tile's vectors are loaded once per k for all its rows. AVX-512's 32 registers hold
// an 8×2 tile (16 accumulators, the 2 weight vectors and the broadcasts), so a batch of 8 reads
// the weights once; AVX2 and SIMD128 (16 registers, two per vector there) keep 4×4 tiles.
constexpr int kTileRows = kW == 16 ? 8 : 4;
constexpr int kTileVecs = kW == 16 ? 2 : 4;
// Up to kFewRows rows (a batch's share on a team split by sequences) take twice the vectors per
// tile on AVX-512: the same 16 accumulators, 16 multiply-adds per 8 loads instead of 8 per 6.
constexpr int kFewRows = kW == 16 ? 4 : 0;

// Rows [m0, m0+rows) of vectors [v, v+NV), rows ≤ MT: the tile of exactly that many rows.
template <int NV, int MT = kTileRows, typename W>
inline void linear_rows(float* out, const float* inp, const W* packed, const float* bias, int K,
                        int N, int m0, int rows, int v, int n0, int n1, int k0, int k1) {
    if constexpr (MT > 1) {
        if (rows < MT) {
            return linear_rows<NV, MT - 1>(out, inp, packed, bias, K, N, m0, rows, v, n0, n1, k0,
                                           k1);
        }
    }
    linear_tile<MT, NV>(out, inp, packed, bias, K, N, m0, v, n0, n1, k0, k1);
}

// Rows 0..M of columns [n0, n1). One row (decoding): up to 8 vectors at a time, each accumulator a
// chain of dependent multiply-adds, so it takes 4 or more side by side to keep the loads flowing.
// Many rows: kTileVecs vectors at a time, all the rows in tiles of up to kTileRows inside, so the
// vectors' weights are read from memory once and from L1 for the other tiles (up to kFewRows
// rows: 2·kTileVecs vectors at a time, one tile).
template <typename W>
inline void linear_packed(float* out, const float* inp, const W* packed, const float* bias, int M,
                          int K, int N, int n0, int n1, int k0, int k1) {
    const int vb = n0 / kW, ve = (n1 + kW - 1) / kW;  // the vectors that cover [n0, n1)
    if (M == 1) {
        int v = vb;
        for (; v + 8 <= ve; v += 8) {
            linear_tile<1, 8>(out, inp, packed, bias, K, N, 0, v, n0, n1, k0, k1);
        }
        for (; v + 4 <= ve; v += 4) {
            linear_tile<1, 4>(out, inp, packed, bias, K, N, 0, v, n0, n1, k0, k1);
        }
        for (; v + 2 <= ve; v += 2) {
            linear_tile<1, 2>(out, inp, packed, bias, K, N, 0, v, n0, n1, k0, k1);
        }
        for (; v < ve; ++v) linear_tile<1, 1>(out, inp, packed, bias, K, N, 0, v, n0, n1, k0, k1);
        return;
    }
    int v = vb;
    if constexpr (kFewRows > 0) {
        if (M <= kFewRows) {
            for (; v + 2 * kTileVecs <= ve; v += 2 * kTileVecs) {
                linear_rows<2 * kTileVecs, kFewRows>(out, inp, packed, bias, K, N, 0, M, v, n0, n1,
                                                     k0, k1);
            }
        }
    }
    for (; v + kTileVecs <= ve; v += kTileVecs) {
        for (int m = 0; m < M; m += kTileRows) {
            linear_rows<kTileVecs>(out, inp, packed, bias, K, N, m, std::min(kTileRows, M - m), v,
                                   n0, n1, k0, k1);
        }
    }
    for (; v < ve; ++v) {
        for (int m = 0; m < M; m += kTileRows) {
            linear_rows<1>(out, inp, packed, bias, K, N, m, std::min(kTileRows, M - m), v, n0, n1,
                           k0, k1);
        }
    }
}

}  // namespace decode_detail

void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1) {
    if (M <= 0 || n0 >= n1) return;
    decode_detail::linear_packed(out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

void linear_packed_forward(float* out, const float* inp, const bf16* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1) {
    if (M <= 0 || n0 >= n1) return;
    decode_detail::linear_packed(out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

namespace decode_detail {

// Scores a[p] = (q_h · k_h[p]) · scale of NV vectors of positions from p0, the last with `last`
// lanes (1..kW): even and odd channels d in separate accumulators, 2·NV independent chains of
// multiply-adds (one chain per vector waits 4 cycles per channel). KV: the cache's float or bf16.
template <int NV, typename KV>
inline void head_scores(float* a, const float* qh, const KV* kh, int hs, int ldk, int p0, int last,
                        vf vscale) {
    vf even[NV], odd[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) even[j] = odd[j] = vzero();
    // row d of the keys, vector j (the last one masked: past it lie other channels' keys)
    auto keys = [&](int d, int j) {
        const KV* r = kh + static_cast<long>(d) * ldk + p0 + j * kW;
        return j == NV - 1 && last < kW ? vload_n(r, last) : vload(r);
    };
    int d = 0;
    for (; d + 1 < hs; d += 2) {
        const vf qe = vset1(qh[d]), qo = vset1(qh[d + 1]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            even[j] = vfma(qe, keys(d, j), even[j]);
            odd[j] = vfma(qo, keys(d + 1, j), odd[j]);
        }
    }
    if (d < hs) {
        const vf qe = vset1(qh[d]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) even[j] = vfma(qe, keys(d, j), even[j]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
        const vf sc = vmul(vadd(even[j], odd[j]), vscale);
        if (j == NV - 1 && last < kW) {
            vstore_n(a + p0 + j * kW, sc, last);
        } else {
            vstore(a + p0 + j * kW, sc);
        }
    }
}

// Vectors of a head's channels that one pass over the positions of head_values sums: 4 (16
// accumulators) where there are 32 vector registers (AVX-512), else 1 (4 accumulators).
#if defined(WIGGLE_SIMD_AVX512)
constexpr int kValueVectors = 4;
#else
constexpr int kValueVectors = 1;
#endif

// o[d0 + j·kW + lane] = Σ_p a[p] · vh[p·C + d0 + j·kW + lane] for NV vectors of channels from d0
// (the last with the channels up to hs): p mod 4 in separate accumulators, added (0+1)+(2+3).
template <int NV, typename KV>
inline void head_values(float* o, const float* a, const KV* vh, int C, int P, int hs, int d0) {
    const int last = hs - d0 - (NV - 1) * kW;  // channels from the last vector on (≥ kW: whole)
    auto values = [&](int pos, int j) {
        const KV* r = vh + static_cast<long>(pos) * C + d0 + j * kW;
        return j == NV - 1 && last < kW ? vload_n(r, last) : vload(r);
    };
    vf acc[4][NV];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[c][j] = vzero();
    }
    int p = 0;
    for (; p + 3 < P; p += 4) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
            const vf w = vset1(a[p + c]);
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[c][j] = vfma(w, values(p + c, j), acc[c][j]);
        }
    }
    for (; p < P; ++p) {
        const vf w = vset1(a[p]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[0][j] = vfma(w, values(p, j), acc[0][j]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
        const vf sum = vadd(vadd(acc[0][j], acc[1][j]), vadd(acc[2][j], acc[3][j]));
        if (j == NV - 1 && last < kW) {
            vstore_n(o + d0 + j * kW, sum, last);
        } else {
            vstore(o + d0 + j * kW, sum);
        }
    }
}

// Head h of attention_decode_forward: its scores, probabilities and output channels.
template <typename KV>
inline void attention_head(float* out, float* att, const float* q, const KV* kt, const KV* v, int P,
                           int NH, int hs, int ldk, int h) {
    const int C = NH * hs;
    const vf vscale = vset1(1.0f / std::sqrt(static_cast<float>(hs)));
    const int Pv = P - P % kW, ptail = P - Pv;
    float* a = att + static_cast<long>(h) * P;
    const float* qh = q + static_cast<long>(h) * hs;
    const KV* kh = kt + static_cast<long>(h) * hs * ldk;
    // scores, up to four vectors of positions at a time
    for (int p = 0; p < P; p += 4 * kW) {
        const int vecs = std::min(4, (P - p + kW - 1) / kW), last = P - p - (vecs - 1) * kW;
        switch (vecs) {
            case 4:
                head_scores<4>(a, qh, kh, hs, ldk, p, last, vscale);
                break;
            case 3:
                head_scores<3>(a, qh, kh, hs, ldk, p, last, vscale);
                break;
            case 2:
                head_scores<2>(a, qh, kh, hs, ldk, p, last, vscale);
                break;
            default:
                head_scores<1>(a, qh, kh, hs, ldk, p, last, vscale);
        }
    }
    // softmax over p, max-subtracted; the masked lanes are −inf, so they add e^−inf = 0
    int p;
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
    // out_h = Σ_p a[p] · v_h[p], vectorized over the channels, kValueVectors vectors of them per
    // pass over p (each a[p] splat once for all of them)
    const KV* vh = v + static_cast<long>(h) * hs;
    float* o = out + static_cast<long>(h) * hs;
    for (int d = 0; d < hs; d += kValueVectors * kW) {
        switch (std::min(kValueVectors, (hs - d + kW - 1) / kW)) {
            case 4:
                head_values<4>(o, a, vh, C, P, hs, d);
                break;
            case 3:
                head_values<3>(o, a, vh, C, P, hs, d);
                break;
            case 2:
                head_values<2>(o, a, vh, C, P, hs, d);
                break;
            default:
                head_values<1>(o, a, vh, C, P, hs, d);
        }
    }
}

}  // namespace decode_detail

void attention_decode_forward(float* out, float* att, const float* q, const float* kt,
                              const float* v, int P, int NH, int hs, int ldk, int h0, int h1) {
    for (int h = h0; h < h1 && P > 0; ++h) {
        decode_detail::attention_head(out, att, q, kt, v, P, NH, hs, ldk, h);
    }
}

void attention_decode_forward(float* out, float* att, const float* q, const bf16* kt, const bf16* v,
                              int P, int NH, int hs, int ldk, int h0, int h1) {
    for (int h = h0; h < h1 && P > 0; ++h) {
        decode_detail::attention_head(out, att, q, kt, v, P, NH, hs, ldk, h);
    }
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
