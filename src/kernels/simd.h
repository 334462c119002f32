// The SIMD vocabulary of the non-matmul kernels: one set of names (vf, kW, vload, vfma, vexp,
// verf, ...) implemented for AVX-512, AVX2+FMA or portable C++ (8 lanes in a plain array; in the
// browser build, -msimd128, the same bits in WebAssembly SIMD128), picked by the flags of the file
// that includes it. Everything lands in namespace wiggle::kernels::WIGGLE_ISA_NS (avx512 / avx2 /
// generic), so the three builds of a kernel are three different symbols and the dispatcher
// (simd_dispatch.h) picks one with cpu_isa(). Baseline files define WIGGLE_FORCE_GENERIC before
// including this, whatever -march says (SIMD128 still applies: it has the portable bits).
// Internal to src/kernels. Not a general SIMD library: only what the kernels here need.
//
// exp: Cody–Waite reduction (Cephes's two-part ln2) and Cephes's degree-6 polynomial, scaled by
// 2^n (in two halves without AVX-512) so overflow gives inf and small results are correctly
// subnormal; the common case never computes a subnormal (see vexp).
// erf: x·P(x²) on |x| < 1 and 1 − exp(−x²)·G(|x| − 2.46) on 1 ≤ |x| ≤ 3.92 (erf rounds to ±1
// beyond), both fitted by least squares in relative error (degrees 6 and 10). Within a few ulp of
// the C library (tests/kernels/gelu_test.cpp measures it).
// NaN inputs give NaN.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/bf16.h"
#include "kernels/bf16_avx512.h"
#include "kernels/cpu.h"

#if !defined(WIGGLE_FORCE_GENERIC) && \
    (defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)))
#include <immintrin.h>
#endif

#if !defined(WIGGLE_FORCE_GENERIC) && defined(__AVX512F__)
#define WIGGLE_ISA_NS avx512
#define WIGGLE_SIMD_AVX512 1
#elif !defined(WIGGLE_FORCE_GENERIC) && defined(__AVX2__) && defined(__FMA__)
#define WIGGLE_ISA_NS avx2
#define WIGGLE_SIMD_AVX2 1
#else
#define WIGGLE_ISA_NS generic
#define WIGGLE_SIMD_GENERIC 1
#if defined(__wasm_simd128__)
// The browser build (-msimd128): the portable section's bits in SIMD128 instructions, so the
// baseline files use it too and the namespace stays generic.
#define WIGGLE_SIMD_WASM 1
#include <wasm_simd128.h>
#endif
#endif

