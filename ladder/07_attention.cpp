// Part 7: self-attention, built from tensor ops.
//
// A character model that sees the last 8 characters needs a way for each position to gather what
// came before it. The plainest way is to average the past: position t gets the mean of positions
// 0..t. The program first computes that average three ways and checks that they agree:
//   1. with loops, one running mean per position;
//   2. with one matrix product: a lower-triangular (T,T) matrix whose row t holds 1/(t+1) in
//      columns 0..t, times x;
//   3. with a masked softmax: zeros, −∞ above the diagonal, softmax along each row — which gives
//      the same matrix, and is the form self-attention uses.
// Self-attention replaces the zeros with numbers computed from the data: each position emits a
// query q and a key k, the affinity of t with s is q_t·k_s/√d, the future is masked out, and the
// softmax of the affinities weighs the values v: out = softmax(QKᵀ/√d + causal mask)·V.
// One such head, between token + position embeddings and a linear head over the vocabulary, is
// trained as a character model on tinyshakespeare, printing train/val loss as it goes, then it
// writes 300 characters. With --plot DIR it also draws the attention weights over a line of the
// validation text and the loss curves (SVG).
//
// Not here: several heads, feed-forward layers, residual connections, layer norm (part 8), the
// fused attention kernel (part 9 uses it; tests/tensor/attention_composed_test.cpp checks it
// against the composition below).
//
// reference: "Let's build GPT" lecture (ng-video-lecture): the "mathematical trick in
// self-attention" section (xbow, xbow2, xbow3), then v2.py with one Head(n_embd): n_embd 32,
// block 8, batch 32, lr 1e-3, 5000 iterations, eval over 200 batches: val ≈ 2.4–2.5.
// Expect: the three averages agree to ~1e-7, then val ≈ 2.4–2.5 in well under a minute.
#include <fmt/format.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "data/text.h"
#include "kernels/cpu.h"
#include "tensor/ops.h"
#include "tensor/optim.h"
#include "tensor/params.h"
#include "util/check.h"
#include "util/log.h"
#include "util/plot.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace {

using wiggle::Graph;
using wiggle::Tensor;

// ----------------------------------------------------------------------------
// Settings

const std::string kTextFile = "data/tinyshakespeare.txt";  // the char-rnn corpus, 1.1 MB
constexpr int kToyB = 4, kToyT = 8, kToyC = 2;  // the lecture's toy batch for the averaging trick
constexpr double kAgreeTolerance = 1e-5;        // float sums in different orders
constexpr int kBlock = 8;      // characters of context (the lecture's block_size at this stage)
constexpr int kBatch = 32;     // sequences per step (lecture: 32)
constexpr int kEmbd = 32;      // n_embd: width of the token and position vectors (lecture: 32)
constexpr int kHeadSize = 32;  // one head as wide as the embedding (lecture: Head(n_embd))
constexpr int kIters = 5000;   // v2.py's max_iters
constexpr float kLearningRate = 1e-3f;  // v2.py: attention does not tolerate the bigram's 1e-2
constexpr float kWeightDecay = 0.01f;   // torch.optim.AdamW's default, on every parameter as there
constexpr int kEvalInterval = 500;      // v2.py's eval_interval
constexpr int kEvalIters = 200;         // v2.py's eval_iters: batches averaged per estimate
constexpr uint64_t kSeed = 1337;        // the lecture's torch.manual_seed(1337)
constexpr int kSampleChars = 300;       // characters generated at the end

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double cpu_seconds() {  // the process's CPU time: steadier than wall time on a shared machine
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ----------------------------------------------------------------------------
// 1. The averaging trick, three ways

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
    double d = 0.0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
    return d;
}

