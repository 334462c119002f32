// matmul GFLOP/s on the GPT's shapes: wiggle's gemm against OpenBLAS's sgemm (same operation, same
// process, interleaved) and the naive kernel, for the three products of a linear layer:
//   fwd   out  (M,N)  = inp (M,K) · Wᵀ          W (N,K)
//   dinp  dinp (M,K) += dout (M,N) · W (N,K)
//   dW    dW   (N,K) += doutᵀ (N,M) · inp (M,K)
// The thread count is the process's (WIGGLE_NUM_THREADS); OpenBLAS is set to the same. Run it
// through bench/matmul-vs-openblas, which also clears the environment's OPENBLAS_CORETYPE. At the
// end a table gives, for each row, the best GFLOP/s over --benchmark_repetitions of the fastest
// call by wall clock and by process CPU time, and the ratio wiggle/OpenBLAS of each.
// WIGGLE_BENCH_INTERLEAVE=N alternates the two libraries call by call instead (see
// run_interleaved). WIGGLE_BENCH_BF16=N compares the bf16 gemm instead, call by call, with
// wiggle's fp32 gemm and OpenBLAS's cblas_sbgemm (see run_bf16; bench/sbgemm-vs-openblas). Not
// here: timed assertions (speed is reported, never tested).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/matmul.h"
#include "kernels/matmul_bf16.h"

#ifdef WIGGLE_HAVE_OPENBLAS
#include <cblas.h>
#include <dlfcn.h>
#endif

namespace {

using wiggle::kernels::gemm;

struct Shape {
    int M, K, N;  // the linear layer's: inp (M,K), W (N,K), out (M,N)
};
// baby's four linear layers (B·T = 768), shakespeare-char's (B·T = 16384: c_attn, c_fc,
// mlp.c_proj; attn.c_proj is c_attn's K with a third of its N), and a square one
const Shape kShapes[] = {{768, 128, 384},    {768, 128, 128},    {768, 128, 512},
                         {768, 512, 128},    {16384, 384, 1152}, {16384, 384, 1536},
                         {16384, 1536, 384}, {2048, 2048, 2048}};
const char* kProducts[] = {"fwd", "dinp", "dW"};

// The gemm of each product: C (m,n) (+)= op(A) (m,k) · op(B) (k,n).
struct Gemm {
    int m, n, k;
    bool ta, tb, acc;
};
Gemm product_gemm(const Shape& s, int product) {
    switch (product) {
        case 0:
            return {s.M, s.N, s.K, false, true, false};  // out = inp · Wᵀ
        case 1:
            return {s.M, s.K, s.N, false, false, true};  // dinp += dout · W
        default:
            return {s.N, s.K, s.M, true, false, true};  // dW += doutᵀ · inp
    }
}

struct Buffers {
    std::vector<float> A, B, C;
    explicit Buffers(const Gemm& g) {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        A.resize(static_cast<size_t>(g.m) * g.k);
        B.resize(static_cast<size_t>(g.k) * g.n);
        C.resize(static_cast<size_t>(g.m) * g.n);
        for (auto& x : A) x = dist(rng);
        for (auto& x : B) x = dist(rng);
        for (auto& x : C) x = dist(rng);
    }
};

enum class Impl { kWiggle, kOpenBlas, kNaive };
const char* impl_name(Impl impl) {
    return impl == Impl::kWiggle ? "wiggle" : impl == Impl::kOpenBlas ? "openblas" : "naive";
}

void run_gemm(Impl impl, const Gemm& g, Buffers& b) {
    switch (impl) {
        case Impl::kWiggle:
            gemm(b.C.data(), b.A.data(), b.B.data(), g.m, g.n, g.k, g.ta, g.tb, g.acc);
            break;
        case Impl::kNaive:
            wiggle::kernels::gemm_naive<float>(b.C.data(), b.A.data(), b.B.data(), g.m, g.n, g.k,
                                               g.ta, g.tb, g.acc);
            break;
        case Impl::kOpenBlas:
#ifdef WIGGLE_HAVE_OPENBLAS
            cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans,
                        g.tb ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.0f, b.A.data(),
                        g.ta ? g.m : g.k, b.B.data(), g.tb ? g.k : g.n, g.acc ? 1.0f : 0.0f,
                        b.C.data(), g.n);
#endif
            break;
    }
}

