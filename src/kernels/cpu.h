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

// Threads used by the kernels (OpenMP's setting, OMP_NUM_THREADS, which the pool follows). Results
// never depend on it: no kernel splits a sum across threads, so 1 and N threads give bit-identical
// outputs.
int num_threads();
void set_num_threads(int n);

// Runs fn(ctx, item) for every item in [0, n_items) on up to `threads` threads: the caller and
// the workers of a small persistent pool, which claim items one at a time from a shared counter.
// Returns when every item is done. Which thread runs an item must not change its result (each item
// owns its outputs), so results are the same for any thread count.
//
// Why not an OpenMP team: a team's fork, barriers and join wait for every thread, so when the
// machine is oversubscribed one descheduled thread stalls the others for a whole time slice
// (measured: 2-thread gemm 50× slower than 1-thread on a loaded 2-core box; on an idle one an
// OpenMP team trains the baby GPT as fast and decodes 1.26× slower). Here the caller never
// waits for a worker that has not claimed an item, and waiting threads spin briefly, then yield,
// then sleep. Calls from inside an item, or from a second thread while the pool is busy, run
// inline.
void parallel_items(int n_items, int threads, void (*fn)(void* ctx, int item), void* ctx);

template <class F>
void parallel_items(int n_items, int threads, F& f) {
    parallel_items(
        n_items, threads, [](void* ctx, int item) { (*static_cast<F*>(ctx))(item); }, &f);
}

}  // namespace wiggle::kernels