namespace wiggle::kernels::WIGGLE_ISA_NS {

#if defined(WIGGLE_SIMD_AVX512)

// GCC 12 warns about _mm512_undefined_ps() (and _mm512_reduce_max_ps's _mm256_undefined_pd)
// inside its own intrinsics (false positives, GCC bug 105593); the rest of an AVX-512 file is all
// intrinsics, so they are silenced there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

using vf = __m512;
constexpr int kW = 16;
inline vf vzero() { return _mm512_setzero_ps(); }
inline vf vset1(float a) { return _mm512_set1_ps(a); }
inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline __mmask16 vmask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
// The first n lanes (0 ≤ n < kW) from p, the others `fill`.
inline vf vload_n(const float* p, int n, float fill = 0.0f) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), vmask(n), p);
}
inline void vstore_n(float* p, vf v, int n) { _mm512_mask_storeu_ps(p, vmask(n), v); }
// kW bfloat16 from p widened to floats (exact: a bf16 is the upper half of a float); the _n form
// the first n lanes (0 ≤ n < kW), the others `fill`.
inline vf vload(const bf16* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline vf vload_n(const bf16* p, int n, float fill = 0.0f) {
    const __m256i h = _mm256_maskz_loadu_epi16(vmask(n), p);
    const vf x = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_mask_blend_ps(vmask(n), _mm512_set1_ps(fill), x);
}
// kW pairs of bfloat16 from p (2·kW halves): the even halves widened to floats in `even`, the odd
// ones in `odd` (a bfloat16 is the upper half of a float, so widening is exact).
inline void vload_bf16_pairs(const void* p, vf& even, vf& odd) {
    const __m512i x = _mm512_loadu_si512(p);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
    odd =
        _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
// kW floats rounded to bfloat16 into p: the same bits as the scalar to_bf16 (bf16.h), ties to
// even, NaN quieted, denormals rounded, not flushed (bf16_avx512.h).
inline __m256i vround_bf16(vf v) { return avx512_bf16::round_to_bf16(v); }
inline void vstore(bf16* p, vf v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), vround_bf16(v));
}
inline void vstore_n(bf16* p, vf v, int n) {
    _mm256_mask_storeu_epi16(p, vmask(n), vround_bf16(v));
}
inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }    // a·b + c
inline vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }  // c − a·b
// max/min return the second operand when either is NaN: callers pass the data second.
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
inline vf vabs(vf a) { return _mm512_abs_ps(a); }
inline vf vneg(vf a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
inline vf vcopysign(vf mag, vf sgn) {
    const __m512i s = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(_mm512_castps_si512(mag), _mm512_castps_si512(sgn), s, 0xD8));
}
inline vf vround(vf a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// a < b ? x : y, lane by lane.
inline vf vselect_lt(vf a, vf b, vf x, vf y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
inline float vhsum(vf a) {
    // A fixed tree: halves, then quarters, ... (the same for every call).
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
inline float vhmax(vf a) { return _mm512_reduce_max_ps(a); }
// p·2^n for integral n (as float).
inline vf vscale2(vf p, vf n) { return _mm512_scalef_ps(p, n); }
// Whether any lane has lo ≤ x < hi.
inline bool vany_between(vf x, float lo, float hi) {
    return (_mm512_cmp_ps_mask(x, _mm512_set1_ps(hi), _CMP_LT_OQ) &
            _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GE_OQ)) != 0;
}
// base[i·stride] for the first n lanes (0 < n ≤ kW), 0 in the others.
inline vf vgather_n(const float* base, int stride, int n) {
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(stride));
    const __mmask16 m = n >= kW ? static_cast<__mmask16>(0xFFFF) : vmask(n);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4);
}

#elif defined(WIGGLE_SIMD_AVX2)

using vf = __m256;
constexpr int kW = 8;
inline vf vzero() { return _mm256_setzero_ps(); }
inline vf vset1(float a) { return _mm256_set1_ps(a); }
inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline __m256i vmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline vf vload_n(const float* p, int n, float fill = 0.0f) {
    const __m256i m = vmask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
inline void vstore_n(float* p, vf v, int n) { _mm256_maskstore_ps(p, vmask(n), v); }
inline vf vload(const bf16* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline vf vload_n(const bf16* p, int n, float fill = 0.0f) {
    alignas(32) float x[kW];
    for (int i = 0; i < kW; ++i) x[i] = i < n ? to_float(p[i]) : fill;
    return _mm256_load_ps(x);
}
inline void vload_bf16_pairs(const void* p, vf& even, vf& odd) {
    const __m256i x = _mm256_loadu_si256(static_cast<const __m256i*>(p));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
    odd =
        _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf vsqrt(vf a) { return _mm256_sqrt_ps(a); }
inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline vf vneg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
inline vf vcopysign(vf mag, vf sgn) {
    const vf s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sgn));
}
inline vf vround(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vf vselect_lt(vf a, vf b, vf x, vf y) {
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
inline float vhsum(vf a) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
inline float vhmax(vf a) {
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
// p·2^n in two halves (n in [−150, 129]) so that both 2^k are normal floats.
inline vf vscale2(vf p, vf n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const vf s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const vf s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
inline bool vany_between(vf x, float lo, float hi) {
    return _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(hi), _CMP_LT_OQ),
                                            _mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GE_OQ))) != 0;
}
inline vf vgather_n(const float* base, int stride, int n) {
    const __m256i idx =
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    const __m256i m = vmask(n);
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, _mm256_castsi256_ps(m), 4);
}

#elif defined(WIGGLE_SIMD_WASM)

