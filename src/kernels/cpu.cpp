#include "kernels/cpu.h"

#include <sched.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace wiggle::kernels {

static Isa detect_isa() {
    Isa best = Isa::Generic;
#if defined(__x86_64__)
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
#endif  // else the browser build: only the portable kernels are compiled
    return best;
}

Isa cpu_isa() {
    static const Isa isa = detect_isa();
    return isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Avx512:
            return "avx512";
        case Isa::Avx2:
            return "avx2";
        case Isa::Generic:
            return "generic";
    }
    return "?";
}

namespace {

// WIGGLE_NUM_THREADS when it is a positive number, else the CPUs in this process's affinity mask
// (what `taskset` or a container allows, not every core of the machine).
int default_threads() {
#if defined(__EMSCRIPTEN__)
    return 1;  // the page runs in one Web Worker, without SharedArrayBuffer: no threads to start
#else
    if (const char* env = std::getenv("WIGGLE_NUM_THREADS")) {
        const int n = std::atoi(env);
        if (n > 0) return n;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
#endif
}

std::atomic<int> g_threads{0};  // 0: not chosen yet

}  // namespace

int num_threads() {
    int n = g_threads.load(std::memory_order_relaxed);
    if (n == 0) {
        n = default_threads();
        g_threads.store(n, std::memory_order_relaxed);
    }
    return n;
}
void set_num_threads(int n) {
#if defined(__EMSCRIPTEN__)
    n = 1;  // see default_threads
#endif
    g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed);
}

// ---- The item pool
// -------------------------------------------------------------------------------
//
// One job at a time, published by one 64-bit word: state = generation (24 bits) | n (20) | n for a
// team job, 0 for an item job (20). A team's members each run once, by their thread's index. An
// item job's items are cut into one contiguous range per thread, each range a
// 64-bit word of its own cache line: generation (24) | begin (20) | end (20). A thread claims the
// front of its own range, one item per compare-exchange on a line that stays in its own core's
// cache; when its range is empty it takes items from the back of the others' ranges, so a thread
// that is descheduled (or never wakes) stalls no one. Why not one shared counter: on a machine
// whose two cores share no cache (the EPYC-Zen5 VM: ~230 ns a line from core to core) every claim
// moved the counter's line across, and the items of consecutive kernels landed on either core at
// random, so each kernel read its input from the other core's cache; with ranges, thread t takes
// the same share of every kernel's items (rows, blocks) and finds the rows it wrote still local.
// A successful compare-exchange on a range of generation g proves job g is still running (its
// items are not all done), so fn/ctx, written before the state was published, are still valid.
namespace {

thread_local bool tl_in_item = false;

// One instant of a spin-wait: x86's pause hint (lets the sibling hyperthread run), else nothing.
inline void cpu_relax() {
#if defined(__x86_64__)
    _mm_pause();
#endif
}

// How long a waiting thread spins before it yields its core, by the clock (a pause takes 20 ns on
// Zen 5, ~40 on recent Xeons). Longer than a decoding team's usual waits (between tokens, while
// the caller draws the next ones; a late partner's lag): a wait that ends in a system call makes
// the waiter late in turn. Short against a loaded core's time slice.
constexpr auto kSpinFor = std::chrono::microseconds(100);

// Whether a wait is still in its spinning phase: true for about kSpinFor. It reads the clock
// once every 64 calls, the first time after 64 (most waits, a barrier's, end sooner than that).
class SpinPhase {
  public:
    bool operator()() {
        if (spinning_ && ++spins_ % 64 == 0) {
            const auto now = std::chrono::steady_clock::now();
            if (spins_ == 64) {
                t0_ = now;
            } else {
                spinning_ = now - t0_ < kSpinFor;
            }
        }
        return spinning_;
    }

  private:
    std::chrono::steady_clock::time_point t0_;
    int spins_ = 0;
    bool spinning_ = true;
};

// Waits until done() holds: spins (kSpinFor), then yields the core.
template <class Done>
void wait_until(Done done) {
    for (SpinPhase spinning; !done();) {
        if (spinning()) {
            cpu_relax();
        } else {
            sched_yield();
        }
    }
}

constexpr int kItemBits = 20;
constexpr uint64_t kItemMask = (uint64_t{1} << kItemBits) - 1;

struct Pool {
    // Each hot word on its own cache line: every waiting worker spins on `state` and every
    // finished item is an increment of `done`; sharing a line with each other (or with fn/ctx,
    // which every claimer reads) would bounce it between the cores once more per item.
    alignas(64) std::atomic<uint64_t> state{0};
    alignas(64) std::atomic<int> done{0};
    alignas(64) std::atomic<int> sleepers{0};
    // the team barrier: members arrived at the current one, and how many have been passed
    alignas(64) std::atomic<int> arrived{0};
    alignas(64) std::atomic<unsigned> barriers_passed{0};
    // An item job: claimers call fn(ctx, item), on up to job_threads threads. A team job: the
    // caller and workers 1..size−1 each call fn(ctx, rank) once; its state has no item left to
    // claim, and its low field is the team's size (team_size; 0 for an item job).
    std::atomic<int> job_threads{1};
    void (*fn)(void*, int) = nullptr;
    void* ctx = nullptr;
    std::mutex master;  // one caller at a time; others run inline
    std::mutex grow;
    std::mutex sleep_mu;  // workers idle for a while sleep on `wake`
    std::condition_variable wake;
    int workers = 0;

