// The bf16 gemm (matmul_bf16.h): the naive definitions (pairs and tiles orders), the blocked and
// threaded driver, its portable microkernel and, on x86-64 CPUs with AVX512_BF16, its vdpbf16ps
// microkernel and (with AMX) its tile kernel.
//
// Loop nest (the fp32 gemm's, matmul_driver.h), for C (M,N) (+)= op(A) (M,K) · op(B) (K,N):
//   jc over N in equal blocks of at most NC columns
//     pc over K in equal blocks of KC to 4·KC (in order, never split across threads)
//       pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels, K in pairs (one item per panel)
//       C tiles: one item per group of MR-row tiles × NR-column panels; per item, op(A)'s rows
//       are read in place or packed by groups of MC (K in pairs), then each B panel meets every
//       MR-row tile of the group, one microkernel call per tile
// Packed layout: 32-bit lanes, the bf16 of k = 2p in the low half and of k = 2p+1 in the high half
// (zero past K), so a lane of A broadcast against a vector of B is one vdpbf16ps. A tile's
// accumulators start from C when an earlier K block (or the caller) put a sum there, so every
// output is the single running sum that matmul_bf16.h defines, whatever the blocking and the
// thread count. x86 code is compiled only for x86-64 (target attributes, no per-file flags), so
// the browser build keeps the portable path alone.
#include "kernels/matmul_bf16.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/bf16_avx512.h"
#include "kernels/cpu.h"
#include "kernels/matmul.h"
#include "kernels/matmul_driver.h"
#include "kernels/transpose_avx512.h"
#include "util/check.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own intrinsics (_mm512_undefined_*): a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#endif

namespace wiggle::kernels {

void gemm_bf16_naive(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
                     bool trans_b, bool accumulate) {
    auto a = [&](int i, int k) {
        return to_float(trans_a ? A[static_cast<long>(k) * M + i]
                                : A[static_cast<long>(i) * K + k]);
    };
    auto b = [&](int k, int j) {
        return to_float(trans_b ? B[static_cast<long>(j) * K + k]
                                : B[static_cast<long>(k) * N + j]);
    };
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float& c = C[static_cast<long>(i) * N + j];
            float s = accumulate ? c : 0.0f;
            for (int k = 0; k < K; k += 2) {
                s += k + 1 < K ? a(i, k + 1) * b(k + 1, j) : 0.0f;  // the odd one of the pair first
                s += a(i, k) * b(k, j);
            }
            c = s;
        }
    }
}

void gemm_bf16_tiles_naive(float* C, const bf16* A, const bf16* B, int M, int N, int K,
                           bool trans_a, bool trans_b, bool accumulate) {
    auto product = [&](int i, int k, int j) {  // +0 past K: the zeros a tile is padded with
        if (k >= K) return 0.0f;
        const bf16 a = trans_a ? A[static_cast<long>(k) * M + i] : A[static_cast<long>(i) * K + k];
        const bf16 b = trans_b ? B[static_cast<long>(j) * K + k] : B[static_cast<long>(k) * N + j];
        return to_float(a) * to_float(b);
    };
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float& c = C[static_cast<long>(i) * N + j];
            float s = accumulate ? c : 0.0f;
            for (int k0 = 0; k0 < K; k0 += kBf16TileK) {
                float even = 0.0f, odd = 0.0f;
                for (int k = k0; k < k0 + kBf16TileK; k += 2) {
                    even += product(i, k, j);
                    odd += product(i, k + 1, j);
                }
                s += even + odd;
            }
            c = s;
        }
    }
}

