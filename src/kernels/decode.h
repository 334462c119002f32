// Kernels for decoding through a KV cache: a linear layer on the new rows (a matrix-vector product
// when M is 1) over weights packed once for decoding, and single-query causal attention over the
// cached keys and values. The training kernels (matmul.h, attention.h) are built for many rows: the
// gemm packs the whole weight matrix for every call and the fused attention computes all T
// queries, which for one new token costs more than the arithmetic itself. Both come as one
// thread's share (a range of columns or heads) for a team of threads decoding together
// (kernels/cpu.h's parallel_team).
//
// The weights can also be kept in bfloat16 (half the bytes to stream per token; the arithmetic
// stays float). Not here: batched decoding, integer-quantized weights, the cache's bookkeeping
// (src/nn does that).
//
// Every fast kernel has a naive twin (`_naive`, templated on float/double) it is tested against.
// The kernels run on the calling thread, on a range of independent outputs; the bits of an output
// never depend on the range, so any split across threads gives the same results.
// Legend: M rows (new tokens), K input features, N output features, P cached positions,
// NH heads, hs head size, C = NH·hs channels.
#pragma once

#include <bit>
#include <cstdint>

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

// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N), columns [n0, n1) only, summed over the inputs
// [k0, k1) only (0, K: the whole product), on the calling thread; weight packed by pack_linear,
// bias may be null. A team member's share of a product is a range of its columns, or a range of
// its inputs (a partial sum, when the member computed those inputs itself; the team then adds the
// partial sums in a fixed order). Each output is summed over k = k0..k1−1 in order whatever the
// column range, so the bits never depend on that split or on M. For the few rows of decoding and
// the ~block/2 rows of a recompute.
void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1);

// bfloat16: the upper half of a float (its sign, exponent and top 7 mantissa bits), so widening
// one to a float is exact.
enum class bf16 : std::uint16_t {};
// The nearest bf16, ties to even (PyTorch's .to(torch.bfloat16)); NaN stays NaN, and values past
// the largest bf16 round to ±inf.
inline bf16 to_bf16(float x) {
    const auto b = std::bit_cast<std::uint32_t>(x);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return bf16((b >> 16) | 0x40u);  // a quiet NaN
    return bf16((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}
inline float to_float(bf16 x) { return std::bit_cast<float>(std::uint32_t(x) << 16); }

// A weight packed by pack_linear, in bf16 and with rows in pairs: inside each block of
// kPackedCols columns, rows 2i and 2i+1 of a column side by side (one 32-bit lane holds both, and
// widening a lane gives two vectors of floats at the cost of one), K padded to even with zeros.
inline long packed_linear_bf16_size(int K, int N) {
    return static_cast<long>((N + kPackedCols - 1) / kPackedCols) * (K + K % 2) * kPackedCols;
}
void pack_linear_bf16(bf16* packed, const float* weight, int K, int N);  // rounds by to_bf16

// linear_packed_forward on bf16 weights: the same arithmetic on the widened weights, so exactly
// the bits linear_packed_forward gives on the weights rounded to bf16 (and kept as floats).
void linear_packed_forward(float* out, const float* inp, const bf16* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1);

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
                               const float* bias, int M, int K, int N, int n0, int n1, int k0,
                               int k1);
void linear_packed_forward_isa(Isa isa, float* out, const float* inp, const bf16* packed,
                               const float* bias, int M, int K, int N, int n0, int n1, int k0,
                               int k1);
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
