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
//   build/bin/03_learn_well --csv my.csv   the same recipe on your own data (features, then a
//   label)
//
// Uses the scalar engine (wiggle_scalar) and the toy data sets (wiggle_data).
// reference: cs231n "Putting it together: minimal neural network case study" (the spiral data);
// PyTorch torch.optim.SGD (momentum); nanoGPT get_lr (warmup + cosine).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/batches.h"
#include "data/csv.h"
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
constexpr std::array<int, 2> kHidden = {16, 16};  // 2 -> 16 -> 16 -> 3: enough bends
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

// The examples, whatever their source: n rows of `dim` features and a class each.
struct Examples {
    size_t dim = 2;
    int classes = kClasses;
    std::vector<double> x;  // n·dim, row-major
    std::vector<int> y;
    std::span<const double> row(size_t i) const { return {x.data() + i * dim, dim}; }
    size_t size() const { return y.size(); }
};

Examples spirals(uint64_t seed) {
    const wiggle::Dataset2D d = wiggle::make_spirals(kPerClass, kClasses, kNoise, seed);
    Examples e;
    for (const auto& p : d.x) e.x.insert(e.x.end(), p.begin(), p.end());
    e.y = d.y;
    return e;
}

Examples from_csv(const wiggle::CsvData& c) { return Examples{c.cols, c.num_classes, c.x, c.y}; }

// A user's features may be in any units; the weights start in [-1, 1], so shift and scale each
// feature to mean 0 and standard deviation 1 over the training split (the validation split must
// not leak into anything the model is fitted with, statistics included).
void standardize(Examples& e, const wiggle::Split& split) {
    for (size_t j = 0; j < e.dim; ++j) {
        double mean = 0.0, var = 0.0;
        for (size_t i : split.train) mean += e.x[i * e.dim + j] / double(split.train.size());
        for (size_t i : split.train) {
            var += std::pow(e.x[i * e.dim + j] - mean, 2) / double(split.train.size());
        }
        const double scale = var > 0.0 ? 1.0 / std::sqrt(var) : 1.0;
        for (size_t i = 0; i < e.size(); ++i)
            e.x[i * e.dim + j] = (e.x[i * e.dim + j] - mean) * scale;
    }
}

// The logits of the examples at `idx`, one row of e.classes per example.
std::vector<Value> logits_of(const wiggle::MLP& model, const Examples& d,
                             std::span<const size_t> idx) {
    std::vector<Value> logits;
    logits.reserve(idx.size() * size_t(d.classes));
    for (size_t i : idx) {
        const std::span<const Value> out = model(d.row(i));
        logits.insert(logits.end(), out.begin(), out.end());
    }
    return logits;
}

std::vector<int> labels_of(const Examples& d, std::span<const size_t> idx) {
    std::vector<int> y;
    y.reserve(idx.size());
    for (size_t i : idx) y.push_back(d.y[i]);
    return y;
}

// Cross-entropy and accuracy on a whole set, without training on it.
std::pair<double, double> evaluate(const wiggle::MLP& model, const Examples& d,
                                   std::span<const size_t> idx) {
    wiggle::GraphScope graph;
    const std::vector<Value> logits = logits_of(model, d, idx);
    const std::vector<int> y = labels_of(d, idx);
    return {wiggle::cross_entropy(logits, d.classes, y).data(),
            wiggle::argmax_accuracy(logits, d.classes, y)};
}