namespace {

using u16 = std::uint16_t;
using u32 = std::uint32_t;

struct Bf16Args {
    float* C;
    const u16* A;
    const u16* B;
    int M, N, K;
    bool trans_a, trans_b, accumulate;
    long lda, ldb, ldc;  // elements between the rows of A, B and C as stored
    // The linear layer's epilogue (gemm_bf16_linear): the sums start at bias (N) instead of 0,
    // and the results are rounded into C16 (ldc16 apart) instead of stored in C
    const float* bias = nullptr;
    u16* C16 = nullptr;
    long ldc16 = 0;
};

// Where a microkernel call's tile goes: its running sums start at C's (load_c), at the bias's
// columns, or at 0; the finished tile is stored to c as floats or, with c16, rounded to bf16
// (as to_bf16) there alone.
struct TileOut {
    float* c;
    long ldc;
    u16* c16;  // null: store floats to c
    long ldc16;
    const float* bias;  // the tile's first column's bias, or null
    bool load_c;
    const float* c_next;  // the C tile computed next (to prefetch), or null
};

detail::Scratch<u32>& a_scratch() {
    static thread_local detail::Scratch<u32> s;
    return s;
}
detail::Scratch<u32>& b_scratch() {
    static thread_local detail::Scratch<u32> s;
    return s;
}

// Packs L rows (rv valid, the rest zero) × kc of x into pairs, R lanes apart: dst[p*R + r] =
// x(r, 2p) in the low half, x(r, 2p+1) in the high half (zero at k = kc when kc is odd), for
// r < L ≤ R (lanes from L on are not written). Two layouts of x:
//   pack_k_contiguous: x(r, k) = s[r*ld + k]   (a pair is one 32-bit read)
//   pack_k_strided:    x(r, k) = s[k*ld + r]   (a pair interleaves two rows of s)
void pack_k_contiguous(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
    const int full = kc / 2, kcp = (kc + 1) / 2;
    for (int r = 0; r < rv; r++) {
        const u16* row = s + r * ld;
        for (int p = 0; p < full; p++) {
            u32 v;
            std::memcpy(&v, row + 2 * p, sizeof v);
            dst[p * R + r] = v;
        }
        if (kc % 2) dst[full * R + r] = row[kc - 1];
    }
    for (int p = 0; p < kcp; p++) {
        for (int r = rv; r < L; r++) dst[p * R + r] = 0;
    }
}
void pack_k_strided(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
    const int full = kc / 2;
    for (int p = 0; p < full; p++) {
        const u16* r0 = s + 2 * p * ld;
        const u16* r1 = r0 + ld;
        u32* d = dst + p * R;
        for (int r = 0; r < rv; r++) d[r] = r0[r] | (static_cast<u32>(r1[r]) << 16);
        for (int r = rv; r < L; r++) d[r] = 0;
    }
    if (kc % 2) {
        const u16* r0 = s + (kc - 1) * ld;
        u32* d = dst + full * R;
        for (int r = 0; r < rv; r++) d[r] = r0[r];
        for (int r = rv; r < L; r++) d[r] = 0;
    }
}

// Ker provides MR, NR, KC (even), MC, NC,
//   template <bool kInPlace, int R> tile(kc, a, lda, b, m_valid, n_valid, out)
//   (R = m_valid ≤ MR rows): the C
//   tile (m_valid, n_valid) = (out.load_c ? C tile : bias or 0) + op(A) tile (MR, kc) · B panel
//   (kc, NR), in the order of matmul_bf16.h, stored as TileOut says, where the A tile is packed
//   (kInPlace false: pairs a32[p*lda + i] of a group packed by pack_a, zero-padded) or rows of A
//   itself (kInPlace true: op(A)(i, k) = a[i*lda + k], m_valid rows, k < kc);
//   pack_strided, pack_contiguous: pack_k_strided and pack_k_contiguous, possibly vectorized
//   (writing whole vectors of 16 lanes, so L is a multiple of 16 or R).
//   kTiles: the AMX kernel (AmxKernel), whose K blocks are whole chunks of kBf16TileK (the chunks
//   of the tiles order start at k = 0 whatever the blocking), whose packed B panels are zero-padded
//   to whole chunks, and whose A is always packed, as tiles, by its own pack_a.
template <class Ker>
struct Driver {
    static constexpr int MR = Ker::MR, NR = Ker::NR, KC = Ker::KC, MC = Ker::MC, NC = Ker::NC;
    static constexpr bool kTiles = Ker::kTiles;
    static constexpr int KGRAIN = kTiles ? kBf16TileK : 2;  // K blocks are multiples of this
    static_assert(KC % KGRAIN == 0 && MC % MR == 0 && NC % NR == 0);
    static constexpr double kPackAllGemm = 1.5e8;  // M·N·K from which op(A) is always packed
    static constexpr double kCacheBytes = 4.0 * 1024 * 1024;  // a C up to this stays in cache

    // Pairs of K a packed panel holds for a block of kc: the pairs, or whole chunks of them.
    static int padded_pairs(int kc) {
        return kTiles ? (kc + kBf16TileK - 1) / kBf16TileK * (kBf16TileK / 2) : (kc + 1) / 2;
    }

    // Packs the rows [i0, i0+mr) of op(A) (a group of up to MC) as pairs, dst[p*MC + i]: each
    // line of A is read once, and a tile's micro-panel is MR consecutive lanes of every MC.
    // Lanes past mr (rounded up to 16) are left unwritten: tiles read only their valid rows.
    static void pack_a(u32* dst, const Bf16Args& g, int i0, int mr, int pc, int kc) {
        if constexpr (kTiles) {
            return Ker::pack_a(reinterpret_cast<u16*>(dst), g.A, g.lda, g.trans_a, i0, mr, pc, kc);
        }
        const int lanes = std::min(MC, (mr + 15) & ~15);
        if (g.trans_a) {  // A (K,M): op(A)(i,k) = A[k*M + i]
            Ker::pack_strided(dst, MC, lanes, mr, g.A + pc * g.lda + i0, g.lda, kc);
        } else {  // A (M,K)
            Ker::pack_contiguous(dst, MC, lanes, mr, g.A + i0 * g.lda + pc, g.lda, kc);
        }
    }
    static void pack_b(u32* dst, const Bf16Args& g, int j0, int nr, int pc, int kc) {
        if (g.trans_b) {  // B (N,K): op(B)(k,j) = B[j*K + k]
            Ker::pack_contiguous(dst, NR, NR, nr, g.B + j0 * g.ldb + pc, g.ldb, kc);
        } else {  // B (K,N)
            Ker::pack_strided(dst, NR, NR, nr, g.B + pc * g.ldb + j0, g.ldb, kc);
        }
        const int kcp = (kc + 1) / 2, kpp = padded_pairs(kc);
        std::memset(dst + static_cast<long>(kcp) * NR, 0, sizeof(u32) * (kpp - kcp) * NR);
    }

