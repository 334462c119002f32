// The shape ops of the tensor engine (reshape, permute, slice, concat) and masking: each forward
// rule, then its local derivative.
#include "tensor/ops_internal.h"

namespace wiggle {

using namespace tensor_ops;

// ----------------------------------------------------------------------------
// Shapes

template <typename T>
Tensor<T> reshape(Tensor<T> x, Shape shape) {
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < shape.rank; ++i) {
        if (shape[i] == -1) {
            WIGGLE_CHECK(infer < 0, "", "reshape: more than one -1 in {}", shape.str());
            infer = i;
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0 && known > 0) shape[infer] = static_cast<int>(x.numel() / known);
    WIGGLE_CHECK(shape.numel() == x.numel(), "", "reshape: {} does not fit {} elements of {}",
                 shape.str(), x.numel(), x.shape().str());
    Graph<T>& g = x.graph();
    TensorNode<T> n{};
    n.data = x.data();
    n.shape = shape;
    n.op = TensorOp::View;
    n.in[0] = x.id();
    n.requires_grad = x.requires_grad();
    return Tensor<T>(&g, g.push_node(n));  // no output of its own to allocate
}

// arg: the permutation (input axis of each output axis).
template <typename T>
Tensor<T> permute(Tensor<T> x, std::initializer_list<int> perm) {
    const Shape& in = x.shape();
    WIGGLE_CHECK(static_cast<int>(perm.size()) == in.rank, "",
                 "permute: {} axes given for shape {}", perm.size(), in.str());
    Shape out = in;
    int seen = 0, i = 0;
    for (int p : perm) {
        const int a = in.axis(p);
        WIGGLE_CHECK(!(seen & (1 << a)), "", "permute: axis {} appears twice", p);
        seen |= 1 << a;
        out[i++] = in[a];
    }
    Tensor<T> y = make(x.graph(), TensorOp::Permute, out, {x.id()});
    TensorNode<T>& n = y.node();
    i = 0;
    for (int p : perm) n.arg[i++] = in.axis(p);
    int d4[4], p4[4];
    pad4(in, d4);
    const int pad = kMaxDims - in.rank;
    for (int j = 0; j < kMaxDims; ++j) p4[j] = j < pad ? j : pad + n.arg[j - pad];
    WIGGLE_KERNEL(permute_forward, y.data(), x.data(), d4, p4);
    return y;
}

// out = x with its axes reordered: dx += dout with them put back
template <typename T>
void tensor_ops::backward_permute(Graph<T>& g, const TensorNode<T>& n) {
    const Shape& in = g.node(n.in[0]).shape;
    int d4[4], p4[4];
    pad4(in, d4);
    const int pad = kMaxDims - in.rank;
    for (int j = 0; j < kMaxDims; ++j) p4[j] = j < pad ? j : pad + n.arg[j - pad];
    WIGGLE_KERNEL(permute_backward, dinput(g, n, 0), n.grad, d4, p4);
}

template <typename T>
Tensor<T> transpose(Tensor<T> x, int axis0, int axis1) {
    const int a = x.shape().axis(axis0), b = x.shape().axis(axis1);
    int p[kMaxDims] = {0, 1, 2, 3};
    std::swap(p[a], p[b]);
    switch (x.rank()) {
        case 2:
            return permute(x, {p[0], p[1]});
        case 3:
            return permute(x, {p[0], p[1], p[2]});
        case 4:
            return permute(x, {p[0], p[1], p[2], p[3]});
        default:
            return x;  // rank 1 (a == b == 0): nothing to swap
    }
}

// arg: axis, start, length.
template <typename T>
Tensor<T> slice(Tensor<T> x, int axis, int start, int end) {
    const int a = x.shape().axis(axis);
    const int n = x.shape()[a];
    WIGGLE_CHECK(0 <= start && start <= end && end <= n, "",
                 "slice: [{}, {}) is not inside axis {} of {}", start, end, axis, x.shape().str());
    Shape out = x.shape();
    out[a] = end - start;
    Tensor<T> y = make(x.graph(), TensorOp::Slice, out, {x.id()});
    TensorNode<T>& node = y.node();
    node.arg[0] = a;
    node.arg[1] = start;
    node.arg[2] = end - start;
    const AxisView v = axis_view(x.shape(), a);
    WIGGLE_KERNEL(slice_forward, y.data(), x.data(), v.outer, v.n, v.inner, start, end - start);
    return y;
}

// out = x[..., start:start+len, ...]: dx[..., start:start+len, ...] += dout
template <typename T>
void tensor_ops::backward_slice(Graph<T>& g, const TensorNode<T>& n) {
    const AxisView v = axis_view(g.node(n.in[0]).shape, n.arg[0]);
    WIGGLE_KERNEL(slice_backward, dinput(g, n, 0), n.grad, v.outer, v.n, v.inner, n.arg[1],
                  n.arg[2]);
}

template <typename T>
int split(Tensor<T> x, int axis, int size, std::span<Tensor<T>> out) {
    const int n = x.dim(axis);
    WIGGLE_CHECK(size > 0, "", "split: piece size must be positive, got {}", size);
    const int pieces = (n + size - 1) / size;
    WIGGLE_CHECK(static_cast<int>(out.size()) >= pieces, "", "split: {} pieces need room, got {}",
                 pieces, out.size());
    for (int i = 0; i < pieces; ++i) out[i] = slice(x, axis, i * size, std::min(n, (i + 1) * size));
    return pieces;
}

// arg: axis, offset of the parts' ids in the graph's lists, number of parts.
template <typename T>
Tensor<T> concat(std::span<const Tensor<T>> parts, int axis) {
    WIGGLE_CHECK(!parts.empty(), "", "concat: nothing to join");
    const Shape& first = parts[0].shape();
    const int a = first.axis(axis);
    Shape out = first;
    out[a] = 0;
    bool requires_grad = false;
    uint32_t ids[64];
    WIGGLE_CHECK(parts.size() <= 64, "", "concat: at most 64 parts, got {}", parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        const Shape& s = parts[i].shape();
        bool same = s.rank == first.rank;
        for (int d = 0; same && d < s.rank; ++d) same = d == a || s[d] == first[d];
        WIGGLE_CHECK(same, "", "concat: {} and {} differ outside axis {}", first.str(), s.str(),
                     axis);
        out[a] += s[a];
        requires_grad = requires_grad || parts[i].requires_grad();
        ids[i] = parts[i].id();
    }
    Graph<T>& g = parts[0].graph();
    Tensor<T> y = make(g, TensorOp::Concat, out, {});
    TensorNode<T>& n = y.node();
    n.requires_grad = requires_grad;
    n.arg[0] = a;
    n.arg[1] = static_cast<int32_t>(g.push_list({ids, parts.size()}));
    n.arg[2] = static_cast<int32_t>(parts.size());
    const AxisView v = axis_view(out, a);
    int start = 0;
    for (const Tensor<T>& p : parts) {
        const int len = p.shape()[a];
        WIGGLE_KERNEL(concat_forward, y.data(), p.data(), v.outer, v.n, v.inner, start, len);
        start += len;
    }
    return y;
}

// out = [part0, part1, ...] along axis: each part's gradient += its stretch of dout
template <typename T>
void tensor_ops::backward_concat(Graph<T>& g, const TensorNode<T>& n) {
    const AxisView v = axis_view(n.shape, n.arg[0]);
    const uint32_t* ids = g.list(static_cast<uint32_t>(n.arg[1]));
    int start = 0;
    for (int p = 0; p < n.arg[2]; ++p) {
        TensorNode<T>& part = g.node(ids[p]);
        const int len = part.shape[n.arg[0]];
        if (part.requires_grad) {
            WIGGLE_KERNEL(concat_backward, part.grad, n.grad, v.outer, v.n, v.inner, start, len);
        }
        start += len;
    }
}

// ----------------------------------------------------------------------------
// Masks

// arg: mask size (the inner part); farg: the fill value; saved: the mask.
template <typename T>
Tensor<T> masked_fill(Tensor<T> x, std::span<const uint8_t> mask, double value) {
    const int64_t inner = static_cast<int64_t>(mask.size());
    WIGGLE_CHECK(inner > 0 && x.numel() % inner == 0, "",
                 "masked_fill: a mask of {} elements does not tile {}", inner, x.shape().str());
    Graph<T>& g = x.graph();
    auto* m = g.arena().template alloc<uint8_t>(inner);
    std::memcpy(m, mask.data(), mask.size());
    Tensor<T> y = make(g, TensorOp::MaskedFill, x.shape(), {x.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = static_cast<int32_t>(inner);
    n.farg = static_cast<float>(value);
    n.saved = m;
    WIGGLE_KERNEL(masked_fill_forward, y.data(), x.data(), m, n.farg,
                  to_int(x.numel() / inner, "mask"), n.arg[0]);
    return y;
}

// out = mask ? value : x: dx += dout where the mask is 0
template <typename T>
void tensor_ops::backward_masked_fill(Graph<T>& g, const TensorNode<T>& n) {
    const int size = static_cast<int>(n.shape.numel());
    WIGGLE_KERNEL(masked_fill_backward, dinput(g, n, 0), n.grad,
                  static_cast<const uint8_t*>(n.saved), size / n.arg[0], n.arg[0]);
}

template <typename T>
Tensor<T> causal_mask(Tensor<T> x, double value) {
    WIGGLE_CHECK(x.rank() >= 2, "", "causal_mask: needs (..., T, S), got {}", x.shape().str());
    const int Tn = x.dim(-2), S = x.dim(-1);
    // Built in the arena (no allocation); masked_fill copies it once more, which is cheap.
    auto* m = x.graph().arena().template alloc<uint8_t>(static_cast<int64_t>(Tn) * S);
    for (int t = 0; t < Tn; ++t)
        for (int s = 0; s < S; ++s) m[static_cast<long>(t) * S + s] = s > t;
    return masked_fill(x, std::span<const uint8_t>(m, static_cast<size_t>(Tn) * S), value);
}

#define WIGGLE_SHAPE_OPS(T)                                                      \
    template Tensor<T> reshape(Tensor<T>, Shape);                                \
    template Tensor<T> permute(Tensor<T>, std::initializer_list<int>);           \
    template Tensor<T> transpose(Tensor<T>, int, int);                           \
    template Tensor<T> slice(Tensor<T>, int, int, int);                          \
    template int split(Tensor<T>, int, int, std::span<Tensor<T>>);               \
    template Tensor<T> concat(std::span<const Tensor<T>>, int);                  \
    template Tensor<T> masked_fill(Tensor<T>, std::span<const uint8_t>, double); \
    template Tensor<T> causal_mask(Tensor<T>, double);                           \
    template void tensor_ops::backward_permute(Graph<T>&, const TensorNode<T>&); \
    template void tensor_ops::backward_slice(Graph<T>&, const TensorNode<T>&);   \
    template void tensor_ops::backward_concat(Graph<T>&, const TensorNode<T>&);  \
    template void tensor_ops::backward_masked_fill(Graph<T>&, const TensorNode<T>&);

WIGGLE_SHAPE_OPS(float)
WIGGLE_SHAPE_OPS(double)

}  // namespace wiggle