// The portable section below, lane for lane: 8 lanes (two v128_t; kW fixes the kernels' summation
// orders), the same IEEE operation per lane (vfma not fused), the same vhsum tree and vhmax order.
// The partial loads and stores, vhmax and vgather_n go through an array, as there.
struct vf {
    v128_t lo, hi;
};
constexpr int kW = 8;
inline vf vset1(float a) { return {wasm_f32x4_splat(a), wasm_f32x4_splat(a)}; }
inline vf vzero() { return vset1(0.0f); }
inline vf vload(const float* p) { return {wasm_v128_load(p), wasm_v128_load(p + 4)}; }
inline void vstore(float* p, vf v) {
    wasm_v128_store(p, v.lo);
    wasm_v128_store(p + 4, v.hi);
}
inline vf vload_n(const float* p, int n, float fill = 0.0f) {
    float t[8];
    for (int i = 0; i < 8; ++i) t[i] = i < n ? p[i] : fill;
    return vload(t);
}
inline void vstore_n(float* p, vf v, int n) {
    float t[8];
    vstore(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
}
inline vf vload(const bf16* p) {  // widening is exact: a bfloat16 is the upper half of a float
    const v128_t h = wasm_v128_load(p);
    return {wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h), 16),
            wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(h), 16)};
}
inline vf vload_n(const bf16* p, int n, float fill = 0.0f) {
    float t[8];
    for (int i = 0; i < 8; ++i) t[i] = i < n ? to_float(p[i]) : fill;
    return vload(t);
}
inline void vload_bf16_pairs(const void* p, vf& even, vf& odd) {
    const auto* b = static_cast<const unsigned char*>(p);
    const v128_t x0 = wasm_v128_load(b), x1 = wasm_v128_load(b + 16);
    const v128_t upper = wasm_i32x4_splat(static_cast<int>(0xFFFF0000u));
    even = {wasm_i32x4_shl(x0, 16), wasm_i32x4_shl(x1, 16)};
    odd = {wasm_v128_and(x0, upper), wasm_v128_and(x1, upper)};
}
#define WIGGLE_HALVES(op) \
    return { op(a.lo, b.lo), op(a.hi, b.hi) }
inline vf vadd(vf a, vf b) { WIGGLE_HALVES(wasm_f32x4_add); }
inline vf vsub(vf a, vf b) { WIGGLE_HALVES(wasm_f32x4_sub); }
inline vf vmul(vf a, vf b) { WIGGLE_HALVES(wasm_f32x4_mul); }
inline vf vdiv(vf a, vf b) { WIGGLE_HALVES(wasm_f32x4_div); }
#undef WIGGLE_HALVES
inline vf vfma(vf a, vf b, vf c) { return vadd(vmul(a, b), c); }
inline vf vfnma(vf a, vf b, vf c) { return vsub(c, vmul(a, b)); }
// pmax(b, a) is `b < a ? a : b`, that is the portable `a > b ? a : b` (NaN and ±0 included).
inline vf vmax(vf a, vf b) { return {wasm_f32x4_pmax(b.lo, a.lo), wasm_f32x4_pmax(b.hi, a.hi)}; }
// pmin(b, a) is `a < b ? a : b`.
inline vf vmin(vf a, vf b) { return {wasm_f32x4_pmin(b.lo, a.lo), wasm_f32x4_pmin(b.hi, a.hi)}; }
inline vf vsqrt(vf a) { return {wasm_f32x4_sqrt(a.lo), wasm_f32x4_sqrt(a.hi)}; }
inline vf vabs(vf a) { return {wasm_f32x4_abs(a.lo), wasm_f32x4_abs(a.hi)}; }
inline vf vneg(vf a) { return {wasm_f32x4_neg(a.lo), wasm_f32x4_neg(a.hi)}; }
inline vf vcopysign(vf m, vf s) {
    const v128_t sign = wasm_f32x4_splat(-0.0f);
    return {wasm_v128_bitselect(s.lo, m.lo, sign), wasm_v128_bitselect(s.hi, m.hi, sign)};
}
// The portable trick, not f32x4.nearest: that keeps −0 where the trick gives +0.
inline vf vround(vf a) { return vsub(vadd(a, vset1(12582912.0f)), vset1(12582912.0f)); }
inline vf vselect_lt(vf a, vf b, vf x, vf y) {
    return {wasm_v128_bitselect(x.lo, y.lo, wasm_f32x4_lt(a.lo, b.lo)),
            wasm_v128_bitselect(x.hi, y.hi, wasm_f32x4_lt(a.hi, b.hi))};
}
inline float vhsum(vf a) {  // ((x0 + x4) + (x2 + x6)) + ((x1 + x5) + (x3 + x7))
    const v128_t s = wasm_f32x4_add(a.lo, a.hi);
    const v128_t t = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(t, 0) + wasm_f32x4_extract_lane(t, 1);
}
inline float vhmax(vf a) {
    float t[8];
    vstore(t, a);
    float m = t[0];
    for (int i = 1; i < 8; ++i) m = t[i] > m ? t[i] : m;
    return m;
}
// n holds integers in [−151, 129] (or NaN, where p is NaN too), so trunc_sat is the portable cast.
inline vf vscale2(vf p, vf n) {
    const auto half = [](v128_t pp, v128_t nn) {
        const v128_t k = wasm_i32x4_trunc_sat_f32x4(nn), k1 = wasm_i32x4_shr(k, 1),
                     k2 = wasm_i32x4_sub(k, k1), bias = wasm_i32x4_splat(127);
        const v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(k1, bias), 23),
                     s2 = wasm_i32x4_shl(wasm_i32x4_add(k2, bias), 23);
        return wasm_f32x4_mul(wasm_f32x4_mul(pp, s1), s2);
    };
    return {half(p.lo, n.lo), half(p.hi, n.hi)};
}
// Rows r0..r3 (4 floats each) → columns: out[c] = (r0[c], r1[c], r2[c], r3[c]).
inline void transpose4(v128_t& r0, v128_t& r1, v128_t& r2, v128_t& r3) {
    const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);  // r0[0] r1[0] r0[1] r1[1]
    const v128_t t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);  // r0[2] r1[2] r0[3] r1[3]
    const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
    const v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
    r0 = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
    r1 = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
    r2 = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
    r3 = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}
