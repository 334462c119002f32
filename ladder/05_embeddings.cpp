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
#include <string>
#include <vector>

#include "data/text.h"
#include "scalar/char_mlp.h"
#include "util/check.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"
#include "util/schedule.h"

namespace {

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
    wiggle::CharMlpDims dims{0, kContext, kEmbedding, kHidden};
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

// Minibatch SGD, makemore's recipe: a step's loss is its batch's; every eval_every steps the loss
// on the whole dev split. The learning rate drops tenfold for the last quarter.
void train(wiggle::CharMlp& model, const Data& data, const Settings& s) {
    using Clock = std::chrono::steady_clock;
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
        const double loss = model.sgd_step(data.train.x, data.train.y, batch, lr, &nodes);
        wall += std::chrono::duration<double>(Clock::now() - wall_start).count();
        cpu += cpu_seconds() - cpu_start;

        if (step % eval_every == 0 || step == s.steps - 1) {
            const double dev =
                wiggle::char_mlp_loss(model.snapshot(), model.dims(), data.dev.x, data.dev.y);
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
    const wiggle::CharMlpDims& d = s.dims;
    fmt::print("data: {}: {}, vocabulary {}, {} train and {} dev examples\n", path, data.describe,
               d.vocab, data.train.size(), data.dev.size());

    // The model.
    wiggle::PyRandom init(kInitSeed);
    wiggle::CharMlp model(d, init);
    fmt::print("model: {} chars x {}-d embeddings -> {} tanh -> {} logits, {} parameters\n",
               d.context, d.embedding, d.hidden, d.vocab, model.parameters().size());

    // Training.
    fmt::print("training: {} steps of {} examples, lr {} then {} after step {}\n", s.steps, s.batch,
               s.lr, s.lr * (kFinalLearningRate / kLearningRate),
               static_cast<int>(kDropAt * s.steps));
    train(model, data, s);

    // How well it did, on the whole splits.
    const wiggle::CharMlpParams<double> trained = model.snapshot();
    fmt::print("train loss {:.4f}, dev loss {:.4f}\n",
               wiggle::char_mlp_loss(trained, d, data.train.x, data.train.y),
               wiggle::char_mlp_loss(trained, d, data.dev.x, data.dev.y));

    // What it says: each name from its own seed, drawn from --seed; a name ends at '.', a stream
    // of text runs to its length.
    fmt::print("samples (seed {}):\n", s.seed);
    wiggle::PyRandom seeds(s.seed);
    const int n = data.words ? kNamesToSample : 1;
    for (int i = 0; i < n; ++i) {
        const std::vector<int> tokens =
            wiggle::char_mlp_sample(trained, d, s.sampling, seeds.getrandbits(32),
                                    data.words ? kMaxNameLength : kCharsToSample,
                                    data.words ? wiggle::CharVocab::kBoundary : -1);
        fmt::print("  {}\n", data.vocab.decode(tokens));
    }
    return 0;
}
