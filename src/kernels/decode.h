// Kernels for decoding through a KV cache: a linear layer on the new rows (a matrix-vector product
// when M is 1) and single-query causal attention over the cached keys and values. The training
// kernels (matmul.h, attention.h) are built for many rows: the gemm packs the whole weight matrix
// for every call and the fused attention computes all T queries, which for one new token costs
// more than the arithmetic itself. Each also comes as one thread's share (a range of columns or
// heads) for a team of threads decoding together (kernels/cpu.h's parallel_team).
//
// Not here: batched decoding, quantized weights, the cache's bookkeeping (src/nn does that).
//
// Every fast kernel has a naive twin (`_naive`, templated on float/double) it is tested against.
// Threads only ever split independent outputs, so results are bit-identical for any thread count.
// Legend: M rows (new tokens), K input features, N output features, P cached positions,
// NH heads, hs head size, C = NH·hs channels.
#pragma once

#include "kernels/cpu.h"

namespace wiggle::kernels {

// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N); bias may be null. weight is row-major (N,K),
// torch.nn.Linear's layout. Meant for the few rows of decoding (and the ~block/2 rows of a
// recompute): no packing; a tile of weight rows is read once for each row, or pair of rows, of inp,
// vectorized over K, one register accumulator per output. Threaded over N (contiguous ranges of
// columns) when the product is large enough.
void linear_rows_forward(float* out, const float* inp, const float* weight, const float* bias,
                         int M, int K, int N);

// Single-query causal attention for one new position of every head, over P cached positions
// (the new position's own key and value included, as the last one):
//   att[h, p] = softmax_p(q_h · k_h[p] / √hs)               att (NH, P): saved probabilities
//   out[h·hs + d] = Σ_p att[h, p] · v[p, h·hs + d]          out (C)
// q (C) is the new position's query, heads side by side (nanoGPT's q.view(NH, hs)).
// kt holds the cached keys transposed, so that the scores of a head are contiguous in p:
//   key p, channel c at kt[c·ldk + p]      kt (C, ldk), ldk ≥ P
// v (P, C) holds the cached values, one row per position.
void attention_decode_forward(float* out, float* att, const float* q, const float* kt,
                              const float* v, int P, int NH, int hs, int ldk);

// One thread's share when a team decodes (kernels/cpu.h's parallel_team): only columns [n0, n1)
// of out, or heads [h0, h1) of out and att, computed on the calling thread with the same
// arithmetic, so the bits never depend on how the columns or heads are split.
void linear_rows_forward_columns(float* out, const float* inp, const float* weight,
                                 const float* bias, int M, int K, int N, int n0, int n1);
void attention_decode_forward_heads(float* out, float* att, const float* q, const float* kt,
                                    const float* v, int P, int NH, int hs, int ldk, int h0, int h1);

// The same on a chosen instruction set (tests compare the paths); an `isa` the CPU lacks is
// lowered to the best one it has.
void linear_rows_forward_isa(Isa isa, float* out, const float* inp, const float* weight,
                             const float* bias, int M, int K, int N);
void attention_decode_forward_isa(Isa isa, float* out, float* att, const float* q, const float* kt,
                                  const float* v, int P, int NH, int hs, int ldk);

// Naive twins: the definitions (plain loops, sums in index order). F is float or double.
template <typename F>
void linear_rows_forward_naive(F* out, const F* inp, const F* weight, const F* bias, int M, int K,
                               int N);
template <typename F>
void attention_decode_forward_naive(F* out, F* att, const F* q, const F* kt, const F* v, int P,
                                    int NH, int hs, int ldk);

}  // namespace wiggle::kernels
