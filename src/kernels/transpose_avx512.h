// A 16×16 block of floats transposed in AVX-512 registers (unpack, shuffle, then two rounds of
// 128-bit lane shuffles): the fp32 gemm's and the bf16 gemm's packing and attention's Kᵀ, Vᵀ.
// A gather per column costs about 6× more on Zen 4. x86-64 only; callers are AVX-512 code.
#pragma once

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own intrinsics (_mm512_undefined_ps's `__m512 __Y = __Y;`) when they
// are inlined at -O1, as every AVX-512 file of the kernels notes: not a bug of ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace wiggle::kernels::avx512_transpose {

// r[i] holds row i; afterwards r[j] holds column j.
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    for (int q = 0; q < 4; q++) {
        u[4 * q + 0] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    // u[4q+c], 128-bit lane L, holds column 4L+c of rows 4q..4q+3
    for (int c = 0; c < 4; c++) {
        const __m512 s0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        const __m512 s1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const __m512 s2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 s3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
    }
}

}  // namespace wiggle::kernels::avx512_transpose
#endif
