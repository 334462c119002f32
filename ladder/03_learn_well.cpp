// Part 3 of the series: making it learn well.
//
// Three interleaved spiral arms, one class each. The network now outputs one score (logit) per
// class; softmax turns the scores into probabilities and cross-entropy charges -log of the
// probability given to the right class. Training draws small shuffled minibatches instead of the
// whole set, SGD with momentum smooths their noisy gradients, and a schedule (warmup, then a
// cosine decay) takes big steps early and small ones late. A fifth of the points is held out and
// never trained on: the validation accuracy says whether the model learned the spirals or only
// memorized its points. A last table retrains with one piece changed at a time, to show what each
// piece buys.
//
//   build/bin/03_learn_well                the training log, then the side-by-side table
//   build/bin/03_learn_well --plot out     also the decision boundary and the loss curves (SVG)
//
// Uses the scalar engine (wiggle_scalar) and the toy data sets (wiggle_data).
// reference: cs231n "Putting it together: minimal neural network case study" (the spiral data);
// PyTorch torch.optim.SGD (momentum); nanoGPT get_lr (warmup + cosine).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/batches.h"
#include "data/toy.h"
#include "scalar/loss.h"
#include "scalar/nn.h"
#include "scalar/optim.h"
#include "scalar/value.h"
#include "util/check.h"
#include "util/log.h"
#include "util/plot.h"
#include "util/py_random.h"
#include "util/schedule.h"

