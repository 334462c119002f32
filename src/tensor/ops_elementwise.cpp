// The elementwise tensor ops and the reductions: each forward rule, then its local derivative.
#include "kernels/gelu.h"
#include "tensor/ops_internal.h"

namespace wiggle {

namespace k = kernels;
using namespace tensor_ops;

namespace {

// numpy broadcasting of two shapes.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
    Shape out;
    out.rank = std::max(a.rank, b.rank);
    for (int i = 0; i < out.rank; ++i) {
        const int ai = i - (out.rank - a.rank), bi = i - (out.rank - b.rank);
        const int da = ai >= 0 ? a[ai] : 1, db = bi >= 0 ? b[bi] : 1;
        WIGGLE_CHECK(da == db || da == 1 || db == 1, "", "{}: shapes {} and {} do not broadcast",
                     op, a.str(), b.str());
        out[i] = da == 1 ? db : da;
    }
    return out;
}

// The kernel's view of a broadcast: per output dimension, each operand's stride (0 where it is
// broadcast).
k::Broadcast broadcast_of(const Shape& a, const Shape& b, const Shape& out) {
    k::Broadcast bc{};
    int da[4], db[4];
    pad4(a, da);
    pad4(b, db);
    pad4(out, bc.dims);
    long sa = 1, sb = 1;
    for (int i = 3; i >= 0; --i) {
        bc.a_stride[i] = da[i] == 1 ? 0 : sa;
        bc.b_stride[i] = db[i] == 1 ? 0 : sb;
        sa *= da[i];
        sb *= db[i];
    }
    return bc;
}

k::Binary binary_kind(TensorOp op) {
    switch (op) {
        case TensorOp::Sub:
            return k::Binary::Sub;
        case TensorOp::Mul:
            return k::Binary::Mul;
        case TensorOp::Div:
            return k::Binary::Div;
        default:
            return k::Binary::Add;
    }
}

k::Unary unary_kind(TensorOp op) {
    switch (op) {
        case TensorOp::Exp:
            return k::Unary::Exp;
        case TensorOp::Log:
            return k::Unary::Log;
        case TensorOp::Tanh:
            return k::Unary::Tanh;
        case TensorOp::Relu:
            return k::Unary::Relu;
        default:
            return k::Unary::Scale;
    }
}

k::Reduce reduce_kind(TensorOp op) {
    return op == TensorOp::Max ? k::Reduce::Max
                               : (op == TensorOp::Mean ? k::Reduce::Mean : k::Reduce::Sum);
}

}  // namespace

// ----------------------------------------------------------------------------
// Binary ops with broadcasting: out = a ∘ b

template <typename T>
static Tensor<T> binary(TensorOp op, const char* name, Tensor<T> a, Tensor<T> b) {
    assert(&a.graph() == &b.graph());
    const Shape out = broadcast_shape(name, a.shape(), b.shape());
    Tensor<T> y = make(a.graph(), op, out, {a.id(), b.id()});
    WIGGLE_KERNEL(binary_forward, y.data(), a.data(), b.data(), binary_kind(op),
                  broadcast_of(a.shape(), b.shape(), out));
    return y;
}

template <typename T>
Tensor<T> add(Tensor<T> a, Tensor<T> b) {
    return binary(TensorOp::Add, "add", a, b);
}
template <typename T>
Tensor<T> sub(Tensor<T> a, Tensor<T> b) {
    return binary(TensorOp::Sub, "sub", a, b);
}
template <typename T>
Tensor<T> mul(Tensor<T> a, Tensor<T> b) {
    return binary(TensorOp::Mul, "mul", a, b);
}
template <typename T>
Tensor<T> div(Tensor<T> a, Tensor<T> b) {
    return binary(TensorOp::Div, "div", a, b);
}

// out = a ∘ b: da += dout·∂out/∂a, db += dout·∂out/∂b, summed over the broadcast dimensions
template <typename T>
void tensor_ops::backward_binary(Graph<T>& g, const TensorNode<T>& n) {
    const TensorNode<T>& a = g.node(n.in[0]);
    const TensorNode<T>& b = g.node(n.in[1]);
    WIGGLE_KERNEL(binary_backward, dinput(g, n, 0), dinput(g, n, 1), n.grad, a.data, b.data,
                  binary_kind(n.op), broadcast_of(a.shape, b.shape, n.shape));
}

// ----------------------------------------------------------------------------
// Unary maps. farg: the scale (Scale only).

template <typename T>
static Tensor<T> unary(TensorOp op, Tensor<T> x, float alpha = 1.0f) {
    Tensor<T> y = make(x.graph(), op, x.shape(), {x.id()});
    y.node().farg = alpha;
    WIGGLE_KERNEL(unary_forward, y.data(), x.data(), unary_kind(op), alpha,
                  to_int(x.numel(), "unary op"));
    return y;
}

template <typename T>
Tensor<T> scale(Tensor<T> x, double s) {
    return unary(TensorOp::Scale, x, static_cast<float>(s));
}
template <typename T>
Tensor<T> exp(Tensor<T> x) {
    return unary(TensorOp::Exp, x);
}
template <typename T>
Tensor<T> log(Tensor<T> x) {
    return unary(TensorOp::Log, x);
}
template <typename T>
Tensor<T> tanh(Tensor<T> x) {
    return unary(TensorOp::Tanh, x);
}
template <typename T>
Tensor<T> relu(Tensor<T> x) {
    return unary(TensorOp::Relu, x);
}