Result train(const wiggle::MLP& model, const Examples& d, const wiggle::Split& split,
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
        Value loss = r.cross_entropy ? wiggle::cross_entropy(logits, d.classes, y)
                                     : wiggle::mse_one_hot_loss(wiggle::softmax(logits, d.classes),
                                                                d.classes, y);
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

wiggle::MLP make_model(const Examples& d, uint64_t seed) {
    wiggle::PyRandom rng(seed);  // the same starting weights for every recipe
    std::vector<int> sizes(kHidden.begin(), kHidden.end());
    sizes.push_back(d.classes);  // one logit a class
    return wiggle::MLP(static_cast<int>(d.dim), sizes, rng);
}

// The data for one seed and where it is split: the spirals drawn from the seed, or the CSV file
// (the same rows for every seed; the seed then only changes the split, weights and batches).
struct Setup {
    Examples data;
    wiggle::Split split;
};
Setup setup(const wiggle::CsvData* csv, uint64_t seed) {
    Setup s{csv != nullptr ? from_csv(*csv) : spirals(seed), {}};
    s.split = wiggle::split_train_val(s.data.size(), kValFraction, seed);
    if (csv != nullptr) standardize(s.data, s.split);
    return s;
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
    CLI::App app{
        "Part 3: softmax, cross-entropy, minibatches, momentum and a schedule on 3 spirals"};
    uint64_t seed = kSeed;
    std::string plot_dir;
    bool skip_table = false;
    std::string csv_path, label_column;
    app.add_option("--seed", seed, "seed for the data, the split, the weights and the batches")
        ->capture_default_str()
        ->check(CLI::Validator(seed_ok, ""));
    app.add_option("--plot", plot_dir,
                   "write SVG pictures (decision boundary, loss curves) into DIR")
        ->type_name("DIR");
    app.add_flag("--no-table", skip_table,
                 "train the full recipe only, skip the side-by-side table");
    app.add_option("--csv", csv_path,
                   "train on FILE.csv instead: a header, numeric features, an integer label column")
        ->type_name("FILE");
    app.add_option("--label", label_column, "the CSV's label column (default: the last one)")
        ->type_name("NAME");
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

    // The data: three spiral arms (or the user's file), and a fifth of the points put aside for
    // validation.
    WIGGLE_CHECK(label_column.empty() || !csv_path.empty(), "add --csv FILE",
                 "--label names a CSV column, but no --csv file was given");
    wiggle::CsvData csv;
    if (!csv_path.empty()) csv = wiggle::load_csv(csv_path, label_column);
    const wiggle::CsvData* csv_or_null = csv_path.empty() ? nullptr : &csv;
    const Setup main_setup = setup(csv_or_null, seed);
    const Examples& data = main_setup.data;
    const wiggle::Split& split = main_setup.split;
    const wiggle::MLP model = make_model(data, seed);
    if (csv_or_null != nullptr) {
        fmt::print("{}: {} features (standardized), {} classes, {} train / {} val points; {}\n",
                   csv_path, data.dim, data.classes, split.train.size(), split.val.size(),
                   model.describe());
    } else {
        fmt::print("{} spirals, {} train / {} val points; {}\n", kClasses, split.train.size(),
                   split.val.size(), model.describe());
    }
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
                    const Setup su = setup(csv_or_null, s);
                    res = train(make_model(su.data, s), su.data, su.split, r, s, false);
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
        const std::string what = csv_or_null != nullptr ? "csv" : "spiral";
        if (data.dim == 2) {  // a picture of the plane: only for two features
            auto classify = [&](double x1, double x2) {
                wiggle::GraphScope graph;
                const std::array<double, 2> x = {x1, x2};
                return wiggle::argmax(model(std::span<const double>(x)));
            };
            // The training points as dots, the held-out ones as rings.
            std::vector<std::array<double, 2>> train_points, val_points;
            std::vector<std::string> names;
            for (size_t i : split.train) train_points.push_back({data.x[2 * i], data.x[2 * i + 1]});
            for (size_t i : split.val) val_points.push_back({data.x[2 * i], data.x[2 * i + 1]});
            for (int k = 0; k < data.classes; ++k) names.push_back(fmt::format("class {}", k));
            const std::string boundary = (dir / fmt::format("03_{}_boundary.svg", what)).string();
            const std::string title = csv_or_null != nullptr
                                          ? model.describe() + " (standardized features)"
                                          : model.describe();
            wiggle::plot::decision_boundary(title, classify, train_points,
                                            labels_of(data, split.train), names, kPlotResolution,
                                            val_points, labels_of(data, split.val))
                .save(boundary);
            fmt::print("wrote {}\n", boundary);
        } else {
            fmt::print("no decision boundary picture: the data has {} features, not 2\n", data.dim);
        }
        wiggle::plot::Figure loss_fig(
            fmt::format("{}: cross-entropy", csv_or_null != nullptr ? csv_path : "three spirals"));
        loss_fig.x_label("step").y_label("cross-entropy").log_y();
        loss_fig.line("train", run.steps, run.train_loss).line("val", run.steps, run.val_loss);
        const std::string curves = (dir / fmt::format("03_{}_loss.svg", what)).string();
        loss_fig.save(curves);
        fmt::print("wrote {}\n", curves);
    }
    return 0;
}
