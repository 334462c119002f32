// The fused causal attention, compiled once per instruction set by attention.cpp (portable),
// attention_avx2.cpp and attention_avx512.cpp. See attention.h for what it computes.
//
// One (b, h) at a time per thread, all in a per-thread scratch: Q, K, V (and dO) copied to rows
// padded to whole vectors, Kᵀ and Vᵀ (in panels of 64 keys) so that a row of scores is a sum of
// vector rows. Every
// product is one primitive, rank_update: out[r] (+)= Σ_k a(r,k)·X[k] over a block of up to 4
// rows × 4 vectors held in registers (FMA-bound, not load-bound). Causal skipping is at vector
// granularity: a block of query rows only touches the keys up to its last row.
// Forward: S = Q·Kᵀ (4 rows at a time), exp in place, O = E·V / Σ E; only lse is kept.
// Backward: per block of rows, P = exp(S·scale − lse), dP = dO·Vᵀ, dS = P∘(dP∘mask − D)·scale
// with D = rowsum(dO∘O), dQ = dS·K; then dK = dSᵀ·Q and dV = (P∘mask)ᵀ·dO from the two (T,T)
// scratch tiles (the only place a (T,T) matrix exists, one per thread); dQ, dK, dV are added to
// dqkv in one last pass.
// Memory: the rows of one head are 3C floats apart, each in its own page, so every pass over them
// misses the TLB and defeats the hardware prefetchers. Each row is read (or updated) in one pass
// for q, k and v together, the transposes are made from the contiguous copies, and the rows of
// the next (b, h) are prefetched while this one computes.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/grad_input.h"
#include "kernels/hash.h"
#include "kernels/matmul_bf16.h"
#include "kernels/simd.h"
#include "kernels/transpose_avx512.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace attention_detail {

constexpr int kR = 4;       // rows per register block
constexpr int kG = 4;       // vectors per register block (WebAssembly: one, see rank_block_packed)
constexpr int kAhead = 16;  // rows of prefetch distance in the passes over rows in memory
// Kᵀ and Vᵀ in panels of this many keys (panel_at): S's and dP's register blocks read each k's
// 64 keys as one contiguous 256-byte row, where rows of Tp floats put every k of a block 1 KB
// (at T = 256) from the last, in 4 of L1's 64 sets (measured: S 1.5× slower than O = E·V, the
// same FLOPs). WebAssembly keeps one panel (rank_rows there packs A once per call).
#if defined(WIGGLE_SIMD_WASM)
constexpr int kPanel = 0;  // 0: one panel of Tp
#else
constexpr int kPanel = kG * kW < 64 ? 64 : kG * kW;
#endif

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

template <int NR, int NG>
inline void rank_block(float* out, long ldo, const float* A, long sa_r, long sa_k, const float* X,
                       long ldx, int k0, int k1, bool accumulate) {
    vf acc[NR][NG];
    for (int r = 0; r < NR; ++r) {
        for (int g = 0; g < NG; ++g)
            acc[r][g] = accumulate ? vload(out + r * ldo + g * kW) : vzero();
    }
    for (int k = k0; k < k1; ++k) {
        vf x[NG];
        for (int g = 0; g < NG; ++g) x[g] = vload(X + k * ldx + g * kW);
        for (int r = 0; r < NR; ++r) {
            const vf a = vset1(A[r * sa_r + k * sa_k]);
            for (int g = 0; g < NG; ++g) acc[r][g] = vfma(a, x[g], acc[r][g]);
        }
    }
    for (int r = 0; r < NR; ++r) {
        for (int g = 0; g < NG; ++g) vstore(out + r * ldo + g * kW, acc[r][g]);
    }
}

#if defined(WIGGLE_SIMD_WASM)
// rank_block with A packed k-major (Ap[k·kR + r], k from 0) and one vector per row: a vector
// is two v128 here and V8 has 15 of them on x86-64, so 4×4 accumulators would spill (4×1 is 8).
// V8 computes each strided A address of rank_block with a multiply and two adds per row and k
// (twice the multiplies and adds themselves); from the packed copy the four splats are constant
// offsets from one pointer, and the loop ends on that pointer. The same sums in the same order.
template <int NR>
inline void rank_block_packed(float* out, long ldo, const float* Ap, const float* X, long ldx,
                              int kc, bool accumulate) {
    vf acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = accumulate ? vload(out + r * ldo) : vzero();
    for (const float* const a_end = Ap + static_cast<long>(kc) * kR; Ap != a_end; Ap += kR) {
        const vf x = vload(X);
        for (int r = 0; r < NR; ++r) acc[r] = vfma(vset1(Ap[r]), x, acc[r]);
        X += ldx;
    }
    for (int r = 0; r < NR; ++r) vstore(out + r * ldo, acc[r]);
}