    static void run(const Bf16Args& g, int threads) {
        if (g.M <= 0 || g.N <= 0) return;
        if (g.K <= 0) {  // empty sum: the bias, or 0 (or C's sums, accumulating)
            for (int i = 0; i < g.M; i++) {
                for (int j = 0; j < g.N; j++) {
                    const float s = g.accumulate ? g.C[i * g.ldc + j] : g.bias ? g.bias[j] : 0.0f;
                    if (g.C16) {
                        g.C16[i * g.ldc16 + j] = static_cast<u16>(to_bf16(s));
                    } else {
                        g.C[i * g.ldc + j] = s;
                    }
                }
            }
            return;
        }
        const int mt = (g.M + MR - 1) / MR;  // row tiles
        const int nblocks = (g.N + NC - 1) / NC;
        const int ncb = ((g.N + nblocks - 1) / nblocks + NR - 1) / NR * NR;
        // K in equal blocks (multiples of KGRAIN), as deep as keeps the packed B block (ncb × kc
        // bf16) within 512 KiB of L2, between KC and KC_MAX: every block costs C a round trip
        // through the caches. Where C is too big for the caches every round trip goes to memory:
        // there the B block may fill 1 MiB of L2, so that a K of up to ~1.4k (a GPT's dinp) is
        // one block. AMX's blocks stay KC deep (a row tile of A stays in L1) unless C is too big
        // for the caches, and may then be deeper than KC_MAX. Both measured against 512 KiB
        // blocks in RESULTS.md. The blocking never changes the bits (every output is one running
        // sum, and the tiles order's chunks start at multiples of 32 whatever the blocks).
        const bool c_in_cache = static_cast<double>(g.M) * g.N * sizeof(float) <= kCacheBytes;
        const int deep = ((c_in_cache ? 512 * 1024 : 1024 * 1024) / (2 * ncb)) & ~31;
        const int kmax =
            kTiles && !c_in_cache ? std::max(KC, deep) : std::clamp(deep, KC, Ker::KC_MAX);
        const int nkb = (g.K + kmax - 1) / kmax;
        const int kcb = ((g.K + nkb - 1) / nkb + KGRAIN - 1) / KGRAIN * KGRAIN;
        u32* Bp = b_scratch().get(static_cast<size_t>(ncb) * padded_pairs(std::min(kcb, g.K)));
        for (int jc = 0; jc < g.N; jc += ncb) {
            const int nc = std::min(ncb, g.N - jc);
            const int np = (nc + NR - 1) / NR;  // column panels
            const detail::TileItems items = detail::tile_items(mt, np, MC / MR, threads);
            const int rc = items.rc, ngroups = items.ngroups, pg = items.pg;
            for (int pc = 0; pc < g.K; pc += kcb) {
                const int kc = std::min(kcb, g.K - pc), kpp = padded_pairs(kc);
                const bool load_c = pc > 0 || g.accumulate;
                auto pack = [&](int p) {
                    pack_b(Bp + static_cast<long>(p) * kpp * NR, g, jc + p * NR,
                           std::min(NR, nc - p * NR), pc, kc);
                };
                parallel_items(np, threads, pack);
                auto compute = [&](int item) {
                    const int rg = item / ngroups;
                    const int r0 = static_cast<int>(static_cast<long>(mt) * rg / rc);
                    const int r1 = static_cast<int>(static_cast<long>(mt) * (rg + 1) / rc);
                    const int q0 = (item % ngroups) * pg, q1 = std::min(q0 + pg, np);
                    compute_tiles(g, Bp, jc, nc, pc, kc, load_c, pc + kc == g.K, r0, r1, q0, q1);
                };
                parallel_items(rc * ngroups, threads, compute);
            }
        }
    }

    // Ker::tile on R = m_valid rows (a bottom edge computes only its rows).
    template <bool kInPlace, int R = MR>
    static void tile_rows(int kc, const u16* a, long lda, const u32* b, int m_valid, int n_valid,
                          const TileOut& out) {
        if constexpr (kTiles) {
            Ker::tile(kc, a, lda, b, m_valid, n_valid, out);  // any rows: tiles are masked
        } else {
            if constexpr (R > 1) {
                if (m_valid < R) {
                    return tile_rows<kInPlace, R - 1>(kc, a, lda, b, m_valid, n_valid, out);
                }
            }
            Ker::template tile<kInPlace, R>(kc, a, lda, b, m_valid, n_valid, out);
        }
    }

