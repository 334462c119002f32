// Conversions of buffers between float and bf16: a scalar loop (the definition) and, on CPUs with
// AVX512_BF16, vcvtne2ps2bf16 (32 floats per instruction) with the same bits.
#include "kernels/bf16.h"

#include <cstring>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own intrinsics (_mm512_undefined_*): a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace wiggle::kernels {

void to_bf16_naive(bf16* out, const float* in, long n) {
    for (long i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

void to_float(float* out, const bf16* in, long n) {
    for (long i = 0; i < n; ++i) out[i] = to_float(in[i]);
}

#if defined(__x86_64__)
namespace {

#define WIGGLE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

// vcvtne2ps2bf16 rounds like to_bf16 (to nearest even; a NaN keeps its top bits with the quiet
// bit set), except that it flushes denormal inputs to ±0: a block of 32 that holds a denormal
// goes through the scalar loop instead.
WIGGLE_BF16_TARGET void to_bf16_avx512(bf16* out, const float* in, long n) {
    const __m512i one = _mm512_set1_epi32(1), max_denormal = _mm512_set1_epi32(0x007FFFFF);
    const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 lo = _mm512_loadu_ps(in + i), hi = _mm512_loadu_ps(in + i + 16);
        // denormal: 1 <= |bits| <= 0x7FFFFF, i.e. |bits| - 1 < 0x7FFFFF unsigned
        const __m512i alo = _mm512_and_si512(_mm512_castps_si512(lo), abs_mask);
        const __m512i ahi = _mm512_and_si512(_mm512_castps_si512(hi), abs_mask);
        const __mmask16 dlo =
            _mm512_cmp_epu32_mask(_mm512_sub_epi32(alo, one), max_denormal, _MM_CMPINT_LT);
        const __mmask16 dhi =
            _mm512_cmp_epu32_mask(_mm512_sub_epi32(ahi, one), max_denormal, _MM_CMPINT_LT);
        if ((dlo | dhi) != 0) {
            to_bf16_naive(out + i, in + i, 32);
            continue;
        }
        const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);  // words 0-15 from lo, 16-31 from hi
        _mm512_storeu_si512(out + i, reinterpret_cast<const __m512i&>(v));
    }
    to_bf16_naive(out + i, in + i, n - i);
}

}  // namespace

bool bf16_instructions() {
    static const bool has =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bf16");
    return has && cpu_isa() == Isa::Avx512;
}
#else
bool bf16_instructions() { return false; }
#endif

void to_bf16_isa(Isa isa, bf16* out, const float* in, long n) {
#if defined(__x86_64__)
    if (isa == Isa::Avx512 && bf16_instructions()) return to_bf16_avx512(out, in, n);
#endif
    (void)isa;
    to_bf16_naive(out, in, n);
}

void to_bf16(bf16* out, const float* in, long n) { to_bf16_isa(cpu_isa(), out, in, n); }

}  // namespace wiggle::kernels
