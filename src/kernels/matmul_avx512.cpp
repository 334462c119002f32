// The AVX-512 gemm: register tiles of MR rows × NR = 16·NV columns (6×64 for the GPT's small
// products, 14×32 for large ones), B packed in NR-wide panels, A broadcast one scalar at a time,
// masked loads and stores for the right edge, templated row counts for the bottom edge.
//
// Compiled with -mavx512f/bw/vl/dq -mfma (src/CMakeLists.txt); only called when cpu_isa() says
// the CPU has them. Per k step the 6×64 tile does 4 loads of B, 6 broadcasts of A and 24 FMAs,
// which keeps both FMA ports busy on Intel (Sapphire Rapids) and AMD (Zen 4/5) cores alike.
// Not here: split-K (never), bf16, prefetch tuning per CPU model.
//
// GCC 12 warns inside its own intrinsics (_mm512_undefined_ps's `__m512 __Y = __Y;`): a known
// false positive of -W(maybe-)uninitialized, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "kernels/matmul_driver.h"
#include "kernels/transpose_avx512.h"

namespace {

template <int MR_, int NV_, int KC_, int MC_, int NC_, bool kPackA_>
struct Avx512Kernel {
    static constexpr int MR = MR_, NV = NV_, NR = 16 * NV;
    static constexpr int KC = KC_, MC = MC_, NC = NC_;
    static constexpr bool kPackA = kPackA_;
    // Steps before the end of a long k loop at which the C tile is fetched into L1.
    static constexpr int kCPrefetch = 48;

    template <int MRr, AMode mode>
    static void tile(int kc, const float* a, long as, const float* b, float* c, long ldc,
                     int n_valid, bool first, const float* bias) {
        __m512 acc[MRr][NV];
#pragma GCC unroll 16
        for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) acc[i][j] = _mm512_setzero_ps();
        }
        // The C tile is read (or written) only after the k loop: ask for its lines now, all of
        // them, so that a C which has left L2 (large K, many K blocks) does not stall the store.
        // With packed A (the large configuration) each tile streams its B panel, more than L1
        // holds, past them: there a long k loop fetches them into L2 first and into L1 only
        // kCPrefetch steps before the end.
        const int k_split = kPackA && kc > 2 * kCPrefetch ? kc - kCPrefetch : 0;
#pragma GCC unroll 16
        for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                if (k_split > 0) {
                    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * j), _MM_HINT_T1);
                } else {
                    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * j), _MM_HINT_T0);
                }
            }
        }
        const float* ap[MRr];