// Whether every lane has |x| < b (false for a NaN lane).
inline bool vall_abs_lt(vf x, float b) {
    const v128_t v = wasm_f32x4_splat(b);
    return wasm_i32x4_all_true(wasm_v128_and(wasm_f32x4_lt(wasm_f32x4_abs(x.lo), v),
                                             wasm_f32x4_lt(wasm_f32x4_abs(x.hi), v)));
}
inline bool vany_between(vf x, float lo, float hi) {
    const v128_t l = wasm_f32x4_splat(lo), h = wasm_f32x4_splat(hi);
    const v128_t in_lo = wasm_v128_and(wasm_f32x4_ge(x.lo, l), wasm_f32x4_lt(x.lo, h)),
                 in_hi = wasm_v128_and(wasm_f32x4_ge(x.hi, l), wasm_f32x4_lt(x.hi, h));
    return wasm_v128_any_true(wasm_v128_or(in_lo, in_hi));
}
inline vf vgather_n(const float* base, int stride, int n) {
    float t[8];
    for (int i = 0; i < 8; ++i) t[i] = i < n ? base[static_cast<long>(i) * stride] : 0.0f;
    return vload(t);
}

#else  // portable C++: 8 lanes in an array; the compiler vectorizes what it can.

struct vf {
    float x[8];
};
constexpr int kW = 8;
#define WIGGLE_LANES(expr)                       \
    vf r;                                        \
    for (int i = 0; i < 8; ++i) r.x[i] = (expr); \
    return r