void averaging_trick(uint64_t seed) {
    const int B = kToyB, T = kToyT, C = kToyC;
    wiggle::PyRandom rng(seed);
    std::vector<float> xs(static_cast<size_t>(B) * T * C);
    for (float& v : xs) v = static_cast<float>(rng.gauss(0.0, 1.0));
    Graph<float> g;
    Tensor<float> x = g.input({B, T, C}, xs);  // (B,T,C)

    // Way 1, loops: xbow[b,t] = mean(x[b,0..t]).
    std::vector<float> xbow(xs.size(), 0.0f);
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t)
            for (int c = 0; c < C; ++c) {
                double s = 0.0;
                for (int u = 0; u <= t; ++u) s += xs[(static_cast<size_t>(b) * T + u) * C + c];
                xbow[(static_cast<size_t>(b) * T + t) * C + c] = static_cast<float>(s / (t + 1));
            }

    // Way 2, a matrix product: wei = tril(ones) with each row divided by its sum, then wei·x,
    // the same (T,T) matrix for every sequence of the batch.
    const std::vector<float> ones(static_cast<size_t>(T) * T, 1.0f);
    Tensor<float> tril = causal_mask(g.input({T, T}, ones), 0.0);  // 1 on and below the diagonal
    Tensor<float> wei2 = tril / sum(tril, -1, /*keepdim=*/true);   // (T,T), rows sum to 1
    Tensor<float> xbow2 = matmul(wei2, x);                         // (T,T) · (B,T,C) -> (B,T,C)

    // Way 3, a masked softmax: affinities all zero, the future at −∞, softmax along each row.
    const std::vector<float> zeros(ones.size(), 0.0f);
    Tensor<float> wei3 = softmax(causal_mask(g.input({T, T}, zeros)));  // (T,T)
    Tensor<float> xbow3 = matmul(wei3, x);

    fmt::print("the averaging trick: wei = softmax(zeros with -inf above the diagonal), T = {}\n",
               T);
    for (int t = 0; t < T; ++t) {
        std::string row;
        for (int s = 0; s < T; ++s) row += fmt::format(" {:.3f}", wei3.data()[t * T + s]);
        fmt::print("  {}\n", row);
    }
    const double d2 = max_abs_diff(xbow, xbow2.values());
    const double d3 = max_abs_diff(xbow, xbow3.values());
    const double dw = max_abs_diff(wei2.values(), wei3.values());
    fmt::print(
        "check: x {}: loop vs tril matmul {:.1e}, loop vs masked softmax {:.1e}, the two weight "
        "matrices {:.1e}\n",
        x.shape().str(), d2, d3, dw);
    WIGGLE_CHECK(d2 < kAgreeTolerance && d3 < kAgreeTolerance && dw < kAgreeTolerance,
                 "this is a bug in wiggle", "the three ways of averaging the past disagree");
}

// ----------------------------------------------------------------------------
// 2. One head of self-attention as a character model

struct OneHead {
    int vocab;
    wiggle::Params<float> params;  // every parameter decays, as AdamW(model.parameters()) does
    int tok, pos, Wq, Wk, Wv, Wlm, blm;

    explicit OneHead(int V) : vocab(V) {
        tok = params.add("tok", {V, kEmbd});          // token embedding (V,C)
        pos = params.add("pos", {kBlock, kEmbd});     // position embedding (T,C)
        Wq = params.add("Wq", {kEmbd, kHeadSize});    // query (C,hs), no bias
        Wk = params.add("Wk", {kEmbd, kHeadSize});    // key
        Wv = params.add("Wv", {kEmbd, kHeadSize});    // value
        Wlm = params.add("Wlm", {kHeadSize, vocab});  // lm head (hs,V)
        blm = params.add("blm", {vocab});             // (V)
    }

    // PyTorch's default initialization: nn.Embedding N(0,1), nn.Linear U(±1/√fan_in).
    void init(wiggle::PyRandom& rng) {
        auto normal = [&](int id) {
            for (float& v : params.values(id)) v = static_cast<float>(rng.gauss(0.0, 1.0));
        };
        auto uniform = [&](int id, int fan_in) {
            const double a = 1.0 / std::sqrt(double(fan_in));
            for (float& v : params.values(id)) v = static_cast<float>(rng.uniform(-a, a));
        };
        normal(tok), normal(pos);
        uniform(Wq, kEmbd), uniform(Wk, kEmbd), uniform(Wv, kEmbd);
        uniform(Wlm, kHeadSize), uniform(blm, kHeadSize);
    }

