// Toy 2-D data sets for the MLP parts (2 and 3), generated from a seed with PyRandom.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace wiggle {

// n points with 2 features and an integer label each.
struct Dataset2D {
    std::vector<std::array<double, 2>> x;
    std::vector<int> y;
    int num_classes = 2;
};

// Two interleaving half circles (sklearn's make_moons construction), labels 0/1, gaussian noise
// of standard deviation `noise` on both coordinates.
Dataset2D make_moons(int n, double noise, uint64_t seed);
// Two concentric circles (sklearn's make_circles), inner radius `factor`, labels 0 (outer) / 1.
Dataset2D make_circles(int n, double noise, double factor, uint64_t seed);
// K interleaved spiral arms, n_per_class points each (the cs231n construction), labels 0..K-1.
Dataset2D make_spirals(int n_per_class, int num_classes, double noise, uint64_t seed);
// The four XOR corners repeated to n points with noise, labels 0/1.
Dataset2D make_xor(int n, double noise, uint64_t seed);

}  // namespace wiggle
