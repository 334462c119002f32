// Shape, the arena and the graph's bookkeeping. The ops are in ops_*.cpp, the backward pass in
// backward.cpp.
#include "tensor/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "util/check.h"

namespace wiggle {

// ----------------------------------------------------------------------------
// Shape

Shape::Shape(std::initializer_list<int> d) {
    WIGGLE_CHECK(d.size() <= kMaxDims, "", "a tensor has at most {} dimensions, got {}", kMaxDims,
                 d.size());
    for (int x : d) dims[rank++] = x;
}

int Shape::axis(int a) const {
    const int r = a < 0 ? a + rank : a;
    WIGGLE_CHECK(r >= 0 && r < rank, "", "axis {} is out of range for shape {}", a, str());
    return r;
}

bool Shape::operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; ++i) {
        if (dims[i] != o.dims[i]) return false;
    }
    return true;
}

std::string Shape::str() const {
    std::string s = "(";
    for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + ")";
}

// ----------------------------------------------------------------------------
// Arena

constexpr size_t kArenaAlign = 64;  // a cache line, and an AVX-512 register
constexpr size_t kArenaFirstBlock = 1 << 20;

Arena::~Arena() {
    for (Block& b : blocks_) std::free(b.base);
}

void Arena::add_block(size_t min_bytes) {
    const size_t last = blocks_.empty() ? 0 : blocks_.back().size;
    size_t size = std::max({min_bytes, kArenaFirstBlock, 2 * last});
    size = (size + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
    auto* base = static_cast<std::byte*>(std::aligned_alloc(kArenaAlign, size));
    WIGGLE_CHECK(base != nullptr, "use smaller batches or models", "out of memory: {} bytes", size);
    blocks_.push_back(Block{base, size, 0});
}

void* Arena::allocate(size_t bytes) {
    bytes = (bytes + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
    if (blocks_.empty() || blocks_.back().size - blocks_.back().used < bytes) add_block(bytes);
    Block& b = blocks_.back();
    void* p = b.base + b.used;
    b.used += bytes;
    return p;
}

void Arena::reset() {
    if (blocks_.size() > 1) {
        // The step needed more than one block: next time, one block of the whole size.
        const size_t total = capacity();
        for (Block& b : blocks_) std::free(b.base);
        blocks_.clear();
        add_block(total);
    }
    if (!blocks_.empty()) blocks_.back().used = 0;
}

size_t Arena::used() const {
    size_t n = 0;
    for (const Block& b : blocks_) n += b.used;
    return n;
}

size_t Arena::capacity() const {
    size_t n = 0;
    for (const Block& b : blocks_) n += b.size;
    return n;
}

// ----------------------------------------------------------------------------
// Graph bookkeeping

template <typename T>
uint32_t Graph<T>::push(TensorOp op, const Shape& shape, std::initializer_list<uint32_t> inputs) {
    TensorNode<T> n{};
    n.data = arena_.alloc<T>(shape.numel());
    n.shape = shape;
    n.op = op;
    int k = 0;
    for (uint32_t id : inputs) {
        n.in[k++] = id;
        n.requires_grad = n.requires_grad || nodes_[id].requires_grad;
    }
    nodes_.push_back(n);
    return static_cast<uint32_t>(nodes_.size() - 1);
}

template <typename T>
uint32_t Graph<T>::push_list(std::span<const uint32_t> ids) {
    const auto offset = static_cast<uint32_t>(lists_.size());
    lists_.insert(lists_.end(), ids.begin(), ids.end());
    return offset;
}

template <typename T>
Tensor<T> Graph<T>::empty(const Shape& shape) {
    return Tensor<T>(this, push(TensorOp::Leaf, shape, {}));
}

template <typename T>
Tensor<T> Graph<T>::input(const Shape& shape, std::span<const T> values) {
    WIGGLE_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "",
                 "input of shape {} needs {} values, got {}", shape.str(), shape.numel(),
                 values.size());
    Tensor<T> t = empty(shape);
    std::memcpy(t.data(), values.data(), sizeof(T) * values.size());
    return t;
}

template <typename T>
Tensor<T> Graph<T>::leaf(const Shape& shape, std::span<const T> values) {
    Tensor<T> t = input(shape, values);
    TensorNode<T>& n = t.node();
    n.grad = arena_.alloc<T>(shape.numel());
    std::memset(n.grad, 0, sizeof(T) * shape.numel());
    n.requires_grad = true;
    return t;
}

template <typename T>
Tensor<T> Graph<T>::param(T* data, T* grad, const Shape& shape) {
    TensorNode<T> n{};
    n.data = data;
    n.grad = grad;
    n.shape = shape;
    n.op = TensorOp::Leaf;
    n.requires_grad = grad != nullptr;
    return Tensor<T>(this, push_node(n));
}

template class Graph<float>;
template class Graph<double>;

}  // namespace wiggle
