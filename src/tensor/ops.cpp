// The tensor ops: forward rules (one function per op, appending a node) and, at the bottom, the
// backward pass: one switch whose cases are the local derivatives, in TensorOp's order, each a
// call to the backward kernel that accumulates (+=) into the inputs' gradients.
//
// Graph<float> calls the fast kernels, Graph<double> the naive ones (the `route` overloads below):
// the double engine is the same code, exact enough for finite-difference gradient checks.
#include "tensor/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

// ----------------------------------------------------------------------------
// Kernel routing: float → fast kernels, double → naive kernels.

namespace route {

inline void gemm(float* C, const float* A, const float* B, int M, int N, int K, bool ta, bool tb,
                 bool acc) {
    k::gemm(C, A, B, M, N, K, ta, tb, acc);
}
inline void gemm(double* C, const double* A, const double* B, int M, int N, int K, bool ta, bool tb,
                 bool acc) {
    k::gemm_naive(C, A, B, M, N, K, ta, tb, acc);
}

inline void binary_forward(float* o, const float* a, const float* b, k::Binary op,
                           const k::Broadcast& bc) {
    k::binary_forward(o, a, b, op, bc);
}
inline void binary_forward(double* o, const double* a, const double* b, k::Binary op,
                           const k::Broadcast& bc) {
    k::binary_forward_naive(o, a, b, op, bc);
}
inline void binary_backward(float* da, float* db, const float* g, const float* a, const float* b,
                            k::Binary op, const k::Broadcast& bc) {
    k::binary_backward(da, db, g, a, b, op, bc);
}
inline void binary_backward(double* da, double* db, const double* g, const double* a,
                            const double* b, k::Binary op, const k::Broadcast& bc) {
    k::binary_backward_naive(da, db, g, a, b, op, bc);
}

inline void unary_forward(float* o, const float* x, k::Unary op, float s, int N) {
    k::unary_forward(o, x, op, s, N);
}
inline void unary_forward(double* o, const double* x, k::Unary op, float s, int N) {
    k::unary_forward_naive(o, x, op, s, N);
}
inline void unary_backward(float* dx, const float* x, const float* y, const float* g, k::Unary op,
                           float s, int N) {
    k::unary_backward(dx, x, y, g, op, s, N);
}
inline void unary_backward(double* dx, const double* x, const double* y, const double* g,
                           k::Unary op, float s, int N) {
    k::unary_backward_naive(dx, x, y, g, op, s, N);
}

inline void gelu_forward(float* o, const float* x, int N) { k::gelu_forward(o, x, N); }
inline void gelu_forward(double* o, const double* x, int N) { k::gelu_forward_naive(o, x, N); }
inline void gelu_backward(float* dx, const float* x, const float* g, int N) {
    k::gelu_backward(dx, x, g, N);
}
inline void gelu_backward(double* dx, const double* x, const double* g, int N) {
    k::gelu_backward_naive(dx, x, g, N);
}

inline void reduce_forward(float* o, int* am, const float* x, k::Reduce op, int A, int n, int B) {
    k::reduce_forward(o, am, x, op, A, n, B);
}
inline void reduce_forward(double* o, int* am, const double* x, k::Reduce op, int A, int n, int B) {
    k::reduce_forward_naive(o, am, x, op, A, n, B);
}
inline void reduce_backward(float* dx, const float* g, const int* am, k::Reduce op, int A, int n,
                            int B) {
    k::reduce_backward(dx, g, am, op, A, n, B);
}
inline void reduce_backward(double* dx, const double* g, const int* am, k::Reduce op, int A, int n,
                            int B) {
    k::reduce_backward_naive(dx, g, am, op, A, n, B);
}

inline void softmax_forward(float* p, const float* x, int N, int V) {
    k::softmax_forward(p, x, N, V);
}
inline void softmax_forward(double* p, const double* x, int N, int V) {
    k::softmax_forward_naive(p, x, N, V);
}
inline void softmax_backward(float* dx, const float* p, const float* g, int N, int V) {
    k::softmax_backward(dx, p, g, N, V);
}
inline void softmax_backward(double* dx, const double* p, const double* g, int N, int V) {
    k::softmax_backward_naive(dx, p, g, N, V);
}
inline void log_softmax_forward(float* o, const float* x, int N, int V) {
    k::log_softmax_forward(o, x, N, V);
}
inline void log_softmax_forward(double* o, const double* x, int N, int V) {
    k::log_softmax_forward_naive(o, x, N, V);
}
inline void log_softmax_backward(float* dx, const float* o, const float* g, int N, int V) {
    k::log_softmax_backward(dx, o, g, N, V);
}
inline void log_softmax_backward(double* dx, const double* o, const double* g, int N, int V) {
    k::log_softmax_backward_naive(dx, o, g, N, V);
}
inline void crossentropy_forward(float* l, const float* x, const int* t, int N, int V) {
    k::crossentropy_forward(l, x, t, N, V);
}
inline void crossentropy_forward(double* l, const double* x, const int* t, int N, int V) {
    k::crossentropy_forward_naive(l, x, t, N, V);
}
inline void crossentropy_backward(float* dx, const float* x, const int* t, const float* dl, int N,
                                  int V) {
    k::crossentropy_backward(dx, x, t, dl, N, V);
}
inline void crossentropy_backward(double* dx, const double* x, const int* t, const double* dl,
                                  int N, int V) {
    k::crossentropy_backward_naive(dx, x, t, dl, N, V);
}

inline void embedding_forward(float* o, const float* w, const int* ids, int N, int V, int C) {
    k::embedding_forward(o, w, ids, N, V, C);
}
inline void embedding_forward(double* o, const double* w, const int* ids, int N, int V, int C) {
    k::embedding_forward_naive(o, w, ids, N, V, C);
}
inline void embedding_backward(float* dw, const float* g, const int* ids, int N, int V, int C) {
    k::embedding_backward(dw, g, ids, N, V, C);
}
inline void embedding_backward(double* dw, const double* g, const int* ids, int N, int V, int C) {
    k::embedding_backward_naive(dw, g, ids, N, V, C);
}

inline void layernorm_forward(float* o, float* m, float* r, const float* x, const float* w,
                              const float* b, int N, int C) {
    k::layernorm_forward(o, m, r, x, w, b, N, C);
}
inline void layernorm_forward(double* o, double* m, double* r, const double* x, const double* w,
                              const double* b, int N, int C) {
    k::layernorm_forward_naive(o, m, r, x, w, b, N, C);
}
inline void layernorm_backward(float* dx, float* dw, float* db, const float* g, const float* x,
                               const float* w, const float* m, const float* r, int N, int C) {
    k::layernorm_backward(dx, dw, db, g, x, w, m, r, N, C);
}
inline void layernorm_backward(double* dx, double* dw, double* db, const double* g, const double* x,
                               const double* w, const double* m, const double* r, int N, int C) {
    k::layernorm_backward_naive(dx, dw, db, g, x, w, m, r, N, C);
}

inline void permute_forward(float* o, const float* x, const int* d, const int* p) {
    k::permute_forward(o, x, d, p);
}
inline void permute_forward(double* o, const double* x, const int* d, const int* p) {
    k::permute_forward_naive(o, x, d, p);
}
inline void permute_backward(float* dx, const float* g, const int* d, const int* p) {
    k::permute_backward(dx, g, d, p);
}
inline void permute_backward(double* dx, const double* g, const int* d, const int* p) {
    k::permute_backward_naive(dx, g, d, p);
}

inline void slice_forward(float* o, const float* x, int A, int n, int B, int s, int l) {
    k::slice_forward(o, x, A, n, B, s, l);
}
inline void slice_forward(double* o, const double* x, int A, int n, int B, int s, int l) {
    k::slice_forward_naive(o, x, A, n, B, s, l);
}
inline void slice_backward(float* dx, const float* g, int A, int n, int B, int s, int l) {
    k::slice_backward(dx, g, A, n, B, s, l);
}
inline void slice_backward(double* dx, const double* g, int A, int n, int B, int s, int l) {
    k::slice_backward_naive(dx, g, A, n, B, s, l);
}
inline void concat_forward(float* o, const float* x, int A, int n, int B, int s, int l) {
    k::concat_forward(o, x, A, n, B, s, l);
}
inline void concat_forward(double* o, const double* x, int A, int n, int B, int s, int l) {
    k::concat_forward_naive(o, x, A, n, B, s, l);
}
inline void concat_backward(float* dx, const float* g, int A, int n, int B, int s, int l) {
    k::concat_backward(dx, g, A, n, B, s, l);
}
inline void concat_backward(double* dx, const double* g, int A, int n, int B, int s, int l) {
    k::concat_backward_naive(dx, g, A, n, B, s, l);
}

inline void masked_fill_forward(float* o, const float* x, const uint8_t* m, float v, int A, int B) {
    k::masked_fill_forward(o, x, m, v, A, B);
}
inline void masked_fill_forward(double* o, const double* x, const uint8_t* m, float v, int A,
                                int B) {
    k::masked_fill_forward_naive(o, x, m, v, A, B);
}
inline void masked_fill_backward(float* dx, const float* g, const uint8_t* m, int A, int B) {
    k::masked_fill_backward(dx, g, m, A, B);
}
inline void masked_fill_backward(double* dx, const double* g, const uint8_t* m, int A, int B) {
    k::masked_fill_backward_naive(dx, g, m, A, B);
}

inline void dropout_forward(float* o, const float* x, float p, uint64_t seed, int N) {
    k::dropout_forward(o, x, p, seed, N);
}
inline void dropout_forward(double* o, const double* x, float p, uint64_t seed, int N) {
    k::dropout_forward_naive(o, x, p, seed, N);
}
inline void dropout_backward(float* dx, const float* g, float p, uint64_t seed, int N) {
    k::dropout_backward(dx, g, p, seed, N);
}
inline void dropout_backward(double* dx, const double* g, float p, uint64_t seed, int N) {
    k::dropout_backward_naive(dx, g, p, seed, N);
}

}  // namespace route