double process_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void bm_gemm(benchmark::State& state, Shape s, int product, Impl impl) {
    const Gemm g = product_gemm(s, product);
    Buffers b(g);
    run_gemm(impl, g, b);  // warm up: caches, packing buffers, the thread team
    // Besides the mean rate, the fastest single call: on a machine shared with other work, the
    // fastest call is the one that ran undisturbed, the best estimate of the kernel's own speed.
    // Also the fastest call in process CPU time (all threads, spinning included): GFLOP per
    // CPU-second, i.e. per busy core, robust when other programs share the cores.
    double fastest = 1e30, fastest_cpu = 1e30;
    for (auto _ : state) {
        const double c0 = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        run_gemm(impl, g, b);
        benchmark::ClobberMemory();
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fastest = std::min(fastest, dt);
        fastest_cpu = std::min(fastest_cpu, process_cpu_seconds() - c0);
    }
    const double gflop = 2.0 * g.m * g.n * g.k / 1e9;
    state.counters["GFLOP/s"] =
        benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["best_GFLOP/s"] = gflop / fastest;
    state.counters["cpu_GFLOP/s"] = gflop / fastest_cpu;
}

// Keeps the best of each GFLOP/s counter of every benchmark (over repetitions) for the table.
class TableReporter : public benchmark::ConsoleReporter {
  public:
    std::map<std::pair<std::string, std::string>, double> best;  // (benchmark, counter)
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            if (r.run_type != Run::RT_Iteration) continue;
            for (const auto& [counter, value] : r.counters) {
                double& b = best[{r.run_name.function_name, counter}];
                b = std::max(b, static_cast<double>(value));
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
};

std::string bench_name(const Shape& s, int product, Impl impl) {
    return std::string(kProducts[product]) + "/" + std::to_string(s.M) + "x" + std::to_string(s.K) +
           "x" + std::to_string(s.N) + "/" + impl_name(impl);
}

#ifdef WIGGLE_HAVE_OPENBLAS
// WIGGLE_BENCH_INTERLEAVE=N: instead of Google Benchmark's runs (each implementation in a run of
// its own), calls wiggle and OpenBLAS alternately, N times each per product, and prints the best
// call of each by wall clock and by process CPU time. Alternating exposes both to the same load:
// on a machine shared with other work the ratios are steadier than those of separate runs. Meant
// for 1 thread: at 2, each library's idle threads have gone back to sleep while the other ran,
// which penalizes small products (kernels/cpu.h's pool wakes its worker late).
void run_interleaved(int reps) {
    std::printf("\ninterleaved, best of %d alternating calls; M,K,N: inp (M,K), W (N,K)\n", reps);
    std::printf("%-16s %-5s | %8s %8s %6s | %8s %8s %6s\n", "shape M,K,N", "prod", "wiggle",
                "openblas", "ratio", "wiggle", "openblas", "ratio");
    for (const Shape& s : kShapes) {
        for (int p = 0; p < 3; p++) {
            const Gemm g = product_gemm(s, p);
            Buffers b(g);
            double wall[2] = {1e30, 1e30}, cpu[2] = {1e30, 1e30};
            for (int r = 0; r <= reps; r++) {  // the first round warms up
                for (int i = 0; i < 2; i++) {
                    const double c0 = process_cpu_seconds();
                    const auto t0 = std::chrono::steady_clock::now();
                    run_gemm(i == 0 ? Impl::kWiggle : Impl::kOpenBlas, g, b);
                    const double dt =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                            .count();
                    const double dc = process_cpu_seconds() - c0;
                    if (r == 0) continue;
                    wall[i] = std::min(wall[i], dt);
                    cpu[i] = std::min(cpu[i], dc);
                }
            }
            const double gflop = 2.0 * g.m * g.n * g.k / 1e9;
            char shape[64];
            std::snprintf(shape, sizeof shape, "%d,%d,%d", s.M, s.K, s.N);
            std::printf("%-16s %-5s | %8.1f %8.1f %6.3f | %8.1f %8.1f %6.3f\n", shape, kProducts[p],
                        gflop / wall[0], gflop / wall[1], wall[1] / wall[0], gflop / cpu[0],
                        gflop / cpu[1], cpu[1] / cpu[0]);
            std::fflush(stdout);
        }
    }
}
#endif

#ifdef WIGGLE_HAVE_OPENBLAS
// OpenBLAS's cblas_sbgemm, looked up at run time: cblas.h declares it, but an OpenBLAS built
// without BUILD_BFLOAT16 (Debian 12's 0.3.21) does not have it, so linking it would fail.
// bench/sbgemm-vs-openblas puts a build that has it first on the library path.
using SbgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                          const std::uint16_t* a, int lda, const std::uint16_t* b, int ldb,
                          float beta, float* c, int ldc);
SbgemmFn find_sbgemm() { return reinterpret_cast<SbgemmFn>(dlsym(RTLD_DEFAULT, "cblas_sbgemm")); }

