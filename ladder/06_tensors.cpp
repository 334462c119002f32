// Part 6: the same model as part 5, on tensors.
//
// Part 5's Bengio MLP (three characters of context, 10-d embeddings, 200 tanh units) built every
// multiply-add of every example as two scalar nodes: three quarters of a million nodes a step.
// Here the whole batch is a handful of tensor nodes (an embedding lookup, two matrix products, a
// tanh, a fused cross-entropy), each one a call into a fast kernel, and the tape, the reverse pass
// and the += accumulation are exactly part 1's, one level up.
//
// The program first proves the two engines compute the same thing: the same weights and the same
// batch through a scalar (wiggle::Value) version built inline and through the tensor one give the
// same loss and the same gradients. Then it times a few scalar steps, trains on tensors until
// makemore's result (dev loss ≤ 2.17) and prints how many times faster the tensor steps were.
//
// reference: makemore lecture part 2 (block_size 3, 10-d embeddings, 200 tanh units, batch 32,
// lr 0.1 then 0.01, 200k steps: dev 2.17); part 3's initialization (tanh gain, small last layer).
// Expect: the engines agree to ~1e-7; dev ≈ 2.13 after 50k steps, about 4 s of CPU time (a few
// seconds on an idle machine); speed-up over the scalar engine ≈ 150–250x. --steps 200000
// (makemore's budget) reaches dev ≈ 2.11 in about 15 s.
#include <fmt/format.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "data/text.h"
#include "kernels/cpu.h"
#include "scalar/value.h"
#include "tensor/ops.h"
#include "tensor/optim.h"
#include "tensor/params.h"
#include "util/check.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace {

using wiggle::Graph;
using wiggle::Tensor;
using wiggle::Value;

// ----------------------------------------------------------------------------
// Settings

const std::string kNamesFile = "data/names.txt";  // makemore's 32,033 names
constexpr int kContext = 3;            // characters seen before the one predicted (block_size)
constexpr int kEmbedding = 10;         // dimensions of a character's vector (makemore: 10)
constexpr int kHidden = 200;           // tanh units (makemore: 200)
constexpr int kBatch = 32;             // examples per step (makemore: 32)
constexpr int kSteps = 50000;          // a quarter of makemore's 200k already gets below 2.17
constexpr float kLearningRate = 0.1f;  // makemore's, for the first half
constexpr float kFinalLearningRate = 0.01f;  // makemore's, for the second half
constexpr double kDropAt = 0.5;              // makemore drops the rate halfway (100k of 200k)
constexpr double kTargetDev = 2.17;          // makemore's dev loss for this model
constexpr uint64_t kSplitSeed = 42;          // makemore's random.seed(42) before the split
constexpr uint64_t kInitSeed = 2147483647;   // makemore's generator seed (a different RNG, though)
constexpr uint64_t kBatchSeed = 1;           // draws the minibatches
constexpr int kScalarSteps = 3;  // scalar steps timed for the speed-up (each ≈ 0.7M nodes)
constexpr double kCheckTolerance = 1e-4;  // float tensors vs double scalars, loss and gradients
constexpr int kEvaluations = 10;          // dev-loss lines printed during training
constexpr int kEvalChunk = 8192;          // examples per evaluation forward pass (bounds memory)
constexpr int kNamesToSample = 10;
constexpr int kMaxNameLength = 50;  // a sampled name stops here if it never draws '.'

