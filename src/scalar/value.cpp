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
// Backward: micrograd's `_backward` closures gathered into one loop. Every rule accumulates
// (+=), so a node used in several places receives the sum of its contributions. Add and Mul,
// nearly every node of a network's graph, are tested for before the switch: two predictable
// branches cost less than the switch's indirect jump (about 10% on the MLP benchmark).

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
        // Add and Mul are nearly every node of a network's graph: test for them first.
        if (n.op == Op::Mul) {  // out = a * b
            Node& b = nodes[n.b];
            a.grad += b.data * g;
            b.grad += a.data * g;
            continue;
        }
        if (n.op == Op::Add) {  // out = a + b
            a.grad += g;
            nodes[n.b].grad += g;
            continue;
        }
        switch (n.op) {
            case Op::Leaf:  // an input: nothing further back
            case Op::Add:   // handled above
            case Op::Mul:
                break;
            case Op::Pow: {  // out = a^k
                const double k = nodes[n.b].data;
                a.grad += k * std::pow(a.data, k - 1.0) * g;
                break;
            }
            case Op::Exp:  // out = e^a
                a.grad += n.data * g;
                break;
            case Op::Log:  // out = ln a
                a.grad += g / a.data;
                break;
            case Op::Tanh:  // out = tanh a
                a.grad += (1.0 - n.data * n.data) * g;
                break;
            case Op::Relu:  // out = max(a, 0)
                a.grad += (n.data > 0.0 ? g : 0.0);
                break;
            case Op::Sigmoid:  // out = 1/(1+e^-a)
                a.grad += n.data * (1.0 - n.data) * g;
                break;
        }
    }
}

void Tape::truncate(size_t mark) {
    assert(mark <= nodes_.size());
    nodes_.resize(mark);
    dirty_end_ = std::min(dirty_end_, mark);
}

}  // namespace wiggle