    // C tiles of row tiles [r0, r1) × panels [q0, q1) of block (jc, pc); `last`: the last K
    // block, where the epilogue (rounding into C16) applies.
    static void compute_tiles(const Bf16Args& g, const u32* Bp, int jc, int nc, int pc, int kc,
                              bool load_c, bool last, int r0, int r1, int q0, int q1) {
        const int kpp = padded_pairs(kc);
        const long ldc = g.ldc;
        // op(A) = A is read in place (a pair is one 32-bit broadcast), unless its rows alias in
        // L1 (a stride of a multiple of 4 KiB) or the product is large (then packing a group
        // reads A with many misses in flight, once, and the tiles find it in L2); op(A) = Aᵀ is
        // packed, rows interleaved in pairs. Packing never changes the bits of the result.
        const bool large = static_cast<double>(g.M) * g.N * g.K >= kPackAllGemm;
        const bool in_place = !kTiles && !g.trans_a && g.lda % 2048 != 0 && !large;
        u32* Ap = in_place ? nullptr : a_scratch().get(static_cast<size_t>(MC) * kpp);
        for (int ic = r0; ic < r1; ic += MC / MR) {
            const int ic1 = std::min(ic + MC / MR, r1);
            if (!in_place) pack_a(Ap, g, ic * MR, std::min(ic1 * MR, g.M) - ic * MR, pc, kc);
            auto one_tile = [&](int q, int r) {
                const u32* bp = Bp + static_cast<long>(q) * kpp * NR;
                const int n_valid = std::min(NR, nc - q * NR);
                const long col = jc + q * NR;
                float* c = g.C + static_cast<long>(r) * MR * ldc + col;
                const float* c_next =
                    r + 1 < ic1  ? c + MR * ldc
                    : q + 1 < q1 ? g.C + static_cast<long>(ic) * MR * ldc + jc + (q + 1) * NR
                                 : nullptr;
                const TileOut out{
                    c,
                    ldc,
                    last && g.C16 ? g.C16 + static_cast<long>(r) * MR * g.ldc16 + col : nullptr,
                    g.ldc16,
                    g.bias ? g.bias + col : nullptr,
                    load_c,
                    load_c ? c_next : nullptr};
                const int m_valid = std::min(MR, g.M - r * MR);
                if constexpr (kTiles) {  // a row tile: 2 blocks of 16 rows, 16·kpp u32 each
                    const u32* at = Ap + static_cast<long>(r - ic) * MR * kpp;
                    tile_rows<false>(kc, reinterpret_cast<const u16*>(at), 32L * kpp, bp, m_valid,
                                     n_valid, out);
                } else if (in_place) {
                    tile_rows<true>(kc, g.A + r * MR * g.lda + pc, g.lda, bp, m_valid, n_valid,
                                    out);
                } else {
                    tile_rows<false>(kc, reinterpret_cast<const u16*>(Ap + (r - ic) * MR), MC, bp,
                                     m_valid, n_valid, out);
                }
            };
            // AMX: a row tile of A stays in L1 across the panels (measured faster than the other
            // order for AMX, 1.1–1.6× on the GPT's shapes: RESULTS.md)
            if (kTiles) {
                for (int r = ic; r < ic1; r++) {
                    for (int q = q0; q < q1; q++) one_tile(q, r);
                }
            } else {  // a panel of B stays in L1 across the row tiles
                for (int q = q0; q < q1; q++) {
                    for (int r = ic; r < ic1; r++) one_tile(q, r);
                }
            }
        }
    }
};

inline float lo_half(u32 v) { return std::bit_cast<float>(v << 16); }
inline float hi_half(u32 v) { return std::bit_cast<float>(v & 0xFFFF0000u); }

// Portable C++: a 4×16 tile of float sums, the odd product of each pair added first.
struct GenericKernel {
    static constexpr int MR = 4, NR = 16, KC = 256, MC = 64, NC = 1024, KC_MAX = 4 * KC;
    static constexpr bool kTiles = false;
    static void pack_strided(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
        pack_k_strided(dst, R, L, rv, s, ld, kc);
    }
    static void pack_contiguous(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
        pack_k_contiguous(dst, R, L, rv, s, ld, kc);
    }
    template <bool kInPlace, int R>
    static void tile(int kc, const u16* a, long lda, const u32* b, int m_valid, int n_valid,
                     const TileOut& out) {
        float acc[R][NR];
        for (int i = 0; i < R; i++) {
            for (int j = 0; j < NR; j++) {
                const bool valid = i < m_valid && j < n_valid;
                acc[i][j] = !valid       ? 0.0f
                            : out.load_c ? out.c[i * out.ldc + j]
                            : out.bias   ? out.bias[j]
                                         : 0.0f;
            }
        }
        // A's own rows hold kc/2 whole pairs and, for an odd kc, one bf16 more (read alone: a
        // pair there would read past the row, or past A); packed rows are zero-padded pairs.
        auto step = [&](int p, bool whole) {
            const u32* bp = b + p * NR;
            for (int i = 0; i < R; i++) {
                const u16* ai = kInPlace ? a + i * lda + 2 * p : a + 2 * (p * lda + i);
                u32 av = ai[0];
                if (whole) std::memcpy(&av, ai, sizeof av);
                const float a0 = lo_half(av), a1 = hi_half(av);
                for (int j = 0; j < NR; j++) {
                    acc[i][j] += a1 * hi_half(bp[j]);
                    acc[i][j] += a0 * lo_half(bp[j]);
                }
            }
        };
        const int full = kInPlace ? kc / 2 : (kc + 1) / 2;
        for (int p = 0; p < full; p++) step(p, true);
        if (kInPlace && kc % 2) step(full, false);
        for (int i = 0; i < m_valid; i++) {
            if (out.c16) {
                u16* row = out.c16 + i * out.ldc16;
                for (int j = 0; j < n_valid; j++) row[j] = static_cast<u16>(to_bf16(acc[i][j]));
            } else {
                for (int j = 0; j < n_valid; j++) out.c[i * out.ldc + j] = acc[i][j];
            }
        }
    }
};

#if defined(__x86_64__)
#define WIGGLE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

// vdpbf16ps: a register tile of MR rows × NR = 16·NV columns; per pair of k, NV loads of B, MR
// broadcasts of a 32-bit lane of A and MR·NV vdpbf16ps (each 32 multiply-adds). N blocks of up to
// 1536 columns: every block reads all of op(A) again, from memory for the GPT's large products,
// so its 1152- and 1536-wide ones go in one; wider blocks outgrow L2 on 2048³ (measured against
// 1024- and 2048-wide blocks: bench/RESULTS.md).
template <int MR_, int NV, int KC_, int MC_>
struct Avx512Bf16Kernel {
    static constexpr int MR = MR_, NR = 16 * NV, KC = KC_, MC = MC_, NC = 1536, KC_MAX = 4 * KC;
    static constexpr bool kTiles = false;
    // pack_k_strided: per pair, 32 columns of the two rows (one 64-byte load each) interleaved
    // by two vpermt2w into 32 lanes of (low, high) halves.
    WIGGLE_BF16_TARGET static void pack_strided(u32* dst, int R, int L, int rv, const u16* s,
                                                long ld, int kc) {
        const int kcp = (kc + 1) / 2;
        // halves 2i and 2i+1 of a result: row 0's column i and row 1's (index 32 + i)
        alignas(64) static constexpr uint16_t kFirst[32] = {
            0, 32, 1, 33, 2,  34, 3,  35, 4,  36, 5,  37, 6,  38, 7,  39,
            8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
        alignas(64) static constexpr uint16_t kSecond[32] = {
            16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
            24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
        const __m512i first = _mm512_load_si512(kFirst), second = _mm512_load_si512(kSecond);
        auto lanes_mask = [](int n) {  // the first n of 16 lanes, n clamped to [0, 16]
            return static_cast<__mmask16>((1u << std::clamp(n, 0, 16)) - 1);
        };
        for (int p = 0; p < kcp; p++) {
            const u16* r0 = s + 2 * p * ld;
            const bool pair = 2 * p + 1 < kc;
            for (int j = 0; j < L; j += 32) {
                const int n = std::clamp(rv - j, 0, 32);
                const __mmask32 m = n == 32 ? ~0u : (1u << n) - 1;
                const __m512i lo = _mm512_maskz_loadu_epi16(m, r0 + j);
                const __m512i hi =
                    pair ? _mm512_maskz_loadu_epi16(m, r0 + ld + j) : _mm512_setzero_si512();
                _mm512_mask_storeu_epi32(dst + p * R + j, lanes_mask(L - j),
                                         _mm512_permutex2var_epi16(lo, first, hi));
                if (L - j > 16) {
                    _mm512_mask_storeu_epi32(dst + p * R + j + 16, lanes_mask(L - j - 16),
                                             _mm512_permutex2var_epi16(lo, second, hi));
                }
            }
        }
    }

    WIGGLE_BF16_TARGET static void transpose16(__m512 r[16]) {
        wiggle::kernels::avx512_transpose::transpose16(r);
    }

    // pack_k_contiguous: blocks of 16 rows × 16 pairs transposed in registers (the bf16 pairs
    // move as 32-bit lanes; an odd kc's last pair is loaded as one bf16 and a zero).
    WIGGLE_BF16_TARGET static void pack_contiguous(u32* dst, int R, int L, int rv, const u16* s,
                                                   long ld, int kc) {
        const int kcp = (kc + 1) / 2;
        for (int r0 = 0; r0 < L; r0 += 16) {
            const int lanes = std::min(16, L - r0);
            const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1);
            for (int p0 = 0; p0 < kcp; p0 += 16) {
                const int np = std::min(16, kcp - p0), nel = std::min(32, kc - 2 * p0);
                const __mmask32 m = nel == 32 ? ~0u : (1u << nel) - 1;
                __m512 rows[16];
                for (int i = 0; i < 16; i++) {
                    rows[i] = r0 + i < rv ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
                                                m, s + (r0 + i) * ld + 2 * p0))
                                          : _mm512_setzero_ps();
                }
                transpose16(rows);
                for (int k = 0; k < np; k++) {
                    _mm512_mask_storeu_ps(reinterpret_cast<float*>(dst + (p0 + k) * R + r0),
                                          store_mask, rows[k]);
                }
            }
        }
    }

