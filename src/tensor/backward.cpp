// The backward pass: one reverse loop over the tape, calling each node's local derivative (defined
// beside its forward rule in ops_*.cpp), which accumulates into its inputs' gradients. The tape is
// already in topological order (ops append nodes as they are called), so nothing is sorted.
#include "tensor/ops_internal.h"

namespace wiggle {

using namespace tensor_ops;

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
        std::memset(n.grad, 0, sizeof(T) * static_cast<size_t>(size));
    }
    nodes_[r].grad[0] += T(1);  // d(root)/d(root)

    for (uint32_t i = r + 1; i-- > 0;) {
        const TensorNode<T>& n = nodes_[i];
        if (!n.requires_grad) continue;
        switch (n.op) {  // in TensorOp's order
            case TensorOp::Leaf:
            case TensorOp::View:
                break;
            case TensorOp::Add:
            case TensorOp::Sub:
            case TensorOp::Mul:
            case TensorOp::Div:
                backward_binary(*this, n);
                break;
            case TensorOp::Scale:
            case TensorOp::Exp:
            case TensorOp::Log:
            case TensorOp::Tanh:
            case TensorOp::Relu:
                backward_unary(*this, n);
                break;
            case TensorOp::Gelu:
                backward_gelu(*this, n);
                break;
            case TensorOp::Sum:
            case TensorOp::Mean:
            case TensorOp::Max:
                backward_reduce(*this, n);
                break;
            case TensorOp::Matmul:
                backward_matmul(*this, n);
                break;
            case TensorOp::Softmax:
                backward_softmax(*this, n);
                break;
            case TensorOp::LogSoftmax:
                backward_log_softmax(*this, n);
                break;
            case TensorOp::CrossEntropy:
                backward_cross_entropy(*this, n);
                break;
            case TensorOp::Embedding:
                backward_embedding(*this, n);
                break;
            case TensorOp::LayerNorm:
                backward_layernorm(*this, n);
                break;
            case TensorOp::Permute:
                backward_permute(*this, n);
                break;
            case TensorOp::Slice:
                backward_slice(*this, n);
                break;
            case TensorOp::Concat:
                backward_concat(*this, n);
                break;
            case TensorOp::MaskedFill:
                backward_masked_fill(*this, n);
                break;
            case TensorOp::Dropout:
                backward_dropout(*this, n);
                break;
        }
    }
}

template void Graph<float>::backward(Tensor<float>);
template void Graph<double>::backward(Tensor<double>);

}  // namespace wiggle
