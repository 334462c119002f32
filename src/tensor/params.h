// The parameter store of every model from part 6 on (the tape models and the GPT alike): every
// parameter's values in one flat array, every gradient in another with the same layout, named views
// into both (llm.c's malloc_and_point_parameters). zero_grad is one fill, an optimizer step one
// loop over the arrays, a checkpoint one write.
//
//   Params<float> params;
//   const int W1 = params.add("W1", {30, 200});             // in the weight-decay group
//   const int b1 = params.add("b1", {200}, /*decay=*/false);
//   ... fill params.values(W1) ...
//   Tensor<float> w1 = graph.param(params, W1);             // a leaf whose grad is params.grad(W1)
//
// The parameters lie back to back in the order they were added, without padding, so the flat
// arrays are exactly numel() long and a checkpoint or an optimizer moment is the same bytes
// whatever the model. Add every parameter before the first step: adding reallocates the arrays
// (and invalidates earlier pointers), training never does. A store made without gradients (for
// sampling and evaluation only) has an empty gradient array.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/elementwise.h"
#include "tensor/tensor.h"
#include "util/aligned.h"

namespace wiggle {

template <typename T>
class Params {
  public:
    struct Spec {
        std::string name;
        Shape shape;
        size_t offset;  // into the flat arrays
        size_t numel;
        bool decay;  // in AdamW's weight-decay group
    };

    explicit Params(bool with_grads = true) : with_grads_(with_grads) {}

    // Room for n values (and gradients) in all, so that adding parameters up to n never moves
    // them (nor holds two copies while it does).
    void reserve(size_t n) {
        values_.reserve(n);
        if (with_grads_) grads_.reserve(n);
    }

    // Adds a zero-initialized parameter; returns its id.
    int add(std::string name, const Shape& shape, bool decay = true) {
        const size_t offset = values_.size(), numel = static_cast<size_t>(shape.numel());
        specs_.push_back(Spec{std::move(name), shape, offset, numel, decay});
        values_.resize(offset + numel, T(0));
        if (with_grads_) grads_.resize(values_.size(), T(0));
        return static_cast<int>(specs_.size() - 1);
    }

    T* data(int id) { return values_.data() + specs_[id].offset; }
    const T* data(int id) const { return values_.data() + specs_[id].offset; }
    T* grad(int id) { return has_grads() ? grads_.data() + specs_[id].offset : nullptr; }
    const T* grad(int id) const {
        return has_grads() ? grads_.data() + specs_[id].offset : nullptr;
    }
    std::span<T> values(int id) { return {data(id), specs_[id].numel}; }
    std::span<const T> values(int id) const { return {data(id), specs_[id].numel}; }
    std::span<T> grads(int id) { return {grad(id), has_grads() ? specs_[id].numel : 0}; }
    const Shape& shape(int id) const { return specs_[id].shape; }
    const Spec& spec(int id) const { return specs_[id]; }
    const std::vector<Spec>& specs() const { return specs_; }
    int count() const { return static_cast<int>(specs_.size()); }
    // The id of the parameter called name, or −1.
    int find(std::string_view name) const {
        for (int i = 0; i < count(); ++i) {
            if (specs_[i].name == name) return i;
        }
        return -1;
    }
    size_t numel() const { return values_.size(); }
    bool has_grads() const { return with_grads_; }

    // The whole flat arrays.
    std::span<T> values() { return values_; }
    std::span<const T> values() const { return values_; }
    std::span<T> grads() { return grads_; }
    std::span<const T> grads() const { return grads_; }

    // Sets every gradient to zero (backward accumulates).
    void zero_grad() { kernels::zero(grads_.data(), static_cast<long>(grads_.size())); }

  private:
    std::vector<Spec> specs_;
    AlignedVector<T> values_;
    AlignedVector<T> grads_;
    bool with_grads_;
};

}  // namespace wiggle
