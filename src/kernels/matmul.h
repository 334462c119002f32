// Matrix multiplication: the kernels that do ~90% of a GPT's arithmetic.
//
// All matrices are row-major and contiguous. Legend: M rows of the output, N its columns,
// K the length of each dot product.
//
// gemm is the one primitive; the three products of a linear layer are gemm with different
// transposes:
//   forward   out  (M,N)  = inp (M,K) · weightᵀ        weight (N,K), like torch.nn.Linear
//   backward  dinp (M,K) += dout (M,N) · weight (N,K)
//             dweight (N,K) += doutᵀ (N,M) · inp (M,K)
//
// The fast gemm is register-tiled with SIMD (AVX-512 / AVX2 chosen at run time, portable fallback)
// and threaded over output tiles (num_threads() threads, parallel_items in kernels/cpu.h; called
// from inside a pool item it runs on the calling thread). It never splits K across threads,
// and its blocking depends only on the shape, so its results are bit-identical whatever the thread
// count. gemm_naive is the reference it is tested against. C must not alias A or B.
#pragma once

#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "kernels/grad_input.h"

namespace wiggle::kernels {

// C (M,N) = op(A) · op(B)           when accumulate is false
// C (M,N) += op(A) · op(B)          when accumulate is true
// op(A) is A (M,K) or, with trans_a, Aᵀ where A is stored (K,M); likewise op(B) is B (K,N) or,
// with trans_b, Bᵀ where B is stored (N,K).
void gemm(float* C, const float* A, const float* B, int M, int N, int K, bool trans_a, bool trans_b,
          bool accumulate);

// gemm on a chosen instruction set (tests and benchmarks compare the paths); an `isa` the CPU
// lacks is lowered to the best one it has.
void gemm_isa(Isa isa, float* C, const float* A, const float* B, int M, int N, int K, bool trans_a,
              bool trans_b, bool accumulate);
// matmul_forward on a chosen instruction set (tests), like gemm_isa.
void matmul_forward_isa(Isa isa, float* out, const float* inp, const float* weight,
                        const float* bias, int M, int K, int N);
// Below this many flops (2·M·N·K) gemm runs on the calling thread alone.
inline constexpr double kGemmMinParallelFlops = 2.0e6;
// The portable gemm's K block (native GenericKernel and the WebAssembly kernel alike): each C
// element is summed in k order from 0 over each block of this many k, then added to C. Changing
// it changes the portable builds' bits (the page is tested equal to the native portable build).
inline constexpr int kGemmPortableKc = 256;

template <typename T>
void gemm_naive(T* C, const T* A, const T* B, int M, int N, int K, bool trans_a, bool trans_b,
                bool accumulate);

// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N); bias may be null.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M,
                    int K, int N);
// Accumulates: dinp (M,K) += dout · weight; dweight (N,K) += doutᵀ · inp; dbias (N) += Σ_m dout.
// Any of dinp, dweight, dbias may be null (not needed). With GradInput::Set, dinp = dout · weight.
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, GradInput into = GradInput::Add);
// The bias part alone, for columns [n0, n1): dbias[n] += Σ_m dout[m][n], each column summed over
// the rows in order, so any split of the columns (across threads or callers) gives the same bits
// as matmul_backward's.
void bias_backward(float* dbias, const float* dout, int M, int N, int n0, int n1);

// The same layer in mixed precision: the products on bf16 copies of the inputs, weights and
// output gradients, float sums (gemm_bf16, matmul_bf16.h); the bias and its gradient in float.
// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N), each sum started at the bias.
void matmul_forward_bf16(float* out, const bf16* inp, const bf16* weight, const float* bias, int M,
                         int K, int N);
// The same, rounded for consumers that read only bf16: out16 (M,N) = to_bf16(out) with no float
// copy written (scratch (M,N) holds partial sums when K is deeper than one of the gemm's blocks).
void matmul_forward_bf16(bf16* out16, float* scratch, const bf16* inp, const bf16* weight,
                         const float* bias, int M, int K, int N);
// Accumulates: dinp (M,K) += dout16 · weight; dweight (N,K) += dout16ᵀ · inp; dbias (N) +=
// Σ_m dout, where dout16 (M,N), scratch, is set to to_bf16(dout) in the pass over the float dout
// that sums the bias's gradient. GradInput::Set as matmul_backward's.
void matmul_backward_bf16(float* dinp, float* dweight, float* dbias, bf16* dout16,
                          const float* dout, const bf16* inp, const bf16* weight, int M, int K,
                          int N, GradInput into = GradInput::Add);
// The same without a bias, on an output gradient already rounded (dout16 (M,N), as to_bf16
// rounds it: e.g. gelu_backward's bf16 form), the same bits as the above given to_bf16(dout).
void matmul_backward_bf16(float* dinp, float* dweight, const bf16* dout16, const bf16* inp,
                          const bf16* weight, int M, int K, int N, GradInput into = GradInput::Add);

template <typename T>
void matmul_forward_naive(T* out, const T* inp, const T* weight, const T* bias, int M, int K,
                          int N);
template <typename T>
void matmul_backward_naive(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                           const T* weight, int M, int K, int N);

}  // namespace wiggle::kernels