// WIGGLE_BENCH_BF16=N: per shape and product, wiggle's fp32 gemm (on the inputs widened), its
// bf16 gemm (vdpbf16ps), OpenBLAS's cblas_sbgemm (on the same bf16 inputs, if the loaded OpenBLAS
// has it) and, on a CPU with AMX, the bf16 gemm's AMX path, called in turn N times each after a
// warm-up round; prints the best call of each by wall clock (GFLOP/s, and the ratios bf16/sbgemm
// and bf16/fp32: > 1, the bf16 gemm is faster) and the same ratios of the best calls by process CPU
// time (steadier when other programs share the cores: a descheduled call loses wall time, not CPU
// time; at 1 thread they are the kernels' own speeds).
void run_bf16(int reps) {
    using wiggle::kernels::bf16;
    const SbgemmFn sbgemm = find_sbgemm();
    std::printf("\nbf16 gemm: wiggle %s; OpenBLAS cblas_sbgemm: %s\n",
                wiggle::kernels::bf16_instructions() ? "vdpbf16ps (AVX512_BF16)" : "portable path",
                sbgemm ? "found" : "not in this OpenBLAS (built without BUILD_BFLOAT16)");
    std::printf("best of %d alternating calls, GFLOP/s; M,K,N: inp (M,K), W (N,K)\n", reps);
    const bool amx = wiggle::kernels::amx_instructions();
    std::printf("AMX tiles: %s\n", amx ? "yes (the amx column; WIGGLE_AMX=0 turns it off)" : "no");
    std::printf("%-16s %-5s | %8s %8s %8s %8s | %11s %9s %9s %8s | %11s %9s %9s\n", "shape M,K,N",
                "prod", "fp32", "bf16", "sbgemm", "amx", "bf16/sbgemm", "bf16/fp32", "amx/bf16",
                "amx/fp32", "bf16/sbgemm", "bf16/fp32", "amx/bf16");
    std::printf("%-16s %-5s | %-37s | %-42s | %-33s\n", "", "", "  GFLOP/s (wall)",
                "  ratios (wall)", "  ratios (cpu)");
    for (const Shape& s : kShapes) {
        for (int p = 0; p < 3; p++) {
            const Gemm g = product_gemm(s, p);
            Buffers b(g);
            std::vector<bf16> A(b.A.size()), B(b.B.size());
            wiggle::kernels::to_bf16(A.data(), b.A.data(), static_cast<long>(A.size()));
            wiggle::kernels::to_bf16(B.data(), b.B.data(), static_cast<long>(B.size()));
            wiggle::kernels::to_float(b.A.data(), A.data(), static_cast<long>(A.size()));
            wiggle::kernels::to_float(b.B.data(), B.data(), static_cast<long>(B.size()));
            double wall[4] = {1e30, 1e30, 1e30, 1e30}, cpu[4] = {1e30, 1e30, 1e30, 1e30};
            for (int r = 0; r <= reps; r++) {  // the first round warms up
                for (int i = 0; i < 4; i++) {
                    if ((i == 2 && !sbgemm) || (i == 3 && !amx)) continue;
                    const double c0 = process_cpu_seconds();
                    const auto t0 = std::chrono::steady_clock::now();
                    if (i == 0) {
                        run_gemm(Impl::kWiggle, g, b);
                    } else if (i == 1) {
                        wiggle::kernels::gemm_bf16_isa(wiggle::kernels::cpu_isa(), b.C.data(),
                                                       A.data(), B.data(), g.m, g.n, g.k, g.ta,
                                                       g.tb, g.acc);
                    } else if (i == 3) {
                        wiggle::kernels::gemm_bf16_amx(b.C.data(), A.data(), B.data(), g.m, g.n,
                                                       g.k, g.ta, g.tb, g.acc);
                    } else {
                        sbgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans,
                               g.tb ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.0f,
                               reinterpret_cast<const std::uint16_t*>(A.data()), g.ta ? g.m : g.k,
                               reinterpret_cast<const std::uint16_t*>(B.data()), g.tb ? g.k : g.n,
                               g.acc ? 1.0f : 0.0f, b.C.data(), g.n);
                    }
                    const double dt =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                            .count();
                    const double dc = process_cpu_seconds() - c0;
                    if (r > 0) wall[i] = std::min(wall[i], dt);
                    if (r > 0) cpu[i] = std::min(cpu[i], dc);
                }
            }
            const double gflop = 2.0 * g.m * g.n * g.k / 1e9;
            char shape[64];
            std::snprintf(shape, sizeof shape, "%d,%d,%d", s.M, s.K, s.N);
            std::printf(
                "%-16s %-5s | %8.1f %8.1f %8.1f %8.1f | %11.3f %9.3f %9.3f %8.3f | %11.3f %9.3f "
                "%9.3f\n",
                shape, kProducts[p], gflop / wall[0], gflop / wall[1],
                sbgemm ? gflop / wall[2] : 0.0, amx ? gflop / wall[3] : 0.0,
                sbgemm ? wall[2] / wall[1] : 0.0, wall[0] / wall[1], amx ? wall[1] / wall[3] : 0.0,
                amx ? wall[0] / wall[3] : 0.0, sbgemm ? cpu[2] / cpu[1] : 0.0, cpu[0] / cpu[1],
                amx ? cpu[1] / cpu[3] : 0.0);
            std::fflush(stdout);
        }
    }
}
#endif

}  // namespace