// rank_rows by chunks of k: each chunk's A packed once for all of L's vectors; the sums carry
// from chunk to chunk through out (a float stored and loaded again is the same float).
template <int NR>
inline void rank_rows(float* out, long ldo, const float* A, long sa_r, long sa_k, const float* X,
                      long ldx, int k0, int k1, int L, bool accumulate) {
    constexpr int kChunk = 128;
    float Ap[kChunk * kR];
    if (k1 <= k0 && !accumulate) {  // an empty sum
        for (int r = 0; r < NR; ++r) {
            for (int l0 = 0; l0 < L; l0 += kW) vstore(out + r * ldo + l0, vzero());
        }
    }
    for (int kb = k0; kb < k1; kb += kChunk) {
        const int kc = k1 - kb < kChunk ? k1 - kb : kChunk;
        for (int k = 0; k < kc; ++k) {
            for (int r = 0; r < NR; ++r) Ap[k * kR + r] = A[r * sa_r + (kb + k) * sa_k];
        }
        const bool acc = accumulate || kb > k0;
        for (int l0 = 0; l0 < L; l0 += kW) {
            rank_block_packed<NR>(out + l0, ldo, Ap, X + kb * ldx + l0, ldx, kc, acc);
        }
    }
}
#else
template <int NR>
inline void rank_rows(float* out, long ldo, const float* A, long sa_r, long sa_k, const float* X,
                      long ldx, int k0, int k1, int L, bool accumulate) {
    int l0 = 0;
    for (; l0 + kG * kW <= L; l0 += kG * kW) {
        rank_block<NR, kG>(out + l0, ldo, A, sa_r, sa_k, X + l0, ldx, k0, k1, accumulate);
    }
    switch ((L - l0) / kW) {
        case 3:
            rank_block<NR, 3>(out + l0, ldo, A, sa_r, sa_k, X + l0, ldx, k0, k1, accumulate);
            break;
        case 2:
            rank_block<NR, 2>(out + l0, ldo, A, sa_r, sa_k, X + l0, ldx, k0, k1, accumulate);
            break;
        case 1:
            rank_block<NR, 1>(out + l0, ldo, A, sa_r, sa_k, X + l0, ldx, k0, k1, accumulate);
            break;
        default:
            break;
    }
}
#endif

// out[r][0:L] (+)= Σ_{k0 ≤ k < k1} A[r·sa_r + k·sa_k] · X[k·ldx + 0:L] for r < nr ≤ kR.
// L is a multiple of kW; every row of X and out is padded so whole vectors stay in bounds.
inline void rank_update(float* out, long ldo, int nr, const float* A, long sa_r, long sa_k,
                        const float* X, long ldx, int k0, int k1, int L, bool accumulate) {
    switch (nr) {
        case 4:
            rank_rows<4>(out, ldo, A, sa_r, sa_k, X, ldx, k0, k1, L, accumulate);
            break;
        case 3:
            rank_rows<3>(out, ldo, A, sa_r, sa_k, X, ldx, k0, k1, L, accumulate);
            break;
        case 2:
            rank_rows<2>(out, ldo, A, sa_r, sa_k, X, ldx, k0, k1, L, accumulate);
            break;
        case 1:
            rank_rows<1>(out, ldo, A, sa_r, sa_k, X, ldx, k0, k1, L, accumulate);
            break;
        default:
            break;
    }
}

// out[r][0:L] = Σ_{k < hs} A[r·sa_r + k] · Xᵀ[k][0:L] for r < nr ≤ kR, with Xᵀ (hs rows) in
// panels of `panel` columns (panel_at): one rank_update per panel, the same sums.
inline void rank_update_panels(float* out, long ldo, int nr, const float* A, long sa_r,
                               const float* Xt, int hs, int panel, int L) {
    for (int l0 = 0; l0 < L; l0 += panel) {
        rank_update(out + l0, ldo, nr, A, sa_r, 1, Xt + static_cast<long>(l0) * hs, panel, 0, hs,
                    L - l0 < panel ? L - l0 : panel, false);
    }
}

// Copies T rows of hs floats (stride ld) into rows of hsp floats, zero padded.
inline void copy_rows(float* dst, int hsp, const float* src, long ld, int T, int hs) {
    for (int t = 0; t < T; ++t) {
        float* d = dst + static_cast<long>(t) * hsp;
        const float* s = src + t * ld;
        for (int i = 0; i < hsp; i += kW) {
            vstore(d + i, hs - i >= kW ? vload(s + i) : vload_n(s + i, hs - i > 0 ? hs - i : 0));
        }
    }
}

// Asks for rows [t0, t1) of hs floats (stride ld) to be brought into the cache. The rows of one
// head are ld = 3C floats apart, so each lies in its own page, where the hardware's stream
// prefetchers stop: without this every row is a miss to memory. Issued for the next (b, h) while
// this one computes, and kAhead rows ahead in the passes over rows; it changes no result. Into L2
// (locality 2, prefetcht1): into L1 measured ~10% slower, the lines evicting this item's tiles.
// (kWrite a template argument: GCC 12 merges the two branches of a run-time flag into one
// prefetch with a non-constant hint, and then drops it.)
template <bool kWrite = false>
inline void prefetch_rows(const float* base, long ld, int t0, int t1, int hs) {
    for (int t = t0; t < t1; ++t) {
        const float* row = base + t * ld;
        for (int i = 0; i < hs; i += 16) __builtin_prefetch(row + i, kWrite ? 1 : 0, 2);
        __builtin_prefetch(row + hs - 1, kWrite ? 1 : 0, 2);
    }
}

// dst[0:hs] += src[0:hs]·scale (set: dst = +0 + src·scale, dst not read)
inline void add_row(float* dst, const float* src, int hs, float scale = 1.0f, bool set = false) {
    const vf sc = vset1(scale);
    int i = 0;
    for (; i + kW <= hs; i += kW) {
        vstore(dst + i, vfma(vload(src + i), sc, set ? vzero() : vload(dst + i)));
    }
    if (i < hs) {
        const vf old = set ? vzero() : vload_n(dst + i, hs - i);
        vstore_n(dst + i, vfma(vload_n(src + i, hs - i), sc, old), hs - i);
    }
}

// dst[0:hs] = src[0:hs]·scale
inline void store_row(float* dst, const float* src, int hs, float scale) {
    const vf sc = vset1(scale);
    int i = 0;
    for (; i + kW <= hs; i += kW) vstore(dst + i, vmul(vload(src + i), sc));
    if (i < hs) vstore_n(dst + i, vmul(vload_n(src + i, hs - i), sc), hs - i);
}

