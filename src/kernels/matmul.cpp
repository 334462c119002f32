// Matrix multiplication: the naive references and the linear layer built on the fast gemm.
//
// The naive kernels are the plain triple loops, templated on float/double: they are the oracle the
// fast gemm is tested against, not something to call in a hot loop. The fast gemm's dispatch,
// packing and threading are here too; its microkernels are in matmul_avx512.cpp / matmul_avx2.cpp
// (and matmul_wasm.cpp for the browser build).
// Reference: llm.c's matmul_forward / matmul_backward (train_gpt2.c).
#include "kernels/matmul.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "kernels/cpu.h"
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_driver.h"

namespace wiggle::kernels {

template <typename T>
void gemm_naive(T* C, const T* A, const T* B, int M, int N, int K, bool trans_a, bool trans_b,
                bool accumulate) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            T sum = 0;
            for (int k = 0; k < K; k++) {
                const T a =
                    trans_a ? A[static_cast<long>(k) * M + i] : A[static_cast<long>(i) * K + k];
                const T b =
                    trans_b ? B[static_cast<long>(j) * K + k] : B[static_cast<long>(k) * N + j];
                sum += a * b;
            }
            T& c = C[static_cast<long>(i) * N + j];
            c = accumulate ? c + sum : sum;
        }
    }
}

template <typename T>
void matmul_forward_naive(T* out, const T* inp, const T* weight, const T* bias, int M, int K,
                          int N) {
    // out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N)
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            T sum = 0;
            for (int k = 0; k < K; k++) {
                sum += inp[static_cast<long>(m) * K + k] * weight[static_cast<long>(n) * K + k];
            }
            out[static_cast<long>(m) * N + n] = bias ? sum + bias[n] : sum;
        }
    }
}

template <typename T>
void matmul_backward_naive(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                           const T* weight, int M, int K, int N) {
    // forward: out[m][n] = bias[n] + Σ_k inp[m][k] · weight[n][k]
    if (dinp) {  // dinp[m][k] += Σ_n dout[m][n] · weight[n][k]
        for (int m = 0; m < M; m++) {
            for (int k = 0; k < K; k++) {
                T sum = 0;
                for (int n = 0; n < N; n++) {
                    sum +=
                        dout[static_cast<long>(m) * N + n] * weight[static_cast<long>(n) * K + k];
                }
                dinp[static_cast<long>(m) * K + k] += sum;
            }
        }
    }
    if (dweight) {  // dweight[n][k] += Σ_m dout[m][n] · inp[m][k]
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                T sum = 0;
                for (int m = 0; m < M; m++) {
                    sum += dout[static_cast<long>(m) * N + n] * inp[static_cast<long>(m) * K + k];
                }
                dweight[static_cast<long>(n) * K + k] += sum;
            }
        }
    }
    if (dbias) {  // dbias[n] += Σ_m dout[m][n]
        for (int n = 0; n < N; n++) {
            T sum = 0;
            for (int m = 0; m < M; m++) sum += dout[static_cast<long>(m) * N + n];
            dbias[n] += sum;
        }
    }
}

template void gemm_naive<float>(float*, const float*, const float*, int, int, int, bool, bool,
                                bool);
template void gemm_naive<double>(double*, const double*, const double*, int, int, int, bool, bool,
                                 bool);
template void matmul_forward_naive<float>(float*, const float*, const float*, const float*, int,
                                          int, int);
template void matmul_forward_naive<double>(double*, const double*, const double*, const double*,
                                           int, int, int);
template void matmul_backward_naive<float>(float*, float*, float*, const float*, const float*,
                                           const float*, int, int, int);
template void matmul_backward_naive<double>(double*, double*, double*, const double*, const double*,
                                            const double*, int, int, int);

// ---- The fast gemm: the portable kernel and the dispatcher
// ---------------------------------------

