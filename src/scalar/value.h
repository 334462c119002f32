// The scalar autograd engine of part 1: a double that remembers how it was computed.
//
//   Value a = 2.0, b = -3.0;
//   Value c = (a * b + 10.0).tanh();   // every operation appends one node to the tape
//   c.backward();                      // one reverse pass fills a.grad(), b.grad()
//
// micrograd keeps each node in its own heap object with a `_backward` closure and sorts the graph
// before walking it. wiggle keeps every node in one growing array, the tape, in the order the
// nodes were made. That order is already topological (a node's inputs always come before it), so
// backward is a single loop from the output down to the first node: no recursion, no sort, no
// per-node allocation. Each node is plain data: its value, its gradient, the indices of its
// (at most two) inputs and an op enum; the local derivatives live together in one switch in
// value.cpp, next to the forward rules below.
//
// Parameters are made first; each training step's graph goes on top of them and is discarded
// with a GraphScope, so the tape is reused step after step without allocating:
//
//   Value w = 0.5;                            // a parameter: lives for the whole program
//   for (int step = 0; step < 100; ++step) {
//       GraphScope graph;                     // nodes made from here on die at the end of the step
//       Value loss = (w * 3.0 - 1.0).pow(2);
//       w.grad() = 0.0;
//       loss.backward();
//       w.data() -= 0.1 * w.grad();
//   }
//
// One tape per process, used from one thread. A Value made inside a GraphScope must not be used
// after the scope ends (debug builds assert on it).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wiggle {

// The primitive operations. Everything else (-, /, neg, sigmoid of a difference...) is built
// from these.
enum class Op : uint8_t { Leaf, Add, Mul, Pow, Exp, Log, Tanh, Relu, Sigmoid };

// One node of the graph: 32 bytes of plain data.
struct Node {
    double data;  // the value computed in the forward pass
    double grad;  // d(output)/d(this node), filled in by backward
    uint32_t a;   // first input (unused for Leaf)
    uint32_t b;   // second input: Add/Mul operand, or for Pow the Leaf holding the exponent
    Op op;
};

class Tape {
  public:
    uint32_t push(double data, Op op, uint32_t a = 0, uint32_t b = 0) {
        assert(nodes_.size() < UINT32_MAX && "more than 4 billion nodes on the tape");
        nodes_.push_back(Node{data, 0.0, a, b, op});
        return static_cast<uint32_t>(nodes_.size() - 1);
    }
    Node& operator[](uint32_t id) {
        assert(id < nodes_.size() && "Value used after its GraphScope ended");
        return nodes_[id];
    }
    size_t size() const { return nodes_.size(); }

    // Drops every node made after `mark` (a size() taken earlier). Capacity is kept, so the
    // next step's graph reuses the memory.
    void truncate(size_t mark);

    // d(root)/d(node) for every node up to root. Gradients of inputs (leaves) accumulate across
    // calls, as in PyTorch: zero them between steps. Gradients of computed nodes are recomputed
    // from scratch each call, so calling backward twice gives the same answer both times.
    void backward(uint32_t root);

    // Reserves room for n nodes (optional: the tape grows by itself).
    void reserve(size_t n) { nodes_.reserve(n); }
    // Nodes the tape holds without allocating; steady-state training never grows it.
    size_t capacity() const { return nodes_.capacity(); }

  private:
    std::vector<Node> nodes_;
    // Computed nodes below this index may hold gradients of an earlier backward.
    size_t dirty_end_ = 0;
};

// The process's tape. Constant-initialized, so using it costs no guard check.
inline Tape g_tape;

// A handle to one node on the tape: 4 bytes, copied freely.
class Value {
  public:
    Value(double data) : id_(g_tape.push(data, Op::Leaf)) {}  // NOLINT: implicit, like micrograd
    Value(double data, Op op, Value a, Value b = Value::from_id(0))
        : id_(g_tape.push(data, op, a.id_, b.id_)) {}

    double& data() const { return g_tape[id_].data; }
    double& grad() const { return g_tape[id_].grad; }
    Op op() const { return g_tape[id_].op; }
    uint32_t id() const { return id_; }
    static Value from_id(uint32_t id) { return Value(id, Tag{}); }

    void backward() const { g_tape.backward(id_); }

    Value pow(double exponent) const;
    Value exp() const;
    Value log() const;
    Value tanh() const;
    Value relu() const;
    Value sigmoid() const;

  private:
    struct Tag {};
    Value(uint32_t id, Tag) : id_(id) {}
    uint32_t id_;
};

// Discards, when it goes out of scope, every node made since it was constructed.
class GraphScope {
  public:
    GraphScope() : mark_(g_tape.size()) {}
    ~GraphScope() { g_tape.truncate(mark_); }
    GraphScope(const GraphScope&) = delete;
    GraphScope& operator=(const GraphScope&) = delete;

  private:
    size_t mark_;
};

// ----------------------------------------------------------------------------
// Forward rules. The matching local derivatives are in Tape::backward (value.cpp), in this order.

inline Value operator+(Value a, Value b) { return Value(a.data() + b.data(), Op::Add, a, b); }
inline Value operator*(Value a, Value b) { return Value(a.data() * b.data(), Op::Mul, a, b); }
Value pow(Value a, double exponent);
Value exp(Value a);
Value log(Value a);
Value tanh(Value a);
Value relu(Value a);
Value sigmoid(Value a);

// Derived operations: one line each, from the primitives above (micrograd's __neg__, __sub__,
// __truediv__ and their reflected twins).
inline Value operator-(Value a) { return a * -1.0; }
inline Value operator-(Value a, Value b) { return a + (-b); }
inline Value operator/(Value a, Value b) { return a * pow(b, -1.0); }
inline Value operator+(Value a, double b) { return a + Value(b); }
inline Value operator+(double a, Value b) { return Value(a) + b; }
inline Value operator*(Value a, double b) { return a * Value(b); }
inline Value operator*(double a, Value b) { return Value(a) * b; }
inline Value operator-(Value a, double b) { return a + (-b); }
inline Value operator-(double a, Value b) { return Value(a) + (-b); }
inline Value operator/(Value a, double b) { return a * (1.0 / b); }
inline Value operator/(double a, Value b) { return Value(a) * pow(b, -1.0); }
inline Value& operator+=(Value& a, Value b) { return a = a + b; }
inline Value& operator*=(Value& a, Value b) { return a = a * b; }
inline Value& operator-=(Value& a, Value b) { return a = a - b; }
inline Value& operator/=(Value& a, Value b) { return a = a / b; }

inline Value Value::pow(double exponent) const { return wiggle::pow(*this, exponent); }
inline Value Value::exp() const { return wiggle::exp(*this); }
inline Value Value::log() const { return wiggle::log(*this); }
inline Value Value::tanh() const { return wiggle::tanh(*this); }
inline Value Value::relu() const { return wiggle::relu(*this); }
inline Value Value::sigmoid() const { return wiggle::sigmoid(*this); }

}  // namespace wiggle