inline vf vset1(float a) { WIGGLE_LANES(a); }
inline vf vzero() { return vset1(0.0f); }
inline vf vload(const float* p) {
    vf r;
    std::memcpy(r.x, p, sizeof(r.x));
    return r;
}
inline void vstore(float* p, vf v) { std::memcpy(p, v.x, sizeof(v.x)); }
inline vf vload_n(const float* p, int n, float fill = 0.0f) { WIGGLE_LANES(i < n ? p[i] : fill); }
inline vf vload(const bf16* p) { WIGGLE_LANES(to_float(p[i])); }
inline vf vload_n(const bf16* p, int n, float fill = 0.0f) {
    WIGGLE_LANES(i < n ? to_float(p[i]) : fill);
}
inline void vstore_n(float* p, vf v, int n) {
    for (int i = 0; i < n; ++i) p[i] = v.x[i];
}
inline void vload_bf16_pairs(const void* p, vf& even, vf& odd) {
    std::uint16_t h[16];
    std::memcpy(h, p, sizeof(h));
    for (int i = 0; i < 8; ++i) {
        const std::uint32_t e = std::uint32_t{h[2 * i]} << 16,
                            o = std::uint32_t{h[2 * i + 1]} << 16;
        std::memcpy(&even.x[i], &e, sizeof(float));
        std::memcpy(&odd.x[i], &o, sizeof(float));
    }
}
inline vf vadd(vf a, vf b) { WIGGLE_LANES(a.x[i] + b.x[i]); }
inline vf vsub(vf a, vf b) { WIGGLE_LANES(a.x[i] - b.x[i]); }
inline vf vmul(vf a, vf b) { WIGGLE_LANES(a.x[i] * b.x[i]); }
inline vf vdiv(vf a, vf b) { WIGGLE_LANES(a.x[i] / b.x[i]); }
// Not fused here (no FMA in baseline x86-64): two roundings, like the naive kernels.
inline vf vfma(vf a, vf b, vf c) { WIGGLE_LANES(a.x[i] * b.x[i] + c.x[i]); }
inline vf vfnma(vf a, vf b, vf c) { WIGGLE_LANES(c.x[i] - a.x[i] * b.x[i]); }
inline vf vmax(vf a, vf b) { WIGGLE_LANES(a.x[i] > b.x[i] ? a.x[i] : b.x[i]); }
inline vf vmin(vf a, vf b) { WIGGLE_LANES(a.x[i] < b.x[i] ? a.x[i] : b.x[i]); }
inline vf vsqrt(vf a) { WIGGLE_LANES(__builtin_sqrtf(a.x[i])); }
inline vf vabs(vf a) { WIGGLE_LANES(__builtin_fabsf(a.x[i])); }
inline vf vneg(vf a) { WIGGLE_LANES(-a.x[i]); }
inline vf vcopysign(vf m, vf s) { WIGGLE_LANES(__builtin_copysignf(m.x[i], s.x[i])); }
// Round to nearest even for |a| < 2²² (the callers' range) without libm.
inline vf vround(vf a) { WIGGLE_LANES((a.x[i] + 12582912.0f) - 12582912.0f); }
inline vf vselect_lt(vf a, vf b, vf x, vf y) { WIGGLE_LANES(a.x[i] < b.x[i] ? x.x[i] : y.x[i]); }
inline float vhsum(vf a) {
    return ((a.x[0] + a.x[4]) + (a.x[2] + a.x[6])) + ((a.x[1] + a.x[5]) + (a.x[3] + a.x[7]));
}
inline float vhmax(vf a) {
    float m = a.x[0];
    for (int i = 1; i < 8; ++i) m = a.x[i] > m ? a.x[i] : m;
    return m;
}
inline vf vscale2(vf p, vf n) {
    vf r;
    for (int i = 0; i < 8; ++i) {
        const int k = static_cast<int>(n.x[i]), k1 = k >> 1, k2 = k - k1;
        const uint32_t b1 = static_cast<uint32_t>(k1 + 127) << 23,
                       b2 = static_cast<uint32_t>(k2 + 127) << 23;
        float s1, s2;
        std::memcpy(&s1, &b1, 4);
        std::memcpy(&s2, &b2, 4);
        r.x[i] = (p.x[i] * s1) * s2;
    }
    return r;
}
inline bool vany_between(vf x, float lo, float hi) {
    bool any = false;
    for (int i = 0; i < 8; ++i) any |= x.x[i] >= lo && x.x[i] < hi;
    return any;
}
inline vf vgather_n(const float* base, int stride, int n) {
    WIGGLE_LANES(i < n ? base[static_cast<long>(i) * stride] : 0.0f);
}
#undef WIGGLE_LANES

#endif

#if !defined(WIGGLE_SIMD_AVX512)
// kW floats rounded to bfloat16 into p (the first n: 0 ≤ n < kW), lane by lane with the scalar
// to_bf16: only AVX-512 trains in bf16 at speed, the other builds need the same bits.
inline void vstore_n(bf16* p, vf v, int n) {
    float t[kW];
    vstore(t, v);
    for (int i = 0; i < n; ++i) p[i] = ::wiggle::kernels::to_bf16(t[i]);
}
inline void vstore(bf16* p, vf v) { vstore_n(p, v, kW); }
#endif