    template <bool kInPlace, int R>
    WIGGLE_BF16_TARGET static void tile(int kc, const u16* a, long lda, const u32* b, int m_valid,
                                        int n_valid, const TileOut& out) {
        float* const c = out.c;
        const long ldc = out.ldc;
        const float* const c_next = out.c_next;
        __mmask16 mask[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            const int left = n_valid - 16 * j;
            mask[j] = left >= 16  ? 0xFFFF
                      : left <= 0 ? 0
                                  : static_cast<__mmask16>((1u << left) - 1);
        }
        __m512 start[NV];  // the sums' start without C: the bias's columns, or 0
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            start[j] =
                out.bias ? _mm512_maskz_loadu_ps(mask[j], out.bias + 16 * j) : _mm512_setzero_ps();
        }
        __m512 acc[R][NV];
#pragma GCC unroll 16
        for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                acc[i][j] = out.load_c && i < m_valid
                                ? _mm512_maskz_loadu_ps(mask[j], c + i * ldc + 16 * j)
                                : start[j];
            }
        }
        if (c_next) {  // the next tile starts by loading its C: fetch it while this one computes
#pragma GCC unroll 16
            for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    _mm_prefetch(reinterpret_cast<const char*>(c_next + i * ldc + 16 * j),
                                 _MM_HINT_T0);
                }
            }
        }
        // Rows of A: packed (pairs, lda lanes per k pair), or A's own rows (rows past
        // m_valid repeat the last valid one, their sums never stored; an odd kc's last pair is
        // read as one bf16, below).
        const u16* ap[R];
        long astep;  // u16 elements between pairs