#pragma GCC unroll 16
        for (int i = 0; i < MRr; i++) ap[i] = mode == AMode::kRowStrided ? a + i * as : a + i;
        const long astep = mode == AMode::kRowStrided ? 1 : as;
        auto steps = [&](int k0, int k1) {
#pragma GCC unroll 2
            for (int k = k0; k < k1; k++) {
                __m512 bv[NV];
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) bv[j] = _mm512_load_ps(b + k * NR + 16 * j);
#pragma GCC unroll 16
                for (int i = 0; i < MRr; i++) {
                    const __m512 av = _mm512_set1_ps(ap[i][k * astep]);
#pragma GCC unroll 4
                    for (int j = 0; j < NV; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
                }
            }
        };
        steps(0, k_split);
        if (k_split > 0) {
#pragma GCC unroll 16
            for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * j), _MM_HINT_T0);
                }
            }
        }
        steps(k_split, kc);
        __mmask16 mask[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            const int left = n_valid - 16 * j;
            mask[j] = left >= 16  ? 0xFFFF
                      : left <= 0 ? 0
                                  : static_cast<__mmask16>((1u << left) - 1);
        }
        if (first && bias) {
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                const __m512 bv = _mm512_maskz_loadu_ps(mask[j], bias + 16 * j);
#pragma GCC unroll 16
                for (int i = 0; i < MRr; i++) acc[i][j] = _mm512_add_ps(acc[i][j], bv);
            }
        }
        if (n_valid == NR) {
#pragma GCC unroll 16
            for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    float* p = c + i * ldc + 16 * j;
                    _mm512_storeu_ps(
                        p, first ? acc[i][j] : _mm512_add_ps(_mm512_loadu_ps(p), acc[i][j]));
                }
            }
        } else {
#pragma GCC unroll 16
            for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    float* p = c + i * ldc + 16 * j;
                    const __m512 v =
                        first ? acc[i][j]
                              : _mm512_add_ps(_mm512_maskz_loadu_ps(mask[j], p), acc[i][j]);
                    _mm512_mask_storeu_ps(p, mask[j], v);
                }
            }
        }
    }

    static void transpose16(__m512 r[16]) { wiggle::kernels::avx512_transpose::transpose16(r); }

    // One A micro-panel: dst[k*MR + i] = op(A)(i0+i, k0+k) for i < m_rows.
    static void pack_a(float* dst, const float* A, long lda, bool trans_a, int i0, int m_rows,
                       int k0, int kc) {
        static_assert(MR <= 16);
        const __mmask16 rmask = static_cast<__mmask16>((1u << m_rows) - 1);
        if (trans_a) {  // MR contiguous floats per k
            for (int k = 0; k < kc; k++) {
                _mm512_mask_storeu_ps(dst + k * MR, rmask,
                                      _mm512_maskz_loadu_ps(rmask, A + (k0 + k) * lda + i0));
            }
            return;
        }
        const __mmask16 store_mask = static_cast<__mmask16>((1u << MR) - 1);
        for (int kb = 0; kb < kc; kb += 16) {
            const int kn = std::min(16, kc - kb);
            const __mmask16 kmask = static_cast<__mmask16>(kn == 16 ? 0xFFFF : (1u << kn) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                r[i] = i < m_rows ? _mm512_maskz_loadu_ps(kmask, A + (i0 + i) * lda + k0 + kb)
                                  : _mm512_setzero_ps();
            }
            transpose16(r);
            for (int k = 0; k < kn; k++)
                _mm512_mask_storeu_ps(dst + (kb + k) * MR, store_mask, r[k]);
        }
    }

    static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
                       int nr_valid) {
        if (!trans_b) {  // op(B) rows are B rows: copy 64 floats per k (zeros past the edge)
            __mmask16 mask[NV];
            for (int j = 0; j < NV; j++) {
                const int left = nr_valid - 16 * j;
                mask[j] = left >= 16  ? 0xFFFF
                          : left <= 0 ? 0
                                      : static_cast<__mmask16>((1u << left) - 1);
            }
            for (int k = 0; k < kc; k++) {
                const float* s = B + (k0 + k) * ldb + j0;
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    _mm512_store_ps(dst + k * NR + 16 * j,
                                    _mm512_maskz_loadu_ps(mask[j], s + 16 * j));
                }
            }
            return;
        }
        // op(B)(k, j) = B[j*ldb + k]: transpose 16×16 blocks
        for (int jb = 0; jb < NR; jb += 16) {
            const int jn = std::clamp(nr_valid - jb, 0, 16);
            for (int kb = 0; kb < kc; kb += 16) {
                const int kn = std::min(16, kc - kb);
                const __mmask16 kmask = static_cast<__mmask16>(kn == 16 ? 0xFFFF : (1u << kn) - 1);
                __m512 r[16];
                for (int j = 0; j < 16; j++) {
                    r[j] = j < jn ? _mm512_maskz_loadu_ps(kmask, B + (j0 + jb + j) * ldb + k0 + kb)
                                  : _mm512_setzero_ps();
                }
                transpose16(r);
                for (int k = 0; k < kn; k++) _mm512_store_ps(dst + (kb + k) * NR + jb, r[k]);
            }
        }
    }
};

}  // namespace

namespace wiggle::kernels::detail {

// M·N·K from which the large configuration is used (the choice depends on the shape only, never
// on the thread count, so results stay bit-identical across thread counts).
constexpr double kLargeGemm = 1.5e8;

// Small products (the GPT's, K a few hundred): 6×64 tiles reading A in place, a 128-deep B panel
// (32 KiB) held in L1 while the A tiles stream past. Large ones: 14×32 tiles (28 accumulators)
// on packed A (the micro-panel in L1) with 384-deep B panels streaming from L2, as BLIS does on
// Skylake-X, in N blocks of up to 2048 columns: each block reads (and packs) all of op(A) once,
// which for the GPT's products comes from memory, so the 1152- and 1536-wide ones go in one block
// (measured against 512-wide blocks: bench/RESULTS.md).
using SmallKernel = Avx512Kernel<6, 4, 128, 96, 1024, false>;
using LargeKernel = Avx512Kernel<14, 2, 384, 98, 2048, true>;

void gemm_avx512(const GemmArgs& g, int threads) {
    const bool large = static_cast<double>(g.M) * g.N * g.K >= kLargeGemm;
    if (large) return Driver<LargeKernel>::run(g, threads);
    Driver<SmallKernel>::run(g, threads);
}

}  // namespace wiggle::kernels::detail
