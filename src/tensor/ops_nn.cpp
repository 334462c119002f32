// The tensor ops of neural networks: matrix products, the softmax family and cross-entropy,
// embeddings, layer norm and dropout. Each forward rule, then its local derivative.
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax.h"
#include "tensor/ops_internal.h"

namespace wiggle {

using namespace tensor_ops;

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
        WIGGLE_KERNEL(gemm, y.data() + static_cast<long>(i) * M * N, a.data() + i * a_step,
                      b.data() + i * b_step, M, N, K, false, false, false);
    }
    return y;
}

// out (M,N) = a (M,K) · b (K,N), per batch: da += dout · bᵀ, db += aᵀ · dout. A shared 2-D operand
// (stride 0) sums its gradient over the batches, in order.
template <typename T>
void tensor_ops::backward_matmul(Graph<T>& g, const TensorNode<T>& n) {
    const int M = n.arg[0], K = n.arg[1], N = n.arg[2], batch = n.arg[3];
    const TensorNode<T>& an = g.node(n.in[0]);
    const TensorNode<T>& bn = g.node(n.in[1]);
    T* da = dinput(g, n, 0);
    T* db = dinput(g, n, 1);
    const long a_step = batch > 1 && an.shape.rank == 2 ? 0 : static_cast<long>(M) * K;
    const long b_step = bn.shape.rank == 2 ? 0 : static_cast<long>(K) * N;
    for (int i = 0; i < batch; ++i) {
        const long ao = i * a_step, bo = i * b_step, oo = static_cast<long>(i) * M * N;
        if (da) WIGGLE_KERNEL(gemm, da + ao, n.grad + oo, bn.data + bo, M, K, N, false, true, true);
        if (db) WIGGLE_KERNEL(gemm, db + bo, an.data + ao, n.grad + oo, K, N, M, true, false, true);
    }
}

// ----------------------------------------------------------------------------
// The softmax family, over the last axis

template <typename T>
Tensor<T> softmax(Tensor<T> x) {
    const int V = x.dim(-1), N = to_int(x.numel() / V, "softmax");
    Tensor<T> y = make(x.graph(), TensorOp::Softmax, x.shape(), {x.id()});
    WIGGLE_KERNEL(softmax_forward, y.data(), x.data(), N, V);
    return y;
}

// out = softmax(x): dx += out ∘ (dout − Σ dout·out)
template <typename T>
void tensor_ops::backward_softmax(Graph<T>& g, const TensorNode<T>& n) {
    const int V = n.shape[n.shape.rank - 1], N = static_cast<int>(n.shape.numel() / V);
    WIGGLE_KERNEL(softmax_backward, dinput(g, n, 0), n.data, n.grad, N, V);
}

template <typename T>
Tensor<T> log_softmax(Tensor<T> x) {
    const int V = x.dim(-1), N = to_int(x.numel() / V, "log_softmax");
    Tensor<T> y = make(x.graph(), TensorOp::LogSoftmax, x.shape(), {x.id()});
    WIGGLE_KERNEL(log_softmax_forward, y.data(), x.data(), N, V);
    return y;
}

// out = x − log Σ exp(x): dx += dout − softmax(x)·Σ dout
template <typename T>
void tensor_ops::backward_log_softmax(Graph<T>& g, const TensorNode<T>& n) {
    const int V = n.shape[n.shape.rank - 1], N = static_cast<int>(n.shape.numel() / V);
    WIGGLE_KERNEL(log_softmax_backward, dinput(g, n, 0), n.data, n.grad, N, V);
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
                     "cross_entropy: target {} of row {} is outside [0, {})", targets[i], i, V);
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
    WIGGLE_KERNEL(crossentropy_forward, losses, logits.data(), t, N, V);
    double total = 0;  // in index order: the same for any thread count
    for (int i = 0; i < N; ++i) total += losses[i];
    y.data()[0] = counted ? static_cast<T>(total / counted) : T(0);
    return y;
}

// out = mean over the counted rows of −log softmax(logits)[target]: each counted row's loss gets
// dout/counted, and dlogits += (softmax(logits) − onehot(target))·dloss
template <typename T>
void tensor_ops::backward_cross_entropy(Graph<T>& g, const TensorNode<T>& n) {
    const int N = n.arg[0], V = n.arg[1], counted = n.arg[2];
    const int* t = static_cast<const int*>(n.saved);
    T* dlosses = g.alloc(N);
    for (int row = 0; row < N; ++row) dlosses[row] = t[row] >= 0 ? n.grad[0] / T(counted) : T(0);
    WIGGLE_KERNEL(crossentropy_backward, dinput(g, n, 0), g.node(n.in[0]).data, t, dlosses, N, V);
}

