// Conversions of buffers between float and bf16: the scalar loop (the definition) and the
// vectorized builds of bf16_impl.h, which give the same bits.
#include "kernels/bf16.h"

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/bf16_impl.h"

namespace wiggle::kernels {

void to_bf16_naive(bf16* out, const float* in, long n) {
    for (long i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

#if defined(__x86_64__)
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

WIGGLE_ISA_DECLARE(void to_bf16(bf16* out, const float* in, long n))
WIGGLE_ISA_DECLARE(void to_float(float* out, const bf16* in, long n))

void to_bf16_isa(Isa isa, bf16* out, const float* in, long n) {
#if defined(__x86_64__)
    if (isa == Isa::Avx512) return avx512::to_bf16(out, in, n);
    if (isa == Isa::Avx2) return avx2::to_bf16(out, in, n);
#endif
    (void)isa;
    generic::to_bf16(out, in, n);
}

void to_bf16(bf16* out, const float* in, long n) { WIGGLE_DISPATCH(to_bf16, out, in, n); }
void to_float(float* out, const bf16* in, long n) { WIGGLE_DISPATCH(to_float, out, in, n); }

}  // namespace wiggle::kernels