namespace {

using wiggle::Value;

// The settings, each with the reason it is what it is.
constexpr int kPerClass = 100;        // 100 points an arm, as in cs231n's case study
constexpr int kClasses = 3;           // three arms: one logit, one class each
constexpr double kNoise = 0.2;        // cs231n's angular noise: the arms touch near the center
constexpr double kValFraction = 0.2;  // 60 of the 300 points are held out for validation
constexpr uint64_t kSeed = 1337;      // one seed for the data, the split, the weights, the batches
constexpr std::array<int, 3> kSizes = {16, 16, kClasses};  // 2 -> 16 -> 16 -> 3: enough bends
constexpr int kBatch = 32;         // 32 points a step: noisy, but 7x cheaper than the full set
constexpr int kSteps = 1500;       // about 200 passes over the 240 training points
constexpr double kLr = 0.1;        // the peak learning rate (with momentum 0.9: ~1.0 effective)
constexpr double kMinLr = 0.001;   // where the cosine ends: the last steps only polish
constexpr int kWarmup = 50;        // ramp up first: the first gradients of a random net are wild
constexpr double kMomentum = 0.9;  // average ~10 minibatch gradients into each step
constexpr double kWeightDecay = 1e-3;  // some L2: smoother arms, fewer val misses
constexpr int kEvalEvery = 100;        // measure on the full train and validation sets this often
constexpr int kTableSeeds = 3;         // the side-by-side table averages this many runs a row
constexpr int kPlotResolution = 90;    // cells per side of the decision-boundary picture

// One way to train: the full recipe, or the recipe with one piece taken out.
struct Recipe {
    const char* name;
    bool cross_entropy = true;  // false: mean squared error between softmax and the one-hot target
    double momentum = kMomentum;
    wiggle::ScheduleKind schedule = wiggle::ScheduleKind::Cosine;
    int warmup = kWarmup;
    double weight_decay = kWeightDecay;
};

struct Result {
    std::vector<double> steps, train_loss, val_loss;  // cross-entropy on the full sets
    double train_acc = 0.0, val_acc = 0.0, ms = 0.0;
};

// The logits of the examples at `idx`, one row of kClasses per example.
std::vector<Value> logits_of(const wiggle::MLP& model, const wiggle::Dataset2D& d,
                             std::span<const size_t> idx) {
    std::vector<Value> logits;
    logits.reserve(idx.size() * kClasses);
    for (size_t i : idx) {
        const std::span<const Value> out = model(std::span<const double>(d.x[i]));
        logits.insert(logits.end(), out.begin(), out.end());
    }
    return logits;
}

std::vector<int> labels_of(const wiggle::Dataset2D& d, std::span<const size_t> idx) {
    std::vector<int> y;
    y.reserve(idx.size());
    for (size_t i : idx) y.push_back(d.y[i]);
    return y;
}

// Cross-entropy and accuracy on a whole set, without training on it.
std::pair<double, double> evaluate(const wiggle::MLP& model, const wiggle::Dataset2D& d,
                                   std::span<const size_t> idx) {
    wiggle::GraphScope graph;
    const std::vector<Value> logits = logits_of(model, d, idx);
    const std::vector<int> y = labels_of(d, idx);
    return {wiggle::cross_entropy(logits, kClasses, y).data(),
            wiggle::argmax_accuracy(logits, kClasses, y)};
}

Result train(const wiggle::MLP& model, const wiggle::Dataset2D& d, const wiggle::Split& split,
             const Recipe& r, uint64_t seed, bool print) {
    const wiggle::Schedule schedule{r.schedule, kLr, kMinLr, r.warmup, kSteps};
    wiggle::SGD opt(model.parameters(), r.momentum);
    wiggle::Minibatches batches(split.train, kBatch, seed);
    Result res;
    const auto start = std::chrono::steady_clock::now();
    for (int step = 0; step <= kSteps; ++step) {
        if (step % kEvalEvery == 0 || step == kSteps) {  // measure first, then (maybe) train
            const auto [train_loss, train_acc] = evaluate(model, d, split.train);
            const auto [val_loss, val_acc] = evaluate(model, d, split.val);
            res.steps.push_back(step);
            res.train_loss.push_back(train_loss);
            res.val_loss.push_back(val_loss);
            res.train_acc = train_acc;
            res.val_acc = val_acc;
            if (print) {
                fmt::print("{}\n", wiggle::format_step(
                                       step, kSteps, train_loss,
                                       {{"acc", 100.0 * train_acc, 1},
                                        {"val", val_loss},
                                        {"val_acc", 100.0 * val_acc, 1},
                                        {"lr", schedule.at(std::min(step, kSteps - 1)), 4}}));
            }
        }
        if (step == kSteps) break;

        wiggle::GraphScope graph;  // this step's nodes die at the end of the step
        const std::span<const size_t> idx = batches.next();
        const std::vector<Value> logits = logits_of(model, d, idx);
        const std::vector<int> y = labels_of(d, idx);
        Value loss = r.cross_entropy
                         ? wiggle::cross_entropy(logits, kClasses, y)
                         : wiggle::mse_one_hot_loss(wiggle::softmax(logits, kClasses), kClasses, y);
        if (r.weight_decay > 0.0)
            loss = loss + r.weight_decay * wiggle::l2_penalty(model.parameters());
        opt.zero_grad();
        loss.backward();
        opt.step(schedule.at(step));
    }
    res.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return res;
}

wiggle::MLP make_model(uint64_t seed) {
    wiggle::PyRandom rng(seed);  // the same starting weights for every recipe
    return wiggle::MLP(2, std::vector<int>(kSizes.begin(), kSizes.end()), rng);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Part 3: softmax, cross-entropy, minibatches, momentum and a schedule on 3 spirals"};
    uint64_t seed = kSeed;
    std::string plot_dir;
    bool skip_table = false;
    app.add_option("--seed", seed, "seed for the data, the split, the weights and the batches")
        ->capture_default_str();
    app.add_option("--plot", plot_dir,
                   "write SVG pictures (decision boundary, loss curves) into DIR")
        ->type_name("DIR");
    app.add_flag("--no-table", skip_table,
                 "train the full recipe only, skip the side-by-side table");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 03_learn_well --help for the flags", __FILE__, __LINE__);
    }
    if (!plot_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(plot_dir, ec);
        WIGGLE_CHECK(!ec && std::filesystem::is_directory(plot_dir),
                     "pass a folder you can write to", "--plot: cannot create folder '{}': {}",
                     plot_dir, ec.message());
    }

