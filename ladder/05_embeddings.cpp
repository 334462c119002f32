// Part 5: a neural language model with embeddings (Bengio et al. 2003), on the scalar engine.
// The bigram saw one character; this model sees the last three. Each character becomes a learned
// vector (its embedding), the three vectors are concatenated, a tanh hidden layer mixes them, and
// a softmax over the vocabulary predicts the next character. Trained with minibatch SGD.
//
// Every multiply-add of every example is two nodes on the tape, so a step of 32 examples builds
// about three quarters of a million nodes: this program prints that number and the time a step
// takes, because that cost is exactly why part 6 moves to tensors.
//
// By default it trains on data/names.txt (80/10/10 split, seed 42, each name framed by '.');
// --data FILE uses any UTF-8 text, one word per line or, with --format text, one stream.
//
// reference: makemore lecture part 2 (block_size 3, 10-d embeddings, 200 tanh units, batch 32,
// lr 0.1 then 0.01: dev 2.17 after 200k steps) and part 3 (the initialization fixes used here).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "data/text.h"
#include "scalar/value.h"
#include "util/check.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"
#include "util/schedule.h"

namespace {

using wiggle::Value;

// ----------------------------------------------------------------------------
// Settings

const std::string kNamesFile = "data/names.txt";  // makemore's 32,033 names
constexpr int kContext = 3;            // characters seen before the one predicted (block_size)
constexpr int kEmbedding = 10;         // dimensions of a character's vector (makemore: 10)
constexpr int kHidden = 200;           // tanh units (makemore: 200)
constexpr int kBatch = 32;             // examples per step (makemore: 32)
constexpr int kSteps = 20000;          // the default budget: under two minutes of one core
constexpr double kLearningRate = 0.1;  // makemore's, for the first part of training
constexpr double kFinalLearningRate = 0.01;  // makemore's, after the drop
constexpr double kDropAt = 0.75;             // fraction of the steps after which the rate drops
constexpr uint64_t kSplitSeed = 42;          // makemore's random.seed(42) before the split
constexpr uint64_t kInitSeed = 2147483647;   // makemore's generator seed (a different RNG, though)
constexpr uint64_t kBatchSeed = 1;           // draws the minibatches
constexpr uint64_t kSampleSeed = 1337;       // draws the sampled names
constexpr int kNamesToSample = 10;
constexpr int kCharsToSample = 300;  // with --format text
constexpr int kMaxNameLength = 50;   // a sampled word stops here if it never draws '.'
constexpr int kMaxVocab = 128;       // every example builds 2·hidden nodes per token
constexpr int kEvaluations = 10;     // dev-loss lines printed during training

struct Dims {
    int vocab, context, embedding, hidden;
    int inputs() const { return context * embedding; }
};

// ----------------------------------------------------------------------------
// The model. Its parameters are Values (to train) and, for evaluation and sampling, copied into
// plain doubles: the forward pass below is written once for both number types.

template <typename Num>
struct Params {
    std::vector<Num> emb;  // (vocab, embedding): row t is token t's vector
    std::vector<Num> w1;   // (inputs, hidden)
    std::vector<Num> b1;   // (hidden)
    std::vector<Num> w2;   // (hidden, vocab)
    std::vector<Num> b2;   // (vocab)
};

double value_of(double x) { return x; }
double value_of(Value v) { return v.data(); }

// makemore part 3's initialization: embeddings ~ N(0,1); W1 scaled by tanh's gain 5/3 over
// sqrt(fan_in) (Kaiming), so tanh starts unsaturated; W2 small and b2 zero, so the first
// predictions are nearly uniform (initial loss ≈ ln V, not 25).
Params<Value> init_params(const Dims& d, wiggle::PyRandom& rng) {
    Params<Value> p;
    auto fill = [&](std::vector<Value>& v, int n, double scale) {
        v.reserve(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) v.emplace_back(scale * rng.gauss(0.0, 1.0));
    };
    fill(p.emb, d.vocab * d.embedding, 1.0);
    fill(p.w1, d.inputs() * d.hidden, (5.0 / 3.0) / std::sqrt(double(d.inputs())));
    fill(p.b1, d.hidden, 0.01);
    fill(p.w2, d.hidden * d.vocab, 0.01);
    fill(p.b2, d.vocab, 0.0);
    return p;
}

std::vector<Value> all_params(const Params<Value>& p) {
    std::vector<Value> all;
    for (const auto* v : {&p.emb, &p.w1, &p.b1, &p.w2, &p.b2})
        all.insert(all.end(), v->begin(), v->end());
    return all;
}

Params<double> snapshot(const Params<Value>& p) {
    auto values = [](const std::vector<Value>& v) {
        std::vector<double> out(v.size());
        for (size_t i = 0; i < v.size(); ++i) out[i] = v[i].data();
        return out;
    };
    return Params<double>{values(p.emb), values(p.w1), values(p.b1), values(p.w2), values(p.b2)};
}

// Scratch space of one forward pass, reused (no allocation per example).
template <typename Num>
struct Buffers {
    std::vector<Num> x, h, logits;
    explicit Buffers(const Dims& d)
        : x(static_cast<size_t>(d.inputs()), empty()),
          h(static_cast<size_t>(d.hidden), empty()),
          logits(static_cast<size_t>(d.vocab), empty()) {}
    static Num empty() {  // a placeholder, overwritten before use (no node on the tape)
        if constexpr (std::is_same_v<Num, Value>) {
            return Value::from_id(0);
        } else {
            return 0.0;
        }
    }
};

// The logits of the next token after `context` (Value: builds the graph; double: just computes).
template <typename Num>
void forward(const Params<Num>& p, const Dims& d, std::span<const int> context, Buffers<Num>& b) {
    using std::tanh;
    const size_t E = d.embedding, H = d.hidden, V = d.vocab;
    // 1. Look up and concatenate the embeddings: picking rows makes no nodes.
    for (size_t k = 0; k < context.size(); ++k) {
        for (size_t e = 0; e < E; ++e)
            b.x[k * E + e] = p.emb[static_cast<size_t>(context[k]) * E + e];
    }
    // 2. h = tanh(x·W1 + b1)
    for (size_t j = 0; j < H; ++j) b.h[j] = p.b1[j];
    for (size_t i = 0; i < b.x.size(); ++i) {
        for (size_t j = 0; j < H; ++j) b.h[j] = b.h[j] + b.x[i] * p.w1[i * H + j];
    }
    for (size_t j = 0; j < H; ++j) b.h[j] = tanh(b.h[j]);
    // 3. logits = h·W2 + b2
    for (size_t t = 0; t < V; ++t) b.logits[t] = p.b2[t];
    for (size_t j = 0; j < H; ++j) {
        for (size_t t = 0; t < V; ++t) b.logits[t] = b.logits[t] + b.h[j] * p.w2[j * V + t];
    }
}

// -log softmax(logits)[target] = logsumexp(logits) - logits[target], with the row's largest
// logit subtracted first (a constant: it changes neither the value nor the gradient).
template <typename Num>
Num nll(std::span<const Num> logits, int target) {
    using std::exp;
    using std::log;
    double top = value_of(logits[0]);
    for (const Num& l : logits) top = std::max(top, value_of(l));
    const Num shift = Num(-top);
    Num sum = exp(logits[0] + shift);
    for (size_t t = 1; t < logits.size(); ++t) sum = sum + exp(logits[t] + shift);
    return log(sum) - (logits[static_cast<size_t>(target)] + shift);
}

// The average loss over a whole split, in plain doubles (no graph, like torch.no_grad()).
double evaluate(const Params<double>& p, const Dims& d, const wiggle::Examples& data) {
    Buffers<double> b(d);
    double total = 0.0;
    for (size_t i = 0; i < data.size(); ++i) {
        forward(p, d, data.context_of(i), b);
        total += nll<double>(b.logits, data.y[i]);
    }
    return total / static_cast<double>(data.size());
}

// ----------------------------------------------------------------------------
// The data

struct Data {
    std::string path;
    bool words = true;
    wiggle::CharVocab vocab;
    wiggle::Examples train, dev;
    std::string describe;
};

Data load(const std::string& path, bool words, int context) {
    Data data{path, words, {}, {}, {}, ""};
    if (words) {
        const wiggle::WordList w = wiggle::load_word_list(path, kSplitSeed);
        data.vocab = w.vocab;
        data.train = wiggle::word_examples(w.train, context);
        data.dev = wiggle::word_examples(w.dev, context);
        data.describe = fmt::format("{} words ({} train, {} dev, {} test, seed {})", w.size(),
                                    w.train.size(), w.dev.size(), w.test.size(), kSplitSeed);
    } else {
        const wiggle::TextStream s = wiggle::load_text_stream(path, wiggle::kTrainFraction,
                                                              static_cast<size_t>(context) + 1);
        data.vocab = s.vocab;
        data.train = wiggle::stream_examples(s.train, context);
        data.dev = wiggle::stream_examples(s.val, context);
        data.describe = fmt::format("{} characters", s.train.size() + s.val.size());
    }
    return data;
}

// ----------------------------------------------------------------------------
// Training

struct Settings {
    Dims dims{0, kContext, kEmbedding, kHidden};
    int steps = kSteps;
    int batch = kBatch;
    double lr = kLearningRate;
    uint64_t seed = kSampleSeed;
    wiggle::SamplingOptions sampling;
};

// Seconds of CPU time this process has used: on a shared machine, the honest cost of a step.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One step's forward and backward. Each example gets its own small graph: its backward adds
// d(loss_i / B)/d(param) into the parameters' gradients (leaf gradients accumulate across
// backward calls, as in PyTorch), so the sum is exactly the gradient of the batch's mean loss,
// while the tape of one example (~0.7 MB) stays in the CPU cache instead of a 24 MB batch tape.
// Returns the mean loss; `nodes` receives the number of nodes built for the whole batch.
double forward_backward(const Params<Value>& p, const Dims& d, const wiggle::Examples& data,
                        std::span<const int> batch, Buffers<Value>& b, size_t& nodes) {
    double total = 0.0;
    nodes = 0;
    for (int i : batch) {
        wiggle::GraphScope graph;
        const size_t before = wiggle::g_tape.size();
        forward(p, d, data.context_of(static_cast<size_t>(i)), b);
        const Value loss = nll<Value>(b.logits, data.y[static_cast<size_t>(i)]) *
                           (1.0 / static_cast<double>(batch.size()));
        nodes += wiggle::g_tape.size() - before;
        loss.backward();
        total += loss.data();
    }
    return total;
}

void train(Params<Value>& p, const Data& data, const Settings& s) {
    using Clock = std::chrono::steady_clock;
    const Dims& d = s.dims;
    const std::vector<Value> params = all_params(p);
    Buffers<Value> b(d);
    std::vector<int> batch(static_cast<size_t>(s.batch));
    wiggle::PyRandom rng(kBatchSeed);
    const int drop_at = static_cast<int>(kDropAt * s.steps);
    const int eval_every = std::max(1, s.steps / kEvaluations);

    size_t nodes = 0;
    double wall = 0.0, cpu = 0.0;  // seconds spent in training steps (not in evaluation)
    for (int step = 0; step < s.steps; ++step) {
        const auto wall_start = Clock::now();
        const double cpu_start = cpu_seconds();
        const double lr = step < drop_at ? s.lr : s.lr * (kFinalLearningRate / kLearningRate);
        wiggle::sample_indices(rng, data.train.size(), batch);
        for (const Value& q : params) q.grad() = 0.0;
        const double loss = forward_backward(p, d, data.train, batch, b, nodes);
        for (const Value& q : params) q.data() -= lr * q.grad();
        wall += std::chrono::duration<double>(Clock::now() - wall_start).count();
        cpu += cpu_seconds() - cpu_start;

        if (step % eval_every == 0 || step == s.steps - 1) {
            const double dev = evaluate(snapshot(p), d, data.dev);
            const double ms = 1000.0 * cpu / (step + 1);
            fmt::print("{}\n", wiggle::format_step(step, s.steps - 1, loss,
                                                   {{"dev", dev}, {"lr", lr, 3}, {"ms", ms, 1}}));
            std::fflush(stdout);
        }
    }
    fmt::print("{} graph nodes per step ({} per example)\n", nodes,
               nodes / static_cast<size_t>(s.batch));
    fmt::print("{:.1f} ms per step, {:.1f} steps/s ({:.1f} s of CPU time; {:.1f} s wall clock)\n",
               1000.0 * cpu / s.steps, s.steps / cpu, cpu, wall);
}

// ----------------------------------------------------------------------------
// Sampling: the context starts as boundary tokens; each step feeds the last `context` tokens.

std::string sample(const Params<double>& p, const Data& data, const Settings& s, uint64_t seed) {
    const Dims& d = s.dims;
    Buffers<double> b(d);
    wiggle::TokenSampler sampler(s.sampling);
    wiggle::PyRandom rng(seed);
    std::vector<int> window(static_cast<size_t>(d.context));
    auto next_row = [&](std::span<const int> tokens, int) {
        for (size_t k = 0; k < window.size(); ++k) {  // the last `context` tokens, '.'-padded
            const size_t back = window.size() - k;
            window[k] = tokens.size() >= back ? tokens[tokens.size() - back] : 0;
        }
        forward(p, d, window, b);
        return std::span<const double>(b.logits);
    };
    const std::vector<int> prompt{0};
    const std::vector<int> out = wiggle::generate<double>(
        prompt, data.words ? kMaxNameLength : kCharsToSample, next_row, wiggle::RowKind::Logits,
        sampler, rng, data.words ? wiggle::CharVocab::kBoundary : -1);
    return data.vocab.decode(out);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 5: a character MLP language model with embeddings, on the scalar engine"};
    std::string path = kNamesFile;
    std::string format = "words";
    Settings s;
    app.add_option("--data", path, "a UTF-8 text file (default: data/names.txt)");
    app.add_option("--format", format, "words|text: one word per line, or one stream")
        ->check(CLI::IsMember({"words", "text"}));
    app.add_option("--steps", s.steps, "training steps")->check(CLI::PositiveNumber);
    app.add_option("--batch", s.batch, "examples per step")->check(CLI::PositiveNumber);
    app.add_option("--lr", s.lr, "learning rate (drops 10x for the last quarter)");
    app.add_option("--hidden", s.dims.hidden, "tanh units")->check(CLI::PositiveNumber);
    app.add_option("--embedding", s.dims.embedding, "embedding dimensions")
        ->check(CLI::PositiveNumber);
    app.add_option("--context", s.dims.context, "characters of context")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", s.seed, "seed of the samples");
    app.add_option("--temperature", s.sampling.temperature, "sampling temperature (> 0)");
    app.add_option("--top-k", s.sampling.top_k, "sample among the k most likely (0: all)");
    app.add_option("--top-p", s.sampling.top_p, "sample among the most likely up to mass p");
    app.add_flag("--greedy", s.sampling.greedy, "always take the most likely character");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 05_embeddings --help for the flags", __FILE__, __LINE__);
    }
    wiggle::check_sampling_options(s.sampling);

