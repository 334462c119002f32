// Helpers for the tensor engine's tests: seeded inputs and a finite-difference gradient check of a
// whole graph in double precision.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <vector>

#include "tensor/ops.h"

namespace wiggle::testing {

// Uniform values in [lo, hi), from a seed.
inline std::vector<double> uniform(int64_t n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = dist(rng);
    return v;
}

struct LeafSpec {
    Shape shape;
    double lo = -1.0, hi = 1.0;  // where the leaf's values are drawn from
};

using GraphFn = std::function<Tensor<double>(std::span<Tensor<double>> leaves)>;

// Checks the gradient of every leaf of f against central differences, in double precision:
// loss = Σ w ⊙ f(leaves) with fixed random weights w (so every output element matters with a
// different weight), backward once, then each leaf element is nudged by ±h and the loss
// recomputed. Passes if |analytic − numeric| ≤ tol·max(1, |numeric|) everywhere.
inline ::testing::AssertionResult gradcheck(const std::vector<LeafSpec>& specs, const GraphFn& f,
                                            uint32_t seed = 1, double tol = 1e-6, double h = 1e-6) {
    std::vector<std::vector<double>> values;
    for (size_t i = 0; i < specs.size(); ++i) {
        values.push_back(uniform(specs[i].shape.numel(), seed + 17 * static_cast<uint32_t>(i),
                                 specs[i].lo, specs[i].hi));
    }
    Graph<double> g;
    std::vector<Tensor<double>> leaves(specs.size());
    std::vector<double> weights;
    auto loss_of = [&](bool keep_grads, std::vector<std::vector<double>>* grads) {
        g.reset();
        for (size_t i = 0; i < specs.size(); ++i) leaves[i] = g.leaf(specs[i].shape, values[i]);
        Tensor<double> out = f(leaves);
        if (weights.empty()) weights = uniform(out.numel(), seed + 1000, 0.5, 1.5);
        Tensor<double> loss = sum(mul(out, g.input(out.shape(), weights)));
        if (keep_grads) {
            loss.backward();
            for (size_t i = 0; i < specs.size(); ++i) {
                grads->emplace_back(leaves[i].grad(), leaves[i].grad() + leaves[i].numel());
            }
        }
        return loss.item();
    };
    std::vector<std::vector<double>> analytic;
    loss_of(true, &analytic);

    std::ostringstream report;
    int bad = 0;
    double max_err = 0;
    for (size_t i = 0; i < specs.size(); ++i) {
        for (size_t j = 0; j < values[i].size(); ++j) {
            const double x0 = values[i][j];
            values[i][j] = x0 + h;
            const double lp = loss_of(false, nullptr);
            values[i][j] = x0 - h;
            const double lm = loss_of(false, nullptr);
            values[i][j] = x0;
            const double numeric = (lp - lm) / (2 * h);
            const double err =
                std::fabs(numeric - analytic[i][j]) / std::max(1.0, std::fabs(numeric));
            max_err = std::max(max_err, err);
            if (!(err <= tol)) {
                if (bad < 5) {
                    report << "\n  leaf " << i << " " << specs[i].shape.str() << " [" << j
                           << "]: numeric " << numeric << ", analytic " << analytic[i][j];
                }
                ++bad;
            }
        }
    }
    if (bad == 0) return ::testing::AssertionSuccess() << "max error " << max_err;
    return ::testing::AssertionFailure()
           << bad << " gradient elements differ, max error " << max_err << report.str();
}

}  // namespace wiggle::testing