// Where element (i, t) of a transposed copy (hs rows i, Tp columns t) lies when its columns are
// cut into panels of `panel` (a multiple of 16): panel by panel, each hs rows of `panel` floats.
// panel = Tp is the plain row-major (hs, Tp).
inline long panel_at(int i, int t, int hs, int panel) {
    return static_cast<long>(t / panel) * hs * panel + static_cast<long>(i) * panel + t % panel;
}

#if defined(WIGGLE_SIMD_AVX512)
// dst[c·ldd + r] = src[r·lds + c] for r < 16, c < ncols: a 16×16 block transposed in registers
// (unpack, shuffle, two rounds of 128-bit lane shuffles); rows r ≥ nrows read as zeros. A gather
// per column costs about 6× more on Zen 4.
inline void transpose16(float* dst, long ldd, const float* src, long lds, int nrows, int ncols) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = i < nrows ? _mm512_loadu_ps(src + i * lds) : vzero();
    wiggle::kernels::avx512_transpose::transpose16(r);
    for (int c = 0; c < ncols; ++c) _mm512_storeu_ps(dst + c * ldd, r[c]);
}

// dstᵀ: hs rows of Tp floats (zero padded past T; in panels, see panel_at) from T rows of hs
// floats (stride ld ≥ round_up(hs, 16), the columns past hs readable).
inline void copy_transposed(float* dst, int Tp, const float* src, long ld, int T, int hs,
                            int panel) {
    for (int i0 = 0; i0 < hs; i0 += 16) {
        for (int t0 = 0; t0 < Tp; t0 += 16) {
            transpose16(dst + panel_at(i0, t0, hs, panel), panel, src + t0 * ld + i0, ld,
                        T - t0 < 16 ? T - t0 : 16, hs - i0 < 16 ? hs - i0 : 16);
        }
    }
}
#elif defined(WIGGLE_SIMD_WASM)
// dstᵀ: hs rows of Tp floats (zero padded past T; in panels, see panel_at) from T rows of hs
// floats (stride ld ≥ round_up(hs, 4), the columns past hs readable), by 4×4 blocks transposed in
// registers (the portable form's gather goes through memory lane by lane here).
inline void copy_transposed(float* dst, int Tp, const float* src, long ld, int T, int hs,
                            int panel) {
    for (int i0 = 0; i0 < hs; i0 += 4) {
        for (int t0 = 0; t0 < Tp; t0 += 4) {
            v128_t r[4];
            for (int j = 0; j < 4; ++j) {
                r[j] =
                    t0 + j < T ? wasm_v128_load(src + (t0 + j) * ld + i0) : wasm_f32x4_splat(0.0f);
            }
            transpose4(r[0], r[1], r[2], r[3]);
            for (int c = 0; c < 4 && i0 + c < hs; ++c) {
                wasm_v128_store(dst + panel_at(i0 + c, t0, hs, panel), r[c]);
            }
        }
    }
}
#else
// dstᵀ: hs rows of Tp floats (zero padded past T; in panels, see panel_at) from T rows of hs
// floats (stride ld).
inline void copy_transposed(float* dst, int Tp, const float* src, long ld, int T, int hs,
                            int panel) {
    for (int i = 0; i < hs; ++i) {
        for (int t0 = 0; t0 < Tp; t0 += kW) {
            const int n = T - t0 < kW ? T - t0 : kW;
            vstore(dst + panel_at(i, t0, hs, panel),
                   n > 0 ? vgather_n(src + t0 * ld + i, static_cast<int>(ld), n) : vzero());
        }
    }
}
#endif

// s[j:j+kW) with the lanes past t (the causal mask) at −inf, without storing the mask first
// (scalar stores then a vector load of the same bytes would stall store forwarding).
inline vf load_causal(const float* s, int j, int t) {
    const int n = t + 1 - j;
    return n >= kW ? vload(s + j) : vload_n(s + j, n > 0 ? n : 0, -INFINITY);
}

// mask[0..t] = keep ? keep_scale : 0 for query t: a plain loop over the hash that the compiler
// vectorizes where the ISA has 64-bit multiplies (AVX-512DQ).
inline void dropout_row(float* mask, uint64_t key, int t, float dropout, float keep_scale) {
    const uint64_t row = static_cast<uint64_t>(t) << 32;
    for (int j = 0; j <= t; ++j) {
        uint64_t z = key + (row | static_cast<uint32_t>(j)) + 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
        mask[j] = u >= dropout ? keep_scale : 0.0f;
    }
}

// Turns row t of raw scores s[0:L) into unnormalized probabilities exp(s·scale − max) in place
// (0 past t); returns their sum in *total and the max of the scaled scores (the row's lse is
// max + log(total); the kernels take the logs of a block's rows together, so that they overlap).
inline float exp_row(float* s, int t, int L, float scale, float* total) {
    vf m = vset1(-INFINITY);
    for (int j = 0; j < L; j += kW) m = vmax(m, load_causal(s, j, t));
    const float mx = vhmax(m) * scale;
    const vf vsc = vset1(scale), vmx = vset1(-mx);
    vf sum = vzero();
    for (int j = 0; j < L; j += kW) {
        const vf e = vexp(vfma(load_causal(s, j, t), vsc, vmx));
        vstore(s + j, e);
        sum = vadd(sum, e);
    }
    *total = vhsum(sum);
    return mx;
}

}  // namespace attention_detail