    struct Out {
        Tensor<float> logits;  // (B,T,V)
        Tensor<float> att;     // (B,T,T): the attention weights, for the picture
    };
    // idx holds B·T tokens; T ≤ kBlock.
    Out forward(Graph<float>& g, std::span<const int> idx, int B, int T) {
        Tensor<float> x = embedding(g.param(params, tok), idx, {B, T}) +
                          slice(g.param(params, pos), 0, 0, T);  // (B,T,C)
        Tensor<float> q = matmul(x, g.param(params, Wq));        // (B,T,hs) what t looks for
        Tensor<float> k = matmul(x, g.param(params, Wk));        // (B,T,hs) what t offers
        Tensor<float> v = matmul(x, g.param(params, Wv));        // (B,T,hs) what t passes on
        Tensor<float> att =
            matmul(q, transpose(k, 1, 2)) / std::sqrt(double(kHeadSize));  // (B,T,T)
        att = softmax(causal_mask(att));     // no peeking at the future
        Tensor<float> out = matmul(att, v);  // (B,T,hs)
        return {matmul(out, g.param(params, Wlm)) + g.param(params, blm), att};
    }
};

struct Batch {
    std::vector<int> x, y;
    Batch() : x(kBatch * kBlock), y(kBatch * kBlock) {}
};

// The lecture's estimate_loss: the mean loss over eval_iters random batches of a split.
double estimate_loss(OneHead& model, Graph<float>& g, std::span<const int> tokens, int eval_iters,
                     wiggle::PyRandom& rng) {
    Batch b;
    double total = 0.0;
    for (int i = 0; i < eval_iters; ++i) {
        wiggle::sample_blocks(tokens, kBatch, kBlock, rng, b.x, b.y);
        g.reset();
        total += cross_entropy(model.forward(g, b.x, kBatch, kBlock).logits, b.y).item();
    }
    return total / eval_iters;
}

