// Kernels for decoding through a KV cache: a linear layer on the new rows (a matrix-vector product
// when M is 1) over weights packed once for decoding, and single-query causal attention over the
// cached keys and values. The training kernels (matmul.h, attention.h) are built for many rows: the
// gemm packs the whole weight matrix for every call and the fused attention computes all T
// queries, which for one new token costs more than the arithmetic itself. Both come as one
// thread's share (a range of columns or heads) for a team of threads decoding together
// (kernels/cpu.h's parallel_team).
//
// Not here: batched decoding, quantized weights, the cache's bookkeeping (src/nn does that).
//
// Every fast kernel has a naive twin (`_naive`, templated on float/double) it is tested against.
// The kernels run on the calling thread, on a range of independent outputs; the bits of an output
// never depend on the range, so any split across threads gives the same results.
// Legend: M rows (new tokens), K input features, N output features, P cached positions,
// NH heads, hs head size, C = NH·hs channels.
#pragma once

#include "kernels/cpu.h"

namespace wiggle::kernels {

// A weight (N,K), torch.nn.Linear's layout, packed for decoding: blocks of kPackedCols columns,
// each block (K, kPackedCols) contiguous, the last one zero-padded. A thread's share of columns is
// then one contiguous stretch of memory, read front to back.
constexpr int kPackedCols = 16;
inline long packed_linear_size(int K, int N) {
    return static_cast<long>((N + kPackedCols - 1) / kPackedCols) * K * kPackedCols;
}
void pack_linear(float* packed, const float* weight, int K, int N);

// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N), columns [n0, n1) only, on the calling thread
// (one member's share when a team decodes); weight packed by pack_linear, bias may be null. Each
// output is summed over k in order whatever the range, so the bits never depend on the split or on
// M. For the few rows of decoding and the ~block/2 rows of a recompute.
void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1);

// Single-query causal attention for one new position, heads [h0, h1) of NH (a team member's
// share; the others' channels of out and rows of att are not touched), over P cached positions
// (the new position's own key and value included, as the last one):
//   att[h, p] = softmax_p(q_h · k_h[p] / √hs)               att (NH, P): saved probabilities
//   out[h·hs + d] = Σ_p att[h, p] · v[p, h·hs + d]          out (C)
// q (C) is the new position's query, heads side by side (nanoGPT's q.view(NH, hs)).
// kt holds the cached keys transposed, so that the scores of a head are contiguous in p:
//   key p, channel c at kt[c·ldk + p]      kt (C, ldk), ldk ≥ P
// v (P, C) holds the cached values, one row per position.
void attention_decode_forward(float* out, float* att, const float* q, const float* kt,
                              const float* v, int P, int NH, int hs, int ldk, int h0, int h1);

// The same on a chosen instruction set (tests compare the paths); an `isa` the CPU lacks is
// lowered to the best one it has.
void linear_packed_forward_isa(Isa isa, float* out, const float* inp, const float* packed,
                               const float* bias, int M, int K, int N, int n0, int n1);
void attention_decode_forward_isa(Isa isa, float* out, float* att, const float* q, const float* kt,
                                  const float* v, int P, int NH, int hs, int ldk, int h0, int h1);

// Naive twins: the definitions (plain loops, sums in index order). F is float or double.
template <typename F>
void linear_forward_naive(F* out, const F* inp, const F* weight, const F* bias, int M, int K,
                          int N);
template <typename F>
void attention_decode_forward_naive(F* out, F* att, const F* q, const F* kt, const F* v, int P,
                                    int NH, int hs, int ldk);

}  // namespace wiggle::kernels
