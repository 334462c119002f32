// The processes of a data-parallel run: MPI's COMM_WORLD when wiggle is started by mpirun (and was
// built with MPI), else a world of one. It offers the few collectives training needs, each built
// so that its result does not depend on MPI's choice of algorithm: sums run in rank order.
//
//   World& world = World::get();                   // rank 0 of 1 without mpirun
//   const Shards shards(grads.size(), world.size(), 8192);
//   world.sum(grads, shards);                      // every rank: g_0 + g_1 + ... + g_{N-1}
//
// A sum is a reduce-scatter (each rank receives every rank's copy of its shard and adds them in
// rank order: ((g_0 + g_1) + g_2) + ...) followed by an all-gather of the summed shards. One
// process accumulating N micro-batches' gradients in order computes the very same additions, which
// is what makes N ranks and one process with N micro-batches per step give the same bits.
//
// Failure: once a world of several ranks exists, a WIGGLE_CHECK failure on any rank ends the whole
// job (MPI_Abort) with one line, instead of leaving the other ranks waiting in a collective.
// Not here: non-blocking collectives, overlapping communication with backward, other backends.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace wiggle {

// n elements split into one contiguous shard per rank, each a whole number of `align` elements but
// the last, as even as that allows.
class Shards {
  public:
    Shards(size_t n, int ranks, size_t align);
    size_t begin(int rank) const { return begin_[rank]; }
    size_t end(int rank) const { return begin_[rank + 1]; }
    size_t size(int rank) const { return end(rank) - begin(rank); }
    size_t largest() const;
    int ranks() const { return static_cast<int>(begin_.size()) - 1; }

  private:
    std::vector<size_t> begin_;  // ranks + 1 boundaries
};

class World {
  public:
    // The world of this process: MPI is initialized on the first call when mpirun started it.
    // Exits with a clear error when mpirun started it but wiggle was built without MPI.
    static World& get();

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }
    // "MPI" with the library's version, or "one process".
    const std::string& description() const { return description_; }

    // x (every rank's copy, the same length) becomes the element-wise sum over the ranks, in rank
    // order, on every rank. sum_shard leaves the sum in this rank's shard only (the rest of x is
    // unspecified); gather then copies every rank's shard of x to every rank.
    void sum(std::span<float> x, const Shards& shards);
    void sum_shard(std::span<float> x, const Shards& shards);
    void gather(std::span<float> x, const Shards& shards);
    // Every rank's shard (`mine`: this rank's shards.size(rank) elements) into `all` on rank 0
    // (all is not used elsewhere), and back from rank 0's `all` into every rank's `mine`.
    void gather_to_root(std::span<const float> mine, std::span<float> all, const Shards& shards);
    void scatter_from_root(std::span<const float> all, std::span<float> mine, const Shards& shards);
    // Every rank's `mine` (the same length on every rank), concatenated in rank order.
    std::vector<double> all_gather(std::span<const double> mine);
    // Rank 0's bytes to every rank.
    void broadcast(void* data, size_t bytes);
    // True on every rank if it is true on any.
    bool any(bool flag);

  private:
    World() = default;
    void init();
    int rank_ = 0, size_ = 1;
    std::string description_ = "one process";
    std::vector<float> received_;  // a reduce-scatter's incoming shards, ranks × shard
};

}  // namespace wiggle
