// The small kernels under the tensor engine's shape ops: elementwise maps with broadcasting,
// reductions over an axis, permute, slice/concat copies and masked fill. Plain loops on flat
// row-major arrays; no tensors, no autograd (the tensor engine decides what to call).
//
// Every kernel has a naive twin (`_naive`, templated on float/double) that is the definition; the
// fast float version does the same arithmetic in the same order (contiguous inner loops, threads
// over independent outputs only), so the two agree bit for bit and results never depend on the
// thread count. The exceptions are exp and tanh, whose fast versions are vectorized polynomials
// (AVX-512 / AVX2 / portable, chosen at run time) within a few ulp of the C library's. Backward
// kernels accumulate (+=) and quote the forward line they differentiate.
//
// Axis views: a reduction, slice or concat along one axis sees the array as (outer, n, inner),
// where n is the axis's length, outer the product of the dimensions before it and inner the
// product of those after it.
#pragma once

#include <cstdint>

namespace wiggle::kernels {

// ----------------------------------------------------------------------------
// Binary ops with broadcasting. out has dims (D0,D1,D2,D3); a and b are read at
// Σ_i index_i·stride[i], with stride 0 along a broadcast dimension (numpy rules, worked out by
// the caller). Fewer dimensions are padded with leading 1s.

enum class Binary { Add, Sub, Mul, Div };

struct Broadcast {
    int dims[4];       // the output's dimensions
    long a_stride[4];  // a's element stride per output dimension (0 where a is broadcast)
    long b_stride[4];  // likewise for b
};

// out = a ∘ b
void binary_forward(float* out, const float* a, const float* b, Binary op, const Broadcast& bc);
// Accumulates da += dout·∂out/∂a and db += dout·∂out/∂b, summing over broadcast dimensions;
// either may be null.
void binary_backward(float* da, float* db, const float* dout, const float* a, const float* b,
                     Binary op, const Broadcast& bc);

template <typename T>
void binary_forward_naive(T* out, const T* a, const T* b, Binary op, const Broadcast& bc);
template <typename T>
void binary_backward_naive(T* da, T* db, const T* dout, const T* a, const T* b, Binary op,
                           const Broadcast& bc);

// ----------------------------------------------------------------------------
// Unary maps over N elements. Scale multiplies by alpha (the other ops ignore it).

enum class Unary { Exp, Log, Tanh, Relu, Scale };

void unary_forward(float* out, const float* inp, Unary op, float alpha, int N);
// Accumulates dinp += dout·f'(inp); uses out where that is cheaper (exp, tanh).
void unary_backward(float* dinp, const float* inp, const float* out, const float* dout, Unary op,
                    float alpha, int N);

template <typename T>
void unary_forward_naive(T* out, const T* inp, Unary op, float alpha, int N);
template <typename T>
void unary_backward_naive(T* dinp, const T* inp, const T* out, const T* dout, Unary op, float alpha,
                          int N);

// ----------------------------------------------------------------------------
// Reductions along the middle axis of (outer, n, inner): out (outer, inner). Sums run in index
// order. Max records the winning index (first one on ties) in argmax for backward.

enum class Reduce { Sum, Mean, Max };

void reduce_forward(float* out, int* argmax, const float* inp, Reduce op, int outer, int n,
                    int inner);
// Accumulates dinp (outer, n, inner) from dout (outer, inner).
void reduce_backward(float* dinp, const float* dout, const int* argmax, Reduce op, int outer, int n,
                     int inner);

template <typename T>
void reduce_forward_naive(T* out, int* argmax, const T* inp, Reduce op, int outer, int n,
                          int inner);
template <typename T>
void reduce_backward_naive(T* dinp, const T* dout, const int* argmax, Reduce op, int outer, int n,
                           int inner);

// ----------------------------------------------------------------------------
// Permute (transpose is the special case of swapping two axes): inp has dims (D0,D1,D2,D3);
// out dimension i is inp dimension perm[i]: out[i0,i1,i2,i3] = inp[j] with j[perm[k]] = i_k.

void permute_forward(float* out, const float* inp, const int dims[4], const int perm[4]);
// Accumulates dinp (dims) from dout (the permuted dims).
void permute_backward(float* dinp, const float* dout, const int dims[4], const int perm[4]);

template <typename T>
void permute_forward_naive(T* out, const T* inp, const int dims[4], const int perm[4]);
template <typename T>
void permute_backward_naive(T* dinp, const T* dout, const int dims[4], const int perm[4]);

// ----------------------------------------------------------------------------
// Slice along an axis: out (outer, len, inner) = inp (outer, n, inner)[:, start:start+len, :].
// Concatenation goes the other way, one piece at a time: out (outer, n, inner) gets the piece
// part (outer, len, inner) at [:, start:start+len, :].

void slice_forward(float* out, const float* inp, int outer, int n, int inner, int start, int len);
// Accumulates dinp[:, start:start+len, :] += dout.
void slice_backward(float* dinp, const float* dout, int outer, int n, int inner, int start,
                    int len);

void concat_forward(float* out, const float* part, int outer, int n, int inner, int start, int len);
// Accumulates dpart += dout[:, start:start+len, :].
void concat_backward(float* dpart, const float* dout, int outer, int n, int inner, int start,
                     int len);

template <typename T>
void slice_forward_naive(T* out, const T* inp, int outer, int n, int inner, int start, int len);
template <typename T>
void slice_backward_naive(T* dinp, const T* dout, int outer, int n, int inner, int start, int len);
template <typename T>
void concat_forward_naive(T* out, const T* part, int outer, int n, int inner, int start, int len);
template <typename T>
void concat_backward_naive(T* dpart, const T* dout, int outer, int n, int inner, int start,
                           int len);

// ----------------------------------------------------------------------------
// Masked fill: out (outer, inner) = mask[i] ? value : inp, with mask (inner) shared by every
// outer row (a (T,T) causal mask over all (B,NH) heads).

void masked_fill_forward(float* out, const float* inp, const uint8_t* mask, float value, int outer,
                         int inner);
// Accumulates dinp += dout where the mask is 0.
void masked_fill_backward(float* dinp, const float* dout, const uint8_t* mask, int outer,
                          int inner);

template <typename T>
void masked_fill_forward_naive(T* out, const T* inp, const uint8_t* mask, float value, int outer,
                               int inner);
template <typename T>
void masked_fill_backward_naive(T* dinp, const T* dout, const uint8_t* mask, int outer, int inner);

// ----------------------------------------------------------------------------
// Plain accumulation: y (N) += x. (A view's or a reshape's gradient needs nothing; this is for
// the few places that add one buffer into another.)
template <typename T>
void accumulate_naive(T* y, const T* x, long N);
void accumulate(float* y, const float* x, long N);

// x (N) = 0: a gradient buffer made ready for kernels that accumulate into it. Large buffers are
// zeroed in parallel chunks (a serial memset is a visible serial part of a training step).
template <typename T>
void zero(T* x, long N);

}  // namespace wiggle::kernels