#pragma GCC unroll 16
        for (int i = 0; i < R; i++) {
            ap[i] = kInPlace ? a + std::min(i, m_valid - 1) * lda : a + 2 * i;
        }
        astep = kInPlace ? 2 : 2 * lda;
        const int full = kInPlace ? kc / 2 : (kc + 1) / 2;
        auto step = [&](int p, auto load_pair) WIGGLE_BF16_TARGET {
            __m512i bv[NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) bv[j] = _mm512_load_si512(b + p * NR + 16 * j);
#pragma GCC unroll 16
            for (int i = 0; i < R; i++) {
                const __m512i av = _mm512_set1_epi32(load_pair(ap[i] + p * astep));
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)av, (__m512bh)bv[j]);
                }
            }
        };
        auto load32 = [](const u16* x) {
            int v;
            std::memcpy(&v, x, sizeof v);
            return v;
        };
#pragma GCC unroll 2
        for (int p = 0; p < full; p++) step(p, load32);
        if (kInPlace && kc % 2) step(full, [](const u16* x) { return static_cast<int>(x[0]); });
        if (out.c16) {
#pragma GCC unroll 16
            for (int i = 0; i < R; i++) {
                if (i >= m_valid) break;
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    _mm256_mask_storeu_epi16(out.c16 + i * out.ldc16 + 16 * j, mask[j],
                                             avx512_bf16::round_to_bf16(acc[i][j]));
                }
            }
            return;
        }
#pragma GCC unroll 16
        for (int i = 0; i < R; i++) {
            if (i >= m_valid) break;
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                _mm512_mask_storeu_ps(c + i * ldc + 16 * j, mask[j], acc[i][j]);
            }
        }
    }
};

// 6×64 tiles (24 accumulators), 512-deep K blocks: a B panel of 64 KiB streams from L2 while the
// A rows of the tile stay in L1; deeper blocks mean fewer round trips of C through the cache
// (measured against 128-, 192- and 256-deep ones: RESULTS.md).
using Bf16Kernel = Avx512Bf16Kernel<6, 4, 512, 96>;

#define WIGGLE_AMX_TARGET \
    __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

// AMX: tdpbf16ps multiplies a tile of A (16 rows × 32 bf16 of K, 64 bytes a row) by a tile of B
// (16 pairs of K × 16 columns, one 32-bit lane a pair: the layout pack_b already makes) into a
// tile of 16×16 float sums, in the tiles order of matmul_bf16.h (measured on Sapphire Rapids).
// A register tile of 32×32 outputs: 4 tiles of sums, 2 of A and 2 of B, all 8 tile registers.
// op(A) is packed as tiles: per 16 rows, per chunk of 32 along K, 16 rows of 64 bytes, zero past
// the rows and past K.
struct AmxKernel {
    // K blocks of 512 (a row tile of A, 32 KiB, stays in L1 across the panels): measured against
    // 256 and 1024, and MC against 64 and 256 (RESULTS.md)
    static constexpr int MR = 32, NR = 32, KC = 512, MC = 128, NC = 1024, KC_MAX = KC;
    static constexpr bool kTiles = true;
    using Pairs = Avx512Bf16Kernel<1, 2, 256, 32>;  // its B packing, with NR = 32 lanes

    static void pack_strided(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
        Pairs::pack_strided(dst, R, L, rv, s, ld, kc);
    }
    static void pack_contiguous(u32* dst, int R, int L, int rv, const u16* s, long ld, int kc) {
        Pairs::pack_contiguous(dst, R, L, rv, s, ld, kc);
    }

