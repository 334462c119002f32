// Part 2 of the series: multilayer perceptrons.
//
// One neuron draws one straight line through the plane, so it cannot separate XOR's corners or
// two interleaved half moons, however long it trains. Wire neurons into layers, stack two hidden
// layers of 16 ReLUs, and the same engine, the same backward() and the same gradient step learn
// a curved boundary: micrograd's demo, 100% training accuracy on 100 moons points.
//
//   build/bin/02_mlp                 the single neuron's failures, then the MLP's training log
//   build/bin/02_mlp --plot out      also writes the decision boundaries and loss curves (SVG)
//
// Uses the scalar engine (wiggle_scalar) and the toy data sets (wiggle_data); nothing else.
// reference: karpathy/micrograd demo.ipynb (model, loss, schedule), micrograd/nn.py.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/toy.h"
#include "scalar/loss.h"
#include "scalar/nn.h"
#include "scalar/value.h"
#include "util/check.h"
#include "util/log.h"
#include "util/plot.h"
#include "util/py_random.h"
#include "util/schedule.h"

namespace {

using wiggle::Value;

// The settings of micrograd's demo, each with the reason it is what it is.
constexpr int kPoints = 100;      // 100 moons points: small enough to train full-batch on scalars
constexpr double kNoise = 0.1;    // the moons stay separable, but no straight line splits them
constexpr uint64_t kSeed = 1337;  // micrograd's demo seeds both numpy and random with 1337
constexpr int kSteps = 100;       // full-batch steps; micrograd reaches 100% at about step 40
constexpr double kLrStart = 1.0;  // lr = 1.0 - 0.9·k/100: big steps first, then settle
constexpr double kLrEnd = 0.1;    //   (a linear decay from 1.0 toward 0.1)
constexpr double kAlpha = 1e-4;   // L2 weight decay: keeps the weights, and the margins, sane
constexpr int kPrintEvery = 10;   // ten log lines per run
constexpr int kPlotResolution = 80;  // cells per side of the decision-boundary picture

struct Data {
    std::vector<std::array<double, 2>> x;
    std::vector<int> y;    // ±1: the SVM loss wants signed labels
    std::vector<int> y01;  // 0/1: the class index, for the pictures
};

Data signed_labels(const wiggle::Dataset2D& d) {
    Data out{d.x, {}, d.y};
    for (int label : d.y) out.y.push_back(label == 1 ? 1 : -1);
    return out;
}

// One model's scores for all points: model(x)[0] for each x.
std::vector<Value> scores_of(const wiggle::MLP& model, const Data& d) {
    std::vector<Value> scores;
    scores.reserve(d.x.size());
    for (const auto& x : d.x) scores.push_back(model(std::span<const double>(x))[0]);
    return scores;
}

// micrograd's loss: the max-margin (SVM) loss plus alpha times the sum of squared parameters.
Value total_loss(const wiggle::MLP& model, std::span<const Value> scores, const Data& d) {
    return wiggle::svm_loss(scores, d.y) + kAlpha * wiggle::l2_penalty(model.parameters());
}

struct Run {
    std::vector<double> steps, train_loss, val_loss;
    double train_acc = 0.0, val_acc = 0.0, ms = 0.0;
};

// Full-batch gradient descent: forward over every point, backward once, step every parameter.
Run train(const wiggle::MLP& model, const Data& train_set, const Data& val_set, bool print) {
    const wiggle::Schedule schedule{wiggle::ScheduleKind::Linear, kLrStart, kLrEnd, 0, kSteps};
    Run run;
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < kSteps; ++k) {
        double val_loss = 0.0;
        {  // how it does on points it never trains on (no backward, no step)
            wiggle::GraphScope graph;
            const std::vector<Value> scores = scores_of(model, val_set);
            val_loss = total_loss(model, scores, val_set).data();
            run.val_acc = wiggle::sign_accuracy(scores, val_set.y);
        }
        wiggle::GraphScope graph;  // this step's nodes are discarded at the end of the step
        const std::vector<Value> scores = scores_of(model, train_set);
        Value loss = total_loss(model, scores, train_set);
        run.train_acc = wiggle::sign_accuracy(scores, train_set.y);

        model.zero_grad();
        loss.backward();
        const double lr = schedule.at(k);
        for (const Value& p : model.parameters()) p.data() -= lr * p.grad();

        run.steps.push_back(k);
        run.train_loss.push_back(loss.data());
        run.val_loss.push_back(val_loss);
        if (print && (k % kPrintEvery == 0 || k == kSteps - 1)) {
            fmt::print("{}\n", wiggle::format_step(k, kSteps - 1, loss.data(),
                                                   {{"acc", 100.0 * run.train_acc, 1},
                                                    {"val", val_loss},
                                                    {"val_acc", 100.0 * run.val_acc, 1},
                                                    {"lr", lr, 3}}));
        }
    }
    // The accuracy after the last step (the log shows it before each step, as micrograd does).
    wiggle::GraphScope graph;
    run.train_acc = wiggle::sign_accuracy(scores_of(model, train_set), train_set.y);
    run.val_acc = wiggle::sign_accuracy(scores_of(model, val_set), val_set.y);
    run.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return run;
}