double cpu_seconds() {  // the process's CPU time: steadier than wall time on a shared machine
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ----------------------------------------------------------------------------
// The model on tensors: parameters in one flat buffer with named views, the forward in 3 lines.

struct Mlp {
    int vocab = 0;
    wiggle::Params<float> params;
    int C, W1, b1, W2, b2;  // parameter ids

    explicit Mlp(int vocab_size) : vocab(vocab_size) {
        C = params.add("C", {vocab, kEmbedding});                 // (V,E)
        W1 = params.add("W1", {kContext * kEmbedding, kHidden});  // (3E,H)
        b1 = params.add("b1", {kHidden}, /*decay=*/false);        // (H)
        W2 = params.add("W2", {kHidden, vocab});                  // (H,V)
        b2 = params.add("b2", {vocab}, /*decay=*/false);          // (V)
    }

    // Part 3's initialization, as part 5: embeddings ~ N(0,1); W1 Kaiming with tanh's gain 5/3;
    // W2 and b2 small, so the first predictions are nearly uniform.
    void init(wiggle::PyRandom& rng) {
        auto fill = [&](int id, double scale) {
            for (float& x : params.values(id)) x = static_cast<float>(scale * rng.gauss(0.0, 1.0));
        };
        fill(C, 1.0);
        fill(W1, (5.0 / 3.0) / std::sqrt(double(kContext * kEmbedding)));
        fill(b1, 0.01);
        fill(W2, 0.01);
        fill(b2, 0.0);
    }

    // logits (B,V) for B contexts (B·3 token ids).
    Tensor<float> logits(Graph<float>& g, std::span<const int> contexts) {
        const int B = static_cast<int>(contexts.size()) / kContext;
        Tensor<float> emb = embedding(g.param(params, C), contexts, {B, kContext});  // (B,3,E)
        Tensor<float> h = tanh(matmul(reshape(emb, {B, -1}), g.param(params, W1)) +
                               g.param(params, b1));                  // (B,H)
        return matmul(h, g.param(params, W2)) + g.param(params, b2);  // (B,V)
    }
};

// A minibatch: B contexts and their next characters, gathered from the examples.
struct Batch {
    std::vector<int> rows, x, y;
    explicit Batch(int B) : rows(B), x(static_cast<size_t>(B) * kContext), y(B) {}
    void gather(const wiggle::Examples& data) {
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto context = data.context_of(static_cast<size_t>(rows[i]));
            std::copy(context.begin(), context.end(), x.begin() + i * kContext);
            y[i] = data.y[static_cast<size_t>(rows[i])];
        }
    }
};

// The mean loss over a whole split, forward only, in chunks.
double evaluate(Mlp& model, Graph<float>& g, const wiggle::Examples& data) {
    double total = 0.0;
    for (size_t start = 0; start < data.size(); start += kEvalChunk) {
        const size_t n = std::min<size_t>(kEvalChunk, data.size() - start);
        g.reset();
        std::span<const int> x(data.x.data() + start * kContext, n * kContext);
        std::span<const int> y(data.y.data() + start, n);
        total += cross_entropy(model.logits(g, x), y).item() * static_cast<double>(n);
    }
    return total / static_cast<double>(data.size());
}

// ----------------------------------------------------------------------------
// The same model on the scalar engine, built inline: the oracle, and the speed baseline.

struct ScalarMlp {
    std::vector<Value> C, W1, b1, W2, b2;  // same layouts as the tensors

    explicit ScalarMlp(Mlp& m) {
        auto copy = [&](int id) {
            std::vector<Value> v;
            for (float x : m.params.values(id)) v.emplace_back(double(x));
            return v;
        };
        C = copy(m.C), W1 = copy(m.W1), b1 = copy(m.b1), W2 = copy(m.W2), b2 = copy(m.b2);
    }

    // The mean cross-entropy over the batch, as one graph of scalars (makes ~0.7M nodes).
    Value loss(const Batch& batch, int V) {
        const int B = static_cast<int>(batch.y.size());
        Value total = 0.0;
        std::vector<Value> x, h, logits;
        for (int i = 0; i < B; ++i) {
            x.clear(), h.clear(), logits.clear();
            for (int k = 0; k < kContext; ++k) {  // emb = C[context], flattened
                const int id = batch.x[static_cast<size_t>(i * kContext + k)];
                for (int e = 0; e < kEmbedding; ++e) x.push_back(C[id * kEmbedding + e]);
            }
            for (int j = 0; j < kHidden; ++j) {  // h = tanh(x·W1 + b1)
                Value s = b1[j];
                for (int q = 0; q < kContext * kEmbedding; ++q) s = s + x[q] * W1[q * kHidden + j];
                h.push_back(tanh(s));
            }
            double top = -1e300;  // logits = h·W2 + b2, then −log softmax[target]
            for (int v = 0; v < V; ++v) {
                Value s = b2[v];
                for (int j = 0; j < kHidden; ++j) s = s + h[j] * W2[j * V + v];
                logits.push_back(s);
                top = std::max(top, s.data());
            }
            Value sum = 0.0;
            for (const Value& l : logits) sum = sum + exp(l - top);
            total = total + log(sum) - (logits[batch.y[i]] - top);
        }
        return total / double(B);
    }
};

