// Part 2's MLP (micrograd's demo) trained through an installed wiggle: 2 -> 16 -> 16 -> 1 ReLUs
// on 100 two-moons points, SVM loss + 1e-4·L2, 100 full-batch steps with the learning rate
// decaying from 1.0 to 0.1. Prints the training accuracy; exits 1 below 100%.
#include <cstdio>
#include <vector>

#include "data/toy.h"
#include "scalar/nn.h"
#include "scalar/value.h"
#include "util/py_random.h"

int main() {
    using wiggle::Value;
    const wiggle::Dataset2D moons = wiggle::make_moons(100, 0.1, 1337);
    wiggle::PyRandom rng(1337);
    const wiggle::MLP model(2, {16, 16, 1}, rng);
    auto accuracy = [&] {
        int right = 0;
        for (size_t i = 0; i < moons.y.size(); ++i) {
            wiggle::GraphScope graph;
            const double score = model(moons.x[i])[0].data();
            right += (score > 0) == (moons.y[i] == 1);
        }
        return double(right) / double(moons.y.size());
    };
    for (int k = 0; k < 100; ++k) {
        wiggle::GraphScope graph;  // this step's nodes go at its end
        Value loss(0.0);
        for (size_t i = 0; i < moons.y.size(); ++i) {
            const double y = moons.y[i] == 1 ? 1.0 : -1.0;
            loss = loss + (1.0 - y * model(moons.x[i])[0]).relu();  // SVM max-margin loss
        }
        Value l2(0.0);
        for (const Value& p : model.parameters()) l2 = l2 + p * p;
        loss = loss / double(moons.y.size()) + 1e-4 * l2;
        model.zero_grad();
        loss.backward();
        const double lr = 1.0 - 0.9 * k / 100.0;
        for (const Value& p : model.parameters()) p.data() -= lr * p.grad();
    }
    const double acc = accuracy();
    std::printf("moons MLP through the installed wiggle: train accuracy %.0f%%\n", 100 * acc);
    return acc == 1.0 ? 0 : 1;
}