// e^x for x clamped to [lo, 89]: Cody–Waite reduction, the polynomial, then p·2ⁿ.
inline vf vexp_clamped(vf x, vf lo) {
    const vf xc = vmin(vset1(89.0f), vmax(lo, x));  // data second: NaN passes through
    const vf n = vround(vmul(xc, vset1(1.44269504088896341f)));
    vf r = vfnma(n, vset1(0.693359375f), xc);
    r = vfnma(n, vset1(-2.12194440e-4f), r);
    vf p = vset1(1.9875691500e-4f);
    p = vfma(p, r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    p = vfma(p, vmul(r, r), vadd(r, vset1(1.0f)));
    return vscale2(p, n);
}

// e^x, within 2 ulp on [−87, 88] and correctly subnormal below; 0 below −104 (and for −inf), inf
// above 88.72; NaN stays NaN. Producing a subnormal costs a microcode assist (~100 cycles per
// instruction on Intel cores) even in lanes a select throws away, so the common case clamps at
// −87.3 (where n ≥ −126 and p·2ⁿ is normal) and zeroes the lanes below −104 by a select; only a
// vector with a lane in [−104, −87.3) takes the subnormal path.
inline vf vexp(vf x) {
    if (vany_between(x, -104.0f, -87.3f)) [[unlikely]] {
        return vselect_lt(x, vset1(-104.0f), vzero(), vexp_clamped(x, vset1(-104.0f)));
    }
    return vselect_lt(x, vset1(-87.3f), vzero(), vexp_clamped(x, vset1(-87.3f)));
}

// erf(x) for |x| < 1: x·P(x²) (verf_given_exp's first branch).
inline vf verf_small(vf x) {
    const vf t = vmul(x, x);
    vf ps = vset1(7.898209878e-05f);
    ps = vfma(ps, t, vset1(-8.024353883e-04f));
    ps = vfma(ps, t, vset1(5.190053489e-03f));
    ps = vfma(ps, t, vset1(-2.685480937e-02f));
    ps = vfma(ps, t, vset1(1.128361225e-01f));
    ps = vfma(ps, t, vset1(-3.761262894e-01f));
    ps = vfma(ps, t, vset1(1.128379226e+00f));
    return vmul(x, ps);
}

// erf(x) given e = exp(−x²) (callers that also need exp(−x²) compute it once), within a few ulp.
inline vf verf_given_exp(vf x, vf e) {
    const vf a = vabs(x);
    const vf small = verf_small(x);  // |x| < 1
    // |x| ≥ 1: 1 − exp(−x²)·G(|x| − 2.46), G fitted on [1, 3.92]; beyond 3.92, exp(−x²)·G is
    // below half an ulp of 1, so clamping G's argument there still gives ±1.
    const vf u = vsub(vmin(vset1(3.92f), vmax(vset1(1.0f), a)), vset1(2.46f));
    vf g = vset1(1.651977186e-06f);
    g = vfma(g, u, vset1(-6.912903245e-06f));
    g = vfma(g, u, vset1(1.691404395e-05f));
    g = vfma(g, u, vset1(-5.921115735e-05f));
    g = vfma(g, u, vset1(2.283200447e-04f));
    g = vfma(g, u, vset1(-7.909775595e-04f));
    g = vfma(g, u, vset1(2.619327744e-03f));
    g = vfma(g, u, vset1(-8.406551555e-03f));
    g = vfma(g, u, vset1(2.592218108e-02f));
    g = vfma(g, u, vset1(-7.638161629e-02f));
    g = vfma(g, u, vset1(2.138206810e-01f));
    const vf big = vcopysign(vfnma(e, g, vset1(1.0f)), x);
    return vselect_lt(a, vset1(1.0f), small, big);
}

// erf(x), within a few ulp everywhere.
inline vf verf(vf x) { return verf_given_exp(x, vexp(vneg(vmul(x, x)))); }

// Threading through kernels::parallel_items (see cpu.h: the caller never waits for a thread that
// has not claimed an item, so an oversubscribed machine does not stall every kernel).
// f(i) for i in [0, n), on num_threads() threads when `parallel`, else inline.
template <typename F>
inline void for_items(int n, bool parallel, F f) {
    auto g = [&f](int i) { f(i); };
    parallel_items(n, parallel ? num_threads() : 1, g);
}

// f(row) for row in [0, N), rows grouped into items of about 8192 elements (row_len each).
template <typename F>
inline void for_rows(int N, long row_len, bool parallel, F f) {
    const int per = row_len >= 8192 ? 1 : static_cast<int>(8192 / (row_len > 0 ? row_len : 1));
    const int items = (N + per - 1) / per;
    auto g = [&](int item) {
        const int end = (item + 1) * per < N ? (item + 1) * per : N;
        for (int n = item * per; n < end; ++n) f(n);
    };
    parallel_items(items, parallel ? num_threads() : 1, g);
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
