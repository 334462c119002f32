// Part 4: the character bigram, the simplest language model: the next character depends only on
// the current one. Built twice, and both ways land on the same loss:
//   1. by counting: a V x V table of how often each character follows each other one, plus α
//      ("add-α smoothing", so a pair never seen still gets a little probability);
//   2. by learning: a one-layer network on the scalar engine, one-hot(x) -> W -> softmax, trained
//      by gradient descent on the negative log likelihood of the next character.
// Then both sample: names that sound almost like names, and "Shakespeare" that only looks like it.
//
// By default it runs on data/names.txt (one name per line, each framed by the boundary token '.')
// and on data/tinyshakespeare.txt (one stream of characters); --data FILE runs on any UTF-8 text.
//
// reference: makemore lecture part 1 (counts, P = (N+1) / rowsum, the neural bigram with
// lr 50 and 0.01·mean(W²)), ng-video-lecture bigram.py (tinyshakespeare, 90/10 split).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "data/text.h"
#include "scalar/value.h"
#include "util/check.h"
#include "util/io.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace {

using wiggle::Value;

// ----------------------------------------------------------------------------
// Settings

const std::string kNamesFile = "data/names.txt";           // makemore's 32,033 names
const std::string kTextFile = "data/tinyshakespeare.txt";  // the char-rnn corpus, 1.1 MB
constexpr double kSmoothing = 1.0;  // makemore's +1: every pair counts at least once
constexpr int kSteps = 4000;        // full-batch steps: the rows of rare characters learn slowly
constexpr double kLearningRate = 50.0;  // makemore's: softmax gradients of a mean are tiny
constexpr double kWeightDecay = 0.01;   // makemore's 0.01·mean(W²): pulls rows toward uniform,
                                        // the network's version of smoothing
constexpr uint64_t kInitSeed = 2147483647;  // makemore's generator seed (a different RNG, though)
constexpr uint64_t kSplitSeed = 42;         // makemore's random.seed(42) before shuffling the names
constexpr uint64_t kSampleSeed = 1337;      // the same seed for both models, so samples line up
constexpr int kNamesToSample = 10;
constexpr int kCharsToSample = 300;
constexpr int kMaxNameLength = 50;  // a sampled name stops here if it never draws '.'
constexpr int kMaxVocab = 256;      // W is V x V and every step builds ~6·V² nodes
constexpr int kLogEvery = 500;

// A table of V x V numbers, row-major: row = current token, column = next token.
struct Table {
    int v = 0;
    std::vector<double> cells;
    explicit Table(int size) : v(size), cells(static_cast<size_t>(size) * size, 0.0) {}
    double& at(int row, int col) { return cells[static_cast<size_t>(row) * v + col]; }
    double at(int row, int col) const { return cells[static_cast<size_t>(row) * v + col]; }
    std::span<const double> row(int r) const {
        return std::span<const double>(cells).subspan(static_cast<size_t>(r) * v, v);
    }
};

// ----------------------------------------------------------------------------
// The data: sequences of tokens whose neighbouring pairs are the bigrams.

struct Corpus {
    std::string path;
    bool words = false;  // names-style (framed by '.') or one text stream
    wiggle::CharVocab vocab;
    std::vector<std::vector<int>> train, val;  // token sequences; names carry their '.' frames
    std::vector<std::vector<int>> all;         // names only: every name, for makemore's measure
    std::string describe;
};

std::vector<std::vector<int>> framed(const std::vector<std::vector<int>>& words) {
    std::vector<std::vector<int>> out;
    for (const auto& w : words) {
        std::vector<int> s{wiggle::CharVocab::kBoundary};
        s.insert(s.end(), w.begin(), w.end());
        s.push_back(wiggle::CharVocab::kBoundary);
        out.push_back(std::move(s));
    }
    return out;
}

