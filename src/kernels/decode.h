// Kernels for decoding through a KV cache: a linear layer on the new rows (a matrix-vector product
// when M is 1) over weights packed once for decoding, and single-query causal attention over the
// cached keys and values. The training kernels (matmul.h, attention.h) are built for many rows: the
// gemm packs the whole weight matrix for every call and the fused attention computes all T
// queries, which for one new token costs more than the arithmetic itself. Both come as one
// thread's share (a range of columns or heads) for a team of threads decoding together
// (kernels/cpu.h's parallel_team).
//
// The weights can also be kept in bfloat16 (half the bytes to stream per token; the arithmetic
// stays float) or in int8 with a scale per group of inputs (a little over a quarter of the bytes;
// integer dot products). Not here: batched decoding, the cache's bookkeeping (src/nn does that).
//
// Every fast kernel has a naive twin (`_naive`, templated on float/double) it is tested against.
// The kernels run on the calling thread, on a range of independent outputs; the bits of an output
// never depend on the range, so any split across threads gives the same results.
// Legend: M rows (new tokens), K input features, N output features, P cached positions,
// NH heads, hs head size, C = NH·hs channels.
#pragma once

#include <cstdint>

#include "kernels/bf16.h"
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
// Column n (K) of a packed weight, its row n of (N,K) (an embedding row when the weight is the
// tied wte).
void unpack_column(float* out, const float* packed, int K, int N, int n);

// out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N), columns [n0, n1) only, summed over the inputs
// [k0, k1) only (0, K: the whole product), on the calling thread; weight packed by pack_linear,
// bias may be null. A team member's share of a product is a range of its columns, or a range of
// its inputs (a partial sum, when the member computed those inputs itself; the team then adds the
// partial sums in a fixed order). Each output is summed over k = k0..k1−1 in order whatever the
// column range, so the bits never depend on that split or on M. For the few rows of decoding and
// the ~block/2 rows of a recompute.
void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1);

// How many rows linear_packed_forward (float or bf16 weights) runs for about the price of one on
// this CPU: up to this many its time is streaming the weights, not the multiply-adds (AVX-512: 4
// rows, decode_impl.h's kFewRows, one tile; bench/RESULTS.md). 1 where that was not measured
// (other instruction sets).
int linear_packed_stream_rows();

// bf16 (kernels/bf16.h): bfloat16, to_bf16 (round to nearest even) and to_float (exact).

// A weight packed by pack_linear, in bf16 and with rows in pairs: inside each block of
// kPackedCols columns, rows 2i and 2i+1 of a column side by side (one 32-bit lane holds both, and
// widening a lane gives two vectors of floats at the cost of one), K padded to even with zeros.
inline long packed_linear_bf16_size(int K, int N) {
    return static_cast<long>((N + kPackedCols - 1) / kPackedCols) * (K + K % 2) * kPackedCols;
}
void pack_linear_bf16(bf16* packed, const float* weight, int K, int N);   // rounds by to_bf16
void unpack_column(float* out, const bf16* packed, int K, int N, int n);  // widened, exact

// linear_packed_forward on bf16 weights: the same arithmetic on the widened weights, so exactly
// the bits linear_packed_forward gives on the weights rounded to bf16 (and kept as floats).
void linear_packed_forward(float* out, const float* inp, const bf16* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1);

// int8 weights, llama2.c's runq.c: symmetric quantization in groups of G consecutive inputs,
//   w ≈ q·s,  s = max|w| / 127 over the group,  q = round(w / s) in [−127, 127]
// (a group of zeros has s = 0, q = 0). The inputs of a product are quantized the same way, row by
// row, as it runs; each group's products are summed in int32 (exact, so the order of that sum does
// not matter), and the groups are added in order in float:
//   out[m, n] = Σ_g float(Σ_{k in g} xq[m, k] · q[n, k]) · (sx[m, g] · s[n, g]) + bias[n]
// with each term added by one fused multiply-add. G divides K and is at most kQ8MaxGroup.
constexpr int kQ8MaxGroup = 64;
// Quantizes x (n, a multiple of G) group by group: q (n), scale (n / G). Returns the largest
// |x − q·s| (what the quantization lost).
float quantize_q8(std::int8_t* q, float* scale, const float* x, int n, int G);

// A weight (N,K) packed for int8 decoding: per block of kPackedCols columns and group of G rows,
// the block's kPackedCols scales (float), then the rows in quads (G rounded up to 4, the extra
// rows zero), a quad's 4 rows of a column in 4 consecutive bytes (row k of column j of a quad at
// byte 4j + k%4), each as q + 128 (an unsigned byte: the integer dot product's operand), so a
// block's group is one contiguous stretch and a quad of it one 64-byte load.
long packed_linear_q8_bytes(int K, int N, int G);
// Packs `weight` (N,K) quantized; returns the largest |w − q·s| over it.
float pack_linear_q8(std::uint8_t* packed, const float* weight, int K, int N, int G);
// Column n of the packed weight dequantized: out (K) = q[n, k]·s[n, g] (an embedding row when
// the weight is the tied wte).
void unpack_column_q8(float* out, const std::uint8_t* packed, int K, int N, int G, int n);

// linear_packed_forward on int8 weights (the formula above), over the inputs [k0, k1) (multiples
// of G) and the columns [n0, n1). With AVX512-VNNI the group sums are vpdpbusd; elsewhere plain
// loops. Both are exact in the integer part, so every path, split and row count gives the same
// bits as the naive twin.
void linear_q8_forward(float* out, const float* inp, const std::uint8_t* packed, const float* bias,
                       int M, int K, int N, int G, int n0, int n1, int k0, int k1);
// Whether linear_q8_forward uses int8 dot-product instructions on this CPU (AVX512-VNNI).
bool q8_dot_products();

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
// The same over a cache kept in bf16 (half the bytes each token reads back): the keys and values
// widened as they are loaded (exact), then the float arithmetic above, so exactly the bits of the
// float kernel on the widened cache (its naive twin: attention_decode_forward_naive on those).
void attention_decode_forward(float* out, float* att, const float* q, const bf16* kt, const bf16* v,
                              int P, int NH, int hs, int ldk, int h0, int h1);

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
void attention_decode_forward_isa(Isa isa, float* out, float* att, const float* q, const bf16* kt,
                                  const bf16* v, int P, int NH, int hs, int ldk, int h0, int h1);
// Avx512 takes the VNNI path when the CPU has it; anything else the portable loops.
void linear_q8_forward_isa(Isa isa, float* out, const float* inp, const std::uint8_t* packed,
                           const float* bias, int M, int K, int N, int G, int n0, int n1, int k0,
                           int k1);

// Naive twins: the definitions (plain loops, sums in index order). F is float or double.
template <typename F>
void linear_forward_naive(F* out, const F* inp, const F* weight, const F* bias, int M, int K,
                          int N);
// The int8 product on unpacked weights: q (N,K) and scale (N, K/G) from quantize_q8 of each row
// of the weight; the inputs quantized by quantize_q8 too.
void linear_q8_forward_naive(float* out, const float* inp, const std::int8_t* q, const float* scale,
                             const float* bias, int M, int K, int N, int G);
template <typename F>
void attention_decode_forward_naive(F* out, F* att, const F* q, const F* kt, const F* v, int P,
                                    int NH, int hs, int ldk);

}  // namespace wiggle::kernels
