// What the CPU can do, and how many threads the kernels use.
//
// The SIMD kernels exist in three builds of the same algorithm: AVX-512, AVX2+FMA and portable C++.
// `cpu_isa()` picks the best one the running CPU supports, once; WIGGLE_ISA=avx512|avx2|generic
// in the environment forces a lower one (for tests and benchmarks).
#pragma once

#include <algorithm>
#include <utility>

namespace wiggle::kernels {

enum class Isa { Generic, Avx2, Avx512 };

Isa cpu_isa();                  // the instruction set the kernels use
const char* isa_name(Isa isa);  // "avx512", "avx2", "generic"

// Threads used by the kernels: set_num_threads, else WIGGLE_NUM_THREADS from the environment, else
// the CPUs this process may run on. Results never depend on it: no kernel splits a sum across
// threads, so 1 and N threads give bit-identical outputs.
int num_threads();
void set_num_threads(int n);

// Runs fn(ctx, item) for every item in [0, n_items) on up to `threads` threads: the caller and
// the workers of a small persistent pool. Thread t first claims, one at a time, the items of its
// own contiguous share (the t-th of `threads` equal ranges, so consecutive calls give a thread the
// same share of their rows, still in its cache), then takes what is left of the others' from
// their ends. Returns when every item is done. Which thread runs an item must not change its result
// (each item owns its outputs), so results are the same for any thread count.
//
// This pool is the only threading in wiggle. Why not an OpenMP team: a team's fork, barriers and
// join wait for every thread, so when the machine is oversubscribed one descheduled thread stalls
// the others for a whole time slice. Here the caller never waits for a worker that has not claimed
// an item, and waiting threads spin briefly, then yield, then sleep. Calls from inside an item,
// or from a second thread while the pool is busy, run inline.
void parallel_items(int n_items, int threads, void (*fn)(void* ctx, int item), void* ctx);

template <class F>
void parallel_items(int n_items, int threads, F& f) {
    parallel_items(
        n_items, threads, [](void* ctx, int item) { (*static_cast<F*>(ctx))(item); }, &f);
}

// body(i) for every i in [0, n): in contiguous ranges of indices on num_threads() threads when
// `parallel` (callers pass false for work too small to be worth waking a thread), else inline.
// Each i must own its outputs.
template <class F>
void parallel_for(long n, bool parallel, F body) {
    const int threads = parallel ? num_threads() : 1;
    if (threads <= 1) {
        for (long i = 0; i < n; ++i) body(i);
        return;
    }
    const long items = std::min<long>(n, 4L * threads);
    auto range = [&](int item) {
        const long begin = n * item / items, end = n * (item + 1) / items;
        for (long i = begin; i < end; ++i) body(i);
    };
    parallel_items(static_cast<int>(items), threads, range);
}

// A team: up to `threads` threads run fn(ctx, team) together, each on its own share of every step,
// meeting at team.barrier() between dependent steps (like an OpenMP parallel region, on the
// pool's threads). Rank 0 is the caller and rank i the pool's worker i, call after call, so a rank
// that takes the same share each call finds its part of the data (decoding: its heads' slices of
// every weight matrix) still in its own core's L2. For a chain of small dependent steps (one
// decoded token: ~16 products of a few µs) one team with barriers costs less than a parallel_items
// call per step. Calls from inside an item or a team, or while the pool is busy, get a team of one,
// so fn must work for any size. A barrier waits for every member: spins briefly, then yields.
class Team {
  public:
    Team(int rank, int size) : rank_(rank), size_(size) {}
    int rank() const { return rank_; }
    int size() const { return size_; }
    void barrier() const;
    // This rank's share [begin, end) of n units, cut in whole chunks of `grain` units (the last
    // chunk may be short): contiguous, in rank order, as even as the chunks allow.
    std::pair<int, int> share(int n, int grain = 1) const {
        const long chunks = (n + grain - 1) / grain;
        const long c0 = chunks * rank_ / size_, c1 = chunks * (rank_ + 1) / size_;
        return {static_cast<int>(std::min<long>(c0 * grain, n)),
                static_cast<int>(std::min<long>(c1 * grain, n))};
    }

  private:
    int rank_, size_;
};

void parallel_team(int threads, void (*fn)(void* ctx, const Team& team), void* ctx);

template <class F>
void parallel_team(int threads, F& f) {
    parallel_team(
        threads, [](void* ctx, const Team& team) { (*static_cast<F*>(ctx))(team); }, &f);
}

}  // namespace wiggle::kernels
