// The page's binding to the library (web/index.html, web/worker.js): plain `extern "C"` functions
// that build the ladder's models from wiggle's own pieces (the Value engine, scalar/nn.h's MLP,
// the toy data sets, the schedules) and hand their numbers to JavaScript as JSON text or as a
// float array in the module's memory.
//
// Deliberately thin: no math of its own beyond part 1's two plain-double functions, which are the
// article's (ladder/01_neuron.cpp has the same two); every model, loss, gradient and step is the
// library's, run the way the ladder programs run them, so the same seed gives the same numbers.
// One model of each kind at a time; called from one thread (the page's worker, or the page).
// reference: ladder/01_neuron.cpp, ladder/02_mlp.cpp, ladder/03_learn_well.cpp,
// ladder/05_embeddings.cpp.
#include <emscripten/emscripten.h>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "data/batches.h"
#include "data/csv.h"
#include "data/text.h"
#include "data/toy.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_generate.h"
#include "nn/gpt_model.h"
#include "nn/gpt_weights.h"
#include "scalar/char_mlp.h"
#include "scalar/loss.h"
#include "scalar/nn.h"
#include "scalar/optim.h"
#include "scalar/value.h"
#include "tensor/optim.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/estimate_loss.h"
#include "util/check.h"
#include "util/format.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"
#include "util/schedule.h"

namespace {

using wiggle::Value;

std::string g_out;  // the text the last call returned (valid until the next call)

const char* out(std::string s) {
    g_out = std::move(s);
    return g_out.c_str();
}

// A user error (WIGGLE_CHECK) in the page: hand the one line to JavaScript, which shows it, then
// end this module instance (the worker starts a fresh one). Never returns.
EM_JS(void, web_report_error, (const char* line), { Module["lastError"] = UTF8ToString(line); });

[[noreturn]] void web_failure(const std::string& line) {
    web_report_error(line.c_str());
    std::abort();
}

// ---- Part 1: the neuron ------------------------------------------------------------------------
// The article's four examples, hand-picked weights, seed, learning rate and steps
// (ladder/01_neuron.cpp).
constexpr std::array<std::array<double, 2>, 4> kXs = {
    {{2.0, 1.0}, {1.0, -1.0}, {-1.0, 1.0}, {-2.0, -1.0}}};
constexpr std::array<double, 4> kYs = {1.0, -1.0, -1.0, -1.0};
constexpr std::array<double, 3> kHandPicked = {-0.6, 0.8, 0.1};

double neuron(double x1, double x2, double w1, double w2, double b) {
    return std::tanh(x1 * w1 + x2 * w2 + b);
}

double plain_loss(const std::array<double, 3>& p) {
    double total = 0.0;
    for (size_t i = 0; i < kXs.size(); ++i)
        total += std::pow(neuron(kXs[i][0], kXs[i][1], p[0], p[1], p[2]) - kYs[i], 2);
    return total / static_cast<double>(kXs.size());
}

Value mse(Value w1, Value w2, Value b) {
    Value total = 0.0;
    for (size_t i = 0; i < kXs.size(); ++i) {
        Value diff = (w1 * kXs[i][0] + w2 * kXs[i][1] + b).tanh() - kYs[i];
        total = total + diff * diff;
    }
    return total * (1.0 / static_cast<double>(kXs.size()));
}

std::string json_number(double x) { return std::isfinite(x) ? wiggle::py_repr(x) : "null"; }

// ---- Parts 2 and 3: an MLP on a toy data set ---------------------------------------------------
enum class Loss { Svm, CrossEntropy, Mse };

struct MlpRun {
    wiggle::Dataset2D train, val;
    std::unique_ptr<wiggle::MLP> model;
    std::unique_ptr<wiggle::SGD> sgd;
    std::unique_ptr<wiggle::Minibatches> batches;  // part 3's recipe; null: full batch (part 2)
    wiggle::Schedule schedule;
    Loss loss = Loss::Svm;
    double alpha = 1e-4;
    int steps = 100, step = 0;
    std::vector<int> train_pm1, val_pm1;
    std::vector<float> grid;
};
// Part 2's log: ten lines a run (02_mlp: every 10th of its 100 steps, and the last).
constexpr int kFullBatchLogLines = 10;
// Part 3's log: the full sets measured 15 times a run (03_learn_well: every 100 of 1500 steps,
// and after the last).
constexpr int kMinibatchEvaluations = 15;
std::unique_ptr<MlpRun> g_mlp;

std::vector<int> pm1(const std::vector<int>& y) {
    std::vector<int> s;
    for (int label : y) s.push_back(label == 1 ? 1 : -1);
    return s;
}

// Scores of every point: one per point (SVM) or one row of num_classes logits.
std::vector<Value> scores_of(const wiggle::MLP& model, const wiggle::Dataset2D& d) {
    std::vector<Value> scores;
    scores.reserve(d.x.size() * model.nout());
    for (const auto& x : d.x) {
        const std::span<const Value> s = model(std::span<const double>(x));
        scores.insert(scores.end(), s.begin(), s.end());
    }
    return scores;
}

Value data_loss_of(const MlpRun& r, std::span<const Value> scores, std::span<const int> y,
                   std::span<const int> labels_pm1) {
    const int k = r.model->nout();
    return r.loss == Loss::Svm   ? wiggle::svm_loss(scores, labels_pm1)
           : r.loss == Loss::Mse ? wiggle::mse_one_hot_loss(scores, k, y)
                                 : wiggle::cross_entropy(scores, k, y);
}

Value loss_of(const MlpRun& r, std::span<const Value> scores, const wiggle::Dataset2D& d,
              const std::vector<int>& labels_pm1) {
    return data_loss_of(r, scores, d.y, labels_pm1) +
           r.alpha * wiggle::l2_penalty(r.model->parameters());
}

double accuracy_of(const MlpRun& r, std::span<const Value> scores, const wiggle::Dataset2D& d,
                   const std::vector<int>& labels_pm1) {
    return r.loss == Loss::Svm ? wiggle::sign_accuracy(scores, labels_pm1)
                               : wiggle::argmax_accuracy(scores, r.model->nout(), d.y);
}

// The page's CSV (web/main.js writes it to /data.csv): two feature columns and an integer label,
// as ladder/03_learn_well reads --csv; 80% train, 20% validation, split by the seed.
std::pair<wiggle::Dataset2D, wiggle::Dataset2D> csv_data(uint64_t seed) {
    const wiggle::CsvData c = wiggle::load_csv("/data.csv");
    WIGGLE_CHECK(c.cols == 2, "the page draws two features: x1,x2,label",
                 "/data.csv has {} feature columns", c.cols);
    WIGGLE_CHECK(c.rows >= 4, "give at least 4 rows", "/data.csv has {} rows", c.rows);
    const wiggle::Split split = wiggle::split_train_val(c.rows, 0.2, seed);
    std::pair<wiggle::Dataset2D, wiggle::Dataset2D> d;
    for (auto [part, idx] : {std::pair{&d.first, &split.train}, std::pair{&d.second, &split.val}}) {
        part->num_classes = c.num_classes;
        for (size_t i : *idx) {
            part->x.push_back({c.row(i)[0], c.row(i)[1]});
            part->y.push_back(c.y[i]);
        }
    }
    return d;
}

// The points of `d` at `idx`, in that order.
wiggle::Dataset2D subset(const wiggle::Dataset2D& d, const std::vector<size_t>& idx) {
    wiggle::Dataset2D s;
    s.num_classes = d.num_classes;
    for (size_t i : idx) {
        s.x.push_back(d.x[i]);
        s.y.push_back(d.y[i]);
    }
    return s;
}

// The data loss (no L2: 03_learn_well measures the fit) and the accuracy on a whole set.
std::pair<double, double> evaluate(const MlpRun& r, const wiggle::Dataset2D& d,
                                   const std::vector<int>& labels_pm1) {
    wiggle::GraphScope graph;
    const std::vector<Value> scores = scores_of(*r.model, d);
    return {data_loss_of(r, scores, d.y, labels_pm1).data(), accuracy_of(r, scores, d, labels_pm1)};
}

// 03_learn_well's log line: measured on the full sets before step `step` (or after the last).
std::string minibatch_line(const MlpRun& r, int step, double& val_loss) {
    const auto [loss, acc] = evaluate(r, r.train, r.train_pm1);
    double val_acc = 0.0;
    std::tie(val_loss, val_acc) = evaluate(r, r.val, r.val_pm1);
    return wiggle::format_step(step, r.steps, loss,
                               {{"acc", 100.0 * acc, 1},
                                {"val", val_loss},
                                {"val_acc", 100.0 * val_acc, 1},
                                {"lr", r.schedule.at(std::min(step, r.steps - 1)), 4}});
}

wiggle::Dataset2D make_data(int kind, int n, double noise, uint64_t seed) {
    switch (kind) {
        case 1:
            return wiggle::make_spirals(n / 3, 3, noise, seed);
        case 2:
            return wiggle::make_xor(n, noise, seed);
        case 3:
            return wiggle::make_circles(n, noise, 0.5, seed);
        default:
            return wiggle::make_moons(n, noise, seed);
    }
}

// ---- Part 4: the counted character bigram on a word list
// ----------------------------------------- The counting model of ladder/04_bigram.cpp: P[x][y] =
// (N[x][y] + alpha) / (sum_y N[x][y] + alpha V) over the training split's '.'-framed words, scored
// by the average negative log likelihood.
struct Bigram {
    wiggle::WordList words;
    int v = 0;
    std::vector<double> counts, probs;  // V x V, row = current token
};
std::unique_ptr<Bigram> g_bigram;

std::vector<double> count_pairs(const std::vector<std::vector<int>>& split, int v) {
    std::vector<double> n(static_cast<size_t>(v) * v, 0.0);
    for (const auto& w : split) {
        std::vector<int> s{wiggle::CharVocab::kBoundary};
        s.insert(s.end(), w.begin(), w.end());
        s.push_back(wiggle::CharVocab::kBoundary);
        for (size_t i = 0; i + 1 < s.size(); ++i)
            n[static_cast<size_t>(s[i]) * v + s[i + 1]] += 1.0;
    }
    return n;
}

double average_nll(const std::vector<double>& p, const std::vector<double>& n) {
    double nll = 0.0, pairs = 0.0;
    for (size_t i = 0; i < n.size(); ++i) {
        if (n[i] == 0.0) continue;
        nll -= n[i] * std::log(p[i]);
        pairs += n[i];
    }
    return nll / pairs;
}

std::string json_string(std::string_view text) {
    std::string s = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') s += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            s += fmt::format("\\u{:04x}", c);
            continue;
        }
        s += c;
    }
    return s + "\"";
}

