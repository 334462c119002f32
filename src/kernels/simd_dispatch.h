// Run-time dispatch between the three builds of a kernel (see simd.h): declares the AVX-512 and
// AVX2 versions, compiled from <name>_impl.h by the units src/CMakeLists.txt generates
// (<name>_avx512.cpp / <name>_avx2.cpp), and calls the one cpu_isa() picks. Internal to
// src/kernels.
#pragma once

#include "kernels/cpu.h"

#if defined(__x86_64__)
// WIGGLE_ISA_DECLARE(void f(int)) declares avx512::f and avx2::f.
#define WIGGLE_ISA_DECLARE(...) \
    namespace avx512 {          \
    __VA_ARGS__;                \
    }                           \
    namespace avx2 {            \
    __VA_ARGS__;                \
    }

// return WIGGLE_DISPATCH(f, args...): calls avx512::f, avx2::f or generic::f.
#define WIGGLE_DISPATCH(fn, ...)                  \
    do {                                          \
        switch (::wiggle::kernels::cpu_isa()) {   \
            case ::wiggle::kernels::Isa::Avx512:  \
                return avx512::fn(__VA_ARGS__);   \
            case ::wiggle::kernels::Isa::Avx2:    \
                return avx2::fn(__VA_ARGS__);     \
            case ::wiggle::kernels::Isa::Generic: \
                break;                            \
        }                                         \
        return generic::fn(__VA_ARGS__);          \
    } while (0)
#else
// Not x86 (the browser build): only the portable build of each kernel exists.
#define WIGGLE_ISA_DECLARE(...)
#define WIGGLE_DISPATCH(fn, ...) return generic::fn(__VA_ARGS__)
#endif
