// The toy data sets: against their noiseless closed forms (every point on its curve), against a
// CPython transcription of the same construction (tests/fixtures/toy_data.safetensors, written by
// scripts/fixtures/toy_data.py with Python's own `random`), and for reproducibility from a seed.
#include "data/toy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "fixture.h"

namespace wiggle {
namespace {

int count(const Dataset2D& d, int label) {
    int c = 0;
    for (int y : d.y) c += (y == label);
    return c;
}

TEST(Toy, MoonsWithoutNoiseLieOnTheirHalfCircles) {
    const Dataset2D d = make_moons(101, 0.0, 7);
    ASSERT_EQ(d.x.size(), 101u);
    ASSERT_EQ(d.y.size(), 101u);
    EXPECT_EQ(d.num_classes, 2);
    EXPECT_EQ(count(d, 0), 50);  // sklearn: n // 2 in the upper moon
    EXPECT_EQ(count(d, 1), 51);
    for (size_t i = 0; i < d.x.size(); ++i) {
        const auto [x, y] = d.x[i];
        // upper moon: unit circle around (0, 0), y >= 0; lower: around (1, 0.5), y <= 0.5
        const double cx = d.y[i] == 0 ? 0.0 : 1.0, cy = d.y[i] == 0 ? 0.0 : 0.5;
        EXPECT_NEAR(std::hypot(x - cx, y - cy), 1.0, 1e-12) << "point " << i;
        if (d.y[i] == 0) {
            EXPECT_GE(y, -1e-12) << "point " << i;
        } else {
            EXPECT_LE(y, 0.5 + 1e-12) << "point " << i;
        }
    }
}

TEST(Toy, CirclesWithoutNoiseLieOnTheirCircles) {
    const Dataset2D d = make_circles(60, 0.0, 0.4, 3);
    ASSERT_EQ(d.x.size(), 60u);
    EXPECT_EQ(count(d, 0), 30);
    for (size_t i = 0; i < d.x.size(); ++i) {
        const double r = std::hypot(d.x[i][0], d.x[i][1]);
        EXPECT_NEAR(r, d.y[i] == 0 ? 1.0 : 0.4, 1e-12) << "point " << i;
    }
}

TEST(Toy, SpiralArmsHaveRadiusAlongTheArmAndOneLabelEach) {
    const Dataset2D d = make_spirals(50, 4, 0.0, 5);
    ASSERT_EQ(d.x.size(), 200u);
    EXPECT_EQ(d.num_classes, 4);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(count(d, k), 50);
    // Without noise, a point of radius r = i/(N-1) on arm j sits at angle 4j + 4r.
    for (size_t i = 0; i < d.x.size(); ++i) {
        const auto [x, y] = d.x[i];
        const double r = std::hypot(x, y);
        EXPECT_LE(r, 1.0 + 1e-12);
        if (r < 1e-9) continue;
        const double t = 4.0 * d.y[i] + 4.0 * r;
        EXPECT_NEAR(x, r * std::sin(t), 1e-9) << "point " << i;
        EXPECT_NEAR(y, r * std::cos(t), 1e-9) << "point " << i;
    }
}

TEST(Toy, XorLabelsAreTheSignsDiffering) {
    const Dataset2D d = make_xor(40, 0.0, 1);
    ASSERT_EQ(d.x.size(), 40u);
    EXPECT_EQ(count(d, 1), 20);
    for (size_t i = 0; i < d.x.size(); ++i) {
        EXPECT_EQ(std::fabs(d.x[i][0]), 1.0);
        EXPECT_EQ(std::fabs(d.x[i][1]), 1.0);
        EXPECT_EQ(d.y[i], (d.x[i][0] > 0) != (d.x[i][1] > 0) ? 1 : 0);
    }
}

TEST(Toy, ASeedReproducesTheDataAndAnotherSeedChangesIt) {
    const Dataset2D a = make_moons(100, 0.1, 1337), b = make_moons(100, 0.1, 1337);
    const Dataset2D c = make_moons(100, 0.1, 1338);
    EXPECT_EQ(a.x, b.x);
    EXPECT_EQ(a.y, b.y);
    EXPECT_NE(a.x, c.x);
}

TEST(Toy, NoiseHasTheRequestedSpread) {
    // The distance of each moons point from its curve is |gaussian noise|: its RMS over many
    // points estimates sigma*sqrt(2) loosely (the curve is bent, so only to ~10%).
    const double sigma = 0.05;
    const Dataset2D d = make_moons(4000, sigma, 11);
    double sum = 0.0;
    for (size_t i = 0; i < d.x.size(); ++i) {
        const double cx = d.y[i] == 0 ? 0.0 : 1.0, cy = d.y[i] == 0 ? 0.0 : 0.5;
        const double e = std::hypot(d.x[i][0] - cx, d.x[i][1] - cy) - 1.0;
        sum += e * e;
    }
    EXPECT_NEAR(std::sqrt(sum / double(d.x.size())), sigma, 0.1 * sigma);
}

// The same constructions written in Python with CPython's `random`: every coordinate and label
// must match to the last bit or two (cos/sin may differ by an ulp between libms).
void expect_matches_fixture(const Dataset2D& d, const testing::Fixture& f,
                            const std::string& name) {
    std::vector<double> xs;
    std::vector<int> ys(d.y.begin(), d.y.end());
    for (const auto& p : d.x) {
        xs.push_back(p[0]);
        xs.push_back(p[1]);
    }
    EXPECT_TRUE(testing::all_close(xs, f.get<double>(name + "_x"), 1e-13, 1e-13)) << name;
    EXPECT_TRUE(testing::all_close(ys, f.get<int>(name + "_y"), 0.0, 0.0)) << name;
}

TEST(Toy, MatchesTheCPythonTranscription) {
    const testing::Fixture f("toy_data.safetensors");
    expect_matches_fixture(make_moons(100, 0.1, 1337), f, "moons");
    expect_matches_fixture(make_circles(50, 0.05, 0.5, 2), f, "circles");
    expect_matches_fixture(make_spirals(30, 3, 0.2, 3), f, "spirals");
    expect_matches_fixture(make_xor(20, 0.1, 4), f, "xor");
}

TEST(ToyDeath, BadArgumentsAreUserErrors) {
    EXPECT_EXIT(make_moons(0, 0.1, 1), ::testing::ExitedWithCode(1),
                "make_moons: n must be positive");
    EXPECT_EXIT(make_moons(10, -1.0, 1), ::testing::ExitedWithCode(1), "noise must be");
    EXPECT_EXIT(make_circles(10, 0.1, 1.5, 1), ::testing::ExitedWithCode(1), "factor");
    EXPECT_EXIT(make_spirals(10, 1, 0.1, 1), ::testing::ExitedWithCode(1), "at least 2 classes");
}

}  // namespace
}  // namespace wiggle