Corpus load_words(const std::string& path) {
    wiggle::WordList w = wiggle::load_word_list(path, kSplitSeed);
    Corpus c{path, true, w.vocab, framed(w.train), framed(w.dev), {}, ""};
    c.all = framed(w.train);
    for (auto* split : {&w.dev, &w.test}) {
        for (auto& s : framed(*split)) c.all.push_back(std::move(s));
    }
    c.describe = fmt::format("{} words ({} train, {} dev, {} test, seed {})", w.size(),
                             w.train.size(), w.dev.size(), w.test.size(), kSplitSeed);
    return c;
}

Corpus load_stream(const std::string& path) {
    wiggle::TextStream s = wiggle::load_text_stream(path);
    Corpus c{path, false, s.vocab, {s.train}, {s.val}, {}, ""};
    c.describe = fmt::format("{} characters ({} train, {} val)", s.train.size() + s.val.size(),
                             s.train.size(), s.val.size());
    return c;
}

// How often each token follows each other one.
Table count_bigrams(const std::vector<std::vector<int>>& sequences, int v) {
    Table n(v);
    for (const auto& s : sequences) {
        for (size_t i = 0; i + 1 < s.size(); ++i) n.at(s[i], s[i + 1]) += 1.0;
    }
    return n;
}

// The average negative log likelihood of the pairs counted in `n` under the probabilities `p`.
double average_nll(const Table& p, const Table& n) {
    double nll = 0.0, pairs = 0.0;
    for (size_t i = 0; i < n.cells.size(); ++i) {
        if (n.cells[i] == 0.0) continue;
        nll -= n.cells[i] * std::log(p.cells[i]);
        pairs += n.cells[i];
    }
    return nll / pairs;
}

// ----------------------------------------------------------------------------
// Model 1: counting. P[x][y] = (N[x][y] + α) / (Σ_y N[x][y] + α·V).

Table counting_model(const Table& counts, double alpha) {
    Table p(counts.v);
    for (int x = 0; x < counts.v; ++x) {
        double row_sum = 0.0;
        for (int y = 0; y < counts.v; ++y) row_sum += counts.at(x, y) + alpha;
        for (int y = 0; y < counts.v; ++y) {
            p.at(x, y) = row_sum > 0.0 ? (counts.at(x, y) + alpha) / row_sum : 1.0 / counts.v;
        }
    }
    return p;
}

// ----------------------------------------------------------------------------
// Model 2: a one-layer network. The input is one-hot(x), a V-vector with a single 1, so
// one-hot(x)·W is simply row x of W: the logits of the next character. softmax turns them into
// probabilities, and the loss is the mean of -log p(next) over every training pair.
//
// Pairs that are equal contribute equal terms, so the mean over all N training pairs is
// Σ_{x,y} N[x][y]·(-log softmax(W[x])[y]) / N: the very same loss and gradient as feeding all N
// one-hot rows (full-batch gradient descent), built from V² terms instead of N.

struct NeuralBigram {
    int v;
    std::vector<Value> w;  // V x V parameters, made before any GraphScope so they persist

    NeuralBigram(int size, wiggle::PyRandom& rng) : v(size) {
        w.reserve(static_cast<size_t>(v) * v);
        for (int i = 0; i < v * v; ++i) w.emplace_back(rng.gauss(0.0, 1.0));  // torch.randn
    }
    Value weight(int x, int y) const { return w[static_cast<size_t>(x) * v + y]; }

