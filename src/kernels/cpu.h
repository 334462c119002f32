// What the CPU can do, and how many threads the kernels use.
//
// The SIMD kernels exist in three builds of the same algorithm: AVX-512, AVX2+FMA and portable C++.
// `cpu_isa()` picks the best one the running CPU supports, once; WIGGLE_ISA=avx512|avx2|generic
// in the environment forces a lower one (for tests and benchmarks).
#pragma once

namespace wiggle::kernels {

enum class Isa { Generic, Avx2, Avx512 };

Isa cpu_isa();                  // the instruction set the kernels use
const char* isa_name(Isa isa);  // "avx512", "avx2", "generic"

// Threads used by the kernels (OpenMP). Results never depend on it: no kernel splits a sum
// across threads, so 1 and N threads give bit-identical outputs.
int num_threads();
void set_num_threads(int n);

}  // namespace wiggle::kernels