    // The data: (three characters of context, next character) examples.
    const Data data = load(path, format == "words", s.dims.context);
    wiggle::check_vocab_size(data.vocab, kMaxVocab, path,
                             "every example builds 2·hidden nodes per token");
    s.dims.vocab = data.vocab.size();
    const Dims& d = s.dims;
    fmt::print("data: {}: {}, vocabulary {}, {} train and {} dev examples\n", path, data.describe,
               d.vocab, data.train.size(), data.dev.size());

    // The model.
    wiggle::PyRandom init(kInitSeed);
    Params<Value> params = init_params(d, init);
    fmt::print("model: {} chars x {}-d embeddings -> {} tanh -> {} logits, {} parameters\n",
               d.context, d.embedding, d.hidden, d.vocab, all_params(params).size());

    // Training.
    fmt::print("training: {} steps of {} examples, lr {} then {} after step {}\n", s.steps, s.batch,
               s.lr, s.lr * (kFinalLearningRate / kLearningRate),
               static_cast<int>(kDropAt * s.steps));
    train(params, data, s);

    // How well it did, on the whole splits.
    const Params<double> trained = snapshot(params);
    fmt::print("train loss {:.4f}, dev loss {:.4f}\n", evaluate(trained, d, data.train),
               evaluate(trained, d, data.dev));

    // What it says.
    fmt::print("samples (seed {}):\n", s.seed);
    wiggle::PyRandom seeds(s.seed);
    const int n = data.words ? kNamesToSample : 1;
    for (int i = 0; i < n; ++i)
        fmt::print("  {}\n", sample(trained, data, s, seeds.getrandbits(32)));
    return 0;
}