namespace {

#if !defined(__wasm_simd128__)  // the browser build has its own (matmul_wasm.cpp), with these bits
// Portable C++ (baseline x86-64, so SSE2 at best): a 4×16 tile the compiler can vectorize.
// Its arithmetic is the contract of every portable build (the browser's included): each C element
// sums its products a·b in k order from 0, one K block of kGemmPortableKc at a time, then
// C = sum (+ bias) or C += sum.
struct GenericKernel {
    static constexpr int MR = 4, NR = 16;
    static constexpr int KC = kGemmPortableKc, MC = 64, NC = 1024;
    static constexpr bool kPackA = false;

    template <int MRr, AMode mode>
    static void tile(int kc, const float* a, long as, const float* b, float* c, long ldc,
                     int n_valid, bool first, const float* bias) {
        float acc[MRr][NR] = {};
        for (int k = 0; k < kc; k++) {
            const float* bk = b + k * NR;
            // Column k of the A tile, copied first: read straight into the product, GCC 12's
            // vectorizer loads the Aᵀ tile's 2 or 3 values with 4-float loads, 8 bytes past A
            // on its last row (valgrind).
            float av[MRr];
            if constexpr (mode == AMode::kRowStrided) {
                for (int i = 0; i < MRr; i++) av[i] = a[i * as + k];
            } else {
                std::memcpy(av, a + k * as, sizeof(av));
            }
            for (int i = 0; i < MRr; i++) {
                for (int j = 0; j < NR; j++) acc[i][j] += av[i] * bk[j];
            }
        }
        for (int i = 0; i < MRr; i++) {
            float* p = c + i * ldc;
            for (int j = 0; j < n_valid; j++) {
                p[j] = !first ? p[j] + acc[i][j] : bias ? acc[i][j] + bias[j] : acc[i][j];
            }
        }
    }

    static void pack_b(float* dst, const float* B, long ldb, bool trans_b, int k0, int kc, int j0,
                       int nr_valid) {
        for (int k = 0; k < kc; k++) {
            for (int j = 0; j < NR; j++) {
                dst[k * NR + j] = j >= nr_valid ? 0.0f
                                  : trans_b     ? B[(j0 + j) * ldb + k0 + k]
                                                : B[(k0 + k) * ldb + j0 + j];
            }
        }
    }
};
#endif

}  // namespace

namespace detail {
void gemm_avx512(const GemmArgs& g, int threads);
void gemm_avx2(const GemmArgs& g, int threads);
void gemm_wasm(const GemmArgs& g, int threads);  // matmul_wasm.cpp, under __wasm_simd128__
}  // namespace detail

namespace {

void gemm_run(Isa isa, const detail::GemmArgs& g) {
    assert(g.M >= 0 && g.N >= 0 && g.K >= 0);
    assert(!(g.bias && g.accumulate));
    // Small products are not worth waking the pool (called from inside a pool item, the pool
    // runs the items inline anyway).
    const double flops = 2.0 * g.M * g.N * g.K;
    const int threads = flops < kGemmMinParallelFlops ? 1 : num_threads();
    // Never run an instruction set the CPU lacks, whatever the caller asked for.
    const Isa best = cpu_isa();
    if (isa == Isa::Avx512 && best != Isa::Avx512) isa = best;
    if (isa == Isa::Avx2 && best == Isa::Generic) isa = best;
#if defined(__x86_64__)
    switch (isa) {
        case Isa::Avx512:
            return detail::gemm_avx512(g, threads);
        case Isa::Avx2:
            return detail::gemm_avx2(g, threads);
        case Isa::Generic:
            return Driver<GenericKernel>::run(g, threads);
    }
#elif defined(__wasm_simd128__)  // the browser build: its own kernel, GenericKernel's bits
    (void)isa;
    return detail::gemm_wasm(g, threads);
#else                            // the portable microkernel only: no x86 unit is compiled
    return Driver<GenericKernel>::run(g, threads);
#endif
}

}  // namespace

void gemm_isa(Isa isa, float* C, const float* A, const float* B, int M, int N, int K, bool trans_a,
              bool trans_b, bool accumulate) {
    gemm_run(isa, {C, A, B, M, N, K, trans_a, trans_b, accumulate});
}

void gemm(float* C, const float* A, const float* B, int M, int N, int K, bool trans_a, bool trans_b,
          bool accumulate) {
    gemm_run(cpu_isa(), {C, A, B, M, N, K, trans_a, trans_b, accumulate});
}