// ----------------------------------------------------------------------------
// Helpers

// The (outer, n, inner) view of a shape around one axis.
struct AxisView {
    int outer, n, inner;
};
static AxisView axis_view(const Shape& s, int axis) {
    AxisView v{1, s[axis], 1};
    for (int i = 0; i < axis; ++i) v.outer *= s[i];
    for (int i = axis + 1; i < s.rank; ++i) v.inner *= s[i];
    return v;
}

// The shape padded with leading 1s to 4 dimensions.
static void pad4(const Shape& s, int* d) {
    const int pad = kMaxDims - s.rank;
    for (int i = 0; i < kMaxDims; ++i) d[i] = i < pad ? 1 : s[i - pad];
}

// numpy broadcasting of two shapes.
static Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
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

static k::Broadcast broadcast_of(const Shape& a, const Shape& b, const Shape& out) {
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

template <typename T>
static Tensor<T> make(Graph<T>& g, TensorOp op, const Shape& shape,
                      std::initializer_list<uint32_t> inputs) {
    return Tensor<T>(&g, g.push(op, shape, inputs));
}

static int to_int(int64_t n, const char* what) {
    WIGGLE_CHECK(n <= std::numeric_limits<int>::max(), "", "{}: {} elements is too many", what, n);
    return static_cast<int>(n);
}

// ----------------------------------------------------------------------------
// Elementwise ops with broadcasting

static k::Binary binary_kind(TensorOp op) {
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

template <typename T>
static Tensor<T> binary(TensorOp op, const char* name, Tensor<T> a, Tensor<T> b) {
    assert(&a.graph() == &b.graph());
    const Shape out = broadcast_shape(name, a.shape(), b.shape());
    Tensor<T> y = make(a.graph(), op, out, {a.id(), b.id()});
    route::binary_forward(y.data(), a.data(), b.data(), binary_kind(op),
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

static k::Unary unary_kind(TensorOp op) {
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

template <typename T>
static Tensor<T> unary(TensorOp op, Tensor<T> x, float alpha = 1.0f) {
    Tensor<T> y = make(x.graph(), op, x.shape(), {x.id()});
    y.node().farg = alpha;
    const int N = to_int(x.numel(), "unary op");
    if (op == TensorOp::Gelu) {
        route::gelu_forward(y.data(), x.data(), N);
    } else {
        route::unary_forward(y.data(), x.data(), unary_kind(op), alpha, N);
    }
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
template <typename T>
Tensor<T> gelu(Tensor<T> x) {
    return unary(TensorOp::Gelu, x);
}

// ----------------------------------------------------------------------------
// Reductions

static k::Reduce reduce_kind(TensorOp op) {
    return op == TensorOp::Max ? k::Reduce::Max
                               : (op == TensorOp::Mean ? k::Reduce::Mean : k::Reduce::Sum);
}

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
    route::reduce_forward(y.data(), argmax, x.data(), reduce_kind(op), v.outer, v.n, v.inner);
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

// ----------------------------------------------------------------------------
// Matrix products. arg: M (rows per batch), K, N, batch count. A 2-D operand of a batched product
// is shared by every batch (its stride is 0): a (M,K) · b (...,K,N) is the GPT lecture's
// wei (T,T) @ x (B,T,C).

template <typename T>
Tensor<T> matmul(Tensor<T> a, Tensor<T> b) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    WIGGLE_CHECK(sa.rank >= 2 && sb.rank >= 2, "", "matmul: needs matrices, got {} and {}",
                 sa.str(), sb.str());
    const int K = sa[sa.rank - 1], N = sb[sb.rank - 1];
    WIGGLE_CHECK(sb[sb.rank - 2] == K, "", "matmul: inner dimensions differ: {} · {}", sa.str(),
                 sb.str());
    int M = 0, batch = 1;
    Shape out;
    if (sb.rank == 2) {  // one weight for every row of a: one gemm over all of them
        M = to_int(a.numel() / K, "matmul");
        out = sa;
    } else if (sa.rank == 2) {  // one left matrix for every batch of b
        M = sa[0];
        batch = to_int(b.numel() / (static_cast<int64_t>(K) * N), "matmul");
        out = sb;
        out[out.rank - 2] = M;
    } else {
        WIGGLE_CHECK(sa.rank == sb.rank, "", "matmul: batch dimensions differ: {} · {}", sa.str(),
                     sb.str());
        for (int i = 0; i + 2 < sa.rank; ++i) {
            WIGGLE_CHECK(sa[i] == sb[i], "", "matmul: batch dimensions differ: {} · {}", sa.str(),
                         sb.str());
            batch *= sa[i];
        }
        M = sa[sa.rank - 2];
        out = sa;
    }
    out[out.rank - 1] = N;
    Tensor<T> y = make(a.graph(), TensorOp::Matmul, out, {a.id(), b.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = M;
    n.arg[1] = K;
    n.arg[2] = N;
    n.arg[3] = batch;
    const long a_step = batch > 1 && sa.rank == 2 ? 0 : static_cast<long>(M) * K;
    const long b_step = sb.rank == 2 ? 0 : static_cast<long>(K) * N;
    for (int i = 0; i < batch; ++i) {  // out (M,N) = a (M,K) · b (K,N)
        route::gemm(y.data() + static_cast<long>(i) * M * N, a.data() + i * a_step,
                    b.data() + i * b_step, M, N, K, false, false, false);
    }
    return y;
}

// ----------------------------------------------------------------------------
// Softmax family, over the last axis

template <typename T>
Tensor<T> softmax(Tensor<T> x) {
    const int V = x.dim(-1), N = to_int(x.numel() / V, "softmax");
    Tensor<T> y = make(x.graph(), TensorOp::Softmax, x.shape(), {x.id()});
    route::softmax_forward(y.data(), x.data(), N, V);
    return y;
}

template <typename T>
Tensor<T> log_softmax(Tensor<T> x) {
    const int V = x.dim(-1), N = to_int(x.numel() / V, "log_softmax");
    Tensor<T> y = make(x.graph(), TensorOp::LogSoftmax, x.shape(), {x.id()});
    route::log_softmax_forward(y.data(), x.data(), N, V);
    return y;
}

// arg: N rows, V classes, number of counted (non-ignored) targets; saved: the targets.
template <typename T>
Tensor<T> cross_entropy(Tensor<T> logits, std::span<const int> targets) {
    const int V = logits.dim(-1), N = to_int(logits.numel() / V, "cross_entropy");
    WIGGLE_CHECK(static_cast<int64_t>(targets.size()) == N, "",
                 "cross_entropy: {} rows of logits {} but {} targets", N, logits.shape().str(),
                 targets.size());
    Graph<T>& g = logits.graph();
    int* t = g.arena().template alloc<int>(N);
    int counted = 0;
    for (int i = 0; i < N; ++i) {
        WIGGLE_CHECK(targets[i] >= -1 && targets[i] < V, "",
                     "cross_entropy: target {} of row {} is "
                     "outside [0, {})",
                     targets[i], i, V);
        t[i] = targets[i];
        counted += targets[i] >= 0;
    }
    Tensor<T> y = make(g, TensorOp::CrossEntropy, Shape{}, {logits.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = N;
    n.arg[1] = V;
    n.arg[2] = counted;
    n.saved = t;
    T* losses = g.alloc(N);
    route::crossentropy_forward(losses, logits.data(), t, N, V);
    double total = 0;  // in index order: the same for any thread count
    for (int i = 0; i < N; ++i) total += losses[i];
    y.data()[0] = counted ? static_cast<T>(total / counted) : T(0);
    return y;
}

// arg: N lookups, V rows, C channels; saved: the ids.
template <typename T>
Tensor<T> embedding(Tensor<T> table, std::span<const int> ids, Shape ids_shape) {
    WIGGLE_CHECK(table.rank() == 2, "", "embedding: the table must be (V, C), got {}",
                 table.shape().str());
    const int V = table.dim(0), C = table.dim(1), N = static_cast<int>(ids.size());
    if (ids_shape.rank == 0) ids_shape = Shape{N};
    WIGGLE_CHECK(ids_shape.numel() == N && ids_shape.rank < kMaxDims, "",
                 "embedding: {} ids do not fit the index shape {}", N, ids_shape.str());
    Graph<T>& g = table.graph();
    int* saved = g.arena().template alloc<int>(N);
    for (int i = 0; i < N; ++i) {
        WIGGLE_CHECK(ids[i] >= 0 && ids[i] < V, "", "embedding: id {} at {} is outside [0, {})",
                     ids[i], i, V);
        saved[i] = ids[i];
    }
    Shape out = ids_shape;
    out[out.rank++] = C;
    Tensor<T> y = make(g, TensorOp::Embedding, out, {table.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = N;
    n.arg[1] = V;
    n.arg[2] = C;
    n.saved = saved;
    route::embedding_forward(y.data(), table.data(), saved, N, V, C);
    return y;
}

// arg: N rows, C channels, has bias; saved: mean (N) then rstd (N).
template <typename T>
Tensor<T> layernorm(Tensor<T> x, Tensor<T> weight, Tensor<T> bias) {
    const int C = x.dim(-1), N = to_int(x.numel() / C, "layernorm");
    WIGGLE_CHECK(weight.numel() == C && (!bias.defined() || bias.numel() == C), "",
                 "layernorm: weight and bias must have {} elements (the last axis of {})", C,
                 x.shape().str());
    Graph<T>& g = x.graph();
    Tensor<T> y = bias.defined()
                      ? make(g, TensorOp::LayerNorm, x.shape(), {x.id(), weight.id(), bias.id()})
                      : make(g, TensorOp::LayerNorm, x.shape(), {x.id(), weight.id()});
    TensorNode<T>& n = y.node();
    n.arg[0] = N;
    n.arg[1] = C;
    n.arg[2] = bias.defined();
    T* saved = g.alloc(2 * static_cast<int64_t>(N));
    n.saved = saved;
    route::layernorm_forward(y.data(), saved, saved + N, x.data(), weight.data(),
                             bias.defined() ? bias.data() : nullptr, N, C);
    return y;
}

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
    route::permute_forward(y.data(), x.data(), d4, p4);
    return y;
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
    route::slice_forward(y.data(), x.data(), v.outer, v.n, v.inner, start, end - start);
    return y;
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
        route::concat_forward(y.data(), p.data(), v.outer, v.n, v.inner, start, len);
        start += len;
    }
    return y;
}

// ----------------------------------------------------------------------------
// Masks and noise

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
    route::masked_fill_forward(y.data(), x.data(), m, n.farg, to_int(x.numel() / inner, "mask"),
                               n.arg[0]);
    return y;
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

// farg: p; seed: the stream.
template <typename T>
Tensor<T> dropout(Tensor<T> x, float p, uint64_t seed) {
    WIGGLE_CHECK(p >= 0.0f && p < 1.0f, "", "dropout: p must be in [0, 1), got {}", p);
    if (p == 0.0f) return x;
    Tensor<T> y = make(x.graph(), TensorOp::Dropout, x.shape(), {x.id()});
    y.node().farg = p;
    y.node().seed = seed;
    route::dropout_forward(y.data(), x.data(), p, seed, to_int(x.numel(), "dropout"));
    return y;
}

// ----------------------------------------------------------------------------
// Backward: the local derivatives, in TensorOp's order. Each case quotes its forward rule and
// accumulates into the gradients of the inputs that need one (null otherwise).

template <typename T>
void Graph<T>::backward(Tensor<T> root) {
    WIGGLE_CHECK(root.numel() == 1, "reduce it to one number first (sum, mean)",
                 "backward: the root must have one element, got shape {}", root.shape().str());
    const uint32_t r = root.id();
    if (!nodes_[r].requires_grad) return;

    // Gradient buffers, zeroed, for every computed node that needs one. A view shares its
    // input's (same elements, same order), so its backward is nothing at all.
    for (uint32_t i = 0; i <= r; ++i) {
        TensorNode<T>& n = nodes_[i];
        if (!n.requires_grad || n.op == TensorOp::Leaf) continue;
        if (n.op == TensorOp::View) {
            n.grad = nodes_[n.in[0]].grad;
            continue;
        }
        const int64_t size = n.shape.numel();
        n.grad = arena_.template alloc<T>(size);
        std::memset(n.grad, 0, sizeof(T) * size);
    }
    nodes_[r].grad[0] += T(1);  // d(root)/d(root)

    // A gradient buffer for input k of n, or null if that input needs none.
    auto dinput = [&](const TensorNode<T>& n, int k) -> T* {
        TensorNode<T>& in = nodes_[n.in[k]];
        return in.requires_grad ? in.grad : nullptr;
    };
    // For kernels that always write an input's gradient: a throwaway buffer when it needs none.
    auto dinput_or_scratch = [&](const TensorNode<T>& n, int k) -> T* {
        if (T* d = dinput(n, k)) return d;
        const int64_t size = nodes_[n.in[k]].shape.numel();
        T* s = arena_.template alloc<T>(size);
        std::memset(s, 0, sizeof(T) * size);
        return s;
    };

    for (uint32_t i = r + 1; i-- > 0;) {
        const TensorNode<T>& n = nodes_[i];
        if (!n.requires_grad) continue;
        const T* g = n.grad;
        const int size = static_cast<int>(n.shape.numel());
        switch (n.op) {
            case TensorOp::Leaf:
            case TensorOp::View:
                break;
            case TensorOp::Add:  // out = a + b (and -, *, /), broadcast
            case TensorOp::Sub:
            case TensorOp::Mul:
            case TensorOp::Div: {
                const TensorNode<T>& a = nodes_[n.in[0]];
                const TensorNode<T>& b = nodes_[n.in[1]];
                route::binary_backward(dinput(n, 0), dinput(n, 1), g, a.data, b.data,
                                       binary_kind(n.op), broadcast_of(a.shape, b.shape, n.shape));
                break;
            }
            case TensorOp::Scale:  // out = alpha·x
            case TensorOp::Exp:    // out = e^x
            case TensorOp::Log:    // out = ln x
            case TensorOp::Tanh:   // out = tanh x
            case TensorOp::Relu:   // out = max(x, 0)
                route::unary_backward(dinput(n, 0), nodes_[n.in[0]].data, n.data, g,
                                      unary_kind(n.op), n.farg, size);
                break;
            case TensorOp::Gelu:  // out = x·Φ(x)
                route::gelu_backward(dinput(n, 0), nodes_[n.in[0]].data, g, size);
                break;
            case TensorOp::Sum:  // out = Σ_axis x (÷ n for Mean; the max element for Max)
            case TensorOp::Mean:
            case TensorOp::Max:
                route::reduce_backward(dinput(n, 0), g, static_cast<const int*>(n.saved),
                                       reduce_kind(n.op), n.arg[0], n.arg[1], n.arg[2]);
                break;
            case TensorOp::Matmul: {  // out (M,N) = a (M,K) · b (K,N), per batch
                const int M = n.arg[0], K = n.arg[1], N = n.arg[2], batch = n.arg[3];
                const TensorNode<T>& an = nodes_[n.in[0]];
                const TensorNode<T>& bn = nodes_[n.in[1]];
                const T* a = an.data;
                const T* b = bn.data;
                T* da = dinput(n, 0);
                T* db = dinput(n, 1);
                // A shared 2-D operand (stride 0) sums its gradient over the batches, in order.
                const long a_step = batch > 1 && an.shape.rank == 2 ? 0 : static_cast<long>(M) * K;
                const long b_step = bn.shape.rank == 2 ? 0 : static_cast<long>(K) * N;
                for (int bi = 0; bi < batch; ++bi) {
                    const long ao = bi * a_step, bo = bi * b_step,
                               oo = static_cast<long>(bi) * M * N;
                    // da (M,K) += dout (M,N) · bᵀ;  db (K,N) += aᵀ · dout (M,N)
                    if (da) route::gemm(da + ao, g + oo, b + bo, M, K, N, false, true, true);
                    if (db) route::gemm(db + bo, a + ao, g + oo, K, N, M, true, false, true);
                }
                break;
            }
            case TensorOp::Softmax: {  // out = softmax(x)
                const int V = n.shape[n.shape.rank - 1];
                route::softmax_backward(dinput(n, 0), n.data, g, size / V, V);
                break;
            }
            case TensorOp::LogSoftmax: {  // out = x − logΣexp(x)
                const int V = n.shape[n.shape.rank - 1];
                route::log_softmax_backward(dinput(n, 0), n.data, g, size / V, V);
                break;
            }
            case TensorOp::CrossEntropy: {  // out = mean_rows −log softmax(logits)[target]
                const int N = n.arg[0], V = n.arg[1], counted = n.arg[2];
                const int* t = static_cast<const int*>(n.saved);
                T* dlosses = arena_.template alloc<T>(N);
                for (int row = 0; row < N; ++row) {
                    dlosses[row] = t[row] >= 0 ? g[0] / T(counted) : T(0);
                }
                route::crossentropy_backward(dinput(n, 0), nodes_[n.in[0]].data, t, dlosses, N, V);
                break;
            }
            case TensorOp::Embedding:  // out[i] = table[ids[i]]
                route::embedding_backward(dinput(n, 0), g, static_cast<const int*>(n.saved),
                                          n.arg[0], n.arg[1], n.arg[2]);
                break;
            case TensorOp::LayerNorm: {  // out = (x − mean)·rstd·w + b
                const int N = n.arg[0], C = n.arg[1];
                const T* saved = static_cast<const T*>(n.saved);
                T* dbias = n.arg[2] ? dinput_or_scratch(n, 2) : nullptr;
                route::layernorm_backward(dinput_or_scratch(n, 0), dinput_or_scratch(n, 1), dbias,
                                          g, nodes_[n.in[0]].data, nodes_[n.in[1]].data, saved,
                                          saved + N, N, C);
                break;
            }
            case TensorOp::Permute: {  // out = x with axes reordered
                const Shape& in = nodes_[n.in[0]].shape;
                int d4[4], p4[4];
                pad4(in, d4);
                const int pad = kMaxDims - in.rank;
                for (int j = 0; j < kMaxDims; ++j) p4[j] = j < pad ? j : pad + n.arg[j - pad];
                route::permute_backward(dinput(n, 0), g, d4, p4);
                break;
            }
            case TensorOp::Slice: {  // out = x[..., start:start+len, ...]
                const AxisView v = axis_view(nodes_[n.in[0]].shape, n.arg[0]);
                route::slice_backward(dinput(n, 0), g, v.outer, v.n, v.inner, n.arg[1], n.arg[2]);
                break;
            }
            case TensorOp::Concat: {  // out = [part0, part1, ...] along axis
                const AxisView v = axis_view(n.shape, n.arg[0]);
                const uint32_t* ids = list(static_cast<uint32_t>(n.arg[1]));
                int start = 0;
                for (int p = 0; p < n.arg[2]; ++p) {
                    TensorNode<T>& part = nodes_[ids[p]];
                    const int len = part.shape[n.arg[0]];
                    if (part.requires_grad) {
                        route::concat_backward(part.grad, g, v.outer, v.n, v.inner, start, len);
                    }
                    start += len;
                }
                break;
            }
            case TensorOp::MaskedFill:  // out = mask ? value : x
                route::masked_fill_backward(dinput(n, 0), g, static_cast<const uint8_t*>(n.saved),
                                            size / n.arg[0], n.arg[0]);
                break;
            case TensorOp::Dropout:  // out = keep(seed, i) ? x/(1−p) : 0
                route::dropout_backward(dinput(n, 0), g, n.farg, n.seed, size);
                break;
        }
    }
}

// ----------------------------------------------------------------------------
// The engine exists for float (the fast path) and double (the gradient checks).

#define WIGGLE_TENSOR_OPS(T)                                                     \
    template void Graph<T>::backward(Tensor<T>);                                 \
    template Tensor<T> add(Tensor<T>, Tensor<T>);                                \
    template Tensor<T> sub(Tensor<T>, Tensor<T>);                                \
    template Tensor<T> mul(Tensor<T>, Tensor<T>);                                \
    template Tensor<T> div(Tensor<T>, Tensor<T>);                                \
    template Tensor<T> scale(Tensor<T>, double);                                 \
    template Tensor<T> exp(Tensor<T>);                                           \
    template Tensor<T> log(Tensor<T>);                                           \
    template Tensor<T> tanh(Tensor<T>);                                          \
    template Tensor<T> relu(Tensor<T>);                                          \
    template Tensor<T> gelu(Tensor<T>);                                          \
    template Tensor<T> sum(Tensor<T>, int, bool);                                \
    template Tensor<T> mean(Tensor<T>, int, bool);                               \
    template Tensor<T> max(Tensor<T>, int, bool);                                \
    template Tensor<T> sum(Tensor<T>);                                           \
    template Tensor<T> mean(Tensor<T>);                                          \
    template Tensor<T> matmul(Tensor<T>, Tensor<T>);                             \
    template Tensor<T> softmax(Tensor<T>);                                       \
    template Tensor<T> log_softmax(Tensor<T>);                                   \
    template Tensor<T> cross_entropy(Tensor<T>, std::span<const int>);           \
    template Tensor<T> embedding(Tensor<T>, std::span<const int>, Shape);        \
    template Tensor<T> layernorm(Tensor<T>, Tensor<T>, Tensor<T>);               \
    template Tensor<T> reshape(Tensor<T>, Shape);                                \
    template Tensor<T> permute(Tensor<T>, std::initializer_list<int>);           \
    template Tensor<T> transpose(Tensor<T>, int, int);                           \
    template Tensor<T> slice(Tensor<T>, int, int, int);                          \
    template int split(Tensor<T>, int, int, std::span<Tensor<T>>);               \
    template Tensor<T> concat(std::span<const Tensor<T>>, int);                  \
    template Tensor<T> masked_fill(Tensor<T>, std::span<const uint8_t>, double); \
    template Tensor<T> causal_mask(Tensor<T>, double);                           \
    template Tensor<T> dropout(Tensor<T>, float, uint64_t);

WIGGLE_TENSOR_OPS(float)
WIGGLE_TENSOR_OPS(double)

}  // namespace wiggle
