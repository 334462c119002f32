// Part 1 of the series: the neuron and the chain rule.
//
// One tanh neuron, a mean-squared-error loss over four examples, the derivative measured the slow
// way (wiggle a weight, watch the loss) and then the fast way (the Value engine's one backward
// pass), and finally gradient descent: 200 small steps downhill. It prints the article's numbers
// exactly, because PyRandom draws the same starting weights as Python's random.seed(1).
//
//   build/bin/01_neuron                   the article's output, then a gradient check
//   build/bin/01_neuron --graph loss.svg  also draws the loss's graph (.dot or .svg)
//
// Deliberately plain: no layers, no tensors, nothing but the scalar engine (wiggle_scalar).
// reference: part 1 of the series (the Python in it), karpathy/micrograd.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "scalar/gradcheck.h"
#include "scalar/graphviz.h"
#include "scalar/value.h"
#include "util/check.h"
#include "util/format.h"
#include "util/log.h"
#include "util/py_random.h"

namespace {

using wiggle::Value;

// The article's numbers, each with the reason it is what it is.
// w1, w2, b: the weights the article tries first, by hand.
constexpr std::array<double, 3> kHandPicked = {-0.6, 0.8, 0.1};
constexpr double kH = 1e-6;    // the wiggle: small next to 1, large next to rounding (1e-16)
constexpr uint64_t kSeed = 1;  // random.seed(1): the starting weights of the article's run
constexpr double kLearningRate = 0.1;    // small enough that no step overshoots the valley
constexpr int kSteps = 200;              // enough for the loss to fall under 0.01
constexpr int kPrintEvery = 40;          // the article prints steps 0, 40, ..., 160
constexpr int kRoundDigits = 4;          // round(g, 4), as the article prints the gradients
constexpr double kGradTolerance = 1e-6;  // backward and wiggling must agree this well, or we say so

// The four examples: inputs (x1, x2) and the target the neuron should output for them.
constexpr std::array<std::array<double, 2>, 4> kXs = {
    {{2.0, 1.0}, {1.0, -1.0}, {-1.0, 1.0}, {-2.0, -1.0}}};
constexpr std::array<double, 4> kYs = {1.0, -1.0, -1.0, -1.0};

// ---------------------------------------------------------------------------------------------
// A neuron is a very small function: a weighted sum plus a bias, squashed by tanh.

double neuron(double x1, double x2, double w1, double w2, double b) {
    const double act = x1 * w1 + x2 * w2 + b;  // the weighted sum
    return std::tanh(act);                     // the squashing nonlinearity
}

// Learning is just reducing a loss: the mean squared error over the examples.
double loss(std::span<const double, 3> params) {
    const double w1 = params[0], w2 = params[1], b = params[2];
    double total = 0.0;
    for (size_t i = 0; i < kXs.size(); ++i) {
        const double pred = neuron(kXs[i][0], kXs[i][1], w1, w2, b);
        total += std::pow(pred - kYs[i], 2);  // squared error (Python's ** 2 is this pow)
    }
    return total / static_cast<double>(kXs.size());
}

// The derivative is the answer to "which way?": wiggle one parameter, rise over run.
double numerical_gradient(std::span<const double, 3> params, size_t i, double h = kH) {
    std::array<double, 3> up = {params[0], params[1], params[2]};
    std::array<double, 3> dn = up;
    up[i] += h;
    dn[i] -= h;
    return (loss(up) - loss(dn)) / (2 * h);
}

// ---------------------------------------------------------------------------------------------
// The same loss on Values: every operation is remembered, so one backward() finds all three
// derivatives at once (the chain rule, applied mechanically from the loss down to the weights).

Value forward(Value w1, Value w2, Value b, const std::array<double, 2>& x) {
    return (w1 * x[0] + w2 * x[1] + b).tanh();
}

Value mse(Value w1, Value w2, Value b) {
    Value total = 0.0;
    for (size_t i = 0; i < kXs.size(); ++i) {
        Value diff = forward(w1, w2, b, kXs[i]) - kYs[i];
        total = total + diff * diff;
    }
    return total * (1.0 / static_cast<double>(kXs.size()));
}

std::string graph_format_ok(const std::string& path) {
    const auto ends = [&](const char* ext) {
        return path.size() > 4 && path.compare(path.size() - 4, 4, ext) == 0;
    };
    if (!ends(".dot") && !ends(".svg")) return "FILE must end in .dot or .svg";
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (!folder.empty() && !std::filesystem::is_directory(folder)) {
        return fmt::format("folder '{}' does not exist", folder.string());
    }
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 1: train one tanh neuron with a scalar autograd engine"};
    std::string graph_path;
    app.add_option("--graph", graph_path, "write the loss's graph to FILE.dot or FILE.svg")
        ->check(CLI::Validator(graph_format_ok, "FILE.dot|FILE.svg"));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 01_neuron --help for the flags", __FILE__, __LINE__);
    }