// ---- Parts 7-9: the baby GPT
// --------------------------------------------------------------------- ladder/09_gpt.cpp's run,
// one iteration per call: nanoGPT's baby config by default (the page may shrink it), AdamW with
// weight decay, gradient clipping, warmup + cosine, the loss estimates every eval_interval, the
// same random streams (batches from seed, estimates from seed + 1).
struct GptRun {
    wiggle::TextStream text;
    std::unique_ptr<wiggle::GptWeights> weights;
    std::unique_ptr<wiggle::AdamW<float>> optimizer;
    wiggle::GptActivations acts;
    wiggle::Schedule schedule;
    wiggle::PyRandom batch_rng, eval_rng;
    int batch = 12, block = 64, iters = 2000, eval_interval = 250, eval_iters = 20, iter = 0;
    uint64_t seed = 1337;
    double train_seconds = 0.0;
    std::vector<int> x, y;
    std::optional<wiggle::Tokenizer> tokenizer;  // a loaded checkpoint's; it samples, not trains

    std::vector<int> encode(std::string_view s, const char* what) const {
        return tokenizer ? tokenizer->encode(s, wiggle::SpecialTokens::Tokens, what)
                         : text.vocab.encode_utf8(s, what);
    }
    std::string decode(std::span<const int> ids) const {
        return tokenizer ? tokenizer->decode(ids) : text.vocab.decode(ids);
    }
    std::string show(int id) const {
        return tokenizer ? tokenizer->decode(std::span(&id, 1)) : text.vocab.show(id);
    }
};
std::unique_ptr<GptRun> g_gpt;
constexpr int kGptLogInterval = 50;  // ladder/09_gpt's training-loss line between evaluations