    // mean NLL over the pairs counted in `n`, plus decay·mean(W²). Builds the graph on the tape.
    Value loss(const Table& n, double decay) const {
        Value total = 0.0;
        double pairs = 0.0;
        for (int x = 0; x < v; ++x) {
            double seen = 0.0;  // N[x], the pairs that start with x
            for (int y = 0; y < v; ++y) seen += n.at(x, y);
            if (seen == 0.0) continue;  // rows never seen do not enter the loss
            pairs += seen;
            // log Σ_y exp(W[x][y]), shifted by the row's largest logit so exp never overflows
            double top = weight(x, 0).data();
            for (int y = 1; y < v; ++y) top = std::max(top, weight(x, y).data());
            const Value shift = -top;
            Value sum_exp = (weight(x, 0) + shift).exp();
            for (int y = 1; y < v; ++y) sum_exp = sum_exp + (weight(x, y) + shift).exp();
            const Value logsumexp = sum_exp.log() + top;
            // Σ_y N[x][y]·(logsumexp - W[x][y]) = N[x]·logsumexp - Σ_y N[x][y]·W[x][y]
            Value row = logsumexp * seen;
            for (int y = 0; y < v; ++y) {
                if (n.at(x, y) != 0.0) row = row - weight(x, y) * n.at(x, y);
            }
            total = total + row;
        }
        Value squares = w[0] * w[0];
        for (size_t i = 1; i < w.size(); ++i) squares = squares + w[i] * w[i];
        return total * (1.0 / pairs) + squares * (decay / static_cast<double>(w.size()));
    }

    // softmax of every row, in plain doubles (nothing to differentiate here).
    Table probabilities() const {
        Table p(v);
        for (int x = 0; x < v; ++x) {
            double top = weight(x, 0).data(), sum = 0.0;
            for (int y = 1; y < v; ++y) top = std::max(top, weight(x, y).data());
            for (int y = 0; y < v; ++y) sum += p.at(x, y) = std::exp(weight(x, y).data() - top);
            for (int y = 0; y < v; ++y) p.at(x, y) /= sum;
        }
        return p;
    }
};

struct Settings {
    int steps = kSteps;
    double lr = kLearningRate;
    double alpha = kSmoothing;
    double decay = kWeightDecay;
    uint64_t seed = kSampleSeed;
    wiggle::SamplingOptions sampling;
};

// Trains by full-batch gradient descent; prints the shared step lines.
void train(NeuralBigram& model, const Table& counts, const Settings& s) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    size_t nodes = 0;
    for (int step = 0; step <= s.steps; ++step) {
        wiggle::GraphScope graph;
        const size_t before = wiggle::g_tape.size();
        const Value loss = model.loss(counts, s.decay);
        nodes = wiggle::g_tape.size() - before;
        if (step % kLogEvery == 0 || step == s.steps) {
            fmt::print("{}\n", wiggle::format_step(step, s.steps, loss.data()));
        }
        if (step == s.steps) break;  // the last line reports the final loss; no update after it
        for (const Value& p : model.w) p.grad() = 0.0;
        loss.backward();
        for (const Value& p : model.w) p.data() -= s.lr * p.grad();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    fmt::print("{} nodes per step, {:.2f} ms per step\n", nodes, 1000.0 * seconds / (s.steps + 1));
}

// ----------------------------------------------------------------------------
// Sampling: start from the boundary token (names) or token 0 (text), and draw each next character
// from the row of the current one, with the shared sampler.

std::vector<int> sample(const Table& p, bool words, int length, const Settings& s, uint64_t seed) {
    wiggle::TokenSampler sampler(s.sampling);
    wiggle::PyRandom rng(seed);
    const std::vector<int> prompt{0};
    auto next_row = [&](std::span<const int> tokens, int) { return p.row(tokens.back()); };
    return wiggle::generate<double>(prompt, length, next_row, wiggle::RowKind::Probs, sampler, rng,
                                    words ? wiggle::CharVocab::kBoundary : -1);
}

void print_samples(const Corpus& c, const Table& counted, const Table& learned, const Settings& s) {
    if (c.words) {
        fmt::print("{} sampled words (seed {}), counting model | neural model:\n", kNamesToSample,
                   s.seed);
        // One generator per model and the same seed: equal probabilities give equal names.
        wiggle::PyRandom seeds(s.seed);
        for (int i = 0; i < kNamesToSample; ++i) {
            const uint64_t seed = seeds.getrandbits(32);
            const std::string a = c.vocab.decode(sample(counted, true, kMaxNameLength, s, seed));
            const std::string b = c.vocab.decode(sample(learned, true, kMaxNameLength, s, seed));
            fmt::print("  {:<16} | {}\n", a, b);
        }
    } else {
        fmt::print("{} sampled characters from the neural model (seed {}):\n", kCharsToSample,
                   s.seed);
        fmt::print("{}\n", c.vocab.decode(sample(learned, false, kCharsToSample, s, s.seed)));
    }
}