// scratch: per_thread floats for each thread of the pool.
namespace attention_detail {
// The (b, h) of one thread slot; a function (not a lambda body) so that its parameters are
// plain values the compiler need not reload after every store through a float*.
inline void attention_forward_slot(float* out, float* lse, const float* qkv, int B, int T, int C,
                                   int NH, float dropout, uint64_t seed, float* scratch,
                                   long per_thread, int slot, int slots) {
    using namespace attention_detail;
    const int hs = C / NH;
    const int hsp = round_up(hs, kW), Tp = round_up(T, kW);
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
    const int BH = B * NH;
    {
        float* Q = scratch + per_thread * slot;
        float* K = Q + static_cast<long>(T) * hsp;
        float* V = K + static_cast<long>(T) * hsp;
        const int panel = kPanel > 0 ? kPanel : Tp;
        float* Kt = V + static_cast<long>(T) * hsp;                   // in panels (panel_at)
        float* S = Kt + static_cast<long>(hs) * round_up(Tp, panel);  // kR rows of Tp
        float* O = S + static_cast<long>(kR) * Tp;                    // kR rows of hsp
        float* M = O + static_cast<long>(kR) * hsp;                   // a row's dropout mask, Tp
        for (int bh = slot * BH / slots; bh < (slot + 1) * BH / slots; ++bh) {
            const int b = bh / NH, h = bh % NH;
            const float* base = qkv + static_cast<long>(b) * T * C3 + h * hs;
            // One pass over the rows of qkv (each row of a head is in its own page: touching it
            // once, not once per operand, is what keeps the TLB misses down), then Kᵀ from the
            // contiguous copy.
            for (int t = 0; t < T; ++t) {
                for (int part = 0; part < 3; ++part) {
                    float* dst = part == 0 ? Q : part == 1 ? K : V;
                    if (t + kAhead < T)
                        prefetch_rows(base + part * C, C3, t + kAhead, t + kAhead + 1, hs);
                    copy_rows(dst + static_cast<long>(t) * hsp, hsp, base + t * C3 + part * C, C3,
                              1, hs);
                }
            }
            copy_transposed(Kt, Tp, K, hsp, T, hs, panel);
            const uint64_t key = attention_dropout_key(seed, b, h);
            const bool has_next = bh + 1 < (slot + 1) * BH / slots;
            const int nb = (bh + 1) / NH, nh = (bh + 1) % NH;
            const long next_off = static_cast<long>(nb) * T * C3 + nh * hs;
            const long next_off_c = static_cast<long>(nb) * T * C + nh * hs;
            for (int r0 = 0; r0 < T; r0 += kR) {
                const int nr = T - r0 < kR ? T - r0 : kR;
                const int kmax = r0 + nr, L = round_up(kmax, kW);
                if (has_next) {
                    for (int part = 0; part < 3; ++part)
                        prefetch_rows(qkv + next_off + part * C, C3, r0, r0 + nr, hs);
                    prefetch_rows<true>(out + next_off_c, C, r0, r0 + nr, hs);
                }
                rank_update_panels(S, Tp, nr, Q + static_cast<long>(r0) * hsp, hsp, Kt, hs, panel,
                                   L);
                float mx[kR], total[kR], inv_total[kR];
                for (int r = 0; r < nr; ++r) {
                    mx[r] = exp_row(S + static_cast<long>(r) * Tp, r0 + r, L, scale, &total[r]);
                }
                for (int r = 0; r < nr; ++r) {
                    const int t = r0 + r;
                    float* p = S + static_cast<long>(r) * Tp;
                    lse[static_cast<long>(bh) * T + t] = mx[r] + std::log(total[r]);
                    // O = Σ_j e_j·mask_j·v_j / Σ_j e_j: normalized once, on the output row.
                    inv_total[r] = 1.0f / total[r];
                    if (dropout > 0.0f) {
                        dropout_row(M, key, t, dropout, keep_scale);
                        for (int j = 0; j <= t; ++j) p[j] *= M[j];
                    }
                }
                rank_update(O, hsp, nr, S, Tp, 1, V, hsp, 0, kmax, hsp, false);
                for (int r = 0; r < nr; ++r) {
                    store_row(out + (static_cast<long>(b) * T + r0 + r) * C + h * hs,
                              O + static_cast<long>(r) * hsp, hs, inv_total[r]);
                }
            }
        }
    }
}
}  // namespace attention_detail

void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                       float dropout, uint64_t seed, float* scratch, long per_thread) {
    const int BH = B * NH;
    const int slots = BH < num_threads() ? BH : num_threads();
    auto slot_body = [=](int slot) {
        attention_detail::attention_forward_slot(out, lse, qkv, B, T, C, NH, dropout, seed, scratch,
                                                 per_thread, slot, slots);
    };
    parallel_items(slots, slots, slot_body);
}

