// The differentiable tensor ops: each appends one node to its inputs' graph and returns it.
//
//   Tensor<float> h = tanh(matmul(x, W1) + b1);           // (B,200)
//   Tensor<float> loss = cross_entropy(matmul(h, W2) + b2, targets);
//
// Shapes follow PyTorch: binary ops broadcast (numpy rules), axes may be negative, reductions drop
// the axis unless keepdim. Each forward rule and its local derivative sit together in
// ops_elementwise.cpp, ops_nn.cpp or ops_shape.cpp. Index inputs (targets, token ids) and masks are
// copied into the graph's arena, so the caller's buffers may change after the call.
//
// Shape errors are user errors (WIGGLE_CHECK: one line naming the op and the shapes, exit 1).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>

#include "kernels/gelu.h"
#include "tensor/tensor.h"

namespace wiggle {

// ---- elementwise, with broadcasting ------------------------------------------------------------
template <typename T>
Tensor<T> add(Tensor<T> a, Tensor<T> b);
template <typename T>
Tensor<T> sub(Tensor<T> a, Tensor<T> b);
template <typename T>
Tensor<T> mul(Tensor<T> a, Tensor<T> b);
template <typename T>
Tensor<T> div(Tensor<T> a, Tensor<T> b);
template <typename T>
Tensor<T> scale(Tensor<T> x, double s);  // x · s

template <typename T>
Tensor<T> exp(Tensor<T> x);
template <typename T>
Tensor<T> log(Tensor<T> x);
template <typename T>
Tensor<T> tanh(Tensor<T> x);
template <typename T>
Tensor<T> relu(Tensor<T> x);
template <typename T>
Tensor<T> gelu(Tensor<T> x,  // the erf form (nn.GELU()) unless told; GPT-2 used the tanh form
               kernels::GeluForm form = kernels::GeluForm::Erf);

// ---- reductions over one axis (all elements when no axis is given) -----------------------------
template <typename T>
Tensor<T> sum(Tensor<T> x, int axis, bool keepdim = false);
template <typename T>
Tensor<T> mean(Tensor<T> x, int axis, bool keepdim = false);
template <typename T>
Tensor<T> max(Tensor<T> x, int axis, bool keepdim = false);  // values only
template <typename T>
Tensor<T> sum(Tensor<T> x);
template <typename T>
Tensor<T> mean(Tensor<T> x);

// ---- matrix products ---------------------------------------------------------------------------
// a (...,M,K) · b (K,N) → (...,M,N); a (M,K) · b (...,K,N) → (...,M,N); or batched:
// a (...,M,K) · b (...,K,N) with equal batch dims.
template <typename T>
Tensor<T> matmul(Tensor<T> a, Tensor<T> b);

// ---- over the last axis ------------------------------------------------------------------------
template <typename T>
Tensor<T> softmax(Tensor<T> x);
template <typename T>
Tensor<T> log_softmax(Tensor<T> x);
// The mean over rows of −log softmax(logits)[row, target]: logits (...,V), one target per row;
// a target of −1 is ignored (PyTorch's ignore_index=-1). Fused: the softmax is never stored.
template <typename T>
Tensor<T> cross_entropy(Tensor<T> logits, std::span<const int> targets);
// table (V,C) gathered at ids → ids_shape + (C); ids_shape defaults to (ids.size()).
template <typename T>
Tensor<T> embedding(Tensor<T> table, std::span<const int> ids, Shape ids_shape = {});
// Layer norm over the last axis (eps 1e-5); bias may be an undefined Tensor (no bias).
template <typename T>
Tensor<T> layernorm(Tensor<T> x, Tensor<T> weight, Tensor<T> bias);

// ---- shapes ------------------------------------------------------------------------------------
// Same data, new shape (one dimension may be −1: inferred). Free: no copy.
template <typename T>
Tensor<T> reshape(Tensor<T> x, Shape shape);
template <typename T>
Tensor<T> view(Tensor<T> x, Shape shape) {
    return reshape(x, shape);
}
// Output dimension i is input dimension perm[i]. Copies.
template <typename T>
Tensor<T> permute(Tensor<T> x, std::initializer_list<int> perm);
template <typename T>
Tensor<T> transpose(Tensor<T> x, int axis0, int axis1);
// x[..., start:end, ...] along axis. Copies.
template <typename T>
Tensor<T> slice(Tensor<T> x, int axis, int start, int end);
// Pieces of `size` along axis (the last may be shorter) into out, which must have room for them
// all; returns how many.
template <typename T>
int split(Tensor<T> x, int axis, int size, std::span<Tensor<T>> out);
// Joins tensors equal in every dimension but axis.
template <typename T>
Tensor<T> concat(std::span<const Tensor<T>> parts, int axis);
template <typename T>
Tensor<T> concat(std::initializer_list<Tensor<T>> parts, int axis) {
    return concat(std::span<const Tensor<T>>(parts.begin(), parts.size()), axis);
}

// ---- masks and noise ---------------------------------------------------------------------------
// out = value where mask is nonzero, else x; mask covers x's trailing dimensions (its size is
// their product) and repeats over the leading ones.
template <typename T>
Tensor<T> masked_fill(Tensor<T> x, std::span<const uint8_t> mask, double value);
// The causal mask of attention: x (...,T,S) with x[..., t, s] = value for s > t.
template <typename T>
Tensor<T> causal_mask(Tensor<T> x, double value = -std::numeric_limits<double>::infinity());
// Inverted dropout (kernels/dropout.h): zeroes each element with probability p and scales the rest
// by 1/(1−p); the mask is a function of (seed, index), so backward recomputes it. p = 0 returns x.
template <typename T>
Tensor<T> dropout(Tensor<T> x, float p, uint64_t seed);

// ---- operators ---------------------------------------------------------------------------------
template <typename T>
Tensor<T> operator+(Tensor<T> a, Tensor<T> b) {
    return add(a, b);
}
template <typename T>
Tensor<T> operator-(Tensor<T> a, Tensor<T> b) {
    return sub(a, b);
}
template <typename T>
Tensor<T> operator*(Tensor<T> a, Tensor<T> b) {
    return mul(a, b);
}
template <typename T>
Tensor<T> operator/(Tensor<T> a, Tensor<T> b) {
    return div(a, b);
}
template <typename T>
Tensor<T> operator*(Tensor<T> a, double s) {
    return scale(a, s);
}
template <typename T>
Tensor<T> operator*(double s, Tensor<T> a) {
    return scale(a, s);
}
template <typename T>
Tensor<T> operator/(Tensor<T> a, double s) {
    return scale(a, 1.0 / s);
}
template <typename T>
Tensor<T> operator-(Tensor<T> a) {
    return scale(a, -1.0);
}

}  // namespace wiggle