void matmul_forward_isa(Isa isa, float* out, const float* inp, const float* weight,
                        const float* bias, int M, int K, int N) {
    // out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N), the bias added as the tiles are stored
    gemm_run(isa, {out, inp, weight, M, N, K, /*trans_a=*/false, /*trans_b=*/true,
                   /*accumulate=*/false, bias});
}

// ---- The linear layer on top of the fast gemm
// ----------------------------------------------------

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M,
                    int K, int N) {
    matmul_forward_isa(cpu_isa(), out, inp, weight, bias, M, K, N);
}

void bias_backward(float* dbias, const float* dout, int M, int N, int n0, int n1) {
    constexpr int kCols = 64;  // a block of column sums stays in registers while rows stream by
    for (int c0 = n0; c0 < n1; c0 += kCols) {
        const int c1 = std::min(c0 + kCols, n1);
        float sum[kCols];
        for (int n = c0; n < c1; n++) sum[n - c0] = dbias[n];
        for (int m = 0; m < M; m++) {
            const float* row = dout + static_cast<long>(m) * N;
            for (int n = c0; n < c1; n++) sum[n - c0] += row[n];
        }
        for (int n = c0; n < c1; n++) dbias[n] = sum[n - c0];
    }
}

namespace {

// The backward of a linear layer, given its two products on blocks: input_rows(m0, m1) does
// dinp[m0:m1] (+)= dout[m0:m1] · weight, weight_block(n0, n1, k0, k1) dweight[n0:n1, k0:k1] +=
// dout[:, n0:n1]ᵀ · inp[:, k0:k1] (in float, or on bf16 copies); dbias (N) += Σ_m dout (M,N) in
// float here: each column summed over the rows in order, by one thread (items own disjoint
// column blocks), so the result does not depend on the thread count. `split`: the products may be
// computed in blocks (the bf16 gemm's bits do not depend on the shape it is given; the float
// gemm's do, as it picks its kernel by the product's size, so its products run whole).
template <class InputRows, class WeightBlock>
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, int M, int K,
                     int N, bool split, InputRows input_rows, WeightBlock weight_block) {
    constexpr int kCols = 64;
    auto bias_columns = [&](int block) {
        bias_backward(dbias, dout, M, N, block * kCols, std::min(block * kCols + kCols, N));
    };
    const int col_blocks = (N + kCols - 1) / kCols;

    // While there are no more threads than the two products, both run in one pool job whose
    // items run their gemms inline: one pool round trip instead of the two each gemm makes per
    // K block. dweight, the slower (it packs both operands, one transposed), comes first, in one
    // part per thread: blocks of its rows when N ≥ K (each part packs all of inp, the smaller
    // operand), else of its columns (each packs all of dout). dinp follows in two blocks of rows
    // per thread, each taken by whichever thread is free, so that the threads finish together
    // (run whole, dweight took 1.2–1.5× dinp's time in a GPT's backward: RESULTS.md). The items
    // go in per-thread runs, a dweight part then its dinp blocks, because the pool hands each
    // thread its contiguous share of the items first: dweight parts all first would give the
    // first thread every one of them. With more threads, each product is split over all of
    // them in turn. A gemm's bits do not depend on the thread count, so all give the same
    // results.
    const int threads = num_threads();
    const bool big = 2.0 * M * N * K >= kGemmMinParallelFlops;
    if (dinp && dweight && threads <= 2 && big) {
        const int parts = split ? threads : 1, chunks = split ? 2 * threads : 1;
        const int items = parts + chunks, run = items / parts;  // a part and its dinp blocks
        // the bound b of `of` blocks of n, on whole tiles of 32 (the AMX gemm's)
        auto bound = [](int n, int b, int of) { return b == of ? n : n / 32 * b / of * 32; };
        auto item = [&](int i) {
            const int part = i / run, at = i % run;
            if (at == 0) {
                if (N >= K) {
                    weight_block(bound(N, part, parts), bound(N, part + 1, parts), 0, K);
                } else {
                    weight_block(0, N, bound(K, part, parts), bound(K, part + 1, parts));
                }
            } else {
                const int chunk = part * (run - 1) + at - 1;
                input_rows(bound(M, chunk, chunks), bound(M, chunk + 1, chunks));
            }
            if (dbias) {
                for (int b = col_blocks * i / items; b < col_blocks * (i + 1) / items; ++b) {
                    bias_columns(b);
                }
            }
        };
        parallel_items(items, threads, item);
        return;
    }
    if (dinp) input_rows(0, M);
    if (dweight) weight_block(0, N, 0, K);
    if (dbias) {
        parallel_items(col_blocks, static_cast<double>(M) * N < 1e5 ? 1 : threads, bias_columns);
    }
}

}  // namespace

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, GradInput into) {
    // forward: out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias
    linear_backward(
        dinp, dweight, dbias, dout, M, K, N, /*split=*/false,
        // dinp[m0:m1] (M,K) += dout[m0:m1] (M,N) · weight (N,K)
        [&](int m0, int m1) {
            gemm(dinp + static_cast<long>(m0) * K, dout + static_cast<long>(m0) * N, weight,
                 m1 - m0, K, N, false, false, into == GradInput::Add);
        },
        // dweight (N,K) += doutᵀ (N,M) · inp (M,K), whole (split is false)
        [&]([[maybe_unused]] int n0, [[maybe_unused]] int n1, [[maybe_unused]] int k0,
            [[maybe_unused]] int k1) {
            assert(n0 == 0 && n1 == N && k0 == 0 && k1 == K);
            gemm(dweight, dout, inp, N, K, M, true, false, true);
        });
}