void plot_boundary(const wiggle::MLP& model, const Data& d, const std::string& title,
                   const std::string& path) {
    auto classify = [&](double x1, double x2) {
        wiggle::GraphScope graph;
        const std::array<double, 2> x = {x1, x2};
        return model(std::span<const double>(x))[0].data() > 0.0 ? 1 : 0;
    };
    wiggle::plot::decision_boundary(title, classify, d.x, d.y01, {"y = -1", "y = +1"},
                                    kPlotResolution)
        .save(path);
    fmt::print("wrote {}\n", path);
}

// --seed takes a whole number >= 0 (CLI11 alone would wrap -3 around to 2^64 - 3).
std::string seed_ok(const std::string& text) {
    const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    return digits && text.size() <= 19
               ? ""
               : "must be a whole number >= 0 (at most 19 digits), got '" + text + "'";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 2: one neuron fails on XOR and moons; an MLP learns them"};
    uint64_t seed = kSeed;
    std::string plot_dir;
    app.add_option("--seed", seed, "seed for the data and the initial weights")
        ->capture_default_str()
        ->check(CLI::Validator(seed_ok, ""));
    app.add_option("--plot", plot_dir,
                   "write SVG pictures (decision boundaries, loss curves) into DIR")
        ->type_name("DIR");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 02_mlp --help for the flags", __FILE__, __LINE__);
    }
    if (!plot_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(plot_dir, ec);
        WIGGLE_CHECK(!ec && std::filesystem::is_directory(plot_dir),
                     "pass a folder you can write to", "--plot: cannot create folder '{}': {}",
                     plot_dir, ec.message());
    }

    // The data: XOR's four noisy corners and two noisy half moons, plus 100 fresh points of each
    // that the models never train on, to see whether what they learn carries over.
    const Data xor_train = signed_labels(wiggle::make_xor(kPoints, kNoise, seed));
    const Data xor_val = signed_labels(wiggle::make_xor(kPoints, kNoise, seed + 1));
    const Data moons_train = signed_labels(wiggle::make_moons(kPoints, kNoise, seed));
    const Data moons_val = signed_labels(wiggle::make_moons(kPoints, kNoise, seed + 1));

    // One neuron (no activation: its sign is the class) draws one straight line. XOR needs two,
    // and the moons need a curve; the best a line does is about 3 points in 4 on XOR.
    fmt::print("one neuron, trained exactly like the MLP below:\n");
    wiggle::PyRandom neuron_rng(seed + 2);
    const wiggle::MLP neuron_xor(2, {1}, neuron_rng);
    const Run neuron_xor_run = train(neuron_xor, xor_train, xor_val, false);
    fmt::print("  XOR:        train accuracy {:5.1f}%\n", 100.0 * neuron_xor_run.train_acc);
    const wiggle::MLP neuron_moons(2, {1}, neuron_rng);
    const Run neuron_moons_run = train(neuron_moons, moons_train, moons_val, false);
    fmt::print("  two moons:  train accuracy {:5.1f}%\n\n", 100.0 * neuron_moons_run.train_acc);

    // micrograd's MLP: 2 inputs, two hidden layers of 16 ReLUs, one linear score. Its weights
    // are the first 304 draws after random.seed(seed) (biases start at 0), as in micrograd.
    wiggle::PyRandom rng(seed);
    const wiggle::MLP model(2, {16, 16, 1}, rng);
    fmt::print("{}, two moons ({} points, noise {}):\n", model.describe(), kPoints, kNoise);
    const Run run = train(model, moons_train, moons_val, true);
    fmt::print("\nMLP: train accuracy {:.1f}%, val accuracy {:.1f}% ({} fresh points), {:.0f} ms\n",
               100.0 * run.train_acc, 100.0 * run.val_acc, kPoints, run.ms);

    if (!plot_dir.empty()) {
        const std::filesystem::path dir(plot_dir);
        plot_boundary(neuron_xor, xor_train, "one neuron on XOR",
                      (dir / "02_neuron_xor.svg").string());
        plot_boundary(neuron_moons, moons_train, "one neuron on two moons",
                      (dir / "02_neuron_moons.svg").string());
        plot_boundary(model, moons_train, "MLP 2-16-16-1 on two moons",
                      (dir / "02_mlp_moons.svg").string());
        wiggle::plot::Figure loss_fig("MLP 2-16-16-1 on two moons: loss");
        loss_fig.x_label("step").y_label("loss (SVM + L2)").log_y();
        loss_fig.line("train", run.steps, run.train_loss).line("val", run.steps, run.val_loss);
        const std::string path = (dir / "02_mlp_loss.svg").string();
        loss_fig.save(path);
        fmt::print("wrote {}\n", path);
    }
    return 0;
}