    // Rows [i0, i0+mr) of op(A), K [pc, pc+kc), as tiles: the tile of rows 16b.. and chunk ch at
    // dst + (b·chunks + ch)·512. A (M,K): each row's chunk is one masked 64-byte load; A stored
    // (K,M): 32 rows of K × 16 of M are paired into 16 vectors of pairs and transposed.
    WIGGLE_AMX_TARGET static void pack_a(u16* dst, const u16* A, long lda, bool trans_a, int i0,
                                         int mr, int pc, int kc) {
        const int chunks = (kc + kBf16TileK - 1) / kBf16TileK, blocks = (mr + 15) / 16;
        for (int b = 0; b < blocks; b++) {
            const int rows = std::min(16, mr - 16 * b);
            for (int ch = 0; ch < chunks; ch++) {
                u16* tile = dst + (static_cast<long>(b) * chunks + ch) * 512;
                const int k0 = ch * kBf16TileK, nk = std::min(kBf16TileK, kc - k0);
                if (!trans_a) {
                    const __mmask32 m = nk == 32 ? ~0u : (1u << nk) - 1;
                    for (int i = 0; i < 16; i++) {
                        const __m512i v = i < rows ? _mm512_maskz_loadu_epi16(
                                                         m, A + (i0 + 16 * b + i) * lda + pc + k0)
                                                   : _mm512_setzero_si512();
                        _mm512_store_si512(tile + 32 * i, v);
                    }
                    continue;
                }
                const __mmask16 m = static_cast<__mmask16>((1u << rows) - 1);
                const u16* s = A + (pc + k0) * lda + i0 + 16 * b;
                __m512 v[16];  // v[p]: pair p of the chunk for the 16 rows
                for (int p = 0; p < 16; p++) {
                    const __m512i lo =
                        2 * p < nk
                            ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s + 2 * p * lda))
                            : _mm512_setzero_si512();
                    const __m512i hi = 2 * p + 1 < nk
                                           ? _mm512_cvtepu16_epi32(
                                                 _mm256_maskz_loadu_epi16(m, s + (2 * p + 1) * lda))
                                           : _mm512_setzero_si512();
                    v[p] = _mm512_castsi512_ps(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
                }
                Pairs::transpose16(v);  // v[i]: row i's 16 pairs, 64 bytes of the tile
                for (int i = 0; i < 16; i++) _mm512_store_ps(tile + 32 * i, v[i]);
            }
        }
    }

    // The tile configuration: palette 1, 8 tiles of 16 rows × 64 bytes. Per thread (it is thread
    // state), loaded once.
    WIGGLE_AMX_TARGET static void configure() {
        static thread_local bool done = false;
        if (done) return;
        struct alignas(64) Config {
            std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
            std::uint16_t colsb[16] = {};
            std::uint8_t rows[16] = {};
        } config;
        for (int t = 0; t < 8; t++) config.colsb[t] = 64, config.rows[t] = 16;
        _tile_loadconfig(&config);
        done = true;
    }

    // a: the row tile's packed A (rows 16.. at a + lda); b: the panel (padded pairs × 32 lanes).
    WIGGLE_AMX_TARGET static void tile(int kc, const u16* a, long lda, const u32* b, int m_valid,
                                       int n_valid, const TileOut& out) {
        configure();
        const int chunks = (kc + kBf16TileK - 1) / kBf16TileK;
        const bool two_a = m_valid > 16, two_b = n_valid > 16;
        const bool full = m_valid == MR && n_valid == NR;
        const long ldc_bytes = out.ldc * static_cast<long>(sizeof(float));
        alignas(64) float buf[MR][NR];  // the tile's sums when it is not whole (or goes to bf16)
        const __mmask16 mask0 =
            n_valid >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n_valid) - 1);
        const __mmask16 mask1 = n_valid >= 32 ? 0xFFFF
                                : two_b       ? static_cast<__mmask16>((1u << (n_valid - 16)) - 1)
                                              : 0;
        if (full && out.load_c) {
            _tile_loadd(0, out.c, ldc_bytes);
            _tile_loadd(1, out.c + 16, ldc_bytes);
            _tile_loadd(2, out.c + 16 * out.ldc, ldc_bytes);
            _tile_loadd(3, out.c + 16 * out.ldc + 16, ldc_bytes);
        } else if (!out.load_c && out.bias && n_valid == NR) {  // every row the bias: stride 0
            _tile_loadd(0, out.bias, 0);
            _tile_loadd(1, out.bias + 16, 0);
            _tile_loadd(2, out.bias, 0);
            _tile_loadd(3, out.bias + 16, 0);
        } else if (!out.load_c && !out.bias) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
        } else {  // a partial tile: its rows of C or the bias, zeros around them
            const __m512 b0 =
                out.load_c ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask0, out.bias);
            const __m512 b1 =
                out.load_c ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask1, out.bias + 16);
            for (int i = 0; i < MR; i++) {
                const bool row = i < m_valid;
                _mm512_store_ps(&buf[i][0], !row ? _mm512_setzero_ps()
                                            : out.load_c
                                                ? _mm512_maskz_loadu_ps(mask0, out.c + i * out.ldc)
                                                : b0);
                _mm512_store_ps(&buf[i][16], !row         ? _mm512_setzero_ps()
                                             : out.load_c ? _mm512_maskz_loadu_ps(
                                                                mask1, out.c + i * out.ldc + 16)
                                                          : b1);
            }
            _tile_loadd(0, &buf[0][0], NR * sizeof(float));
            _tile_loadd(1, &buf[0][16], NR * sizeof(float));
            _tile_loadd(2, &buf[16][0], NR * sizeof(float));
            _tile_loadd(3, &buf[16][16], NR * sizeof(float));
        }
        constexpr long kBStride = NR * sizeof(u32);
        for (int ch = 0; ch < chunks; ch++) {
            const u32* bc = b + ch * (kBf16TileK / 2) * NR;
            _tile_loadd(4, a + ch * 512, 64);
            _tile_loadd(6, bc, kBStride);
            _tile_dpbf16ps(0, 4, 6);
            if (two_b) {
                _tile_loadd(7, bc + 16, kBStride);
                _tile_dpbf16ps(1, 4, 7);
            }
            if (two_a) {
                _tile_loadd(5, a + lda + ch * 512, 64);
                _tile_dpbf16ps(2, 5, 6);
                if (two_b) _tile_dpbf16ps(3, 5, 7);
            }
        }
        if (full && !out.c16) {
            _tile_stored(0, out.c, ldc_bytes);
            _tile_stored(1, out.c + 16, ldc_bytes);
            _tile_stored(2, out.c + 16 * out.ldc, ldc_bytes);
            _tile_stored(3, out.c + 16 * out.ldc + 16, ldc_bytes);
            return;
        }
        _tile_stored(0, &buf[0][0], NR * sizeof(float));
        _tile_stored(1, &buf[0][16], NR * sizeof(float));
        _tile_stored(2, &buf[16][0], NR * sizeof(float));
        _tile_stored(3, &buf[16][16], NR * sizeof(float));
        for (int i = 0; i < m_valid; i++) {
            const __m512 v0 = _mm512_load_ps(&buf[i][0]), v1 = _mm512_load_ps(&buf[i][16]);
            if (out.c16) {
                u16* row = out.c16 + i * out.ldc16;
                _mm256_mask_storeu_epi16(row, mask0, avx512_bf16::round_to_bf16(v0));
                _mm256_mask_storeu_epi16(row + 16, mask1, avx512_bf16::round_to_bf16(v1));
            } else {
                _mm512_mask_storeu_ps(out.c + i * out.ldc, mask0, v0);
                _mm512_mask_storeu_ps(out.c + i * out.ldc + 16, mask1, v1);
            }
        }
    }
};
#endif