// ---- Part 5: the character MLP on a word list --------------------------------------------------
// ladder/05_embeddings.cpp's run, one step per call: the 80/10/10 split of seed 42, the model
// drawn from PyRandom(2147483647), minibatches from PyRandom(1), the learning rate dropping
// tenfold after three quarters of the steps, the dev loss measured ten times a run.
struct EmbedRun {
    wiggle::WordList words;
    wiggle::Examples train, dev;
    std::unique_ptr<wiggle::CharMlp> model;
    wiggle::PyRandom batch_rng{1};
    std::vector<int> batch;
    int steps = 0, step = 0;
    double lr = 0.1, train_seconds = 0.0;
};
std::unique_ptr<EmbedRun> g_embed;
constexpr double kEmbedDropAt = 0.75;          // 05_embeddings' kDropAt
constexpr double kEmbedLrFactor = 0.01 / 0.1;  // its kFinalLearningRate / kLearningRate
constexpr int kEmbedEvaluations = 10;          // its kEvaluations
constexpr int kEmbedMaxNameLength = 50;        // its kMaxNameLength

// One minibatch step, exactly ladder/03_learn_well's: the full sets measured first when it is
// time, the step on the next minibatch, and the full sets measured again after the last step.
std::string minibatch_step(MlpRun& r) {
    const int every = std::max(1, r.steps / kMinibatchEvaluations);
    std::string log;
    double val = -1.0;  // the validation loss, measured only with a log line
    if (r.step % every == 0) log = minibatch_line(r, r.step, val);
    wiggle::GraphScope graph;
    std::vector<Value> scores;
    std::vector<int> y, y_pm1;
    for (size_t i : r.batches->next()) {
        const std::span<const Value> s = (*r.model)(std::span<const double>(r.train.x[i]));
        scores.insert(scores.end(), s.begin(), s.end());
        y.push_back(r.train.y[i]);
        y_pm1.push_back(r.train_pm1[i]);
    }
    Value loss = data_loss_of(r, scores, y, y_pm1);
    if (r.alpha > 0.0) loss = loss + r.alpha * wiggle::l2_penalty(r.model->parameters());
    r.sgd->zero_grad();
    loss.backward();
    const double lr = r.schedule.at(r.step);
    r.sgd->step(lr);
    if (r.step + 1 == r.steps) log += (log.empty() ? "" : "\n") + minibatch_line(r, r.steps, val);
    const std::string s =
        fmt::format("{{\"step\":{},\"loss\":{},\"val\":{},\"lr\":{},\"log\":{}}}", r.step,
                    json_number(loss.data()), val >= 0.0 ? json_number(val) : "null",
                    json_number(lr), json_string(log));
    r.step++;
    return s;
}

