// The bf16 gemm: bf16 inputs, float accumulation, for mixed-precision training (the matmuls read
// bf16 copies of weights and activations; everything else stays float).
//
// All matrices are row-major and contiguous; the transposes are gemm's (matmul.h). Legend: M rows
// of the output, N its columns, K the length of each dot product.
//
// The arithmetic, on every path: each output is a running float sum, started at C (accumulate) or
// at 0, to which the products are added in pairs along K, the odd one of a pair first:
//   s = accumulate ? C[i][j] : 0
//   for k = 0, 2, 4, ...:  s = s + a(i,k+1)·b(k+1,j);  s = s + a(i,k)·b(k,j)
// (a product past an odd K counts as +0), one float rounding per addition; each product of two
// bf16 is exact in float (unless it underflows). That is the order of vdpbf16ps (Intel SDM; the
// AVX512_BF16 path, which Zen 4 follows bit for bit), of the portable path and of gemm_bf16_naive,
// so all three give the same bits, with one exception: vdpbf16ps treats denormal inputs as zero
// and flushes denormal sums to zero (DAZ, FTZ), the other two do not. On data whose products and
// partial sums stay above FLT_MIN (2^-126) in magnitude or are zero, the paths are bit-equal; else
// they may differ by flushed amounts below 2^-126 each.
//
// On CPUs with AMX (amx_instructions(), bf16.h) the default entries (gemm_bf16, and
// gemm_bf16_linear without an Isa) run on AMX tiles, whose tdpbf16ps sums in another order, the
// tiles order: K in chunks of kBf16TileK = 32 from k = 0, each chunk's even and odd products summed
// apart, then added to the running sum together:
//   s = accumulate ? C[i][j] : 0
//   for each chunk k0 = 0, 32, 64, ...:
//     e = 0; o = 0
//     for k = k0, k0+2, ..., k0+30:  e = e + a(i,k)·b(k,j);  o = o + a(i,k+1)·b(k+1,j)
//     s = s + (e + o)
// (a product past K counts as +0; one rounding per addition). That is what Sapphire Rapids' AMX
// computes, bit for bit (measured; the SDM leaves the order open), with DAZ and FTZ like
// vdpbf16ps, and what gemm_bf16_tiles_naive computes. So bf16 training gives other bits on a CPU
// with AMX than on one without (still the same on every run and thread count); WIGGLE_AMX=0 turns
// AMX off. The explicit-Isa entries (gemm_bf16_isa, the strided and linear ones) always take the
// pairs order above.
//
// The fast gemm packs B (and A unless it can read A's rows in place) with K in pairs (one 32-bit
// lane holds two bf16 of the same row or column) for 6×64 register tiles, and threads over output
// tiles like gemm (parallel_items in kernels/cpu.h; never splits K). Since every output is one
// running sum in K order, neither the blocking nor the thread count changes its bits. CPUs without
// AVX512_BF16 (or WIGGLE_ISA=avx2|generic) run the portable path: correct, the same bits, slower. C
// must not alias A or B. gemm_bf16_linear adds a linear layer's epilogue: the sums start at the
// bias, and the results may be stored rounded to bf16 (for outputs that only bf16 consumers read).
// Not here: split-K.
#pragma once

#include "kernels/bf16.h"
#include "kernels/cpu.h"

namespace wiggle::kernels {

// C (M,N) = op(A) · op(B)           when accumulate is false
// C (M,N) += op(A) · op(B)          when accumulate is true (added into C's running sum, above)
// op(A) is A (M,K) or, with trans_a, Aᵀ where A is stored (K,M); likewise op(B) is B (K,N) or,
// with trans_b, Bᵀ where B is stored (N,K).
void gemm_bf16(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
               bool trans_b, bool accumulate);

// K per chunk of the tiles order (a tile of A holds 32 bf16 of K).
constexpr int kBf16TileK = 32;

// gemm_bf16 on a chosen instruction set (tests and benchmarks compare the paths): Avx512 runs
// vdpbf16ps when bf16_instructions(), anything else the portable path.
void gemm_bf16_isa(Isa isa, float* C, const bf16* A, const bf16* B, int M, int N, int K,
                   bool trans_a, bool trans_b, bool accumulate);

// gemm_bf16_isa on sub-matrices (rows lda, ldb, ldc elements apart as stored), on the calling
// thread alone: for kernels that thread over their own items (attention over (b, h)). The same
// bits as gemm_bf16 on the same values.
void gemm_bf16_strided(Isa isa, float* C, long ldc, const bf16* A, long lda, const bf16* B,
                       long ldb, int M, int N, int K, bool trans_a, bool trans_b, bool accumulate);

// gemm_bf16_strided on the best path, as gemm_bf16 chooses it (AMX tiles when amx_instructions(),
// else cpu_isa()): blocks of a bigger product, on the calling thread (the layer's backward splits
// its products into pool items). The same bits as gemm_bf16 on the same values.
void gemm_bf16_strided(float* C, long ldc, const bf16* A, long lda, const bf16* B, long ldb, int M,
                       int N, int K, bool trans_a, bool trans_b, bool accumulate);

// A linear layer's product: C (M,N) = op(A) · op(B), each running sum started at bias[j] (bias
// null: at 0), stored as floats into C or, when C16 is not null, rounded (to_bf16) into C16 alone.
// Then C is scratch for the partial sums of a K too deep for one of the gemm's blocks, and its
// contents are unspecified afterwards. The same bits as gemm_bf16 accumulating onto C filled with
// the bias (and to_bf16 of those), on any thread count.
void gemm_bf16_linear(Isa isa, float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B,
                      int M, int N, int K, bool trans_a, bool trans_b);

// gemm_bf16_linear on the best path: AMX tiles when amx_instructions(), else cpu_isa().
void gemm_bf16_linear(float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B, int M,
                      int N, int K, bool trans_a, bool trans_b);

// The AMX path (tiles order), for CPUs where amx_instructions(); elsewhere a clear error.
// threads: 0 for num_threads() (1 for small products).
void gemm_bf16_amx(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
                   bool trans_b, bool accumulate, int threads = 0);
void gemm_bf16_linear_amx(float* C, bf16* C16, const float* bias, const bf16* A, const bf16* B,
                          int M, int N, int K, bool trans_a, bool trans_b);
// gemm_bf16_strided's AMX twin (on the calling thread, sub-matrices ldc, lda, ldb apart).
void gemm_bf16_strided_amx(float* C, long ldc, const bf16* A, long lda, const bf16* B, long ldb,
                           int M, int N, int K, bool trans_a, bool trans_b, bool accumulate);

// The definitions above as plain triple loops: the oracles, not for hot loops. gemm_bf16_naive
// sums in the pairs order, gemm_bf16_tiles_naive in the tiles order.
void gemm_bf16_tiles_naive(float* C, const bf16* A, const bf16* B, int M, int N, int K,
                           bool trans_a, bool trans_b, bool accumulate);
void gemm_bf16_naive(float* C, const bf16* A, const bf16* B, int M, int N, int K, bool trans_a,
                     bool trans_b, bool accumulate);

}  // namespace wiggle::kernels
