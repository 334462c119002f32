// The non-matmul kernels at the GPT's shapes: nanoGPT's CPU "baby" config (B=12, T=64, C=128,
// NH=4, V=65; AdamW over 0.8M parameters) and shakespeare-char (B=64, T=256, C=384, NH=6; 10.7M
// parameters), each fast kernel side by side with its naive twin, in the same process.
// Memory-bound kernels report GB/s (the bytes each must move at least) and the fraction of the
// bandwidth of a STREAM triad that moves the same number of bytes per pass (so data in the same
// cache level: the baby shapes fit in L2, shakespeare's in this machine's large L3), measured in
// the same run; attention reports GFLOP/s and the fraction of the FMA peak measured by an FMA loop
// in the same run (bf16 attention: of the peak of a vdpbf16ps loop, where the CPU has one). The
// thread count is the process's (WIGGLE_NUM_THREADS); the roofline is measured at that count too.
// The DRAM triad (3 × 64 MB) is printed for scale. Not here: timed assertions (speed is reported,
// never tested).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/softmax.h"
#include "util/aligned.h"

namespace {

namespace k = wiggle::kernels;

// Every operand in the model's own allocation (util/aligned.h): 2 MB pages for a buffer of 4 MB
// or more, as the GPT's activation arena has them. On 4 KB pages each row of a head that attention
// strides through is on its own page, and the TLB misses measured the page table, not the kernel.
using Floats = wiggle::AlignedVector<float>;

Floats randn(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    Floats v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

std::vector<int> tokens(size_t n, int V) {
    std::vector<int> t(n);
    for (size_t i = 0; i < n; ++i)
        t[i] = static_cast<int>((i * 2654435761u) % static_cast<unsigned>(V));
    return t;
}

// ---- the roofline: memory bandwidth (triad) and FMA peak, at the process's thread count ----

// WIGGLE_BENCH_CLOCK=cpu times everything by CPU time instead of wall time: on a shared, busy
// machine at 1 thread this discounts the time the process waits for a core.
bool g_cpu_clock = false;

double now_seconds() {
    timespec ts;
    clock_gettime(g_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double seconds_of(const std::function<void()>& f, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now_seconds();
        f();
        best = std::min(best, now_seconds() - t0);
    }
    return best;
}

// a[i] = b[i] + 0.5·c[i] for i in [i0, i1), with the widest vectors the kernels use (the compiler
// builds this file for baseline x86-64, whose SSE2 would understate cache bandwidth).
__attribute__((target("avx512f"))) void triad_avx512(float* a, const float* b, const float* c,
                                                     long i0, long i1) {
    const __m512 h = _mm512_set1_ps(0.5f);
    long i = i0;
    for (; i + 16 <= i1; i += 16) {
        _mm512_storeu_ps(a + i, _mm512_fmadd_ps(h, _mm512_loadu_ps(c + i), _mm512_loadu_ps(b + i)));
    }
    for (; i < i1; ++i) a[i] = b[i] + 0.5f * c[i];
}

// STREAM triad a = b + 0.5·c over n floats per array, repeated `times`, best of `reps`; returns
// GB/s (3 arrays).
double triad_gbs(long n, int times, int reps = 5) {
    Floats a(n), b(n, 1.0f), c(n, 2.0f);
    const bool avx512 = k::cpu_isa() == k::Isa::Avx512;
    const double s = seconds_of(
        [&] {
            auto member = [&](const k::Team& team) {
                const long nt = team.size(), t = team.rank();
                const long i0 = n * t / nt, i1 = n * (t + 1) / nt;
                for (int r = 0; r < times; ++r) {
                    if (avx512) {
                        triad_avx512(a.data(), b.data(), c.data(), i0, i1);
                    } else {
                        for (long i = i0; i < i1; ++i) a[i] = b[i] + 0.5f * c[i];
                    }
                    team.barrier();
                }
            };
            k::parallel_team(k::num_threads(), member);
        },
        reps);
    benchmark::DoNotOptimize(a.data());
    return 3.0 * 4.0 * static_cast<double>(n) * times / s / 1e9;
}

__attribute__((target("avx512f,fma"))) double fma_loop_avx512(long iters) {
    __m512 acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iters) {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

// The portable kernels' arithmetic (WIGGLE_ISA=generic, and WebAssembly's SIMD128 in the page):
// 4-lane multiplies, then adds, never fused (the portable results' bits). SSE2, which every
// x86-64 has; 14 chains of a multiply then an add (and the two constants) fill its 16 registers.
double muladd_loop_sse(long iters) {
    __m128 acc[14];
    for (int i = 0; i < 14; ++i) acc[i] = _mm_set1_ps(static_cast<float>(i));
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < 14; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
    }
    __m128 s = acc[0];
    for (int i = 1; i < 14; ++i) s = _mm_add_ps(s, acc[i]);
    float out[4];
    _mm_storeu_ps(out, s);
    return out[0];
}

// The bf16 products' arithmetic: vdpbf16ps, 16 lanes each adding two products of bf16 pairs to a
// float (64 flops an instruction), 16 independent chains.
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_loop_avx512(long iters) {
    __m512 acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3F7F3F7F);  // (0.996, 0.996)
    const __m512bh b = (__m512bh)_mm512_set1_epi32(0x33D633D6);  // (1e-7, 1e-7)
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < 16; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

// GFLOP/s of `loop` (flops_per_iter each of its iterations) run on every thread at once.
double loop_gflops(double (*loop)(long), double flops_per_iter) {
    const long iters = 20'000'000;
    std::vector<double> sinks(static_cast<size_t>(k::num_threads()));
    const double s = seconds_of(
        [&] {
            auto member = [&](const k::Team& team) {
                sinks[static_cast<size_t>(team.rank())] += loop(iters);
            };
            k::parallel_team(k::num_threads(), member);
        },
        5);
    benchmark::DoNotOptimize(sinks.data());
    return flops_per_iter * static_cast<double>(iters) * k::num_threads() / s / 1e9;
}

// GFLOP/s of independent FMA chains on every thread (2 flops per lane per FMA); for the portable
// kernels, of 4-lane multiply-then-add chains (2 flops per lane per pair), their arithmetic's peak.
double fma_peak_gflops() {
    switch (k::cpu_isa()) {
        case k::Isa::Avx512:
            return loop_gflops(fma_loop_avx512, 16 * 16 * 2);
        case k::Isa::Avx2:
            return loop_gflops(fma_loop_avx2, 12 * 8 * 2);
        default:
            return loop_gflops(muladd_loop_sse, 14 * 4 * 2);
    }
}

// GFLOP/s of the vdpbf16ps chains on every thread; 0 on a CPU without AVX512_BF16 (its bf16
// products take the portable path, on the float arithmetic).
double bf16_peak_gflops() {
    if (k::cpu_isa() != k::Isa::Avx512 || !k::bf16_instructions()) return 0.0;
    return loop_gflops(dpbf16_loop_avx512, 16 * 16 * 2 * 2);
}

// ---- the cases ----

struct Config {
    const char* name;
    int B, T, C, NH, V;
    long params;
};
const Config kBaby{"baby", 12, 64, 128, 4, 65, 800'000};
const Config kShakespeare{"shakespeare", 64, 256, 384, 6, 65, 10'700'000};

struct Case {
    std::string name;
    double bytes = 0;  // the least a kernel must move, per call
    double flops = 0;  // for compute-bound kernels (attention)
    // Runs the fast (false) or naive (true) kernel `n` times; buffers live inside.
    std::function<void(benchmark::State&, bool)> run;
    bool bf16 = false;  // its products run on vdpbf16ps: its roofline is the bf16 peak
};

wiggle::AlignedVector<k::bf16> bf16_copy(const Floats& x) {
    wiggle::AlignedVector<k::bf16> out(x.size());
    k::to_bf16(out.data(), x.data(), static_cast<long>(x.size()));
    return out;
}

std::vector<Case> make_cases(const Config& g) {
    std::vector<Case> cases;
    const std::string p = std::string(g.name) + "/";
    const long N = static_cast<long>(g.B) * g.T, C = g.C, V = g.V;
    const long BTC = N * C;

    cases.push_back({p + "layernorm_fwd", 8.0 * BTC, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(BTC, 1), w = randn(C, 2), b = randn(C, 3);
                         Floats out(BTC), mean(N), rstd(N);
                         for (auto _ : st) {
                             if (naive)
                                 k::layernorm_forward_naive(out.data(), mean.data(), rstd.data(),
                                                            x.data(), w.data(), b.data(), int(N),
                                                            int(C));
                             else
                                 k::layernorm_forward(out.data(), mean.data(), rstd.data(),
                                                      x.data(), w.data(), b.data(), int(N), int(C));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back(
        {p + "layernorm_bwd", 16.0 * BTC, 0, [=](benchmark::State& st, bool naive) {
             auto x = randn(BTC, 1), w = randn(C, 2), b = randn(C, 3), d = randn(BTC, 4);
             Floats out(BTC), mean(N), rstd(N), dx(BTC), dw(C), db(C);
             k::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                  b.data(), int(N), int(C));
             for (auto _ : st) {
                 if (naive)
                     k::layernorm_backward_naive(dx.data(), dw.data(), db.data(), d.data(),
                                                 x.data(), w.data(), mean.data(), rstd.data(),
                                                 int(N), int(C));
                 else
                     k::layernorm_backward(dx.data(), dw.data(), db.data(), d.data(), x.data(),
                                           w.data(), mean.data(), rstd.data(), int(N), int(C));
                 benchmark::ClobberMemory();
             }
         }});
    const long H = 4 * BTC;  // the MLP's hidden activations (B,T,4C)
    cases.push_back({p + "gelu_fwd", 8.0 * H, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(H, 5);
                         Floats out(H);
                         for (auto _ : st) {
                             if (naive)
                                 k::gelu_forward_naive(out.data(), x.data(), int(H));
                             else
                                 k::gelu_forward(out.data(), x.data(), int(H));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "gelu_bwd", 16.0 * H, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(H, 5), d = randn(H, 6);
                         Floats dx(H);
                         for (auto _ : st) {
                             if (naive)
                                 k::gelu_backward_naive(dx.data(), x.data(), d.data(), int(H));
                             else
                                 k::gelu_backward(dx.data(), x.data(), d.data(), int(H));
                             benchmark::ClobberMemory();
                         }
                     }});
    const long NV = N * V;
    cases.push_back({p + "softmax_fwd", 8.0 * NV, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(NV, 7, 3.0f);
                         Floats out(NV);
                         for (auto _ : st) {
                             if (naive)
                                 k::softmax_forward_naive(out.data(), x.data(), int(N), int(V));
                             else
                                 k::softmax_forward(out.data(), x.data(), int(N), int(V));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "crossentropy_fwd", 4.0 * NV, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(NV, 8, 3.0f);
                         auto y = tokens(N, int(V));
                         Floats losses(N);
                         for (auto _ : st) {
                             if (naive)
                                 k::crossentropy_forward_naive(losses.data(), x.data(), y.data(),
                                                               int(N), int(V));
                             else
                                 k::crossentropy_forward(losses.data(), x.data(), y.data(), int(N),
                                                         int(V));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "crossentropy_bwd", 12.0 * NV, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(NV, 8, 3.0f);
                         auto y = tokens(N, int(V));
                         Floats dl(N, 1.0f / N), dx(NV);
                         for (auto _ : st) {
                             if (naive)
                                 k::crossentropy_backward_naive(dx.data(), x.data(), y.data(),
                                                                dl.data(), int(N), int(V));
                             else
                                 k::crossentropy_backward(dx.data(), x.data(), y.data(), dl.data(),
                                                          int(N), int(V));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "encoder_fwd", 12.0 * BTC, 0, [=](benchmark::State& st, bool naive) {
                         auto wte = randn(V * C, 9), wpe = randn(g.T * C, 10);
                         auto y = tokens(N, int(V));
                         Floats out(BTC);
                         for (auto _ : st) {
                             if (naive)
                                 k::encoder_forward_naive(out.data(), y.data(), wte.data(),
                                                          wpe.data(), g.B, g.T, int(C));
                             else
                                 k::encoder_forward(out.data(), y.data(), wte.data(), wpe.data(),
                                                    g.B, g.T, int(C));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "encoder_bwd", 4.0 * BTC, 0, [=](benchmark::State& st, bool naive) {
                         auto d = randn(BTC, 11);
                         auto y = tokens(N, int(V));
                         Floats dwte(V * C), dwpe(g.T * C);
                         for (auto _ : st) {
                             if (naive)
                                 k::encoder_backward_naive(dwte.data(), dwpe.data(), d.data(),
                                                           y.data(), g.B, g.T, int(C), int(V));
                             else
                                 k::encoder_backward(dwte.data(), dwpe.data(), d.data(), y.data(),
                                                     g.B, g.T, int(C), int(V));
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "dropout_fwd", 8.0 * BTC, 0, [=](benchmark::State& st, bool naive) {
                         auto x = randn(BTC, 12);
                         Floats out(BTC);
                         for (auto _ : st) {
                             if (naive)
                                 k::dropout_forward_naive(out.data(), x.data(), 0.2f, 7, int(BTC));
                             else
                                 k::dropout_forward(out.data(), x.data(), 0.2f, 7, int(BTC));
                             benchmark::ClobberMemory();
                         }
                     }});
    // Causal attention: S = QKᵀ and O = PV over the lower triangle: 2 products of T(T+1)/2·hs
    // multiply-adds per (b,h) forward, 5 backward (S again, dP, dQ, dK, dV).
    const int hs = g.C / g.NH;
    const double tri = static_cast<double>(g.T) * (g.T + 1) / 2 * hs * g.B * g.NH;
    const long QKV = 3 * BTC;
    for (float dropout : {0.0f, 0.2f}) {
        const std::string dn = dropout > 0 ? "_dropout" : "";
        cases.push_back(
            {p + "attention_fwd" + dn, 0, 2 * 2 * tri, [=](benchmark::State& st, bool naive) {
                 auto qkv = randn(QKV, 13);
                 Floats out(BTC), lse(N * g.NH);
                 Floats att(naive ? static_cast<size_t>(g.B) * g.NH * g.T * g.T : 0);
                 for (auto _ : st) {
                     if (naive)
                         k::attention_forward_naive(out.data(), att.data(), qkv.data(), g.B, g.T,
                                                    g.C, g.NH, dropout, 1);
                     else
                         k::attention_forward(out.data(), lse.data(), qkv.data(), g.B, g.T, g.C,
                                              g.NH, dropout, 1);
                     benchmark::ClobberMemory();
                 }
             }});
        cases.push_back(
            {p + "attention_bwd" + dn, 0, 5 * 2 * tri, [=](benchmark::State& st, bool naive) {
                 auto qkv = randn(QKV, 13), dout = randn(BTC, 14);
                 Floats out(BTC), lse(N * g.NH), dqkv(QKV);
                 Floats att(naive ? static_cast<size_t>(g.B) * g.NH * g.T * g.T : 0);
                 if (naive)
                     k::attention_forward_naive(out.data(), att.data(), qkv.data(), g.B, g.T, g.C,
                                                g.NH, dropout, 1);
                 else
                     k::attention_forward(out.data(), lse.data(), qkv.data(), g.B, g.T, g.C, g.NH,
                                          dropout, 1);
                 for (auto _ : st) {
                     if (naive)
                         k::attention_backward_naive(dqkv.data(), dout.data(), qkv.data(),
                                                     att.data(), g.B, g.T, g.C, g.NH, dropout, 1);
                     else
                         k::attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(),
                                               lse.data(), g.B, g.T, g.C, g.NH, dropout, 1);
                     benchmark::ClobberMemory();
                 }
             }});
        // The same in bf16 (train --dtype bf16): its products on vdpbf16ps, the FLOPs counted as
        // above, the roofline column against the bf16 peak (the float one without AVX512_BF16).
        cases.push_back(
            {p + "attention_fwd_bf16" + dn, 0, 2 * 2 * tri, [=](benchmark::State& st, bool naive) {
                 const auto qkv = bf16_copy(randn(QKV, 13));
                 Floats out(BTC), lse(N * g.NH);
                 std::vector<double> out_d(naive ? BTC : 0),
                     att(naive ? static_cast<size_t>(g.B) * g.NH * g.T * g.T : 0);
                 for (auto _ : st) {
                     if (naive)
                         k::attention_forward_bf16_naive(out_d.data(), att.data(), qkv.data(), g.B,
                                                         g.T, g.C, g.NH, dropout, 1);
                     else
                         k::attention_forward_bf16(out.data(), lse.data(), qkv.data(), g.B, g.T,
                                                   g.C, g.NH, dropout, 1);
                     benchmark::ClobberMemory();
                 }
             }});
        cases.back().bf16 = true;
        cases.push_back(
            {p + "attention_bwd_bf16" + dn, 0, 5 * 2 * tri, [=](benchmark::State& st, bool naive) {
                 const auto qkv = bf16_copy(randn(QKV, 13));
                 const auto dout = randn(BTC, 14);
                 Floats out(BTC), lse(N * g.NH), dqkv(QKV);
                 std::vector<double> dqkv_d(naive ? QKV : 0);
                 k::attention_forward_bf16(out.data(), lse.data(), qkv.data(), g.B, g.T, g.C, g.NH,
                                           dropout, 1);
                 for (auto _ : st) {
                     if (naive)
                         k::attention_backward_bf16_naive(dqkv_d.data(), dout.data(), qkv.data(),
                                                          out.data(), g.B, g.T, g.C, g.NH, dropout,
                                                          1);
                     else
                         k::attention_backward_bf16(dqkv.data(), dout.data(), qkv.data(),
                                                    out.data(), lse.data(), g.B, g.T, g.C, g.NH,
                                                    dropout, 1);
                     benchmark::ClobberMemory();
                 }
             }});
        cases.back().bf16 = true;
    }
    const long P = g.params;
    cases.push_back({p + "adamw", 28.0 * P, 0, [=](benchmark::State& st, bool naive) {
                         auto w = randn(P, 15), gr = randn(P, 16), m = randn(P, 17, 0.01f),
                              v = randn(P, 18, 0.01f);
                         for (auto& e : v) e = e * e;
                         int t = 1;
                         for (auto _ : st) {
                             if (naive)
                                 k::adamw_update_naive(w.data(), m.data(), v.data(), gr.data(),
                                                       int(P), 1e-3f, 0.9f, 0.99f, 1e-8f, 0.1f,
                                                       t++);
                             else
                                 k::adamw_update(w.data(), m.data(), v.data(), gr.data(), int(P),
                                                 1e-3f, 0.9f, 0.99f, 1e-8f, 0.1f, t++);
                             benchmark::ClobberMemory();
                         }
                     }});
    cases.push_back({p + "sum_squares", 4.0 * P, 0, [=](benchmark::State& st, bool naive) {
                         auto gr = randn(P, 16);
                         for (auto _ : st) {
                             double s = 0.0;
                             if (naive) {
                                 for (long i = 0; i < P; ++i)
                                     s += static_cast<double>(gr[i]) * gr[i];
                             } else {
                                 s = k::sum_squares(gr.data(), int(P));
                             }
                             benchmark::DoNotOptimize(s);
                         }
                     }});
    return cases;
}

// Keeps the seconds per call of every benchmark for the summary table.
class TableReporter : public benchmark::ConsoleReporter {
  public:
    std::map<std::string, double> seconds;
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
            const double total = g_cpu_clock ? r.cpu_accumulated_time : r.real_accumulated_time;
            const double s = total / static_cast<double>(r.iterations);
            auto it = seconds.find(r.run_name.function_name);
            if (it == seconds.end() || s < it->second) seconds[r.run_name.function_name] = s;
        }
        ConsoleReporter::ReportRuns(runs);
    }
};

}  // namespace

int main(int argc, char** argv) {
    const int threads = k::num_threads();
    if (const char* c = std::getenv("WIGGLE_BENCH_CLOCK")) g_cpu_clock = std::string(c) == "cpu";
    std::printf("wiggle kernels: isa %s, threads %d, clock %s\n", k::isa_name(k::cpu_isa()),
                threads, g_cpu_clock ? "cpu" : "wall");
    const double dram = triad_gbs(16L << 20, 1);  // 3 × 64 MB: DRAM (or this VM's large L3)
    const double l2 = triad_gbs(16L << 10, 200);  // 3 × 64 KB per run: cache-resident
    const double peak = fma_peak_gflops();
    const double bf16_peak = bf16_peak_gflops();  // 0: no vdpbf16ps
    // the portable kernels have no FMA: their peak is 4-lane multiplies then adds
    const char* peak_name =
        k::cpu_isa() == k::Isa::Generic ? "multiply-add peak (4 lanes, not fused)" : "FMA peak";
    char bf16_line[96] = "";
    if (bf16_peak > 0) {
        std::snprintf(bf16_line, sizeof bf16_line,
                      "; bf16 dot-product peak (vdpbf16ps) %.1f GFLOP/s", bf16_peak);
    }
    std::printf("roofline: triad %.1f GB/s (DRAM), %.1f GB/s (cache-resident); %s %.1f GFLOP/s%s\n",
                dram, l2, peak_name, peak, bf16_line);

    std::vector<Case> cases = make_cases(kBaby);
    for (Case& c : make_cases(kShakespeare)) cases.push_back(std::move(c));
    for (const Case& c : cases) {
        for (bool naive : {false, true}) {
            auto fn = c.run;
            benchmark::RegisterBenchmark((c.name + (naive ? "/naive" : "/fast")).c_str(),
                                         [fn, naive](benchmark::State& st) { fn(st, naive); })
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime()
                ->MinTime(naive ? 0.1 : 0.3);
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    TableReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);

    std::printf(
        "\nfastest call (%s time) at %d thread(s), isa %s; roofline: the triad moving the same "
        "bytes (DRAM triad %.1f GB/s), %s %.1f GFLOP/s%s\n",
        g_cpu_clock ? "cpu" : "wall", threads, k::isa_name(k::cpu_isa()), dram, peak_name, peak,
        bf16_line);
    std::printf("%-36s %10s %12s %13s %9s %10s %9s\n", "kernel", "fast us", "rate", "triad, same B",
                "roofline", "naive us", "speed-up");
    std::map<long, double> triads;  // GB/s of the triad moving as many bytes, by floats per array
    for (const Case& c : cases) {
        auto f = reporter.seconds.find(c.name + "/fast");
        auto n = reporter.seconds.find(c.name + "/naive");
        if (f == reporter.seconds.end()) continue;
        const double s = f->second;
        char rate[32], roof[32], triad[32] = "-", naive_us[32] = "-", speed[32] = "-";
        if (c.flops > 0) {
            std::snprintf(rate, sizeof rate, "%.1f GFLOP/s", c.flops / s / 1e9);
            const double roof_peak = c.bf16 && bf16_peak > 0 ? bf16_peak : peak;
            std::snprintf(roof, sizeof roof, "%.0f%%", 100.0 * c.flops / s / 1e9 / roof_peak);
        } else {
            const long n = std::max(4096L, static_cast<long>(c.bytes / 12));
            auto [it, fresh] = triads.try_emplace(n, 0.0);
            if (fresh)
                it->second = triad_gbs(n, static_cast<int>(std::max(1L, (16L << 20) / n)), 9);
            std::snprintf(rate, sizeof rate, "%.1f GB/s", c.bytes / s / 1e9);
            std::snprintf(triad, sizeof triad, "%.1f GB/s", it->second);
            std::snprintf(roof, sizeof roof, "%.0f%%", 100.0 * c.bytes / s / 1e9 / it->second);
        }
        if (n != reporter.seconds.end()) {
            std::snprintf(naive_us, sizeof naive_us, "%.1f", n->second * 1e6);
            std::snprintf(speed, sizeof speed, "%.1fx", n->second / s);
        }
        std::printf("%-36s %10.1f %12s %13s %9s %10s %9s\n", c.name.c_str(), s * 1e6, rate, triad,
                    roof, naive_us, speed);
    }
    return 0;
}
