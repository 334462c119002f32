// Toy 2-D data sets for parts 2 and 3, drawn with PyRandom so that a seed gives the same points
// on every machine. The shapes follow sklearn (make_moons, make_circles) and cs231n (spirals);
// the random numbers cannot match numpy's, so the points are the same shapes, not the same points.
//
// reference: sklearn/datasets/_samples_generator.py (make_moons, make_circles);
// cs231n.github.io/neural-networks-case-study (the spiral data).
#include "data/toy.h"

#include <cmath>
#include <numbers>
#include <numeric>

#include "util/check.h"
#include "util/py_random.h"

namespace wiggle {

namespace {

// numpy.linspace(start, stop, n, endpoint): n evenly spaced numbers.
double linspace_at(double start, double stop, int n, int i, bool endpoint = true) {
    const int div = endpoint ? n - 1 : n;
    if (div <= 0) return start;
    return start + (stop - start) * double(i) / double(div);
}

// Adds gaussian noise to every coordinate (x then y, point by point), then shuffles the points
// as sklearn's shuffle=True does, so that neighbours in the array are not neighbours in space.
void add_noise_and_shuffle(Dataset2D& d, double noise, PyRandom& rng) {
    if (noise > 0.0) {
        for (auto& p : d.x) {
            p[0] += rng.gauss(0.0, noise);
            p[1] += rng.gauss(0.0, noise);
        }
    }
    std::vector<size_t> order(d.x.size());
    std::iota(order.begin(), order.end(), size_t{0});
    rng.shuffle(order);
    Dataset2D out;
    out.num_classes = d.num_classes;
    out.x.reserve(order.size());
    out.y.reserve(order.size());
    for (size_t i : order) {
        out.x.push_back(d.x[i]);
        out.y.push_back(d.y[i]);
    }
    d = std::move(out);
}

void check_common(int n, double noise, const char* what) {
    WIGGLE_CHECK(n >= 1, "ask for at least one point", "{}: n must be positive, got {}", what, n);
    WIGGLE_CHECK(noise >= 0.0 && std::isfinite(noise), "use a noise of 0 or more",
                 "{}: noise must be a finite number >= 0, got {}", what, noise);
}

}  // namespace

Dataset2D make_moons(int n, double noise, uint64_t seed) {
    check_common(n, noise, "make_moons");
    PyRandom rng(seed);
    Dataset2D d;
    d.num_classes = 2;
    const int n_out = n / 2, n_in = n - n_out;  // sklearn's split
    const double pi = std::numbers::pi;
    for (int i = 0; i < n_out; ++i) {  // the upper moon, label 0
        const double t = linspace_at(0.0, pi, n_out, i);
        d.x.push_back({std::cos(t), std::sin(t)});
        d.y.push_back(0);
    }
    for (int i = 0; i < n_in; ++i) {  // the lower moon, shifted right and down, label 1
        const double t = linspace_at(0.0, pi, n_in, i);
        d.x.push_back({1.0 - std::cos(t), 1.0 - std::sin(t) - 0.5});
        d.y.push_back(1);
    }
    add_noise_and_shuffle(d, noise, rng);
    return d;
}

Dataset2D make_circles(int n, double noise, double factor, uint64_t seed) {
    check_common(n, noise, "make_circles");
    WIGGLE_CHECK(factor >= 0.0 && factor < 1.0, "pass a factor in [0, 1), e.g. 0.5",
                 "make_circles: the inner circle's factor must be in [0, 1), got {}", factor);
    PyRandom rng(seed);
    Dataset2D d;
    d.num_classes = 2;
    const int n_out = n / 2, n_in = n - n_out;
    const double two_pi = 2.0 * std::numbers::pi;
    for (int i = 0; i < n_out; ++i) {  // outer circle, label 0 (endpoint=False: no doubled point)
        const double t = linspace_at(0.0, two_pi, n_out, i, false);
        d.x.push_back({std::cos(t), std::sin(t)});
        d.y.push_back(0);
    }
    for (int i = 0; i < n_in; ++i) {  // inner circle, label 1
        const double t = linspace_at(0.0, two_pi, n_in, i, false);
        d.x.push_back({factor * std::cos(t), factor * std::sin(t)});
        d.y.push_back(1);
    }
    add_noise_and_shuffle(d, noise, rng);
    return d;
}

Dataset2D make_spirals(int n_per_class, int num_classes, double noise, uint64_t seed) {
    check_common(n_per_class, noise, "make_spirals");
    WIGGLE_CHECK(num_classes >= 2, "pass 2 classes or more",
                 "make_spirals: need at least 2 classes, got {}", num_classes);
    PyRandom rng(seed);
    Dataset2D d;
    d.num_classes = num_classes;
    // cs231n: arm j has radius 0..1 and angle 4j..4(j+1) plus gaussian noise on the angle.
    for (int j = 0; j < num_classes; ++j) {
        for (int i = 0; i < n_per_class; ++i) {
            const double r = linspace_at(0.0, 1.0, n_per_class, i);
            const double t = linspace_at(4.0 * j, 4.0 * (j + 1), n_per_class, i) +
                             (noise > 0.0 ? rng.gauss(0.0, noise) : 0.0);
            d.x.push_back({r * std::sin(t), r * std::cos(t)});
            d.y.push_back(j);
        }
    }
    add_noise_and_shuffle(d, 0.0, rng);  // the noise went into the angle
    return d;
}

Dataset2D make_xor(int n, double noise, uint64_t seed) {
    check_common(n, noise, "make_xor");
    PyRandom rng(seed);
    Dataset2D d;
    d.num_classes = 2;
    // The corners in turn: (-1,-1) 0, (-1,1) 1, (1,-1) 1, (1,1) 0. Label = the signs differ.
    static constexpr double kCorners[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    for (int i = 0; i < n; ++i) {
        const double* c = kCorners[i % 4];
        d.x.push_back({c[0], c[1]});
        d.y.push_back((c[0] > 0) != (c[1] > 0) ? 1 : 0);
    }
    add_noise_and_shuffle(d, noise, rng);
    return d;
}

}  // namespace wiggle