// ---- The linear layer in mixed precision ------------------------------------------------------

void matmul_forward_bf16(float* out, const bf16* inp, const bf16* weight, const float* bias, int M,
                         int K, int N) {
    // out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N): the sums start at the bias
    gemm_bf16_linear(out, nullptr, bias, inp, weight, M, N, K, /*trans_a=*/false,
                     /*trans_b=*/true);
}

void matmul_forward_bf16(bf16* out16, float* scratch, const bf16* inp, const bf16* weight,
                         const float* bias, int M, int K, int N) {
    // out16 (M,N) = to_bf16(inp (M,K) · weight (N,K)ᵀ + bias (N)), rounded as the tiles are stored
    gemm_bf16_linear(scratch, out16, bias, inp, weight, M, N, K, /*trans_a=*/false,
                     /*trans_b=*/true);
}

void matmul_backward_bf16(float* dinp, float* dweight, float* dbias, bf16* dout16,
                          const float* dout, const bf16* inp, const bf16* weight, int M, int K,
                          int N, GradInput into) {
    // forward: out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias
    // dbias (N) += Σ_m dout (M,N), and the products' bf16 copy of dout, in one pass over it
    to_bf16_sum_columns(dout16, dbias, dout, M, N);
    matmul_backward_bf16(dinp, dweight, dout16, inp, weight, M, K, N, into);
}

void matmul_backward_bf16(float* dinp, float* dweight, const bf16* dout16, const bf16* inp,
                          const bf16* weight, int M, int K, int N, GradInput into) {
    linear_backward(
        dinp, dweight, nullptr, nullptr, M, K, N, /*split=*/true,
        // dinp[m0:m1] (M,K) += dout[m0:m1] (M,N) · weight (N,K)
        [&](int m0, int m1) {
            gemm_bf16(dinp + static_cast<long>(m0) * K, dout16 + static_cast<long>(m0) * N, weight,
                      m1 - m0, K, N, false, false, into == GradInput::Add);
        },
        // dweight[n0:n1, k0:k1] (N,K) += dout[:, n0:n1]ᵀ (N,M) · inp[:, k0:k1] (M,K)
        [&](int n0, int n1, int k0, int k1) {
            gemm_bf16_strided(dweight + static_cast<long>(n0) * K + k0, K, dout16 + n0, N, inp + k0,
                              K, n1 - n0, k1 - k0, M, true, false, true);
        });
}

}  // namespace wiggle::kernels