namespace attention_detail {
// The (b, h) of one thread slot; a function (not a lambda body) so that its parameters are
// plain values the compiler need not reload after every store through a float*.
inline void attention_backward_slot(float* dqkv, const float* dout, const float* qkv,
                                    const float* out, const float* lse, int B, int T, int C, int NH,
                                    float dropout, uint64_t seed, GradInput into, float* scratch,
                                    long per_thread, int slot, int slots) {
    using namespace attention_detail;
    const int hs = C / NH;
    const int hsp = round_up(hs, kW), Tp = round_up(T, kW);
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
    const int BH = B * NH;
    {
        float* Q = scratch + per_thread * slot;
        float* K = Q + static_cast<long>(T) * hsp;
        float* V = K + static_cast<long>(T) * hsp;
        float* dO = V + static_cast<long>(T) * hsp;
        float* dQ = dO + static_cast<long>(T) * hsp;
        float* dK = dQ + static_cast<long>(T) * hsp;
        float* dV = dK + static_cast<long>(T) * hsp;
        const int panel = kPanel > 0 ? kPanel : Tp;
        float* Kt = dV + static_cast<long>(T) * hsp;                   // in panels (panel_at)
        float* Vt = Kt + static_cast<long>(hs) * round_up(Tp, panel);  // in panels
        float* P = Vt + static_cast<long>(hs) * round_up(Tp, panel);   // (T, Tp): P∘mask
        float* dS = P + static_cast<long>(T) * Tp;                     // (T, Tp)
        float* D = dS + static_cast<long>(T) * Tp;                     // T
        float* M = D + Tp;                                             // a row's dropout mask, Tp
        for (int bh = slot * BH / slots; bh < (slot + 1) * BH / slots; ++bh) {
            const int b = bh / NH, h = bh % NH;
            const float* base = qkv + static_cast<long>(b) * T * C3 + h * hs;
            float* dbase = dqkv + static_cast<long>(b) * T * C3 + h * hs;
            // One pass over the rows (each in its own page, see the forward), then the transposes
            // from the contiguous copies.
            for (int t = 0; t < T; ++t) {
                for (int part = 0; part < 3; ++part) {
                    float* dst = part == 0 ? Q : part == 1 ? K : V;
                    if (t + kAhead < T)
                        prefetch_rows(base + part * C, C3, t + kAhead, t + kAhead + 1, hs);
                    copy_rows(dst + static_cast<long>(t) * hsp, hsp, base + t * C3 + part * C, C3,
                              1, hs);
                }
            }
            copy_transposed(Kt, Tp, K, hsp, T, hs, panel);
            copy_transposed(Vt, Tp, V, hsp, T, hs, panel);
            copy_rows(dO, hsp, dout + static_cast<long>(b) * T * C + h * hs, C, T, hs);
            // D = rowsum(dO∘O): Σ_j p·dp including dropout, since O = Σ_j p·mask·v.
            for (int t = 0; t < T; ++t) {
                const float* o = out + (static_cast<long>(b) * T + t) * C + h * hs;
                const float* g = dO + static_cast<long>(t) * hsp;
                vf d = vzero();
                int i = 0;
                for (; i + kW <= hs; i += kW) d = vfma(vload(g + i), vload(o + i), d);
                if (i < hs) d = vfma(vload_n(g + i, hs - i), vload_n(o + i, hs - i), d);
                D[t] = vhsum(d);
            }
            const uint64_t key = attention_dropout_key(seed, b, h);
            const bool has_next = bh + 1 < (slot + 1) * BH / slots;
            const int nb = (bh + 1) / NH, nh = (bh + 1) % NH;
            const long next_off = static_cast<long>(nb) * T * C3 + nh * hs;
            const long next_off_c = static_cast<long>(nb) * T * C + nh * hs;
            for (int r0 = 0; r0 < T; r0 += kR) {
                const int nr = T - r0 < kR ? T - r0 : kR;
                const int kmax = r0 + nr, L = round_up(kmax, kW);
                if (has_next) {
                    for (int part = 0; part < 3; ++part)
                        prefetch_rows(qkv + next_off + part * C, C3, r0, r0 + nr, hs);
                }
                float* Pr = P + static_cast<long>(r0) * Tp;
                float* dSr = dS + static_cast<long>(r0) * Tp;
                rank_update_panels(Pr, Tp, nr, Q + static_cast<long>(r0) * hsp, hsp, Kt, hs, panel,
                                   L);
                rank_update_panels(dSr, Tp, nr, dO + static_cast<long>(r0) * hsp, hsp, Vt, hs,
                                   panel, L);
                for (int r = 0; r < nr; ++r) {
                    const int t = r0 + r;
                    float* p = Pr + static_cast<long>(r) * Tp;
                    float* ds = dSr + static_cast<long>(r) * Tp;
                    const float l = lse[static_cast<long>(bh) * T + t];
                    const vf vsc = vset1(scale), vl = vset1(-l), vD = vset1(D[t]);
                    if (dropout == 0.0f) {
                        for (int j = 0; j < L; j += kW) {
                            const vf pj = vexp(vfma(load_causal(p, j, t), vsc, vl));
                            vstore(p + j, pj);
                            vstore(ds + j, vmul(vmul(pj, vsub(vload(ds + j), vD)), vsc));
                        }
                    } else {
                        // With the mask m (0 or 1/(1−dropout)): a = p·m, ds = p·(dp·m − D)·scale.
                        for (int j = 0; j < L; j += kW) {
                            vstore(p + j, vexp(vfma(load_causal(p, j, t), vsc, vl)));
                        }
                        dropout_row(M, key, t, dropout, keep_scale);
                        for (int j = 0; j <= t; ++j) {
                            ds[j] = p[j] * (ds[j] * M[j] - D[t]) * scale;
                            p[j] *= M[j];
                        }
                        for (int j = t + 1; j < L; ++j) ds[j] = 0.0f;
                    }
                }
                rank_update(dQ + static_cast<long>(r0) * hsp, hsp, nr, dSr, Tp, 1, K, hsp, 0, kmax,
                            hsp, false);
            }
            for (int j0 = 0; j0 < T; j0 += kR) {
                const int nr = T - j0 < kR ? T - j0 : kR;
                if (has_next) {
                    for (int part = 0; part < 3; ++part)
                        prefetch_rows<true>(dqkv + next_off + part * C, C3, j0, j0 + nr, hs);
                    prefetch_rows(dout + next_off_c, C, j0, j0 + nr, hs);
                    prefetch_rows(out + next_off_c, C, j0, j0 + nr, hs);
                }
                rank_update(dK + static_cast<long>(j0) * hsp, hsp, nr, dS + j0, 1, Tp, Q, hsp, j0,
                            T, hsp, false);
                rank_update(dV + static_cast<long>(j0) * hsp, hsp, nr, P + j0, 1, Tp, dO, hsp, j0,
                            T, hsp, false);
            }
            // dqkv += (dQ, dK, dV), one pass over its rows (Set: onto +0, as if zeroed).
            const bool set = into == GradInput::Set;
            for (int t = 0; t < T; ++t) {
                if (t + kAhead < T) {
                    for (int part = 0; part < 3; ++part)
                        prefetch_rows<true>(dbase + (t + kAhead) * C3 + part * C, C3, 0, 1, hs);
                }
                for (int part = 0; part < 3; ++part) {
                    const float* src = part == 0 ? dQ : part == 1 ? dK : dV;
                    add_row(dbase + t * C3 + part * C, src + static_cast<long>(t) * hsp, hs, 1.0f,
                            set);
                }
            }
        }
    }
}
}  // namespace attention_detail

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH, float dropout, uint64_t seed,
                        GradInput into, float* scratch, long per_thread) {
    const int BH = B * NH;
    const int slots = BH < num_threads() ? BH : num_threads();
    auto slot_body = [=](int slot) {
        attention_detail::attention_backward_slot(dqkv, dout, qkv, out, lse, B, T, C, NH, dropout,
                                                  seed, into, scratch, per_thread, slot, slots);
    };
    parallel_items(slots, slots, slot_body);
}

