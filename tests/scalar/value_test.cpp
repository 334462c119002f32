// The scalar engine against its oracles: central differences in double (grad_check) for every op at
// several points, micrograd's README numbers, and hand-derived gradients for the graph shapes that
// micrograd gets wrong.
#include "scalar/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "scalar/gradcheck.h"

namespace wiggle {
namespace {

using Fn = Value (*)(std::span<const Value>);

// Checks f's gradient at every point; `tol` bounds the relative error (absolute below 1e-8).
void expect_gradients_match(const char* name, Fn f, const std::vector<std::vector<double>>& points,
                            double tol = 1e-6, double h = 1e-6, double floor = 1e-8) {
    for (const std::vector<double>& p : points) {
        const GradCheck r = grad_check(f, p, h, floor);
        std::string where;
        for (double v : p) where += std::to_string(v) + " ";
        EXPECT_LT(r.max_rel_error, tol)
            << name << " at ( " << where << "): coordinate " << r.worst << " analytic "
            << r.analytic[r.worst] << " numerical " << r.numerical[r.worst];
    }
}

TEST(Value, AddAndMul) {
    expect_gradients_match("a+b", [](std::span<const Value> x) { return x[0] + x[1]; },
                           {{1.0, 2.0}, {-3.5, 0.25}, {1e3, -1e-3}});
    expect_gradients_match("a*b", [](std::span<const Value> x) { return x[0] * x[1]; },
                           {{1.0, 2.0}, {-3.5, 0.25}, {0.0, 7.0}, {1e3, -1e-3}});
    expect_gradients_match("a*a", [](std::span<const Value> x) { return x[0] * x[0]; },
                           {{3.0}, {-0.5}});
}

TEST(Value, DoubleOnEitherSide) {
    expect_gradients_match("2+a, a+2",
                           [](std::span<const Value> x) { return (2.0 + x[0]) * (x[0] + 2.0); },
                           {{1.5}, {-4.0}});
    expect_gradients_match("3*a, a*3",
                           [](std::span<const Value> x) { return (3.0 * x[0]) * (x[0] * 3.0); },
                           {{1.5}, {-4.0}});
    expect_gradients_match(
        "1-a, a-1", [](std::span<const Value> x) { return (1.0 - x[0]) * (x[0] - 1.0) * x[0]; },
        {{1.5}, {-4.0}});
    expect_gradients_match("1/a, a/2",
                           [](std::span<const Value> x) { return (1.0 / x[0]) + (x[0] / 2.0); },
                           {{1.5}, {-4.0}, {0.01}});
}

TEST(Value, SubDivNeg) {
    expect_gradients_match("a-b", [](std::span<const Value> x) { return x[0] - x[1]; },
                           {{1.0, 2.0}, {-3.5, 0.25}});
    expect_gradients_match("a/b", [](std::span<const Value> x) { return x[0] / x[1]; },
                           {{1.0, 2.0}, {-3.5, 0.25}, {2.0, -1e-2}});
    expect_gradients_match("-a", [](std::span<const Value> x) { return -x[0] * x[0]; },
                           {{1.0}, {-3.0}});
    expect_gradients_match("compound assignment",
                           [](std::span<const Value> x) {
                               Value y = x[0];
                               y += x[1];
                               y *= x[0];
                               y -= x[1];
                               y /= x[1];
                               return y;
                           },
                           {{1.0, 2.0}, {-0.7, 3.0}});
}

TEST(Value, Pow) {
    expect_gradients_match("a^2", [](std::span<const Value> x) { return x[0].pow(2.0); },
                           {{3.0}, {-0.5}, {0.0}});
    expect_gradients_match("a^3", [](std::span<const Value> x) { return x[0].pow(3.0); },
                           {{3.0}, {-0.5}});
    expect_gradients_match("a^-1", [](std::span<const Value> x) { return x[0].pow(-1.0); },
                           {{3.0}, {-0.5}, {1e-2}});
    expect_gradients_match("a^0.5", [](std::span<const Value> x) { return x[0].pow(0.5); },
                           {{3.0}, {1e-2}, {1e4}});
    expect_gradients_match("a^-2.5", [](std::span<const Value> x) { return pow(x[0], -2.5); },
                           {{3.0}, {0.7}});
}

TEST(Value, Exp) {
    // large and small arguments: the gradient is the value itself, from 1e-22 to 5e21
    expect_gradients_match("exp", [](std::span<const Value> x) { return x[0].exp(); },
                           {{0.0}, {1.0}, {-3.0}, {50.0}, {-50.0}, {700.0}});
}

TEST(Value, Log) {
    expect_gradients_match("log", [](std::span<const Value> x) { return x[0].log(); },
                           {{1.0}, {0.5}, {1e3}, {1e8}, {1e-3}});
    expect_gradients_match(
        "log tiny", [](std::span<const Value> x) { return log(x[0]); }, {{1e-8}, {1e-12}}, 1e-6,
        1e-15);
}

TEST(Value, Tanh) {
    expect_gradients_match("tanh", [](std::span<const Value> x) { return x[0].tanh(); },
                           {{0.0}, {0.5}, {-1.3}, {3.0}});
    // Saturated: tanh' falls to 1e-4, 4.5e-7, and (in double) exactly 0, while tanh itself is
    // ~1, so the central difference can only resolve the slope to ~1e-12 absolute.
    expect_gradients_match(
        "tanh saturated", [](std::span<const Value> x) { return x[0].tanh(); },
        {{5.0}, {-8.0}, {20.0}, {-20.0}}, 1e-5, 1e-6, 1e-6);
}

TEST(Value, Relu) {
    // away from the kink at 0, where the derivative is not defined
    expect_gradients_match("relu", [](std::span<const Value> x) { return x[0].relu() * x[0]; },
                           {{1.0}, {-1.0}, {1e-3}, {-1e-3}, {50.0}});
    GraphScope scope;
    Value z = 0.0;
    relu(z).backward();
    EXPECT_EQ(z.grad(), 0.0);  // micrograd's convention at exactly 0
}

TEST(Value, Sigmoid) {
    expect_gradients_match("sigmoid", [](std::span<const Value> x) { return x[0].sigmoid(); },
                           {{0.0}, {2.0}, {-2.0}, {-30.0}, {-800.0}});  // small values: exact
    // Near 1 the slope (9e-14 at 30) is below what a difference of values ~1 can resolve.
    expect_gradients_match(
        "sigmoid saturated", [](std::span<const Value> x) { return x[0].sigmoid(); },
        {{10.0}, {30.0}}, 1e-5, 1e-6, 1e-6);
    GraphScope scope;
    Value v = -800.0;  // exp(800) overflows: the two-branch form still gives 0, not NaN
    EXPECT_EQ(sigmoid(v).data(), 0.0);
    EXPECT_EQ(sigmoid(Value(800.0)).data(), 1.0);
}

TEST(GradCheck, ReportsADisagreement) {
    // At relu's kink the engine says 0 (micrograd's convention), the central difference 1/2.
    const size_t before = g_tape.size();
    const GradCheck r =
        grad_check([](std::span<const Value> x) { return x[0].relu(); }, std::vector<double>{0.0});
    EXPECT_EQ(r.analytic[0], 0.0);
    EXPECT_NEAR(r.numerical[0], 0.5, 1e-12);
    EXPECT_NEAR(r.max_rel_error, 1.0, 1e-12);
    EXPECT_EQ(g_tape.size(), before);  // the checker leaves the tape as it found it
}

TEST(Value, CompositeExpression) {
    expect_gradients_match("composite",
                           [](std::span<const Value> x) {
                               Value a = x[0], b = x[1], c = x[2];
                               Value d =
                                   (a * b + c).tanh() * (b - c).exp() / (a.pow(2.0) + 1.0).log();
                               return (d + d * a).sigmoid() + (b * c).relu();
                           },
                           {{0.5, -1.5, 0.3}, {1.2, 0.4, -0.8}, {-2.0, 0.1, 0.9}});
}

// micrograd's README and test_engine.py: same expression, same numbers (PyTorch agrees with them).
TEST(Value, MicrogradReadme) {
    GraphScope scope;
    Value a = -4.0;
    Value b = 2.0;
    Value c = a + b;
    Value d = a * b + b.pow(3);
    c += c + 1;
    c += 1 + c + (-a);
    d += d * 2 + (b + a).relu();
    d += 3 * d + (b - a).relu();
    Value e = c - d;
    Value f = e.pow(2);
    Value g = f / 2.0;
    g += 10.0 / f;
    g.backward();
    EXPECT_NEAR(g.data(), 24.7041, 1e-4);
    EXPECT_NEAR(a.grad(), 138.8338, 1e-4);
    EXPECT_NEAR(b.grad(), 645.5773, 1e-4);
}

// micrograd's bug: b = a + a; c = b + b must give dc/da = 4 (a node reused gets every share).
TEST(Value, ReusedNodeGetsItsFullGradient) {
    GraphScope scope;
    Value a = 3.0;
    Value b = a + a;
    Value c = b + b;
    c.backward();
    EXPECT_EQ(a.grad(), 4.0);
    EXPECT_EQ(b.grad(), 2.0);

    Value x = -2.0;
    Value y = x * x * x;  // x used three times
    y.backward();
    EXPECT_EQ(x.grad(), 12.0);
}

TEST(Value, BackwardTwiceAfterZeroingGivesTheSameGradients) {
    GraphScope scope;
    Value a = 0.7, b = -1.3;
    Value h = (a * b).tanh();  // a computed node that both calls go through
    Value out = h * a + b.exp();
    out.backward();
    const double ga = a.grad(), gb = b.grad(), gh = h.grad();
    a.grad() = 0.0;
    b.grad() = 0.0;
    out.backward();
    EXPECT_EQ(a.grad(), ga);
    EXPECT_EQ(b.grad(), gb);
    EXPECT_EQ(h.grad(), gh);  // not doubled: computed nodes start from zero each time
    // Without zeroing, leaves accumulate (as in PyTorch).
    out.backward();
    EXPECT_EQ(a.grad(), 2 * ga);
    EXPECT_EQ(b.grad(), 2 * gb);
    EXPECT_EQ(h.grad(), gh);
}

TEST(Value, BackwardFromDifferentRoots) {
    GraphScope scope;
    Value a = 2.0;
    Value big = a * a * a;  // d/da = 12
    Value small = a * 5.0;  // d/da = 5
    big.backward();
    EXPECT_EQ(a.grad(), 12.0);
    a.grad() = 0.0;
    small.backward();  // big's nodes sit below small on the tape but are not on its path
    EXPECT_EQ(a.grad(), 5.0);
}

TEST(Value, GraphScopeDiscardsTheStepButKeepsParameters) {
    Value w = 0.5;  // a parameter, outside any scope
    const size_t base = g_tape.size();
    for (int step = 0; step < 3; ++step) {
        GraphScope graph;
        Value loss = (w * 3.0 - 1.0).pow(2);
        EXPECT_GT(g_tape.size(), base);
        w.grad() = 0.0;
        loss.backward();
        // d/dw (3w - 1)^2 = 6 (3w - 1)
        EXPECT_DOUBLE_EQ(w.grad(), 6.0 * (3.0 * w.data() - 1.0));
        w.data() -= 0.1 * w.grad();
    }
    EXPECT_EQ(g_tape.size(), base);  // every step's nodes are gone
    EXPECT_NE(w.data(), 0.5);        // the parameter kept its updates
    {
        GraphScope outer;
        Value u = w * 2.0;
        {
            GraphScope inner;
            Value v = u * u;
            (void)v;
        }
        EXPECT_EQ(g_tape.size(), base + 2);  // inner scope removed only its own nodes
        EXPECT_EQ(u.data(), w.data() * 2.0);
    }
    EXPECT_EQ(g_tape.size(), base);
}

TEST(Value, SteadyStateStepsDoNotGrowTheTape) {
    Value w = 0.3, b = -0.1;
    size_t capacity = 0;
    for (int step = 0; step < 50; ++step) {
        GraphScope graph;
        Value loss = 0.0;
        for (int i = 0; i < 1000; ++i) loss = loss + (w * static_cast<double>(i) + b).tanh();
        w.grad() = b.grad() = 0.0;
        loss.backward();
        w.data() -= 1e-4 * w.grad();
        b.data() -= 1e-4 * b.grad();
        if (step == 0) capacity = g_tape.capacity();
        EXPECT_EQ(g_tape.capacity(), capacity) << "step " << step;  // no reallocation
    }
}

#ifndef NDEBUG
TEST(ValueDeathTest, UsingAValueAfterItsScopeEndedAsserts) {
    Value dangling = 0.0;
    {
        GraphScope scope;
        for (int i = 0; i < 10; ++i) dangling = Value(1.0) * 2.0;
    }
    EXPECT_DEATH(dangling.data(), "GraphScope");
}
#endif

TEST(Value, DeepChainBackPropagatesWithoutRecursion) {
    // A million-deep chain (the 10-million-node one is in value_slow_test.cpp).
    GraphScope scope;
    Value a = 1.0;
    Value x = a;
    constexpr int kDepth = 1'000'000;
    for (int i = 0; i < kDepth; ++i) x = x + a;
    x.backward();
    EXPECT_EQ(x.data(), kDepth + 1.0);
    EXPECT_EQ(a.grad(), kDepth + 1.0);
}

}  // namespace
}  // namespace wiggle
