// The tensor engine of part 6: the scalar engine's tape, with whole arrays in the nodes.
//
//   Graph<float> g;                                   // one per training loop; reused every step
//   for (int step = 0; step < steps; ++step) {
//       g.reset();                                    // forget the last step's graph
//       Tensor<float> W = g.param(params, kW);        // parameters enter as leaves
//       Tensor<float> x = g.input({B, 30}, batch);    // data enters as a constant
//       Tensor<float> loss = cross_entropy(matmul(x, W), targets);
//       params.zero_grad();
//       loss.backward();                              // one reverse pass, += into every grad
//       optimizer.step(lr);
//   }
//
// As in scalar/value.h, every op appends one node to a tape in the order ops are called, which is
// already a topological order, so backward is one loop from the loss down (backward.cpp) calling
// each op's local derivative, written beside its forward rule (ops_*.cpp), which accumulates.
// What changes is the size of a node's payload: data and gradient are whole row-major float32
// arrays of up to 4 dimensions (double for the gradient checks: the engine is a template, and
// Graph<double> routes every op to the naive double kernels).
//
// Memory is planned, not sprinkled: parameters, gradients and optimizer state live in flat
// buffers owned by Params (params.h); everything a step computes (outputs, gradients, saved
// intermediates) is bump-allocated from the graph's Arena and dropped wholesale by reset(). After
// the first step the node array and the arena have the capacity they need, so a steady-state step
// allocates nothing.
//
// Deliberately not here: strides and non-contiguous views (transpose and permute copy), dtypes
// other than T, devices, in-place ops, higher-order gradients.
// reference: scalar/value.h; llm.c train_gpt2.c (the kernels); ggml (op enum, arena).
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace wiggle {

// ----------------------------------------------------------------------------
// Shape: up to 4 dimensions, row-major. Rank 0 is a scalar (one element).

constexpr int kMaxDims = 4;

struct Shape {
    std::array<int, kMaxDims> dims{};
    int rank = 0;

    Shape() = default;
    Shape(std::initializer_list<int> d);  // NOLINT: implicit, so ops take {B, T, C}

    int operator[](int i) const { return dims[i]; }
    int& operator[](int i) { return dims[i]; }
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < rank; ++i) n *= dims[i];
        return n;
    }
    // A possibly negative axis (−1 is the last) as an index in [0, rank); checks the range.
    int axis(int a) const;
    bool operator==(const Shape& o) const;
    std::string str() const;  // "(2, 3, 4)"
};

// ----------------------------------------------------------------------------
// Arena: a bump allocator for one step's arrays. Allocations are 64-byte aligned and live until
// reset(). It grows by adding blocks while a step runs (addresses already handed out never move);
// at reset() a multi-block arena is replaced by one block of the high-water size, so from the
// second step on it is one block that is never reallocated.

class Arena {
  public:
    Arena() = default;
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    void* allocate(size_t bytes);
    template <typename U>
    U* alloc(int64_t n) {
        return static_cast<U*>(allocate(sizeof(U) * static_cast<size_t>(n)));
    }
    void reset();
    size_t used() const;      // bytes handed out since the last reset
    size_t capacity() const;  // bytes held
    int blocks() const { return static_cast<int>(blocks_.size()); }

  private:
    struct Block {
        std::byte* base;
        size_t size;
        size_t used;
    };
    void add_block(size_t min_bytes);
    std::vector<Block> blocks_;
};

// ----------------------------------------------------------------------------
// The tape

// The ops. Their forward rules are the functions of ops.h; their local derivatives sit below them
// in ops_elementwise.cpp, ops_nn.cpp and ops_shape.cpp.
enum class TensorOp : uint8_t {
    Leaf,  // a parameter, an input or a constant: nothing to propagate
    View,  // reshape: same data, and the gradient buffer is shared with the input's
    Add,
    Sub,
    Mul,
    Div,    // broadcasting binary ops
    Scale,  // x · constant
    Exp,
    Log,
    Tanh,
    Relu,
    Gelu,  // elementwise maps
    Sum,
    Mean,
    Max,     // reductions over one axis
    Matmul,  // (batched) matrix product
    Softmax,
    LogSoftmax,
    CrossEntropy,  // over the last axis
    Embedding,
    LayerNorm,
    Permute,
    Slice,
    Concat,
    MaskedFill,
    Dropout,
};

