// 16 floats rounded to bfloat16 in AVX-512 registers: the same bits as the scalar to_bf16
// (bf16.h), ties to even, NaN quieted, denormals rounded, not flushed. Integer arithmetic, so any
// AVX-512 CPU has it (vcvtne2ps2bf16 would need AVX512_BF16 and flushes denormals). simd.h's
// vstore to bf16 and the bf16 gemm's rounded output both use it. x86-64 only; callers are AVX-512
// code.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

namespace wiggle::kernels::avx512_bf16 {

__attribute__((target("avx512f"))) inline __m256i round_to_bf16(__m512 v) {
    const __m512i b = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_srli_epi32(
        _mm512_add_epi32(b, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(
        _mm512_and_si512(b, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

}  // namespace wiggle::kernels::avx512_bf16
#endif