// Largest |scalar grad − tensor grad| over one parameter.
double max_grad_diff(const std::vector<Value>& s, std::span<const float> t) {
    double d = 0.0;
    for (size_t i = 0; i < s.size(); ++i) d = std::max(d, std::fabs(s[i].grad() - double(t[i])));
    return d;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 6: part 5's MLP on the tensor engine, checked against the scalar engine"};
    std::string path = kNamesFile;
    int steps = kSteps, scalar_steps = kScalarSteps, threads = 1;
    uint64_t seed = kInitSeed;
    app.add_option("--data", path, "names, one per line (default: data/names.txt)");
    app.add_option("--steps", steps, "training steps")->check(CLI::PositiveNumber);
    app.add_option("--scalar-steps", scalar_steps, "scalar steps timed for the speed-up")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", threads, "kernel threads")->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "seed of the initial weights");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 06_tensors --help for the flags", __FILE__, __LINE__);
    }
    wiggle::kernels::set_num_threads(threads);

    // The data: makemore's split and (three characters, next character) examples.
    const wiggle::WordList words = wiggle::load_word_list(path, kSplitSeed);
    const wiggle::Examples train = wiggle::word_examples(words.train, kContext);
    const wiggle::Examples dev = wiggle::word_examples(words.dev, kContext);
    const int V = words.vocab.size();
    fmt::print("data: {}: {} words, vocabulary {}, {} train and {} dev examples\n", path,
               words.size(), V, train.size(), dev.size());

    // The model, initialized as in part 5.
    Mlp model(V);
    wiggle::PyRandom init(seed);
    model.init(init);
    fmt::print("model: {} chars x {}-d embeddings -> {} tanh -> {} logits, {} parameters\n",
               kContext, kEmbedding, kHidden, V, model.params.numel());

    // 1. Same weights, same batch: the tensor engine must agree with the scalar engine.
    wiggle::PyRandom batches(kBatchSeed);
    Batch batch(kBatch);
    wiggle::sample_indices(batches, train.size(), batch.rows);
    batch.gather(train);
    Graph<float> g;
    Tensor<float> loss = cross_entropy(model.logits(g, batch.x), batch.y);
    model.params.zero_grad();
    loss.backward();
    ScalarMlp scalar(model);
    double scalar_loss = 0.0, grad_diff = 0.0;
    {
        wiggle::GraphScope graph;
        Value l = scalar.loss(batch, V);
        l.backward();
        scalar_loss = l.data();
        grad_diff = std::max({max_grad_diff(scalar.C, model.params.grads(model.C)),
                              max_grad_diff(scalar.W1, model.params.grads(model.W1)),
                              max_grad_diff(scalar.b1, model.params.grads(model.b1)),
                              max_grad_diff(scalar.W2, model.params.grads(model.W2)),
                              max_grad_diff(scalar.b2, model.params.grads(model.b2))});
    }
    fmt::print(
        "check: one batch of {}: scalar loss {:.6f}, tensor loss {:.6f}, max gradient "
        "difference {:.1e}\n",
        kBatch, scalar_loss, double(loss.item()), grad_diff);
    WIGGLE_CHECK(
        std::fabs(scalar_loss - loss.item()) < kCheckTolerance && grad_diff < kCheckTolerance,
        "this is a bug in wiggle", "the tensor engine disagrees with the scalar engine");

    // 2. The baseline: a few scalar training steps on batches like the tensor steps'.
    double scalar_ms = 0.0;
    if (scalar_steps > 0) {
        const double start = cpu_seconds();
        for (int s = 0; s < scalar_steps; ++s) {
            wiggle::GraphScope graph;
            for (auto* p : {&scalar.C, &scalar.W1, &scalar.b1, &scalar.W2, &scalar.b2})
                for (Value& v : *p) v.grad() = 0.0;
            scalar.loss(batch, V).backward();
            for (auto* p : {&scalar.C, &scalar.W1, &scalar.b1, &scalar.W2, &scalar.b2})
                for (Value& v : *p) v.data() -= kLearningRate * v.grad();
        }
        scalar_ms = 1000.0 * (cpu_seconds() - start) / scalar_steps;
        fmt::print("scalar engine: {:.1f} ms per step ({} steps timed)\n", scalar_ms, scalar_steps);
    }

    // 3. Training on tensors: makemore's plain SGD schedule.
    fmt::print("training: {} steps of {}, lr {} then {} from step {}\n", steps, kBatch,
               kLearningRate, kFinalLearningRate, static_cast<int>(kDropAt * steps));
    wiggle::Sgd<float> sgd(model.params);
    Graph<float> eval_graph;
    const auto wall_start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    double train_cpu = 0.0;  // in the steps themselves, without the evaluations
    const int eval_every = std::max(1, steps / kEvaluations);
    for (int step = 0; step < steps; ++step) {
        const double start = cpu_seconds();
        const float lr = step < kDropAt * steps ? kLearningRate : kFinalLearningRate;
        wiggle::sample_indices(batches, train.size(), batch.rows);
        batch.gather(train);
        g.reset();
        Tensor<float> l = cross_entropy(model.logits(g, batch.x), batch.y);
        model.params.zero_grad();
        l.backward();
        sgd.step(lr);
        train_cpu += cpu_seconds() - start;
        if ((step + 1) % eval_every == 0 || step == 0) {
            fmt::print("{}\n", wiggle::format_step(
                                   step, steps - 1, l.item(),
                                   {{"dev", evaluate(model, eval_graph, dev)}, {"lr", lr, 3}}));
            std::fflush(stdout);
        }
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double tensor_ms = 1000.0 * train_cpu / steps;

    // 4. The result, and what the tensors bought.
    const double train_loss = evaluate(model, eval_graph, train);
    const double dev_loss = evaluate(model, eval_graph, dev);
    fmt::print(
        "train loss {:.4f}, dev loss {:.4f} (makemore: {:.2f}) after {:.1f} s ({:.1f} s of CPU)\n",
        train_loss, dev_loss, kTargetDev, wall, cpu_seconds() - cpu_start);
    fmt::print("tensor engine: {:.3f} ms per step", tensor_ms);
    if (scalar_ms > 0) fmt::print(", {:.0f}x faster than the scalar engine", scalar_ms / tensor_ms);
    fmt::print("\n");

    // 5. What it says: names, one character at a time.
    wiggle::TokenSampler sampler(wiggle::SamplingOptions{});
    wiggle::PyRandom rng(seed);
    fmt::print("samples:\n");
    for (int i = 0; i < kNamesToSample; ++i) {
        auto next_row = [&](std::span<const int> tokens, int) {
            int context[kContext];
            for (int k = 0; k < kContext; ++k) {  // the last three tokens, '.'-padded
                const int back = kContext - k;
                context[k] =
                    static_cast<int>(tokens.size()) >= back ? tokens[tokens.size() - back] : 0;
            }
            eval_graph.reset();
            Tensor<float> logits = model.logits(eval_graph, context);
            return std::span<const float>(logits.data(), V);
        };
        const std::vector<int> prompt{wiggle::CharVocab::kBoundary};
        const std::vector<int> out =
            wiggle::generate<float>(prompt, kMaxNameLength, next_row, wiggle::RowKind::Logits,
                                    sampler, rng, wiggle::CharVocab::kBoundary);
        fmt::print("  {}\n", words.vocab.decode(out));
    }
    return 0;
}