// The first full line of the validation text with at least kBlock characters: the picture's
// sample (a line start, so position 0 is a real beginning).
std::vector<int> sample_line(const wiggle::TextStream& data) {
    const int newline = data.vocab.find(U'\n');
    const auto& v = data.val;
    for (size_t i = 0; i + kBlock < v.size(); ++i) {
        if (v[i] != newline) continue;
        const auto begin = v.begin() + static_cast<long>(i) + 1;
        if (std::find(begin, begin + kBlock, newline) == begin + kBlock)
            return std::vector<int>(begin, begin + kBlock);
    }
    return std::vector<int>(v.begin(), v.begin() + kBlock);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 7: self-attention from queries, keys and values, on tinyshakespeare"};
    std::string path = kTextFile, plot_dir;
    int iters = kIters, eval_iters = kEvalIters, threads = 1;
    uint64_t seed = kSeed;
    app.add_option("--data", path, "a UTF-8 text file (default: data/tinyshakespeare.txt)")
        ->type_name("FILE");
    app.add_option("--iters", iters, "training iterations")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--eval-iters", eval_iters, "batches averaged per loss estimate")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the weights and the batches")->capture_default_str();
    app.add_option("--plot", plot_dir,
                   "write SVG pictures (attention weights, loss curves) into DIR")
        ->type_name("DIR");
    app.add_option("--threads", threads, "kernel threads")->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 07_attention --help for the flags", __FILE__, __LINE__);
    }
    if (!plot_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(plot_dir, ec);
        WIGGLE_CHECK(!ec && std::filesystem::is_directory(plot_dir),
                     "pass a folder you can write to", "--plot: cannot create folder '{}': {}",
                     plot_dir, ec.message());
    }
    wiggle::kernels::set_num_threads(threads);
    const auto start = std::chrono::steady_clock::now();

    // 1. Averaging the past, three ways.
    averaging_trick(seed);

    // 2. The data: every character of the file is a token; the first 90% trains.
    const wiggle::TextStream data = wiggle::load_text_stream(path, 0.9, kBlock + 1);
    const int V = data.vocab.size();
    fmt::print("data: {}: vocabulary {}, {} train and {} val characters\n", path, V,
               data.train.size(), data.val.size());

    // 3. The model: token + position embeddings -> one head of self-attention -> logits.
    OneHead model(V);
    wiggle::PyRandom init(seed);
    model.init(init);
    fmt::print(
        "model: {}-d token and position embeddings -> one head (size {}, context {}) -> {} "
        "logits, {} parameters\n",
        kEmbd, kHeadSize, kBlock, V, model.params.numel());

    // 4. Training: AdamW, batches of random blocks, the loss estimated every kEvalInterval.
    fmt::print("training: {} iterations of {} blocks of {}, AdamW lr {}\n", iters, kBatch, kBlock,
               kLearningRate);
    wiggle::AdamW<float> opt(model.params, {.weight_decay = kWeightDecay});
    wiggle::PyRandom batches(seed + 1), eval_rng(seed + 2);
    Graph<float> g, eval_graph;
    Batch b;
    std::vector<double> eval_steps, train_curve, val_curve;
    const double train_start = cpu_seconds();
    double eval_seconds = 0.0;
    const int every = std::clamp(iters / 10, 1, kEvalInterval);  // short runs still log 10 lines
    for (int step = 0; step <= iters; ++step) {
        if (step % every == 0 || step == iters) {
            const double eval_start = cpu_seconds();
            const double train_loss =
                estimate_loss(model, eval_graph, data.train, eval_iters, eval_rng);
            const double val_loss =
                estimate_loss(model, eval_graph, data.val, eval_iters, eval_rng);
            eval_seconds += cpu_seconds() - eval_start;
            eval_steps.push_back(step), train_curve.push_back(train_loss);
            val_curve.push_back(val_loss);
            fmt::print("{}\n", wiggle::format_step(step, iters, train_loss, {{"val", val_loss}}));
            std::fflush(stdout);
        }
        if (step == iters) break;
        wiggle::sample_blocks(data.train, kBatch, kBlock, batches, b.x, b.y);
        g.reset();
        Tensor<float> loss = cross_entropy(model.forward(g, b.x, kBatch, kBlock).logits, b.y);
        model.params.zero_grad();
        loss.backward();
        opt.step(kLearningRate);
    }
    const double train_seconds = cpu_seconds() - train_start - eval_seconds;
    fmt::print("train loss {:.4f}, val loss {:.4f} (lecture, one head: 2.4-2.5)\n",
               train_curve.back(), val_curve.back());
    fmt::print(
        "{:.3f} ms per training step (CPU time: {:.1f} s training, {:.1f} s estimating the loss)\n",
        iters > 0 ? 1000.0 * train_seconds / iters : 0.0, train_seconds, eval_seconds);

    // 5. What one head writes.
    wiggle::TokenSampler sampler(wiggle::SamplingOptions{});
    wiggle::PyRandom sample_rng(seed);
    auto next_row = [&](std::span<const int> tokens, int) {
        const int T = std::min<int>(kBlock, static_cast<int>(tokens.size()));
        eval_graph.reset();
        Tensor<float> logits = model.forward(eval_graph, tokens.last(T), 1, T).logits;
        return std::span<const float>(logits.data() + static_cast<long>(T - 1) * V, V);
    };
    const int newline = data.vocab.find(U'\n');
    const std::vector<int> prompt{newline >= 0 ? newline : 0};
    const std::vector<int> text = wiggle::generate<float>(
        prompt, kSampleChars, next_row, wiggle::RowKind::Logits, sampler, sample_rng);
    fmt::print("sample:\n{}\n", data.vocab.decode(text));

    // 6. Pictures: where one head looks, and the loss curves.
    if (!plot_dir.empty()) {
        const std::vector<int> line = sample_line(data);
        eval_graph.reset();
        Tensor<float> att = model.forward(eval_graph, line, 1, kBlock).att;  // (1,T,T)
        wiggle::plot::Heatmap h;
        h.rows = h.cols = kBlock;
        h.values.assign(att.data(), att.data() + kBlock * kBlock);
        h.x_min = 0, h.x_max = kBlock, h.y_min = 0, h.y_max = kBlock;
        h.v_min = 0.0, h.v_max = 1.0;
        h.scale_label = "weight";
        for (int id : line) {
            h.row_labels.push_back(data.vocab.show(id));
            h.col_labels.push_back(data.vocab.show(id));
        }
        const std::filesystem::path dir(plot_dir);
        wiggle::plot::Figure heat(
            fmt::format("one head's attention over \"{}\"", data.vocab.decode(line)));
        heat.x_label("key (attended to)").y_label("query (attending)").heatmap(std::move(h));
        heat.save((dir / "attention.svg").string());
        wiggle::plot::Figure curve("one head of self-attention on " +
                                   std::filesystem::path(path).filename().string());
        curve.x_label("step").y_label("loss");
        curve.line("train", eval_steps, train_curve).line("val", eval_steps, val_curve);
        curve.save((dir / "loss.svg").string());
        fmt::print("wrote {} and {}\n", (dir / "attention.svg").string(),
                   (dir / "loss.svg").string());
    }
    fmt::print("done in {:.1f} s ({:.1f} s of CPU time)\n", seconds_since(start), cpu_seconds());
    return 0;
}