// threads: 0 for num_threads() (1 for small products), else that many. amx: the tiles path.
void gemm_bf16_run(Isa isa, const Bf16Args& g, int threads = 0, bool amx = false) {
    assert(g.M >= 0 && g.N >= 0 && g.K >= 0);
    const double flops = 2.0 * g.M * g.N * g.K;
    if (threads == 0) threads = flops < kGemmMinParallelFlops ? 1 : num_threads();
    WIGGLE_CHECK(!amx || amx_instructions(), "a CPU with AMX-BF16, or gemm_bf16_isa",
                 "the bf16 gemm's AMX path on a CPU (or kernel) without AMX tiles");
#if defined(__x86_64__)
    if (amx) return Driver<AmxKernel>::run(g, threads);
    if (isa == Isa::Avx512 && bf16_instructions()) return Driver<Bf16Kernel>::run(g, threads);
#endif
    (void)isa;
    (void)amx;
    Driver<GenericKernel>::run(g, threads);
}

}  // namespace

void gemm_bf16_isa(Isa isa, float* C, const bf16* A, const bf16* B, int M, int N, int K,
                   bool trans_a, bool trans_b, bool accumulate) {
    gemm_bf16_run(isa, {C, reinterpret_cast<const u16*>(A), reinterpret_cast<const u16*>(B), M, N,
                        K, trans_a, trans_b, accumulate, trans_a ? M : K, trans_b ? K : N, N});
}

void gemm_bf16_linear(Isa isa, float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B,
                      int M, int N, int K, bool trans_a, bool trans_b) {
    const auto* a = reinterpret_cast<const u16*>(A);
    const auto* b = reinterpret_cast<const u16*>(B);
    Bf16Args g{C, a, b, M, N, K, trans_a, trans_b, false, trans_a ? M : K, trans_b ? K : N, N};
    g.bias = bias;
    g.C16 = reinterpret_cast<u16*>(C16);
    g.ldc16 = N;
    gemm_bf16_run(isa, g);
}

void gemm_bf16_amx(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
                   bool trans_b, bool accumulate, int threads) {
    gemm_bf16_run(Isa::Avx512,
                  {C, reinterpret_cast<const u16*>(A), reinterpret_cast<const u16*>(B), M, N, K,
                   trans_a, trans_b, accumulate, trans_a ? M : K, trans_b ? K : N, N},
                  threads, /*amx=*/true);
}

void gemm_bf16_linear_amx(float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B,
                          int M, int N, int K, bool trans_a, bool trans_b) {
    const auto* a = reinterpret_cast<const u16*>(A);
    const auto* b = reinterpret_cast<const u16*>(B);
    Bf16Args g{C, a, b, M, N, K, trans_a, trans_b, false, trans_a ? M : K, trans_b ? K : N, N};
    g.bias = bias;
    g.C16 = reinterpret_cast<u16*>(C16);
    g.ldc16 = N;
    gemm_bf16_run(Isa::Avx512, g, 0, /*amx=*/true);
}

void gemm_bf16(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
               bool trans_b, bool accumulate) {
    if (amx_instructions()) return gemm_bf16_amx(C, A, B, M, N, K, trans_a, trans_b, accumulate);
    gemm_bf16_isa(cpu_isa(), C, A, B, M, N, K, trans_a, trans_b, accumulate);
}

void gemm_bf16_linear(float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B, int M,
                      int N, int K, bool trans_a, bool trans_b) {
    if (amx_instructions()) {
        return gemm_bf16_linear_amx(C, C16, bias, A, B, M, N, K, trans_a, trans_b);
    }
    gemm_bf16_linear(cpu_isa(), C, C16, bias, A, B, M, N, K, trans_a, trans_b);
}

void gemm_bf16_strided(Isa isa, float* C, long ldc, const bf16* A, long lda, const bf16* B,
                       long ldb, int M, int N, int K, bool trans_a, bool trans_b, bool accumulate) {
    assert(ldc >= N && lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N));
    gemm_bf16_run(isa,
                  {C, reinterpret_cast<const u16*>(A), reinterpret_cast<const u16*>(B), M, N, K,
                   trans_a, trans_b, accumulate, lda, ldb, ldc},
                  1);
}

void gemm_bf16_strided_amx(float* C, long ldc, const bf16* A, long lda, const bf16* B, long ldb,
                           int M, int N, int K, bool trans_a, bool trans_b, bool accumulate) {
    assert(ldc >= N && lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N));
    gemm_bf16_run(Isa::Avx512,
                  {C, reinterpret_cast<const u16*>(A), reinterpret_cast<const u16*>(B), M, N, K,
                   trans_a, trans_b, accumulate, lda, ldb, ldc},
                  1, /*amx=*/true);
}

void gemm_bf16_strided(float* C, long ldc, const bf16* A, long lda, const bf16* B, long ldb, int M,
                       int N, int K, bool trans_a, bool trans_b, bool accumulate) {
    if (amx_instructions()) {
        return gemm_bf16_strided_amx(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, accumulate);
    }
    gemm_bf16_strided(cpu_isa(), C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, accumulate);
}

}  // namespace wiggle::kernels