// ----------------------------------------------------------------------------
// Embeddings. arg: N lookups, V rows, C channels; saved: the ids.

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
    WIGGLE_KERNEL(embedding_forward, y.data(), table.data(), saved, N, V, C);
    return y;
}

// out[i] = table[ids[i]]: dtable[ids[i]] += dout[i]
template <typename T>
void tensor_ops::backward_embedding(Graph<T>& g, const TensorNode<T>& n) {
    WIGGLE_KERNEL(embedding_backward, dinput(g, n, 0), n.grad, static_cast<const int*>(n.saved),
                  n.arg[0], n.arg[1], n.arg[2]);
}

// ----------------------------------------------------------------------------
// Layer norm over the last axis. arg: N rows, C channels, has bias; saved: mean (N), rstd (N).

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
    WIGGLE_KERNEL(layernorm_forward, y.data(), saved, saved + N, x.data(), weight.data(),
                  bias.defined() ? bias.data() : nullptr, N, C);
    return y;
}

// out = (x − mean)·rstd·w + b: dx, dw and db (the kernel writes all three)
template <typename T>
void tensor_ops::backward_layernorm(Graph<T>& g, const TensorNode<T>& n) {
    const int N = n.arg[0], C = n.arg[1];
    const T* saved = static_cast<const T*>(n.saved);
    T* dbias = n.arg[2] ? dinput_or_scratch(g, n, 2) : nullptr;
    WIGGLE_KERNEL(layernorm_backward, dinput_or_scratch(g, n, 0), dinput_or_scratch(g, n, 1), dbias,
                  n.grad, g.node(n.in[0]).data, g.node(n.in[1]).data, saved, saved + N, N, C);
}

// ----------------------------------------------------------------------------
// Dropout. farg: p; seed: the stream.

template <typename T>
Tensor<T> dropout(Tensor<T> x, float p, uint64_t seed) {
    WIGGLE_CHECK(p >= 0.0f && p < 1.0f, "", "dropout: p must be in [0, 1), got {}", p);
    if (p == 0.0f) return x;
    Tensor<T> y = make(x.graph(), TensorOp::Dropout, x.shape(), {x.id()});
    y.node().farg = p;
    y.node().seed = seed;
    WIGGLE_KERNEL(dropout_forward, y.data(), x.data(), p, seed, to_int(x.numel(), "dropout"));
    return y;
}

// out = keep(seed, i) ? x/(1−p) : 0: dx += the same mask applied to dout
template <typename T>
void tensor_ops::backward_dropout(Graph<T>& g, const TensorNode<T>& n) {
    WIGGLE_KERNEL(dropout_backward, dinput(g, n, 0), n.grad, n.farg, n.seed,
                  static_cast<int>(n.shape.numel()));
}

#define WIGGLE_NN_OPS(T)                                                               \
    template Tensor<T> matmul(Tensor<T>, Tensor<T>);                                   \
    template Tensor<T> softmax(Tensor<T>);                                             \
    template Tensor<T> log_softmax(Tensor<T>);                                         \
    template Tensor<T> cross_entropy(Tensor<T>, std::span<const int>);                 \
    template Tensor<T> embedding(Tensor<T>, std::span<const int>, Shape);              \
    template Tensor<T> layernorm(Tensor<T>, Tensor<T>, Tensor<T>);                     \
    template Tensor<T> dropout(Tensor<T>, float, uint64_t);                            \
    template void tensor_ops::backward_matmul(Graph<T>&, const TensorNode<T>&);        \
    template void tensor_ops::backward_softmax(Graph<T>&, const TensorNode<T>&);       \
    template void tensor_ops::backward_log_softmax(Graph<T>&, const TensorNode<T>&);   \
    template void tensor_ops::backward_cross_entropy(Graph<T>&, const TensorNode<T>&); \
    template void tensor_ops::backward_embedding(Graph<T>&, const TensorNode<T>&);     \
    template void tensor_ops::backward_layernorm(Graph<T>&, const TensorNode<T>&);     \
    template void tensor_ops::backward_dropout(Graph<T>&, const TensorNode<T>&);

WIGGLE_NN_OPS(float)
WIGGLE_NN_OPS(double)

}  // namespace wiggle
