// What the files of the tensor ops share (internal to src/tensor): calling a kernel for the
// graph's element type, the shape arithmetic of the ops, the backward functions of every op and
// the helpers they use. Each ops_*.cpp defines an op's forward rule and, right below it, its local
// derivative; Graph::backward (backward.cpp) calls the derivatives in reverse tape order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <type_traits>

#include "kernels/elementwise.h"
#include "tensor/ops.h"
#include "util/check.h"

// WIGGLE_KERNEL(name, args...) calls kernels::name (the fast kernel) in a Graph<float> and
// kernels::name_naive (its naive twin, exact enough for finite-difference checks) in a
// Graph<double>. T is the element type of the function it is used in.
#define WIGGLE_KERNEL(name, ...)                          \
    do {                                                  \
        if constexpr (std::is_same_v<T, float>) {         \
            ::wiggle::kernels::name(__VA_ARGS__);         \
        } else {                                          \
            ::wiggle::kernels::name##_naive(__VA_ARGS__); \
        }                                                 \
    } while (0)

namespace wiggle::tensor_ops {

// The (outer, n, inner) view of a shape around one axis.
struct AxisView {
    int outer, n, inner;
};
inline AxisView axis_view(const Shape& s, int axis) {
    AxisView v{1, s[axis], 1};
    for (int i = 0; i < axis; ++i) v.outer *= s[i];
    for (int i = axis + 1; i < s.rank; ++i) v.inner *= s[i];
    return v;
}

// The shape padded with leading 1s to 4 dimensions.
inline void pad4(const Shape& s, int* d) {
    const int pad = kMaxDims - s.rank;
    for (int i = 0; i < kMaxDims; ++i) d[i] = i < pad ? 1 : s[i - pad];
}

inline int to_int(int64_t n, const char* what) {
    WIGGLE_CHECK(n <= std::numeric_limits<int>::max(), "", "{}: {} elements is too many", what, n);
    return static_cast<int>(n);
}

// A new node computing op from the inputs (ids), its output allocated in the graph's arena.
template <typename T>
Tensor<T> make(Graph<T>& g, TensorOp op, const Shape& shape,
               std::initializer_list<uint32_t> inputs) {
    return Tensor<T>(&g, g.push(op, shape, inputs));
}

// The gradient buffer of input k of n, or null if that input needs none.
template <typename T>
T* dinput(Graph<T>& g, const TensorNode<T>& n, int k) {
    TensorNode<T>& in = g.node(n.in[k]);
    return in.requires_grad ? in.grad : nullptr;
}
// For kernels that always write an input's gradient: a zeroed throwaway buffer when it needs none.
template <typename T>
T* dinput_or_scratch(Graph<T>& g, const TensorNode<T>& n, int k) {
    if (T* d = dinput(g, n, k)) return d;
    const int64_t size = g.node(n.in[k]).shape.numel();
    T* s = g.alloc(size);
    std::memset(s, 0, sizeof(T) * static_cast<size_t>(size));
    return s;
}

// The local derivatives: each accumulates d(root)/d(input) into the inputs' gradients, given the
// node's own gradient n.grad. Defined beside their forward rules (ops_elementwise.cpp,
// ops_nn.cpp, ops_shape.cpp).
template <typename T>
void backward_binary(Graph<T>& g, const TensorNode<T>& n);  // Add, Sub, Mul, Div
template <typename T>
void backward_unary(Graph<T>& g, const TensorNode<T>& n);  // Scale, Exp, Log, Tanh, Relu
template <typename T>
void backward_gelu(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_reduce(Graph<T>& g, const TensorNode<T>& n);  // Sum, Mean, Max
template <typename T>
void backward_matmul(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_softmax(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_log_softmax(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_cross_entropy(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_embedding(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_layernorm(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_permute(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_slice(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_concat(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_masked_fill(Graph<T>& g, const TensorNode<T>& n);
template <typename T>
void backward_dropout(Graph<T>& g, const TensorNode<T>& n);

}  // namespace wiggle::tensor_ops