// ----------------------------------------------------------------------------
// One corpus, start to finish.

void run(const Corpus& c, const Settings& s) {
    const int v = c.vocab.size();
    wiggle::check_vocab_size(c.vocab, kMaxVocab, c.path, "the bigram is a V x V table");
    const char* val_name = c.words ? "dev" : "val";
    fmt::print("== {}: {}, vocabulary {}\n", c.path, c.describe, v);

    const Table train_counts = count_bigrams(c.train, v);
    const Table val_counts = count_bigrams(c.val, v);

    // 1. Counting.
    const Table counted = counting_model(train_counts, s.alpha);
    fmt::print("counting bigram (add-{} smoothing): train {:.4f} {} {:.4f}\n", s.alpha,
               average_nll(counted, train_counts), val_name, average_nll(counted, val_counts));
    if (c.words) {
        // makemore part 1 counts every name and scores the same names (no split).
        const Table all = count_bigrams(c.all, v);
        fmt::print("  fitted and scored on all {} words, as makemore part 1 does: {:.4f}\n",
                   c.all.size(), average_nll(counting_model(all, s.alpha), all));
    }

    // 2. Learning.
    wiggle::PyRandom init(kInitSeed);
    NeuralBigram model(v, init);
    fmt::print(
        "neural bigram: one-hot -> W ({}x{} = {} parameters) -> softmax, {} full-batch "
        "steps, lr {}\n",
        v, v, model.w.size(), s.steps, s.lr);
    train(model, train_counts, s);
    const Table learned = model.probabilities();
    const double nn_val = average_nll(learned, val_counts);
    fmt::print("neural bigram: train {:.4f} {} {:.4f} (counting - neural on {}: {:+.4f})\n",
               average_nll(learned, train_counts), val_name, nn_val, val_name,
               average_nll(counted, val_counts) - nn_val);

    print_samples(c, counted, learned, s);
}

// Guesses how to read a --data file: one word per line (names) when every line is short.
bool looks_like_word_list(const std::string& path) {
    const std::u32string text = wiggle::load_text(path);
    size_t longest = 0, length = 0, lines = 0;
    for (char32_t ch : text) {
        if (ch == U'\n') {
            longest = std::max(longest, length);
            lines += length > 0;
            length = 0;
        } else {
            ++length;
        }
    }
    longest = std::max(longest, length);
    return lines >= 10 && longest <= 32;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 4: a character bigram, counted and learned, on names and Shakespeare"};
    std::string data;
    std::string format = "auto";
    Settings s;
    app.add_option("--data", data, "a UTF-8 text file to use instead of names + tinyshakespeare");
    app.add_option("--format", format, "auto|words|text: one word per line, or one stream")
        ->check(CLI::IsMember({"auto", "words", "text"}));
    app.add_option("--steps", s.steps, "gradient descent steps of the neural bigram")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--lr", s.lr, "learning rate of the neural bigram");
    app.add_option("--alpha", s.alpha, "add-alpha smoothing of the counting bigram")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--weight-decay", s.decay, "weight of mean(W^2) in the neural bigram's loss")
        ->check(CLI::NonNegativeNumber);
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
        wiggle::fail(e.what(), "run 04_bigram --help for the flags", __FILE__, __LINE__);
    }
    wiggle::check_sampling_options(s.sampling);

    if (data.empty()) {
        run(load_words(kNamesFile), s);
        fmt::print("\n");
        run(load_stream(kTextFile), s);
        return 0;
    }
    const bool words = format == "words" || (format == "auto" && looks_like_word_list(data));
    run(words ? load_words(data) : load_stream(data), s);
    return 0;
}