int main(int argc, char** argv) {
    const int threads = wiggle::kernels::num_threads();
#ifdef WIGGLE_HAVE_OPENBLAS
    openblas_set_num_threads(threads);
    std::printf("OpenBLAS: core %s, config %s, threads %d\n", openblas_get_corename(),
                openblas_get_config(), openblas_get_num_threads());
#else
    std::printf("OpenBLAS: not linked (bench/CMakeLists.txt found no BLAS)\n");
#endif
    std::printf("wiggle: isa %s, threads %d\n",
                wiggle::kernels::isa_name(wiggle::kernels::cpu_isa()),
                wiggle::kernels::num_threads());
#ifdef WIGGLE_HAVE_OPENBLAS
    if (const char* e = std::getenv("WIGGLE_BENCH_INTERLEAVE")) {
        run_interleaved(std::max(1, std::atoi(e)));
        return 0;
    }
    if (const char* e = std::getenv("WIGGLE_BENCH_BF16")) {
        run_bf16(std::max(1, std::atoi(e)));
        return 0;
    }
#endif
    for (const Shape& s : kShapes) {
        const bool small = 2.0 * s.M * s.K * s.N < 2e8;
        for (int p = 0; p < 3; p++) {
            std::vector<Impl> impls = {Impl::kWiggle};
#ifdef WIGGLE_HAVE_OPENBLAS
            impls.push_back(Impl::kOpenBlas);
#endif
            if (small) impls.push_back(Impl::kNaive);
            for (Impl impl : impls) {
                benchmark::RegisterBenchmark(bench_name(s, p, impl).c_str(), bm_gemm, s, p, impl)
                    ->Unit(benchmark::kMicrosecond)
                    ->UseRealTime();
            }
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    TableReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);

    // Two views of the same runs. "wall": the fastest single call (wall clock), the kernel's speed
    // when it ran undisturbed. "cpu": GFLOP per CPU-second of the process (per busy core), robust
    // when other programs share the cores (a descheduled call costs wall time, not CPU time); at
    // 1 thread it is the speed, at N threads the speed per core (ideally wall/N; more if a
    // thread found no work, less if threads spun waiting).
    std::printf("\nGFLOP/s, best of the repetitions, %d thread(s); M,K,N: inp (M,K), W (N,K)\n",
                threads);
    std::printf("%-16s %-5s | %8s %8s %6s | %8s %8s %6s | %6s\n", "shape M,K,N", "prod", "wiggle",
                "openblas", "ratio", "wiggle", "openblas", "ratio", "naive");
    std::printf("%-16s %-5s | %-24s | %-24s |\n", "", "", "  fastest call (wall)",
                "  per core-second (cpu)");
    for (const Shape& s : kShapes) {
        for (int p = 0; p < 3; p++) {
            auto get = [&](Impl impl, const char* counter) {
                auto it = reporter.best.find({bench_name(s, p, impl), counter});
                return it == reporter.best.end() ? 0.0 : it->second;
            };
            const double w = get(Impl::kWiggle, "best_GFLOP/s"),
                         o = get(Impl::kOpenBlas, "best_GFLOP/s"),
                         wc = get(Impl::kWiggle, "cpu_GFLOP/s"),
                         oc = get(Impl::kOpenBlas, "cpu_GFLOP/s"),
                         n = get(Impl::kNaive, "best_GFLOP/s");
            if (w == 0 && o == 0) continue;
            char shape[64];
            std::snprintf(shape, sizeof shape, "%d,%d,%d", s.M, s.K, s.N);
            std::printf("%-16s %-5s | %8.1f %8.1f %6.3f | %8.1f %8.1f %6.3f | %6.2f\n", shape,
                        kProducts[p], w, o, o > 0 ? w / o : 0.0, wc, oc, oc > 0 ? wc / oc : 0.0, n);
        }
    }
    return 0;
}