// Parts 4 and 5 sample `count` words from one seed: the count, the seed and the sampler's
// settings checked (one line on a bad value).
wiggle::SamplingOptions word_sampling(int count, int seed, double temperature, int top_k) {
    WIGGLE_CHECK(count >= 1 && count <= 1000 && seed >= 0, "", "bad count {} or seed {}", count,
                 seed);
    wiggle::SamplingOptions options;
    options.temperature = temperature;
    options.top_k = top_k;
    wiggle::check_sampling_options(options);
    return options;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void web_init() { wiggle::set_failure_handler(web_failure); }

// Part 1's article lines, as ladder/01_neuron prints them: the hand-picked neuron's output, the
// wiggled gradient, then the training log of 200 steps from random.seed(1).
EMSCRIPTEN_KEEPALIVE const char* neuron_article() {
    std::string s =
        wiggle::py_repr(neuron(2.0, 1.0, kHandPicked[0], kHandPicked[1], kHandPicked[2])) + "\n";
    constexpr double kH = 1e-6;
    std::array<double, 3> numerical{};
    for (size_t i = 0; i < 3; ++i) {
        std::array<double, 3> up = kHandPicked, dn = kHandPicked;
        up[i] += kH;
        dn[i] -= kH;
        numerical[i] = (plain_loss(up) - plain_loss(dn)) / (2 * kH);
    }
    s += wiggle::py_round_list(numerical, 4) + "\n";
    wiggle::PyRandom rng(1);
    std::array<Value, 2> w = {Value(rng.uniform(-1, 1)), Value(rng.uniform(-1, 1))};
    Value b = 0.0;
    const std::array<Value, 3> params = {w[0], w[1], b};
    constexpr int kSteps = 200;
    for (int step = 0; step < kSteps; ++step) {
        wiggle::GraphScope graph;
        Value loss = mse(w[0], w[1], b);
        for (Value p : params) p.grad() = 0.0;
        loss.backward();
        for (Value p : params) p.data() += -0.1 * p.grad();
        if (step % 40 == 0) s += wiggle::format_step(step, kSteps - 1, loss.data()) + "\n";
    }
    return out(s);
}

// One example through the neuron and its squared error, on Values: every node's value and
// gradient (after one backward from the loss), as JSON {"name": [data, grad], ...}.
EMSCRIPTEN_KEEPALIVE const char* neuron_graph(double x1, double x2, double w1, double w2, double b,
                                              double y) {
    wiggle::GraphScope graph;
    Value vx1 = x1, vx2 = x2, vw1 = w1, vw2 = w2, vb = b, vy = y;
    Value x1w1 = vx1 * vw1, x2w2 = vx2 * vw2;
    Value sum = x1w1 + x2w2;
    Value act = sum + vb;
    Value o = act.tanh();
    Value diff = o - vy;
    Value loss = diff * diff;
    loss.backward();
    const std::array<std::pair<const char*, Value>, 13> nodes = {{{"x1", vx1},
                                                                  {"x2", vx2},
                                                                  {"w1", vw1},
                                                                  {"w2", vw2},
                                                                  {"b", vb},
                                                                  {"y", vy},
                                                                  {"x1w1", x1w1},
                                                                  {"x2w2", x2w2},
                                                                  {"sum", sum},
                                                                  {"act", act},
                                                                  {"o", o},
                                                                  {"diff", diff},
                                                                  {"loss", loss}}};
    std::string s = "{";
    for (const auto& [name, v] : nodes) {
        s += fmt::format("{}\"{}\":[{},{}]", s.size() > 1 ? "," : "", name, json_number(v.data()),
                         json_number(v.grad()));
    }
    return out(s + "}");
}

// A new MLP run (replacing the last): data set 0 moons, 1 spirals (3 classes), 2 XOR, 3 circles,
// 4 the CSV at /data.csv (80/20 split by the seed);
// holdout 0: n training points and n fresh validation points (seed + 1), as ladder/02_mlp draws
// them; 1: n points of which 20% are held out (split by the seed), as ladder/03_learn_well does;
// the model 2 -> width x depth ReLU -> 1 score (SVM loss) or one logit per class; SGD with
// momentum, the learning rate from lr to lr_end over `steps` after `warmup` steps (schedule 0
// constant, 1 linear, 2 cosine), loss + alpha * L2; batch 0: full batch (part 2), else shuffled
// minibatches of that many points (part 3). Returns the model's description, or an error line.
EMSCRIPTEN_KEEPALIVE const char* mlp_new(int dataset, int n, double noise, int seed, int width,
                                         int depth, int loss, double lr, double lr_end,
                                         int schedule, int steps, double momentum, double alpha,
                                         int batch, int warmup, int holdout) {
    WIGGLE_CHECK(n >= 4 && n <= 2000, "use 4 to 2000 points", "points: {} is out of range", n);
    WIGGLE_CHECK(width >= 1 && width <= 64 && depth >= 0 && depth <= 4, "",
                 "width {} x depth {} is out of range", width, depth);
    WIGGLE_CHECK(steps >= 1 && steps <= 100000 && seed >= 0, "", "bad steps {} or seed {}", steps,
                 seed);
    WIGGLE_CHECK(batch >= 0 && batch <= 2000 && warmup >= 0 && warmup <= steps, "",
                 "bad batch {} (0: all points) or warmup {} (0 to steps)", batch, warmup);
    WIGGLE_CHECK(g_embed == nullptr, "", "part 5's model has the tape: it runs in its own worker");
    // The old model's parameters leave the tape: everything from its mark on is dropped.
    static size_t tape_mark = wiggle::g_tape.size();
    g_mlp.reset();
    wiggle::g_tape.truncate(tape_mark);
    auto r = std::make_unique<MlpRun>();
    if (dataset == 4) {
        std::tie(r->train, r->val) = csv_data(static_cast<uint64_t>(seed));
    } else if (holdout != 0) {
        const wiggle::Dataset2D all = make_data(dataset, n, noise, static_cast<uint64_t>(seed));
        const wiggle::Split split =
            wiggle::split_train_val(all.x.size(), 0.2, static_cast<uint64_t>(seed));
        r->train = subset(all, split.train);
        r->val = subset(all, split.val);
    } else {
        r->train = make_data(dataset, n, noise, static_cast<uint64_t>(seed));
        r->val = make_data(dataset, n, noise, static_cast<uint64_t>(seed) + 1);
    }
    r->train_pm1 = pm1(r->train.y);
    r->val_pm1 = pm1(r->val.y);
    r->loss = loss == 1 ? Loss::CrossEntropy : loss == 2 ? Loss::Mse : Loss::Svm;
    if (r->train.num_classes > 2 && r->loss == Loss::Svm) r->loss = Loss::CrossEntropy;
    std::vector<int> sizes(depth, width);
    sizes.push_back(r->loss == Loss::Svm ? 1 : r->train.num_classes);
    wiggle::PyRandom rng(static_cast<uint64_t>(seed));
    r->model = std::make_unique<wiggle::MLP>(2, sizes, rng);
    r->sgd = std::make_unique<wiggle::SGD>(r->model->parameters(), momentum);
    const wiggle::ScheduleKind kinds[] = {
        wiggle::ScheduleKind::Constant, wiggle::ScheduleKind::Linear, wiggle::ScheduleKind::Cosine};
    r->schedule = {kinds[schedule < 0 || schedule > 2 ? 0 : schedule], lr, lr_end, warmup, steps};
    if (batch > 0) {
        // Shuffling positions 0..n-1 of the training points is shuffling 03_learn_well's list of
        // their indices: a shuffle's permutation depends only on the length and the seed.
        std::vector<size_t> idx(r->train.x.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        r->batches = std::make_unique<wiggle::Minibatches>(
            std::move(idx), static_cast<size_t>(batch), static_cast<uint64_t>(seed));
    }
    r->alpha = alpha;
    r->steps = steps;
    g_mlp = std::move(r);
    return out(g_mlp->model->describe());
}

// One step of the run: full batch (02_mlp's: the validation loss and accuracy with no backward,
// then forward, loss, backward, the SGD step) or a minibatch (03_learn_well's). Returns JSON
// {step, loss, val, lr, log}: val is null where not measured, log is the native program's log
// lines for this step, or empty.
EMSCRIPTEN_KEEPALIVE const char* mlp_step() {
    WIGGLE_CHECK(g_mlp != nullptr, "", "no MLP: call mlp_new first");
    MlpRun& r = *g_mlp;
    if (r.batches) return out(minibatch_step(r));
    double val_loss = 0.0, val_acc = 0.0;
    {
        wiggle::GraphScope graph;
        const std::vector<Value> scores = scores_of(*r.model, r.val);
        val_loss = loss_of(r, scores, r.val, r.val_pm1).data();
        val_acc = accuracy_of(r, scores, r.val, r.val_pm1);
    }
    wiggle::GraphScope graph;
    const std::vector<Value> scores = scores_of(*r.model, r.train);
    Value loss = loss_of(r, scores, r.train, r.train_pm1);
    const double acc = accuracy_of(r, scores, r.train, r.train_pm1);
    r.sgd->zero_grad();
    loss.backward();
    const double lr = r.schedule.at(r.step);
    r.sgd->step(lr);
    const int every =
        std::max(1, static_cast<int>(std::lround(r.steps / double(kFullBatchLogLines))));
    const std::string line = r.step % every == 0 || r.step == r.steps - 1
                                 ? wiggle::format_step(r.step, r.steps - 1, loss.data(),
                                                       {{"acc", 100.0 * acc, 1},
                                                        {"val", val_loss},
                                                        {"val_acc", 100.0 * val_acc, 1},
                                                        {"lr", lr, 3}})
                                 : "";
    const std::string s = fmt::format("{{\"step\":{},\"loss\":{},\"val\":{},\"lr\":{},\"log\":{}}}",
                                      r.step, json_number(loss.data()), json_number(val_loss),
                                      json_number(lr), json_string(line));
    r.step++;
    return out(s);
}

// Accuracy on the training and validation points now (after the last step), as ladder/02_mlp's
// last line prints it.
EMSCRIPTEN_KEEPALIVE const char* mlp_accuracy() {
    WIGGLE_CHECK(g_mlp != nullptr, "", "no MLP: call mlp_new first");
    MlpRun& r = *g_mlp;
    wiggle::GraphScope graph;
    const double train = accuracy_of(r, scores_of(*r.model, r.train), r.train, r.train_pm1);
    const double val = accuracy_of(r, scores_of(*r.model, r.val), r.val, r.val_pm1);
    return out(
        fmt::format("train accuracy {:.1f}%, val accuracy {:.1f}%", 100.0 * train, 100.0 * val));
}

// The training points as JSON [[x1, x2, label], ...].
EMSCRIPTEN_KEEPALIVE const char* mlp_points() {
    WIGGLE_CHECK(g_mlp != nullptr, "", "no MLP: call mlp_new first");
    std::string s = "[";
    for (size_t i = 0; i < g_mlp->train.x.size(); ++i) {
        s += fmt::format("{}[{},{},{}]", i ? "," : "", json_number(g_mlp->train.x[i][0]),
                         json_number(g_mlp->train.x[i][1]), g_mlp->train.y[i]);
    }
    return out(s + "]");
}

// The decision regions on a res x res grid over [x0, x1] x [y0, y1] (row 0 at y1, the top): per
// cell the predicted class plus a confidence in [0, 1), as class + 0.5 * tanh(|margin|). Returns a
// pointer to res*res floats in the module's memory (valid until the next call).
EMSCRIPTEN_KEEPALIVE const float* mlp_grid(int res, double x0, double x1, double y0, double y1) {
    WIGGLE_CHECK(g_mlp != nullptr, "", "no MLP: call mlp_new first");
    WIGGLE_CHECK(res >= 2 && res <= 256, "", "grid resolution {} is out of range", res);
    MlpRun& r = *g_mlp;
    r.grid.assign(static_cast<size_t>(res) * res, 0.0f);
    const int k = r.model->nout();
    for (int i = 0; i < res; ++i) {
        for (int j = 0; j < res; ++j) {
            wiggle::GraphScope graph;
            const std::array<double, 2> x = {x0 + (x1 - x0) * (j + 0.5) / res,
                                             y1 - (y1 - y0) * (i + 0.5) / res};
            const std::span<const Value> s = r.model->operator()(std::span<const double>(x));
            int cls = 0;
            double margin = 0.0;
            if (k == 1) {
                cls = s[0].data() > 0.0 ? 1 : 0;
                margin = std::abs(s[0].data());
            } else {
                cls = wiggle::argmax(s);
                double second = -INFINITY;
                for (int c = 0; c < k; ++c)
                    if (c != cls) second = std::max(second, s[c].data());
                margin = s[cls].data() - second;
            }
            r.grid[static_cast<size_t>(i) * res + j] =
                static_cast<float>(cls + 0.5 * std::tanh(margin));
        }
    }
    return r.grid.data();
}

// Counts the bigrams of a word list (one word per line, split 80/10/10 with seed 42 as
// ladder/04_bigram does) in the module's file system at `path`, with add-alpha smoothing. Returns
// JSON {describe, vocab, train, dev, counts}; a bad file is one error line.
EMSCRIPTEN_KEEPALIVE const char* bigram_new(const char* path, double alpha) {
    WIGGLE_CHECK(alpha >= 0.0 && std::isfinite(alpha), "", "smoothing {} must be >= 0", alpha);
    g_bigram.reset();
    auto b = std::make_unique<Bigram>();
    b->words = wiggle::load_word_list(path, 42);
    b->v = b->words.vocab.size();
    wiggle::check_vocab_size(b->words.vocab, 256, path, "the bigram is a V x V table");
    const int v = b->v;
    b->counts = count_pairs(b->words.train, v);
    b->probs.assign(b->counts.size(), 0.0);
    for (int x = 0; x < v; ++x) {
        double row_sum = 0.0;
        for (int y = 0; y < v; ++y) row_sum += b->counts[static_cast<size_t>(x) * v + y] + alpha;
        for (int y = 0; y < v; ++y) {
            const size_t i = static_cast<size_t>(x) * v + y;
            b->probs[i] = row_sum > 0.0 ? (b->counts[i] + alpha) / row_sum : 1.0 / v;
        }
    }
    std::string s = fmt::format(
        "{{\"describe\":{},\"train\":{},\"dev\":{},\"vocab\":[",
        json_string(fmt::format("{} words ({} train, {} dev, {} test, seed 42), vocabulary {}",
                                b->words.size(), b->words.train.size(), b->words.dev.size(),
                                b->words.test.size(), v)),
        json_number(average_nll(b->probs, b->counts)),
        json_number(average_nll(b->probs, count_pairs(b->words.dev, v))));
    for (int i = 0; i < v; ++i) s += (i ? "," : "") + json_string(b->words.vocab.show(i));
    s += "],\"counts\":[";
    for (size_t i = 0; i < b->counts.size(); ++i)
        s += fmt::format("{}{}", i ? "," : "", b->counts[i]);
    g_bigram = std::move(b);
    return out(s + "]}");
}

// `count` words sampled from the counted bigram, one per line, as ladder/04_bigram samples them:
// seeds drawn from random.seed(seed), each word from the boundary token until it draws the boundary
// (at most 50 characters), with the shared sampler (temperature, top-k; 0 keeps all).
EMSCRIPTEN_KEEPALIVE const char* bigram_sample(int count, int seed, double temperature, int top_k) {
    WIGGLE_CHECK(g_bigram != nullptr, "", "no bigram: call bigram_new first");
    const wiggle::SamplingOptions options = word_sampling(count, seed, temperature, top_k);
    const Bigram& b = *g_bigram;
    wiggle::TokenSampler sampler(options);
    wiggle::PyRandom seeds(static_cast<uint64_t>(seed));
    auto next_row = [&](std::span<const int> tokens, int) {
        return std::span<const double>(b.probs).subspan(static_cast<size_t>(tokens.back()) * b.v,
                                                        b.v);
    };
    std::string s;
    for (int i = 0; i < count; ++i) {
        wiggle::PyRandom rng(seeds.getrandbits(32));
        const std::vector<int> prompt{0};
        const std::vector<int> tokens =
            wiggle::generate<double>(prompt, 50, next_row, wiggle::RowKind::Probs, sampler, rng,
                                     wiggle::CharVocab::kBoundary);
        s += b.words.vocab.decode(tokens) + "\n";
    }
    return out(s);
}

// A new GPT run on the text file at `path` (90% train, 10% validation, characters as tokens), as
// ladder/09_gpt sets it up. Returns JSON {data, model} (the native program's first lines).
EMSCRIPTEN_KEEPALIVE const char* gpt_new(const char* path, int n_layer, int n_head, int n_embd,
                                         int block, int batch, int iters, double lr, double min_lr,
                                         int warmup, int eval_interval, int eval_iters, int seed) {
    WIGGLE_CHECK(batch >= 1 && batch <= 64 && iters >= 0 && iters <= 100000 && warmup >= 0 &&
                     eval_interval >= 1 && eval_iters >= 1 && eval_iters <= 200 && seed >= 0,
                 "", "bad training settings (batch {}, iterations {}, eval every {} x {})", batch,
                 iters, eval_interval, eval_iters);
    WIGGLE_CHECK(
        n_layer >= 1 && n_layer <= 8 && n_embd >= 8 && n_embd <= 256 && block >= 2 && block <= 256,
        "the page trains up to 8 layers of n_embd 256, block 256",
        "model too big for the page: {} layers, n_embd {}, block {}", n_layer, n_embd, block);
    g_gpt.reset();
    auto r = std::make_unique<GptRun>();
    r->text = wiggle::load_text_stream(path, 0.9, block + 1);
    const wiggle::GptConfig config{.vocab_size = r->text.vocab.size(),
                                   .block_size = block,
                                   .n_layer = n_layer,
                                   .n_head = n_head,
                                   .n_embd = n_embd,
                                   .bias = false,
                                   .dropout = 0.0f};
    wiggle::check_config(config);
    r->seed = static_cast<uint64_t>(seed);
    r->weights = std::make_unique<wiggle::GptWeights>(config, r->seed);
    r->optimizer = std::make_unique<wiggle::AdamW<float>>(
        r->weights->params(),
        wiggle::AdamWConfig{.beta1 = 0.9f, .beta2 = 0.99f, .weight_decay = 0.1f});
    r->schedule = {wiggle::ScheduleKind::Cosine, lr, min_lr, warmup, iters};
    r->batch_rng = wiggle::PyRandom(r->seed);
    r->eval_rng = wiggle::PyRandom(r->seed + 1);
    r->batch = batch;
    r->block = block;
    r->iters = iters;
    r->eval_interval = eval_interval;
    r->eval_iters = eval_iters;
    r->x.resize(static_cast<size_t>(batch) * block);
    r->y.resize(r->x.size());
    const std::string data =
        fmt::format("data: {} ({} train, {} val characters, vocabulary of {})", path,
                    r->text.train.size(), r->text.val.size(), r->text.vocab.size());
    const std::string model =
        fmt::format("model: {} layers, {} heads, n_embd {}, block {}, {:.2f}M parameters", n_layer,
                    n_head, n_embd, block, r->weights->num_parameters() / 1e6);
    g_gpt = std::move(r);
    return out(fmt::format("{{\"data\":{},\"model\":{}}}", json_string(data), json_string(model)));
}

// One iteration of ladder/09_gpt's loop: the loss estimates when it is time (and at the end), then
// one AdamW step on a random batch (none at iters). Returns JSON {iter, loss, lr, ms, done, line}:
// line is the native program's log line for this iteration, or empty.
EMSCRIPTEN_KEEPALIVE const char* gpt_step() {
    WIGGLE_CHECK(g_gpt != nullptr, "", "no GPT: call gpt_new first");
    GptRun& r = *g_gpt;
    WIGGLE_CHECK(!r.tokenizer, "Reset starts a model to train", "a loaded checkpoint only samples");
    WIGGLE_CHECK(r.iter <= r.iters, "", "the run is over ({} iterations)", r.iters);
    const int iter = r.iter;
    const double lr = r.schedule.at(iter);
    std::string line;
    double eval_train = -1.0, eval_val = -1.0;
    if (iter % r.eval_interval == 0 || iter == r.iters) {
        eval_train = wiggle::estimate_loss(r.acts, *r.weights, r.text.train, r.batch, r.block,
                                           r.eval_iters, &r.eval_rng);
        eval_val = wiggle::estimate_loss(r.acts, *r.weights, r.text.val, r.batch, r.block,
                                         r.eval_iters, &r.eval_rng);
        const double ms = iter > 0 ? 1000.0 * r.train_seconds / iter : 0.0;
        line = wiggle::format_step(
            iter, r.iters, static_cast<float>(eval_train),
            {{"val", static_cast<float>(eval_val)}, {"lr", lr, 6}, {"ms/iter", ms, 2}});
    }
    float loss = -1.0f;
    if (iter < r.iters) {
        wiggle::sample_blocks(r.text.train, r.batch, r.block, r.batch_rng, r.x, r.y);
        const auto t0 = std::chrono::steady_clock::now();
        loss = wiggle::gpt_forward(r.acts, *r.weights, r.x.data(), r.y.data(), r.batch, r.block);
        r.weights->params().zero_grad();
        wiggle::gpt_backward(r.weights->grads(), *r.weights, r.acts);
        const wiggle::GradClip clip = wiggle::clip_grad_norm(r.weights->params(), 1.0f);
        r.optimizer->step(static_cast<float>(lr), clip.scale);
        r.train_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        WIGGLE_CHECK(std::isfinite(loss), "lower the learning rate",
                     "the loss is {} at iteration {}", loss, iter);
        if (iter % kGptLogInterval == 0 && iter % r.eval_interval != 0)
            line = wiggle::format_step(iter, r.iters, loss, {{"lr", lr, 6}});
    }
    r.iter++;
    const double ms = iter > 0 || r.iter > 0 ? 1000.0 * r.train_seconds / r.iter : 0.0;
    return out(fmt::format(
        "{{\"iter\":{},\"loss\":{},\"train\":{},\"val\":{},\"lr\":{},\"ms\":{},"
        "\"done\":{},\"line\":{}}}",
        iter, json_number(loss), json_number(eval_train), json_number(eval_val), json_number(lr),
        json_number(ms), r.iter > r.iters ? "true" : "false", json_string(line)));
}

// n characters sampled from the model as ladder/09_gpt samples them: from a newline, through the
// KV cache with nanoGPT's window, temperature and top-k, PyRandom(seed). A loaded checkpoint
// samples as `wiggle sample` does by default: the window keeps half the block when it is full,
// and the text starts with the prompt.
EMSCRIPTEN_KEEPALIVE const char* gpt_sample(int n, double temperature, int top_k, int seed) {
    WIGGLE_CHECK(g_gpt != nullptr, "", "no GPT: call gpt_new first");
    WIGGLE_CHECK(n >= 1 && n <= 10000 && seed >= 0, "", "bad length {} or seed {}", n, seed);
    GptRun& r = *g_gpt;
    wiggle::SamplingOptions sampling;
    sampling.temperature = temperature;
    sampling.top_k = top_k;
    wiggle::check_sampling_options(sampling);
    wiggle::TokenSampler sampler(sampling);
    wiggle::PyRandom rng(static_cast<uint64_t>(seed));
    const int keep = r.tokenizer ? std::max(1, r.block / 2) : r.block;
    wiggle::GptDecoder decoder(*r.weights, wiggle::ContextWindow(r.block, keep));
    const std::vector<int> prompt = r.encode("\n", "the prompt");
    const std::vector<int> tokens = wiggle::generate<float>(
        prompt, n, wiggle::cached_next_row(decoder), wiggle::RowKind::Logits, sampler, rng);
    return out((r.tokenizer ? r.decode(prompt) : "") + r.decode(tokens));
}

// The attention weights of one head of one layer over `text` (its last block_size characters that
// the vocabulary has): a forward pass, then softmax(q k^T / sqrt(hs)) over the causal past from
// the q and k that forward computed (acts.qkv), for display. JSON {tokens: [...], att: [T*T]}.
EMSCRIPTEN_KEEPALIVE const char* gpt_attention(const char* text, int layer, int head) {
    WIGGLE_CHECK(g_gpt != nullptr, "", "no GPT: call gpt_new first");
    GptRun& r = *g_gpt;
    const wiggle::GptConfig& c = r.weights->config();
    WIGGLE_CHECK(layer >= 0 && layer < c.n_layer && head >= 0 && head < c.n_head, "",
                 "no head {} in layer {}", head, layer);
    std::vector<int> tokens = r.encode(text, "the attention line");
    WIGGLE_CHECK(!tokens.empty(), "type a line", "the attention line is empty");
    if (static_cast<int>(tokens.size()) > r.block)
        tokens.erase(tokens.begin(), tokens.end() - r.block);
    const int T = static_cast<int>(tokens.size()), C = c.n_embd, hs = C / c.n_head;
    wiggle::gpt_forward(r.acts, *r.weights, tokens.data(), nullptr, 1, T);
    const float* qkv = r.acts.layers[layer].qkv;
    std::vector<double> att(static_cast<size_t>(T) * T, 0.0);
    for (int t = 0; t < T; ++t) {
        const float* q = qkv + static_cast<size_t>(t) * 3 * C + head * hs;
        double top = -INFINITY, sum = 0.0;
        for (int s2 = 0; s2 <= t; ++s2) {
            const float* k = qkv + static_cast<size_t>(s2) * 3 * C + C + head * hs;
            double dot = 0.0;
            for (int i = 0; i < hs; ++i) dot += double(q[i]) * k[i];
            att[static_cast<size_t>(t) * T + s2] = dot / std::sqrt(double(hs));
            top = std::max(top, att[static_cast<size_t>(t) * T + s2]);
        }
        for (int s2 = 0; s2 <= t; ++s2) {
            double& a = att[static_cast<size_t>(t) * T + s2];
            a = std::exp(a - top);
            sum += a;
        }
        for (int s2 = 0; s2 <= t; ++s2) att[static_cast<size_t>(t) * T + s2] /= sum;
    }
    std::string s = "{\"tokens\":[";
    for (int t = 0; t < T; ++t) s += (t ? "," : "") + json_string(r.show(tokens[t]));
    s += "],\"att\":[";
    for (size_t i = 0; i < att.size(); ++i) s += fmt::format("{}{:.5f}", i ? "," : "", att[i]);
    return out(s + "]}");
}

// Loads a checkpoint written by `wiggle train` (or nanoGPT's names in safetensors) from the
// module's file system, checked as `wiggle sample` checks it: a file that is not one is one line.
// It replaces the GPT run; it samples and shows attention, it does not train. JSON {data, model}.
EMSCRIPTEN_KEEPALIVE const char* gpt_load(const char* path) {
    g_gpt.reset();
    wiggle::LoadedModel m = wiggle::load_checkpoint(path);
    WIGGLE_CHECK(m.tokenizer.has_value(), "pick a checkpoint of wiggle train",
                 "{} has no tokenizer (a GPT-2 file): the page has no GPT-2 vocabulary", path);
    auto r = std::make_unique<GptRun>();
    r->tokenizer = std::move(m.tokenizer);
    r->weights = std::make_unique<wiggle::GptWeights>(std::move(m.weights));
    const wiggle::GptConfig& c = r->weights->config();
    r->block = c.block_size;
    r->iters = 0;
    const std::string data = fmt::format("checkpoint: {} (vocabulary of {})", path, c.vocab_size);
    const std::string model = fmt::format(
        "model: {} layers, {} heads, n_embd {}, block {}, {:.2f}M parameters", c.n_layer, c.n_head,
        c.n_embd, c.block_size, r->weights->num_parameters() / 1e6);
    g_gpt = std::move(r);
    return out(fmt::format("{{\"data\":{},\"model\":{}}}", json_string(data), json_string(model)));
}

// A new part-5 run (replacing the last) on the word list at `path`, as ladder/05_embeddings sets
// it up: the examples of `context` characters, the model context x embedding -> hidden tanh ->
// vocabulary. Returns JSON {data, model, training}: the native program's first three lines.
// Part 2's MLP and this model each keep their parameters at the bottom of the tape, so the page
// runs this one in a worker of its own (its own module instance).
EMSCRIPTEN_KEEPALIVE const char* embed_new(const char* path, int steps, int batch, double lr,
                                           int hidden, int embedding, int context) {
    WIGGLE_CHECK(steps >= 1 && steps <= 1000000 && batch >= 1 && batch <= 1024, "",
                 "bad steps {} or batch {}", steps, batch);
    WIGGLE_CHECK(hidden >= 1 && hidden <= 1000 && embedding >= 1 && embedding <= 100 &&
                     context >= 1 && context <= 16,
                 "the page trains up to 1000 tanh units, 100-d embeddings, 16 characters",
                 "model out of range: {} hidden, {}-d embeddings, context {}", hidden, embedding,
                 context);
    WIGGLE_CHECK(std::isfinite(lr) && lr > 0.0, "", "learning rate {} must be > 0", lr);
    WIGGLE_CHECK(g_mlp == nullptr, "", "part 2's MLP has the tape: part 5 runs in its own worker");
    static size_t tape_mark = wiggle::g_tape.size();  // the old model's parameters leave the tape
    g_embed.reset();
    wiggle::g_tape.truncate(tape_mark);
    auto r = std::make_unique<EmbedRun>();
    r->words = wiggle::load_word_list(path, 42);
    wiggle::check_vocab_size(r->words.vocab, 128, path,
                             "every example builds 2·hidden nodes per token");
    r->train = wiggle::word_examples(r->words.train, context);
    r->dev = wiggle::word_examples(r->words.dev, context);
    const wiggle::CharMlpDims d{r->words.vocab.size(), context, embedding, hidden};
    wiggle::PyRandom init(2147483647);
    r->model = std::make_unique<wiggle::CharMlp>(d, init);
    r->steps = steps;
    r->lr = lr;
    r->batch.resize(static_cast<size_t>(batch));
    const wiggle::WordList& w = r->words;
    const std::string data = fmt::format(
        "data: {}: {} words ({} train, {} dev, {} test, seed 42), vocabulary {}, {} train and {} "
        "dev examples",
        path, w.size(), w.train.size(), w.dev.size(), w.test.size(), d.vocab, r->train.size(),
        r->dev.size());
    const std::string model =
        fmt::format("model: {} chars x {}-d embeddings -> {} tanh -> {} logits, {} parameters",
                    d.context, d.embedding, d.hidden, d.vocab, r->model->parameters().size());
    const std::string training =
        fmt::format("training: {} steps of {} examples, lr {} then {} after step {}", steps, batch,
                    lr, lr * kEmbedLrFactor, static_cast<int>(kEmbedDropAt * steps));
    g_embed = std::move(r);
    return out(fmt::format("{{\"data\":{},\"model\":{},\"training\":{}}}", json_string(data),
                           json_string(model), json_string(training)));
}

// One step of ladder/05_embeddings' loop: a minibatch drawn, one SGD step, and the dev loss when
// it is time. Returns JSON {step, loss, dev, lr, ms, done, line}: dev is null where not measured,
// line the native program's log line for this step (its ms: this page's time per step), or empty.
EMSCRIPTEN_KEEPALIVE const char* embed_step() {
    WIGGLE_CHECK(g_embed != nullptr, "", "no model: call embed_new first");
    EmbedRun& r = *g_embed;
    WIGGLE_CHECK(r.step < r.steps, "Reset starts a new run", "the run is over ({} steps)", r.steps);
    const int step = r.step;
    const double lr =
        step < static_cast<int>(kEmbedDropAt * r.steps) ? r.lr : r.lr * kEmbedLrFactor;
    const auto t0 = std::chrono::steady_clock::now();
    wiggle::sample_indices(r.batch_rng, r.train.size(), r.batch);
    const double loss = r.model->sgd_step(r.train.x, r.train.y, r.batch, lr);
    r.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.step++;
    const double ms = 1000.0 * r.train_seconds / r.step;
    double dev = -1.0;
    std::string line;
    if (step % std::max(1, r.steps / kEmbedEvaluations) == 0 || step == r.steps - 1) {
        dev = wiggle::char_mlp_loss(r.model->snapshot(), r.model->dims(), r.dev.x, r.dev.y);
        line = wiggle::format_step(step, r.steps - 1, loss,
                                   {{"dev", dev}, {"lr", lr, 3}, {"ms", ms, 1}});
    }
    return out(fmt::format(
        "{{\"step\":{},\"loss\":{},\"dev\":{},\"lr\":{},\"ms\":{},\"done\":{},\"line\":{}}}", step,
        json_number(loss), dev >= 0.0 ? json_number(dev) : "null", json_number(lr), json_number(ms),
        r.step == r.steps ? "true" : "false", json_string(line)));
}

// The losses on the whole training and dev splits now, as ladder/05_embeddings' line after
// training prints them.
EMSCRIPTEN_KEEPALIVE const char* embed_losses() {
    WIGGLE_CHECK(g_embed != nullptr, "", "no model: call embed_new first");
    const EmbedRun& r = *g_embed;
    const wiggle::CharMlpParams<double> p = r.model->snapshot();
    return out(fmt::format("train loss {:.4f}, dev loss {:.4f}",
                           wiggle::char_mlp_loss(p, r.model->dims(), r.train.x, r.train.y),
                           wiggle::char_mlp_loss(p, r.model->dims(), r.dev.x, r.dev.y)));
}

// `count` names from the model now, one per line, as ladder/05_embeddings samples them: each from
// its own seed drawn from random.seed(seed), until the boundary (at most 50 characters).
EMSCRIPTEN_KEEPALIVE const char* embed_sample(int count, int seed, double temperature, int top_k) {
    WIGGLE_CHECK(g_embed != nullptr, "", "no model: call embed_new first");
    const wiggle::SamplingOptions options = word_sampling(count, seed, temperature, top_k);
    const EmbedRun& r = *g_embed;
    const wiggle::CharMlpParams<double> p = r.model->snapshot();
    wiggle::PyRandom seeds(static_cast<uint64_t>(seed));
    std::string s;
    for (int i = 0; i < count; ++i) {
        const std::vector<int> tokens =
            wiggle::char_mlp_sample(p, r.model->dims(), options, seeds.getrandbits(32),
                                    kEmbedMaxNameLength, wiggle::CharVocab::kBoundary);
        s += r.words.vocab.decode(tokens) + "\n";
    }
    return out(s);
}

}  // extern "C"