    // The neuron, once, with the article's hand-picked weights.
    fmt::print("{}\n",
               wiggle::py_repr(neuron(2.0, 1.0, kHandPicked[0], kHandPicked[1], kHandPicked[2])));

    // Its loss's gradient, the slow way: one wiggle per parameter.
    std::array<double, 3> numerical{};
    for (size_t i = 0; i < 3; ++i) numerical[i] = numerical_gradient(kHandPicked, i);
    fmt::print("{}\n", wiggle::py_round_list(numerical, kRoundDigits));

    // Training: random starting weights, then forward, backward, nudge, 200 times.
    wiggle::PyRandom rng(kSeed);
    std::array<Value, 2> w = {Value(rng.uniform(-1, 1)), Value(rng.uniform(-1, 1))};
    Value b = 0.0;
    const std::array<Value, 3> params = {w[0], w[1], b};
    for (int step = 0; step < kSteps; ++step) {
        wiggle::GraphScope graph;  // this step's nodes are discarded at the end of the step
        Value loss = mse(w[0], w[1], b);
        for (Value p : params) p.grad() = 0.0;  // reset gradients
        loss.backward();                        // fill them all in, in one pass
        for (Value p : params) p.data() += -kLearningRate * p.grad();  // gradient-descent step
        if (step % kPrintEvery == 0)
            fmt::print("{}\n", wiggle::format_step(step, kSteps - 1, loss.data()));
    }

    // Is backward right? The article's sanity check: compare it with the wiggling, first at the
    // hand-picked weights (the numbers printed above), then at the trained ones.
    std::array<double, 3> analytic{};
    {
        wiggle::GraphScope graph;
        const std::array<Value, 3> x = {Value(kHandPicked[0]), Value(kHandPicked[1]),
                                        Value(kHandPicked[2])};
        mse(x[0], x[1], x[2]).backward();
        for (size_t i = 0; i < 3; ++i) analytic[i] = x[i].grad();
    }
    double worst = 0.0;
    for (size_t i = 0; i < 3; ++i)
        worst = std::max(worst, wiggle::grad_rel_error(analytic[i], numerical[i]));
    fmt::print("gradient check at w1, w2, b = {}:\n", wiggle::py_list(kHandPicked));
    fmt::print("  backward  {}\n", wiggle::py_list(analytic));
    fmt::print("  wiggling  {}\n", wiggle::py_list(numerical));
    fmt::print("  largest relative difference {:.1e} ({})\n", worst,
               worst < kGradTolerance ? "agree" : "DISAGREE");

    const std::array<double, 3> trained = {w[0].data(), w[1].data(), b.data()};
    const wiggle::GradCheck check =
        wiggle::grad_check([](std::span<const Value> p) { return mse(p[0], p[1], p[2]); },
                           std::span<const double>(trained), kH);
    fmt::print(
        "gradient check at the trained w1, w2, b = {}: largest relative difference {:.1e} ({})\n",
        wiggle::py_round_list(trained, kRoundDigits), check.max_rel_error,
        check.max_rel_error < kGradTolerance ? "agree" : "DISAGREE");

    if (!graph_path.empty()) {
        Value loss = mse(w[0], w[1], b);  // the trained neuron's loss, with its gradients filled in
        loss.backward();
        wiggle::write_graph(loss, graph_path);
        fmt::print("wrote the loss's graph to {}\n", graph_path);
    }
    // A failed self-check is a bug in the engine: say so in the exit status too.
    return worst < kGradTolerance && check.max_rel_error < kGradTolerance ? 0 : 1;
}
