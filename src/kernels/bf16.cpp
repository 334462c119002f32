// Conversions of buffers between float and bf16: the scalar loop (the definition) and the
// vectorized builds of bf16_impl.h, which give the same bits.
#include "kernels/bf16.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <cstring>

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

#if defined(__x86_64__) && defined(__linux__)
namespace {
// CPUID.(7,0):EDX bit 24 AMX-TILE and bit 22 AMX-BF16; then the kernel must grant the 8 KiB of
// tile data per thread (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16 on): without it the
// first tile instruction kills the process.
bool detect_amx() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!(d & (1u << 24)) || !(d & (1u << 22))) return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
}  // namespace

bool amx_instructions() {
    static const bool has = [] {
        const char* env = std::getenv("WIGGLE_AMX");
        if (env && std::strcmp(env, "0") == 0) return false;
        return detect_amx();
    }();
    return has && bf16_instructions();
}
#else
bool amx_instructions() { return false; }
#endif

WIGGLE_ISA_DECLARE(void to_bf16(bf16* out, const float* in, long n))
WIGGLE_ISA_DECLARE(void to_float(float* out, const bf16* in, long n))
WIGGLE_ISA_DECLARE(void to_bf16_sum_columns(bf16* out, float* sums, const float* in, int M, int N))

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
void to_bf16_sum_columns_isa(Isa isa, bf16* out, float* sums, const float* in, int M, int N) {
    if (!sums) return to_bf16_isa(isa, out, in, static_cast<long>(M) * N);
#if defined(__x86_64__)
    if (isa == Isa::Avx512) return avx512::to_bf16_sum_columns(out, sums, in, M, N);
    if (isa == Isa::Avx2) return avx2::to_bf16_sum_columns(out, sums, in, M, N);
#endif
    generic::to_bf16_sum_columns(out, sums, in, M, N);
}

void to_bf16_sum_columns(bf16* out, float* sums, const float* in, int M, int N) {
    if (!sums) return to_bf16(out, in, static_cast<long>(M) * N);
    WIGGLE_DISPATCH(to_bf16_sum_columns, out, sums, in, M, N);
}

}  // namespace wiggle::kernels
