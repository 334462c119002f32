#include "scalar/value.h"

#include <algorithm>
#include <cmath>

namespace wiggle {

// ----------------------------------------------------------------------------
// Forward rules of the unary primitives (Add and Mul are inline in value.h).

Value pow(Value a, double exponent) {
    // The exponent rides along as a Leaf in the `b` slot, so Node stays 32 bytes.
    return Value(std::pow(a.data(), exponent), Op::Pow, a, Value(exponent));
}
Value exp(Value a) { return Value(std::exp(a.data()), Op::Exp, a); }
Value log(Value a) { return Value(std::log(a.data()), Op::Log, a); }
Value tanh(Value a) { return Value(std::tanh(a.data()), Op::Tanh, a); }
Value relu(Value a) { return Value(a.data() > 0.0 ? a.data() : 0.0, Op::Relu, a); }
Value sigmoid(Value a) {
    const double x = a.data();  // two branches so that exp never overflows
    const double s = x >= 0.0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    return Value(s, Op::Sigmoid, a);
}

// ----------------------------------------------------------------------------
// Backward: micrograd's `_backward` closures gathered into one switch. Every rule accumulates
// (+=), so a node used in several places receives the sum of its contributions.

void Tape::backward(uint32_t root) {
    Node* nodes = nodes_.data();
    assert(root < nodes_.size());
    // Computed nodes left with gradients by an earlier backward start again from zero.
    const size_t dirty = std::min<size_t>(dirty_end_, root + 1);
    for (size_t i = 0; i < dirty; ++i) {
        if (nodes[i].op != Op::Leaf) nodes[i].grad = 0.0;
    }
    dirty_end_ = std::max<size_t>(dirty_end_, root + 1);

    nodes[root].grad = 1.0;  // d(root)/d(root)
    for (size_t i = root + 1; i-- > 0;) {
        const Node& n = nodes[i];
        const double g = n.grad;
        Node& a = nodes[n.a];
        switch (n.op) {
            case Op::Leaf:
                break;
            case Op::Add:  // out = a + b
                a.grad += g;
                nodes[n.b].grad += g;
                break;
            case Op::Mul:  // out = a * b
                a.grad += nodes[n.b].data * g;
                nodes[n.b].grad += a.data * g;
                break;
            case Op::Pow: {  // out = a^k
                const double k = nodes[n.b].data;
                a.grad += k * std::pow(a.data, k - 1.0) * g;
                break;
            }
            case Op::Exp:
                a.grad += n.data * g;
                break;  // out = e^a
            case Op::Log:
                a.grad += g / a.data;
                break;  // out = ln a
            case Op::Tanh:
                a.grad += (1.0 - n.data * n.data) * g;
                break;  // out = tanh a
            case Op::Relu:
                a.grad += (n.data > 0.0 ? g : 0.0);
                break;  // out = max(a, 0)
            case Op::Sigmoid:
                a.grad += n.data * (1.0 - n.data) * g;
                break;  // out = 1/(1+e^-a)
        }
    }
}

void Tape::truncate(size_t mark) {
    assert(mark <= nodes_.size());
    nodes_.resize(mark);
    dirty_end_ = std::min(dirty_end_, mark);
}

}  // namespace wiggle
