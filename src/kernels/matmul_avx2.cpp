// The AVX2+FMA gemm: a 6×16 register tile (12 ymm accumulators), B packed in 16-wide panels.
//
// Compiled with -mavx2 -mfma (src/CMakeLists.txt); used on CPUs without AVX-512 (or when
// WIGGLE_ISA=avx2). Per k step: 2 loads of B, 6 broadcasts of A, 12 FMAs. The right edge is
// computed on zero-padded panels and stored through a small buffer.
#include <immintrin.h>

#include "kernels/matmul_driver.h"

namespace {

struct Avx2Kernel {
    static constexpr int MR = 6, NV = 2, NR = 8 * NV;
    static constexpr int KC = 256, MC = 96, NC = 1024;
    static constexpr bool kPackA = false;

    template <int MRr, AMode mode>
    static void tile(int kc, const float* a, long as, const float* b, float* c, long ldc,
                     int n_valid, bool first, const float* bias) {
        __m256 acc[MRr][NV];
#pragma GCC unroll 8
        for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 2
            for (int j = 0; j < NV; j++) acc[i][j] = _mm256_setzero_ps();
        }
        const float* ap[MRr];
#pragma GCC unroll 8
        for (int i = 0; i < MRr; i++) ap[i] = mode == AMode::kRowStrided ? a + i * as : a + i;
        const long astep = mode == AMode::kRowStrided ? 1 : as;
#pragma GCC unroll 2
        for (int k = 0; k < kc; k++) {
            __m256 bv[NV];
#pragma GCC unroll 2
            for (int j = 0; j < NV; j++) bv[j] = _mm256_load_ps(b + k * NR + 8 * j);
#pragma GCC unroll 8
            for (int i = 0; i < MRr; i++) {
                const __m256 av = _mm256_broadcast_ss(ap[i] + k * astep);
#pragma GCC unroll 2
                for (int j = 0; j < NV; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
        if (n_valid == NR) {
#pragma GCC unroll 8
            for (int i = 0; i < MRr; i++) {
#pragma GCC unroll 2
                for (int j = 0; j < NV; j++) {
                    float* p = c + i * ldc + 8 * j;
                    _mm256_storeu_ps(
                        p, !first ? _mm256_add_ps(_mm256_loadu_ps(p), acc[i][j])
                           : bias ? _mm256_add_ps(acc[i][j], _mm256_loadu_ps(bias + 8 * j))
                                  : acc[i][j]);
                }
            }
        } else {
            // (fully unrolled: an indexed acc[i] would make GCC keep the accumulators in memory)
            alignas(32) float buf[NR];
#pragma GCC unroll 8
            for (int i = 0; i < MRr; i++) {
                float* p = c + i * ldc;
#pragma GCC unroll 2
                for (int j = 0; j < NV; j++) _mm256_store_ps(buf + 8 * j, acc[i][j]);
                for (int j = 0; j < n_valid; j++) {
                    p[j] = !first ? p[j] + buf[j] : bias ? buf[j] + bias[j] : buf[j];
                }
            }
        }
    }

    static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
                       int nr_valid) {
        if (!trans_b) {
            if (nr_valid == NR) {
                for (int k = 0; k < kc; k++) {
                    const float* s = B + (k0 + k) * ldb + j0;
                    _mm256_store_ps(dst + k * NR, _mm256_loadu_ps(s));
                    _mm256_store_ps(dst + k * NR + 8, _mm256_loadu_ps(s + 8));
                }
            } else {
                for (int k = 0; k < kc; k++) {
                    const float* s = B + (k0 + k) * ldb + j0;
                    for (int j = 0; j < NR; j++) dst[k * NR + j] = j < nr_valid ? s[j] : 0.0f;
                }
            }
            return;
        }
        for (int k = 0; k < kc; k++) {
            for (int j = nr_valid; j < NR; j++) dst[k * NR + j] = 0.0f;
        }
        for (int j = 0; j < nr_valid; j++) {
            const float* s = B + (j0 + j) * ldb + k0;
            for (int k = 0; k < kc; k++) dst[k * NR + j] = s[k];
        }
    }
};

}  // namespace

namespace wiggle::kernels::detail {

void gemm_avx2(const GemmArgs& g, int threads) { Driver<Avx2Kernel>::run(g, threads); }

}  // namespace wiggle::kernels::detail