    static uint64_t gen_of(uint64_t s) { return s >> (2 * kItemBits); }
    static uint64_t state_word(uint64_t gen, bool team, int n) {
        const uint64_t u = static_cast<uint64_t>(n);
        return (gen << (2 * kItemBits)) | (u << kItemBits) | (team ? u : 0);
    }
    static int team_size(uint64_t s) { return static_cast<int>(s & kItemMask); }  // 0: items

    // The item ranges of the job in flight, one per thread (rank): see the comment above.
    static constexpr int kMaxThreads = 256;  // an item job runs on at most this many threads
    struct alignas(64) Range {
        std::atomic<uint64_t> word{0};
    };
    Range ranges[kMaxThreads];
    static uint64_t range_word(uint64_t gen, uint64_t begin, uint64_t end) {
        return (gen << (2 * kItemBits)) | (begin << kItemBits) | end;
    }
    static int begin_of(uint64_t w) { return static_cast<int>((w >> kItemBits) & kItemMask); }
    static int end_of(uint64_t w) { return static_cast<int>(w & kItemMask); }

    // Cuts n items into `threads` ranges of generation gen (before the job is published).
    void cut_ranges(uint64_t gen, int n, int threads) {
        for (int t = 0; t < threads; t++) {
            const uint64_t b = static_cast<uint64_t>(n) * t / threads;
            const uint64_t e = static_cast<uint64_t>(n) * (t + 1) / threads;
            ranges[t].word.store(range_word(gen, b, e), std::memory_order_relaxed);
        }
    }