    // The data: three spiral arms, and a fifth of the points put aside for validation.
    const wiggle::Dataset2D data = wiggle::make_spirals(kPerClass, kClasses, kNoise, seed);
    const wiggle::Split split = wiggle::split_train_val(data.x.size(), kValFraction, seed);
    const wiggle::MLP model = make_model(seed);
    fmt::print("{} spirals, {} train / {} val points; {}\n", kClasses, split.train.size(),
               split.val.size(), model.describe());
    fmt::print(
        "softmax + cross-entropy, batch {}, SGD momentum {}, lr {} warmup {} then cosine to {}, "
        "L2 {}, {} steps\n",
        kBatch, kMomentum, kLr, kWarmup, kMinLr, kWeightDecay, kSteps);

    const Recipe full{"full recipe"};
    const Result run = train(model, data, split, full, seed, true);
    fmt::print("\nfull recipe: train accuracy {:.1f}%, val accuracy {:.1f}%, {:.0f} ms\n",
               100.0 * run.train_acc, 100.0 * run.val_acc, run.ms);

    if (!skip_table) {
        // What each piece buys: retrain with one piece changed. One run says little (a different
        // seed moves a validation accuracy by a point or two), so each row is the mean over
        // kTableSeeds seeds; every recipe sees the same data, splits, starting weights and batches.
        const std::array<Recipe, 5> recipes = {{
            full,
            {"MSE instead of cross-entropy", false},
            {"no momentum", true, 0.0},
            {"no schedule (constant lr)", true, kMomentum, wiggle::ScheduleKind::Constant, 0},
            {"no weight decay", true, kMomentum, wiggle::ScheduleKind::Cosine, kWarmup, 0.0},
        }};
        fmt::print("\nmean of {} seeds ({}..{}):\n", kTableSeeds, seed, seed + kTableSeeds - 1);
        fmt::print("{:<30} {:>9} {:>8} {:>10}\n", "recipe", "val loss", "val acc", "train acc");
        for (const Recipe& r : recipes) {
            double val_loss = 0.0, val_acc = 0.0, train_acc = 0.0;
            for (uint64_t s = seed; s < seed + kTableSeeds; ++s) {
                Result res;
                if (&r == &recipes[0] && s == seed) {
                    res = run;  // already trained above
                } else {
                    const wiggle::Dataset2D d =
                        wiggle::make_spirals(kPerClass, kClasses, kNoise, s);
                    const wiggle::Split sp = wiggle::split_train_val(d.x.size(), kValFraction, s);
                    res = train(make_model(s), d, sp, r, s, false);
                }
                val_loss += res.val_loss.back() / kTableSeeds;
                val_acc += res.val_acc / kTableSeeds;
                train_acc += res.train_acc / kTableSeeds;
            }
            fmt::print("{:<30} {:>9.4f} {:>7.1f}% {:>9.1f}%\n", r.name, val_loss, 100.0 * val_acc,
                       100.0 * train_acc);
        }
    }

    if (!plot_dir.empty()) {
        const std::filesystem::path dir(plot_dir);
        auto classify = [&](double x1, double x2) {
            wiggle::GraphScope graph;
            const std::array<double, 2> x = {x1, x2};
            return wiggle::argmax(model(std::span<const double>(x)));
        };
        const std::string boundary = (dir / "03_spiral_boundary.svg").string();
        wiggle::plot::decision_boundary("MLP 2-16-16-3 on three spirals", classify, data.x, data.y,
                                        {"arm 0", "arm 1", "arm 2"}, kPlotResolution)
            .save(boundary);
        fmt::print("wrote {}\n", boundary);
        wiggle::plot::Figure loss_fig("three spirals: cross-entropy");
        loss_fig.x_label("step").y_label("cross-entropy").log_y();
        loss_fig.line("train", run.steps, run.train_loss).line("val", run.steps, run.val_loss);
        const std::string curves = (dir / "03_loss.svg").string();
        loss_fig.save(curves);
        fmt::print("wrote {}\n", curves);
    }
    return 0;
}
