// Splits and minibatches; see batches.h.
#include "data/batches.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/check.h"

namespace wiggle {

Split split_train_val(size_t n, double val_fraction, uint64_t seed) {
    WIGGLE_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "use a fraction like 0.2",
                 "the validation fraction must be in [0, 1), got {}", val_fraction);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    PyRandom rng(seed);
    rng.shuffle(order);
    size_t n_val = static_cast<size_t>(std::llround(double(n) * val_fraction));
    if (val_fraction > 0.0 && n >= 2) n_val = std::clamp<size_t>(n_val, 1, n - 1);
    WIGGLE_CHECK(n - n_val >= 1, "use more examples",
                 "cannot split {} examples into train and validation", n);
    Split s;
    s.train.assign(order.begin(), order.end() - static_cast<std::ptrdiff_t>(n_val));
    s.val.assign(order.end() - static_cast<std::ptrdiff_t>(n_val), order.end());
    std::sort(s.train.begin(), s.train.end());
    std::sort(s.val.begin(), s.val.end());
    return s;
}

Minibatches::Minibatches(std::vector<size_t> indices, size_t batch_size, uint64_t seed)
    : order_(std::move(indices)), batch_size_(batch_size), rng_(seed) {
    WIGGLE_CHECK(!order_.empty(), "", "no examples to draw minibatches from");
    WIGGLE_CHECK(batch_size >= 1, "pass a batch size of 1 or more",
                 "batch size must be positive, got {}", batch_size);
    rng_.shuffle(order_);
}

std::span<const size_t> Minibatches::next() {
    if (pos_ >= order_.size()) {  // an epoch is over: a new order
        rng_.shuffle(order_);
        pos_ = 0;
        ++epoch_;
    }
    const size_t n = std::min(batch_size_, order_.size() - pos_);
    std::span<const size_t> batch(order_.data() + pos_, n);
    pos_ += n;
    return batch;
}

}  // namespace wiggle