    // Claims one item of range r of generation gen: from the front (its owner) or the back (any
    // other thread). Returns the item, or −1 when the range is empty or of another job.
    int claim(int r, uint64_t gen, bool front) {
        std::atomic<uint64_t>& word = ranges[r].word;
        uint64_t w = word.load(std::memory_order_acquire);
        for (;;) {
            if (gen_of(w) != gen || begin_of(w) >= end_of(w)) return -1;
            const uint64_t next = front ? w + (uint64_t{1} << kItemBits) : w - 1;
            if (word.compare_exchange_weak(w, next, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
                return front ? begin_of(w) : end_of(w) - 1;
            }
        }
    }

    // Runs items of job gen (on `threads` threads) as thread `self`: its own range, then the
    // others' until every range is empty. Returns how many items this thread ran.
    int work(uint64_t gen, int self, int threads) {
        int ran = 0;
        for (int item; (item = claim(self, gen, true)) >= 0; ran++) fn(ctx, item);
        for (int k = 1; k < threads; k++) {
            const int victim = (self + k) % threads;
            for (int item; (item = claim(victim, gen, false)) >= 0; ran++) fn(ctx, item);
        }
        return ran;
    }

    // `seen` is the state when the worker was created, before the job that created it was
    // published: a worker that starts late must still take part in that job.
    void worker_loop(int index, uint64_t seen) {
        tl_in_item = true;  // a worker only ever runs items: nested calls run inline
        for (;;) {
            // wait for a new job: spin (kSpinFor), then yield (~2 ms), then sleep
            uint64_t s = state.load(std::memory_order_acquire);
            const auto t0 = std::chrono::steady_clock::now();
            for (SpinPhase spinning; gen_of(s) == gen_of(seen);) {
                if (spinning()) {
                    cpu_relax();
                } else if (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(2)) {
                    sched_yield();
                } else {
                    std::unique_lock<std::mutex> lock(sleep_mu);
                    sleepers.fetch_add(1, std::memory_order_seq_cst);
                    while (gen_of(state.load(std::memory_order_seq_cst)) == gen_of(seen)) {
                        wake.wait(lock);
                    }
                    sleepers.fetch_sub(1, std::memory_order_seq_cst);  // woken to a new job
                }
                s = state.load(std::memory_order_acquire);
            }
            // The kind of job comes from the state word s, not from a field beside it: a caller
            // that ran a job's items alone has returned, and writes its next job's fields before
            // publishing it, while a late worker may only now be waking up to s. A team job
            // cannot end before its members have run, so its fn/ctx stay valid; an item job's
            // are checked by work()'s compare-exchange (and a newer job's job_threads only
            // changes which of s's ranges it tries).
            seen = s;
            if (const int size = team_size(s)) {
                if (index >= size) continue;
                fn(ctx, index);
                done.fetch_add(1, std::memory_order_release);
            } else if (const int threads = job_threads.load(std::memory_order_relaxed);
                       index < threads) {
                if (const int ran = work(gen_of(s), index, threads)) {
                    done.fetch_add(ran, std::memory_order_release);
                }
            }
        }
    }

    void ensure_workers(int n) {
        std::lock_guard<std::mutex> lock(grow);
        while (workers < n) {
            const int index = ++workers;  // the caller is thread 0
            const uint64_t seen = state.load(std::memory_order_acquire);
            std::thread([this, index, seen] { worker_loop(index, seen); }).detach();
        }
    }
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: detached workers may still read it at exit
    return *p;
}

void run_inline(int n_items, void (*fn)(void*, int), void* ctx) {
    for (int i = 0; i < n_items; i++) fn(ctx, i);
}

// Runs a job on the caller and the workers 1..threads−1; the caller holds p.master. An item job
// (team false) has n_items items to claim; a team job runs fn(ctx, rank) once on each thread.
void run_job(Pool& p, bool team, int n_items, int threads, void (*fn)(void*, int), void* ctx) {
    p.ensure_workers(threads - 1);
    tl_in_item = true;
    p.fn = fn;
    p.ctx = ctx;
    p.job_threads.store(threads, std::memory_order_relaxed);
    p.done.store(0, std::memory_order_relaxed);
    uint64_t gen = Pool::gen_of(p.state.load(std::memory_order_relaxed)) + 1;
    if (gen >= (uint64_t{1} << 24)) gen = 1;
    const uint64_t s = Pool::state_word(gen, team, team ? threads : n_items);
    if (!team) p.cut_ranges(gen, n_items, threads);
    p.state.store(s, std::memory_order_seq_cst);  // publishes fn, ctx and the ranges
    if (p.sleepers.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard<std::mutex> sleep_lock(p.sleep_mu);
        p.wake.notify_all();
    }
    if (team) {
        fn(ctx, 0);
        wait_until([&] { return p.done.load(std::memory_order_acquire) >= threads - 1; });
    } else {
        const int ran = p.work(gen, 0, threads);
        // wait for the items claimed by workers
        wait_until([&] { return p.done.load(std::memory_order_acquire) >= n_items - ran; });
    }
    tl_in_item = false;
}

}  // namespace

void parallel_items(int n_items, int threads, void (*fn)(void* ctx, int item), void* ctx) {
    if (n_items <= 0) return;
#if defined(__EMSCRIPTEN__)
    threads = 1;  // the browser build never starts a thread (see default_threads)
#endif
    if (threads <= 1 || n_items == 1 || tl_in_item || n_items > static_cast<int>(kItemMask)) {
        return run_inline(n_items, fn, ctx);
    }
    threads = std::min(threads, Pool::kMaxThreads);
    Pool& p = pool();
    std::unique_lock<std::mutex> lock(p.master, std::try_to_lock);
    if (!lock.owns_lock()) return run_inline(n_items, fn, ctx);
    run_job(p, false, n_items, threads, fn, ctx);
}

void parallel_team(int threads, void (*fn)(void* ctx, const Team& team), void* ctx) {
#if defined(__EMSCRIPTEN__)
    threads = 1;  // the browser build never starts a thread (see default_threads)
#endif
    if (threads <= 1 || tl_in_item) return fn(ctx, Team(0, 1));
    Pool& p = pool();
    std::unique_lock<std::mutex> lock(p.master, std::try_to_lock);
    if (!lock.owns_lock()) return fn(ctx, Team(0, 1));
    struct Job {
        void (*fn)(void*, const Team&);
        void* ctx;
        int size;
    } job{fn, ctx, threads};
    run_job(
        p, true, threads, threads,
        [](void* c, int rank) {
            const Job& j = *static_cast<const Job*>(c);
            j.fn(j.ctx, Team(rank, j.size));
        },
        &job);
}

void Team::barrier() const {
    if (size_ == 1) return;
    Pool& p = pool();
    const unsigned passed = p.barriers_passed.load(std::memory_order_acquire);
    if (p.arrived.fetch_add(1, std::memory_order_acq_rel) == size_ - 1) {
        // the last to arrive: no one can arrive at the next barrier before this release
        p.arrived.store(0, std::memory_order_relaxed);
        p.barriers_passed.store(passed + 1, std::memory_order_release);
    } else {
        wait_until([&] { return p.barriers_passed.load(std::memory_order_acquire) != passed; });
    }
}

}  // namespace wiggle::kernels
