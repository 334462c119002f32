// Parameters of a model in flat buffers with named views (llm.c's malloc_and_point_parameters):
// every parameter's values sit in one array, every gradient in another of the same layout, so
// zero_grad is one fill, an optimizer step is one loop, a checkpoint one write.
//
//   Params<float> params;
//   const int W1 = params.add("W1", {30, 200});             // decayed by AdamW
//   const int b1 = params.add("b1", {200}, /*decay=*/false);
//   ... fill params.data(W1) ...
//   Tensor<float> w1 = graph.param(params, W1);             // a leaf whose grad is params.grad(W1)
//
// Add every parameter before the first step: adding reallocates the buffers (and invalidates the
// pointers of earlier views), training never does.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace wiggle {

template <typename T>
class Params {
  public:
    struct Spec {
        std::string name;
        Shape shape;
        size_t offset;  // into the flat buffers
        bool decay;     // in AdamW's weight-decay group
    };

    // Adds a zero-initialized parameter; returns its id.
    int add(std::string name, const Shape& shape, bool decay = true) {
        // Each view starts on a 64-byte boundary; the padding is zeros that no view covers.
        constexpr size_t kAlign = 64 / sizeof(T);
        const size_t offset = (values_.size() + kAlign - 1) / kAlign * kAlign;
        specs_.push_back(Spec{std::move(name), shape, offset, decay});
        values_.resize(offset + static_cast<size_t>(shape.numel()), T(0));
        grads_.resize(values_.size(), T(0));
        return static_cast<int>(specs_.size() - 1);
    }

    T* data(int id) { return values_.data() + specs_[id].offset; }
    T* grad(int id) { return grads_.data() + specs_[id].offset; }
    const T* data(int id) const { return values_.data() + specs_[id].offset; }
    const T* grad(int id) const { return grads_.data() + specs_[id].offset; }
    std::span<T> values(int id) {
        return {data(id), static_cast<size_t>(specs_[id].shape.numel())};
    }
    std::span<T> grads(int id) { return {grad(id), static_cast<size_t>(specs_[id].shape.numel())}; }
    const Shape& shape(int id) const { return specs_[id].shape; }
    const Spec& spec(int id) const { return specs_[id]; }
    int count() const { return static_cast<int>(specs_.size()); }
    // The id of the parameter called name, or −1.
    int find(std::string_view name) const {
        for (int i = 0; i < count(); ++i) {
            if (specs_[i].name == name) return i;
        }
        return -1;
    }
    // Number of parameter elements (without the alignment padding).
    size_t numel() const {
        size_t n = 0;
        for (const Spec& s : specs_) n += static_cast<size_t>(s.shape.numel());
        return n;
    }

    // The whole flat buffers, padding included (zeros in both).
    std::span<T> values() { return values_; }
    std::span<T> grads() { return grads_; }
    void zero_grad() { std::fill(grads_.begin(), grads_.end(), T(0)); }

  private:
    std::vector<Spec> specs_;
    std::vector<T> values_;
    std::vector<T> grads_;
};

}  // namespace wiggle