// out = alpha·x, e^x, ln x, tanh x or max(x, 0): dx += dout·f'(x) (from out where cheaper)
template <typename T>
void tensor_ops::backward_unary(Graph<T>& g, const TensorNode<T>& n) {
    WIGGLE_KERNEL(unary_backward, dinput(g, n, 0), g.node(n.in[0]).data, n.data, n.grad,
                  unary_kind(n.op), n.farg, static_cast<int>(n.shape.numel()));
}

// out = x·Φ(x) (the erf form), or ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). arg[0]: the form.
template <typename T>
Tensor<T> gelu(Tensor<T> x, kernels::GeluForm form) {
    Tensor<T> y = make(x.graph(), TensorOp::Gelu, x.shape(), {x.id()});
    x.graph().node(y.id()).arg[0] = static_cast<int32_t>(form);
    WIGGLE_KERNEL(gelu_forward, y.data(), x.data(), to_int(x.numel(), "gelu"), form);
    return y;
}

// dx += dout·gelu'(x): Φ(x) + x·φ(x) for the erf form (kernels/gelu.h has both)
template <typename T>
void tensor_ops::backward_gelu(Graph<T>& g, const TensorNode<T>& n) {
    WIGGLE_KERNEL(gelu_backward, dinput(g, n, 0), g.node(n.in[0]).data, n.grad,
                  static_cast<int>(n.shape.numel()), static_cast<kernels::GeluForm>(n.arg[0]));
}

// ----------------------------------------------------------------------------
// Reductions over one axis. arg: the (outer, n, inner) view; saved: argmax (Max only).

template <typename T>
static Tensor<T> reduce(TensorOp op, Tensor<T> x, int axis, bool keepdim) {
    const Shape& in = x.shape();
    const int a = in.axis(axis);
    const AxisView v = axis_view(in, a);
    Shape out = in;
    if (keepdim) {
        out[a] = 1;
    } else {
        for (int i = a; i + 1 < in.rank; ++i) out[i] = in[i + 1];
        out.rank--;
    }
    Tensor<T> y = make(x.graph(), op, out, {x.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = v.outer;
    n.arg[1] = v.n;
    n.arg[2] = v.inner;
    int* argmax = nullptr;
    if (op == TensorOp::Max) {
        argmax = x.graph().arena().template alloc<int>(static_cast<int64_t>(v.outer) * v.inner);
        n.saved = argmax;
    }
    WIGGLE_KERNEL(reduce_forward, y.data(), argmax, x.data(), reduce_kind(op), v.outer, v.n,
                  v.inner);
    return y;
}

template <typename T>
Tensor<T> sum(Tensor<T> x, int axis, bool keepdim) {
    return reduce(TensorOp::Sum, x, axis, keepdim);
}
template <typename T>
Tensor<T> mean(Tensor<T> x, int axis, bool keepdim) {
    return reduce(TensorOp::Mean, x, axis, keepdim);
}
template <typename T>
Tensor<T> max(Tensor<T> x, int axis, bool keepdim) {
    return reduce(TensorOp::Max, x, axis, keepdim);
}
template <typename T>
Tensor<T> sum(Tensor<T> x) {
    return reduce(TensorOp::Sum, reshape(x, {to_int(x.numel(), "sum")}), 0, false);
}
template <typename T>
Tensor<T> mean(Tensor<T> x) {
    return reduce(TensorOp::Mean, reshape(x, {to_int(x.numel(), "mean")}), 0, false);
}

// out = Σ_axis x (÷ n for Mean; the first largest element for Max): dout flows back to every
// summed element (÷ n), or to the largest one only
template <typename T>
void tensor_ops::backward_reduce(Graph<T>& g, const TensorNode<T>& n) {
    WIGGLE_KERNEL(reduce_backward, dinput(g, n, 0), n.grad, static_cast<const int*>(n.saved),
                  reduce_kind(n.op), n.arg[0], n.arg[1], n.arg[2]);
}

#define WIGGLE_ELEMENTWISE_OPS(T)                                               \
    template Tensor<T> add(Tensor<T>, Tensor<T>);                               \
    template Tensor<T> sub(Tensor<T>, Tensor<T>);                               \
    template Tensor<T> mul(Tensor<T>, Tensor<T>);                               \
    template Tensor<T> div(Tensor<T>, Tensor<T>);                               \
    template Tensor<T> scale(Tensor<T>, double);                                \
    template Tensor<T> exp(Tensor<T>);                                          \
    template Tensor<T> log(Tensor<T>);                                          \
    template Tensor<T> tanh(Tensor<T>);                                         \
    template Tensor<T> relu(Tensor<T>);                                         \
    template Tensor<T> gelu(Tensor<T>, kernels::GeluForm);                      \
    template Tensor<T> sum(Tensor<T>, int, bool);                               \
    template Tensor<T> mean(Tensor<T>, int, bool);                              \
    template Tensor<T> max(Tensor<T>, int, bool);                               \
    template Tensor<T> sum(Tensor<T>);                                          \
    template Tensor<T> mean(Tensor<T>);                                         \
    template void tensor_ops::backward_binary(Graph<T>&, const TensorNode<T>&); \
    template void tensor_ops::backward_unary(Graph<T>&, const TensorNode<T>&);  \
    template void tensor_ops::backward_gelu(Graph<T>&, const TensorNode<T>&);   \
    template void tensor_ops::backward_reduce(Graph<T>&, const TensorNode<T>&);

WIGGLE_ELEMENTWISE_OPS(float)
WIGGLE_ELEMENTWISE_OPS(double)

}  // namespace wiggle
