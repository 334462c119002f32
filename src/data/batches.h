// Train/validation splits and shuffled minibatches (part 3), over example indices so they work
// for any data set (the toy sets, a CSV file, later the text corpora's windows).
//
//   Split s = split_train_val(300, 0.2, seed);   // 240 train, 60 val indices, disjoint
//   Minibatches batches(s.train, 32, seed);
//   for (int step = 0; step < steps; ++step) {
//       std::span<const size_t> idx = batches.next();  // 32 indices; a new epoch reshuffles
//   }
//
// Shuffles use PyRandom, so an order is the one Python's random.shuffle(list) gives for the
// same seed and list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "util/py_random.h"

namespace wiggle {

struct Split {
    std::vector<size_t> train, val;
};

// Shuffles 0..n-1 and puts the last round(n·val_fraction) indices (at least 1 when
// val_fraction > 0 and n >= 2) in val, the rest in train. Each part is sorted.
Split split_train_val(size_t n, double val_fraction, uint64_t seed);

// Consecutive batches of a list of indices, reshuffled at the start of every epoch. The last
// batch of an epoch may be smaller (nothing is dropped, so every example counts equally).
class Minibatches {
  public:
    Minibatches(std::vector<size_t> indices, size_t batch_size, uint64_t seed);
    std::span<const size_t> next();
    int epoch() const { return epoch_; }  // completed epochs
    size_t batch_size() const { return batch_size_; }

  private:
    std::vector<size_t> order_;
    size_t batch_size_, pos_ = 0;
    int epoch_ = 0;
    PyRandom rng_;
};

}  // namespace wiggle