// ---- bf16 (attention.h, attention_forward_bf16) ------------------------------------------------
// Every product is the bf16 gemm on the calling thread (bf16_product: bf16 operands read in place
// from the bf16 qkv, float sums: the bf16 gemm's arithmetic, in the tiles order on AMX); between
// them, the softmax and the dropout in float, per row. Rows in blocks of kBf16Rows queries: S for a
// block is (rows, keys up to its last query); the keys past a row's own query are masked in the
// softmax and enter the products as zeros (adding a zero product changes no sum). Same bits on
// every instruction set that fuses multiply-adds (AVX-512 without AMX, AVX2): those gemm paths
// are bit-equal, the row sums run over 16 lanes whatever the vector width (kSumLanes) and are
// added in lane order, and everything else is lane by lane.

namespace attention_detail {

constexpr int kBf16Rows = 64;  // queries per block of a product
constexpr int kSumLanes = 16;  // a row sum's partial sums, for any kW
static_assert(kSumLanes % kW == 0);

// A product of the bf16 attention: on AMX tiles where the CPU has them (AVX-512's build only:
// the tiles order of matmul_bf16.h), else gemm_bf16_strided (the pairs order).
inline void bf16_product(Isa isa, float* C, long ldc, const bf16* A, long lda, const bf16* B,
                         long ldb, int M, int N, int K, bool trans_a, bool trans_b,
                         bool accumulate) {
    if (isa == Isa::Avx512 && amx_instructions()) {
        return gemm_bf16_strided_amx(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, accumulate);
    }
    gemm_bf16_strided(isa, C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, accumulate);
}

// Σ_j e_j over j < L (a multiple of kSumLanes), as kSumLanes partial sums added in lane order:
// add() the terms, then total(), or store() the partial sums and lane_total() them later. A row's
// total is a chain of kSumLanes dependent additions: the forward stores the partial sums of a
// block of rows first and totals them after, in a loop whose rows do not wait on each other (the
// same sums; bench/RESULTS.md has the speed).
struct LaneSum {
    vf acc[kSumLanes / kW];
    LaneSum() {
        for (vf& a : acc) a = vzero();
    }
    void add(int j, vf e) { acc[(j % kSumLanes) / kW] = vadd(acc[(j % kSumLanes) / kW], e); }
    void store(float* lanes) const {
        for (int g = 0; g < kSumLanes / kW; ++g) vstore(lanes + g * kW, acc[g]);
    }
    float total() const;
};
inline float lane_total(const float* lanes) {
    float s = 0.0f;
    for (int i = 0; i < kSumLanes; ++i) s += lanes[i];
    return s;
}
inline float LaneSum::total() const {
    alignas(64) float lanes[kSumLanes];
    store(lanes);
    return lane_total(lanes);
}

// Row t of raw scores s[0:L) (L a multiple of kSumLanes) → e_j = exp(s_j·scale − max) in place
// (0 past t); returns the max of the scaled scores, the partial sums of e in lanes (LaneSum).
inline float exp_row_bf16(float* s, int t, int L, float scale, float* lanes) {
    vf m = vset1(-INFINITY);
    for (int j = 0; j < L; j += kW) m = vmax(m, load_causal(s, j, t));
    const float mx = vhmax(m) * scale;  // a max: exact in any order
    const vf vsc = vset1(scale), vmx = vset1(-mx);
    LaneSum sum;
    for (int j = 0; j < L; j += kW) {
        const vf e = vexp(vfma(load_causal(s, j, t), vsc, vmx));
        vstore(s + j, e);
        sum.add(j, e);
    }
    sum.store(lanes);
    return mx;
}

// dst[0:width) = to_bf16(src[0:n)), then zeros (+0's bits) up to width, a multiple of kW: simd.h's
// rounding (the scalar to_bf16's bits), inline, since a row is short enough that a call through
// the buffer conversion (dispatch, pool) costs as much as converting it.
inline void row_to_bf16(bf16* dst, const float* src, int n, int width) {
    for (int j = 0; j < width; j += kW) {
        const int m = n - j;
        vstore(dst + j, m >= kW ? vload(src + j) : vload_n(src + j, m > 0 ? m : 0));
    }
}

// Per-thread scratch (floats) of the bf16 kernels for one slot.
inline long bf16_scratch_floats(int T, int hs) {
    const long Tq = round_up(T, kSumLanes);
    return 2L * kBf16Rows * Tq + T * Tq + kBf16Rows * Tq / 2 + (T * hs + 1) / 2 + 2 * Tq + 64;
}

inline void attention_forward_bf16_slot(Isa isa, float* out, float* lse, const bf16* qkv, int B,
                                        int T, int C, int NH, float dropout, uint64_t seed,
                                        float* scratch, long per_thread, int slot, int slots) {
    const int hs = C / NH, Tq = round_up(T, kSumLanes);
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
    const int BH = B * NH;
    float* S = scratch + per_thread * slot;            // (kBf16Rows, Tq)
    float* M = S + static_cast<long>(kBf16Rows) * Tq;  // a row's mask, Tq
    bf16* A = reinterpret_cast<bf16*>(M + Tq);         // (kBf16Rows, Tq)
    for (int bh = slot * BH / slots; bh < (slot + 1) * BH / slots; ++bh) {
        const int b = bh / NH, h = bh % NH;
        const bf16* q = qkv + static_cast<long>(b) * T * C3 + h * hs;  // (T,hs), rows C3 apart
        const bf16* k = q + C;
        const bf16* v = q + 2 * C;
        const uint64_t key = attention_dropout_key(seed, b, h);
        for (int r0 = 0; r0 < T; r0 += kBf16Rows) {
            const int nr = T - r0 < kBf16Rows ? T - r0 : kBf16Rows, kmax = r0 + nr;
            const int L = round_up(kmax, kSumLanes);
            // S (nr, kmax) = Q[r0:kmax] · K[0:kmax]ᵀ
            bf16_product(isa, S, Tq, q + r0 * C3, C3, k, C3, nr, kmax, hs, false, true, false);
            // the rows' softmax: exp in place, then each row's lse = max + log Σ e, then the
            // bf16 copy of e∘mask (zeros past t)
            alignas(64) float lanes[kBf16Rows][kSumLanes];
            float mx[kBf16Rows], inv_total[kBf16Rows];
            for (int r = 0; r < nr; ++r) {
                mx[r] = exp_row_bf16(S + static_cast<long>(r) * Tq, r0 + r, L, scale, lanes[r]);
            }
            for (int r = 0; r < nr; ++r) {
                const float total = lane_total(lanes[r]);
                lse[static_cast<long>(bh) * T + r0 + r] = mx[r] + std::log(total);
                inv_total[r] = 1.0f / total;
            }
            for (int r = 0; r < nr; ++r) {
                const int t = r0 + r;
                float* e = S + static_cast<long>(r) * Tq;
                if (dropout > 0.0f) {
                    dropout_row(M, key, t, dropout, keep_scale);
                    for (int j = 0; j <= t; ++j) e[j] *= M[j];
                }
                row_to_bf16(A + static_cast<long>(r) * Tq, e, t + 1, L);
            }
            // O (nr, hs) = bf16(E∘mask) · V[0:kmax], then / Σ E row by row (out is written
            // directly: its rows are this item's alone)
            float* o = out + (static_cast<long>(b) * T + r0) * C + h * hs;
            bf16_product(isa, o, C, A, Tq, v, C3, nr, hs, kmax, false, false, false);
            for (int r = 0; r < nr; ++r) {
                float* orow = o + static_cast<long>(r) * C;
                for (int i = 0; i < hs; ++i) orow[i] *= inv_total[r];
            }
        }
    }
}

inline void attention_backward_bf16_slot(Isa isa, float* dqkv, const float* dout, const bf16* qkv,
                                         const float* out, const float* lse, int B, int T, int C,
                                         int NH, float dropout, uint64_t seed, GradInput into,
                                         float* scratch, long per_thread, int slot, int slots) {
    const int hs = C / NH, Tq = round_up(T, kSumLanes);
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
    const int BH = B * NH;
    float* S = scratch + per_thread * slot;             // (kBf16Rows, Tq): S, then P
    float* dP = S + static_cast<long>(kBf16Rows) * Tq;  // (kBf16Rows, Tq)
    float* D = dP + static_cast<long>(kBf16Rows) * Tq;  // Tq
    float* M = D + Tq;                                  // a row's mask, Tq
    bf16* P16 = reinterpret_cast<bf16*>(M + Tq);        // (T, Tq): bf16(P∘mask)
    bf16* dS16 = P16 + static_cast<long>(T) * Tq;       // (T, Tq): bf16(dS)
    bf16* dO16 = dS16 + static_cast<long>(T) * Tq;      // (T, hs)
    const bool add = into == GradInput::Add;  // else each row of dqkv is set by one product
    for (int bh = slot * BH / slots; bh < (slot + 1) * BH / slots; ++bh) {
        const int b = bh / NH, h = bh % NH;
        const bf16* q = qkv + static_cast<long>(b) * T * C3 + h * hs;  // (T,hs), rows C3 apart
        const bf16* k = q + C;
        const bf16* v = q + 2 * C;
        float* dq = dqkv + static_cast<long>(b) * T * C3 + h * hs;
        float* dk = dq + C;
        float* dv = dq + 2 * C;
        // dO rounded for its products; D = rowsum(dO∘O) = Σ_j p·dp (dropout included) in float,
        // as kSumLanes partial sums (LaneSum: the same bits for any kW)
        for (int t = 0; t < T; ++t) {
            const float* g = dout + (static_cast<long>(b) * T + t) * C + h * hs;
            const float* o = out + (static_cast<long>(b) * T + t) * C + h * hs;
            bf16* g16 = dO16 + static_cast<long>(t) * hs;
            LaneSum d;
            int i = 0;
            for (; i + kW <= hs; i += kW) {
                const vf gv = vload(g + i);
                vstore(g16 + i, gv);
                d.add(i, vmul(gv, vload(o + i)));
            }
            if (i < hs) {
                const vf gv = vload_n(g + i, hs - i);
                vstore_n(g16 + i, gv, hs - i);
                d.add(i, vmul(gv, vload_n(o + i, hs - i)));
            }
            D[t] = d.total();
        }
        const uint64_t key = attention_dropout_key(seed, b, h);
        for (int r0 = 0; r0 < T; r0 += kBf16Rows) {
            const int nr = T - r0 < kBf16Rows ? T - r0 : kBf16Rows, kmax = r0 + nr;
            const int L = round_up(kmax, kSumLanes);
            // S (nr, kmax) = Q[r0:kmax] · K[0:kmax]ᵀ;  dP (nr, kmax) = dO[r0:kmax] · V[0:kmax]ᵀ
            bf16_product(isa, S, Tq, q + r0 * C3, C3, k, C3, nr, kmax, hs, false, true, false);
            bf16_product(isa, dP, Tq, dO16 + static_cast<long>(r0) * hs, hs, v, C3, nr, kmax, hs,
                         false, true, false);
            for (int r = 0; r < nr; ++r) {
                const int t = r0 + r;
                float* p = S + static_cast<long>(r) * Tq;
                float* dp = dP + static_cast<long>(r) * Tq;  // dP, then dS in place
                bf16* pa = P16 + static_cast<long>(t) * Tq;
                bf16* ds = dS16 + static_cast<long>(t) * Tq;
                // p = softmax(s) = exp(s·scale − lse); a = p·m; out = Σ a·v
                //   ⇒ ds = p·(dp·m − D)·scale (dp = dO·v; D = Σ_j a·dp)
                const vf vsc = vset1(scale), vl = vset1(-lse[static_cast<long>(bh) * T + t]);
                for (int j = 0; j < L; j += kW)
                    vstore(p + j, vexp(vfma(load_causal(p, j, t), vsc, vl)));
                const float Dt = D[t];
                if (dropout > 0.0f) {
                    dropout_row(M, key, t, dropout, keep_scale);
                    for (int j = 0; j <= t; ++j) {
                        dp[j] = p[j] * (dp[j] * M[j] - Dt) * scale;
                        p[j] *= M[j];
                    }
                } else {
                    for (int j = 0; j <= t; ++j) dp[j] = p[j] * (dp[j] - Dt) * scale;
                }
                row_to_bf16(ds, dp, t + 1, Tq);
                row_to_bf16(pa, p, t + 1, Tq);
            }
            // s = q·k·scale  ⇒  dQ[r0:kmax] += dS · K[0:kmax] (each row of dq written once: Set
            // starts its sums at +0, as on a zeroed dq)
            bf16_product(isa, dq + r0 * C3, C3, dS16 + static_cast<long>(r0) * Tq, Tq, k, C3, nr,
                         hs, kmax, false, false, add);
        }
        // dK[j0:] += dSᵀ · Q and dV[j0:] += (P∘mask)ᵀ · dO over the queries t ≥ j0 (dS and P are
        // 0 for t < j; j0 is even, so the pairs are those of a sum from t = 0).
        for (int j0 = 0; j0 < T; j0 += kBf16Rows) {
            const int nj = T - j0 < kBf16Rows ? T - j0 : kBf16Rows;
            const long at = static_cast<long>(j0) * Tq + j0;
            bf16_product(isa, dk + j0 * C3, C3, dS16 + at, Tq, q + j0 * C3, C3, nj, hs, T - j0,
                         true, false, add);
            bf16_product(isa, dv + j0 * C3, C3, P16 + at, Tq, dO16 + static_cast<long>(j0) * hs, hs,
                         nj, hs, T - j0, true, false, add);
        }
    }
}

}  // namespace attention_detail

void attention_forward_bf16(Isa isa, float* out, float* lse, const bf16* qkv, int B, int T, int C,
                            int NH, float dropout, uint64_t seed, float* scratch, long per_thread) {
    const int BH = B * NH;
    const int slots = BH < num_threads() ? BH : num_threads();
    auto slot_body = [=](int slot) {
        attention_detail::attention_forward_bf16_slot(isa, out, lse, qkv, B, T, C, NH, dropout,
                                                      seed, scratch, per_thread, slot, slots);
    };
    parallel_items(slots, slots, slot_body);
}

void attention_backward_bf16(Isa isa, float* dqkv, const float* dout, const bf16* qkv,
                             const float* out, const float* lse, int B, int T, int C, int NH,
                             float dropout, uint64_t seed, GradInput into, float* scratch,
                             long per_thread) {
    const int BH = B * NH;
    const int slots = BH < num_threads() ? BH : num_threads();
    auto slot_body = [=](int slot) {
        attention_detail::attention_backward_bf16_slot(isa, dqkv, dout, qkv, out, lse, B, T, C, NH,
                                                       dropout, seed, into, scratch, per_thread,
                                                       slot, slots);
    };
    parallel_items(slots, slots, slot_body);
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