template <typename T>
struct TensorNode {
    T* data;  // the forward value, shape.numel() elements
    T* grad;  // d(root)/d(this); null until backward (parameters: their grad buffer)
    Shape shape;
    uint32_t in[3];  // inputs, by node index
    TensorOp op;
    bool requires_grad;  // true if a parameter or a leaf with a gradient is upstream
    int32_t arg[4];      // op-specific integers (axis, start, length, ...; see ops_*.cpp)
    float farg;          // op-specific number (scale, fill value, dropout probability)
    uint64_t seed;       // dropout's random stream
    void* saved;         // op-specific saved buffer in the arena (argmax, mean/rstd, ids, mask)
};

template <typename T>
class Tensor;

template <typename T>
class Graph {
  public:
    Graph() { nodes_.reserve(256); }
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Drops every node and activation of the step; keeps the capacity for the next one.
    void reset() {
        nodes_.clear();
        lists_.clear();
        arena_.reset();
    }

    // A constant (no gradient) holding a copy of values (numel elements).
    Tensor<T> input(const Shape& shape, std::span<const T> values);
    // An uninitialized constant to fill through data().
    Tensor<T> empty(const Shape& shape);
    // A leaf that receives a gradient (for tests and small examples; models use param()).
    Tensor<T> leaf(const Shape& shape, std::span<const T> values);
    // A parameter living outside the graph (a view into Params): its gradient accumulates into
    // grad, which the caller zeroes (Params::zero_grad).
    Tensor<T> param(T* data, T* grad, const Shape& shape);
    template <typename P>  // any Params<T>
    Tensor<T> param(P& params, int id) {
        return param(params.data(id), params.grad(id), params.shape(id));
    }

    // Fills every grad upstream of root (a one-element tensor) with d(root)/d(node).
    void backward(Tensor<T> root);

    // ---- for the ops (ops_*.cpp) ----
    TensorNode<T>& node(uint32_t id) {
        assert(id < nodes_.size() && "Tensor used after its graph was reset");
        return nodes_[id];
    }
    // Appends a node computing op from inputs (ids), with its output allocated in the arena.
    uint32_t push(TensorOp op, const Shape& shape, std::initializer_list<uint32_t> inputs);
    // Appends a node as given (a view or a parameter: no output to allocate).
    uint32_t push_node(const TensorNode<T>& n) {
        nodes_.push_back(n);
        return static_cast<uint32_t>(nodes_.size() - 1);
    }
    Arena& arena() { return arena_; }
    T* alloc(int64_t n) { return arena_.alloc<T>(n); }
    // Stores a list of node ids (a concatenation's inputs); returns its offset.
    uint32_t push_list(std::span<const uint32_t> ids);
    const uint32_t* list(uint32_t offset) const { return lists_.data() + offset; }
    size_t size() const { return nodes_.size(); }
    size_t capacity() const { return nodes_.capacity(); }

  private:
    std::vector<TensorNode<T>> nodes_;
    std::vector<uint32_t> lists_;
    Arena arena_;
};

// A handle to one node of a graph: 16 bytes, copied freely, valid until the graph's reset().
template <typename T>
class Tensor {
  public:
    Tensor() = default;
    Tensor(Graph<T>* graph, uint32_t id) : graph_(graph), id_(id) {}

    bool defined() const { return graph_ != nullptr; }
    Graph<T>& graph() const { return *graph_; }
    uint32_t id() const { return id_; }
    TensorNode<T>& node() const { return graph_->node(id_); }

    const Shape& shape() const { return node().shape; }
    int rank() const { return node().shape.rank; }
    int dim(int axis) const { return node().shape[node().shape.axis(axis)]; }
    int64_t numel() const { return node().shape.numel(); }
    T* data() const { return node().data; }
    T* grad() const { return node().grad; }  // null before backward, or without a gradient
    std::span<T> values() const { return {data(), static_cast<size_t>(numel())}; }
    std::span<T> grads() const { return {grad(), grad() ? static_cast<size_t>(numel()) : 0}; }
    T item() const {
        assert(numel() == 1);
        return data()[0];
    }
    bool requires_grad() const { return node().requires_grad; }

    void backward() const { graph_->backward(*this); }

  private:
    Graph<T>* graph_ = nullptr;
    uint32_t id_ = 0;
};

extern template class Graph<float>;
extern template class Graph<double>;

}  // namespace wiggle
