#include "kernels/cpu.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>

namespace wiggle::kernels {

static Isa detect_isa() {
    Isa best = Isa::Generic;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        best = Isa::Avx512;
    }
    // WIGGLE_ISA may only lower the choice: asking for more than the CPU has would crash.
    if (const char* forced = std::getenv("WIGGLE_ISA")) {
        if (std::strcmp(forced, "generic") == 0) best = Isa::Generic;
        if (std::strcmp(forced, "avx2") == 0 && best == Isa::Avx512) best = Isa::Avx2;
    }
    return best;
}

Isa cpu_isa() {
    static const Isa isa = detect_isa();
    return isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return "avx512";
        case Isa::Avx2: return "avx2";
        case Isa::Generic: return "generic";
    }
    return "?";
}

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

}  // namespace wiggle::kernels
