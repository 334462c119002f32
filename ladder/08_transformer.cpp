// Part 8: from one head of attention to a transformer, one piece at a time.
//
// The lecture builds the transformer block by adding one idea at a time to a small character
// model of tinyshakespeare, and after each it trains for 5000 iterations and reads the validation
// loss. This program retraces those steps, each a short run with the same settings, and prints
// them side by side:
//   bigram           the next character from the current one alone (a V×V table);
//   one head         token + position embeddings, one head of self-attention (part 7);
//   multi-head       four heads of size 8 side by side, concatenated: several things to look for;
//   + feed-forward   a linear layer and a ReLU after the attention: time to think about what
//                    was gathered ("communication, then computation");
//   + residual       three blocks of (attention, feed-forward), each added to its input
//                    (x = x + f(x)): the gradient has a highway to the bottom; attention gets a
//                    projection and the feed-forward is 4× wide, as in the paper;
//   + layer norm     each sublayer reads a normalized x (pre-norm), and a last norm before the
//                    head.
// Everything is built from the tensor ops of part 6 (the fused kernel comes in part 9).
//
// Not here: dropout, GELU, weight tying, a learning-rate schedule (part 9 and `wiggle train`).
//
// reference: "Let's build GPT" lecture (ng-video-lecture): bigram.py (lr 1e-2, 3000 iterations:
// val 2.49) and v2.py (n_embd 32, block 8, batch 32, lr 1e-3, AdamW, 5000 iterations, eval over
// 200 batches); its validation losses: one head ≈ 2.4–2.5, multi-head 2.28, + feed-forward 2.24,
// 3 blocks + residual 2.08, + layer norm 2.06. PyTorch's default initialization throughout.
// Expect: each row within ±0.05 of the lecture's, in a few minutes in all.
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

namespace {

using wiggle::Graph;
using wiggle::Tensor;

// ----------------------------------------------------------------------------
// Settings

const std::string kTextFile = "data/tinyshakespeare.txt";  // the char-rnn corpus, 1.1 MB
constexpr int kBlock = 8;     // characters of context (the lecture's block_size at this stage)
constexpr int kBatch = 32;    // sequences per step (lecture: 32)
constexpr int kEmbd = 32;     // n_embd: width of every vector in the model (lecture: 32)
constexpr int kHeads = 4;     // heads of the multi-head rows: 4 heads of 32/4 = 8 (lecture)
constexpr int kLayers = 3;    // blocks in the residual rows (lecture: 3 Blocks)
constexpr int kFfwdMult = 4;  // the blocks' feed-forward is 4× wide ("Attention is all you need")
constexpr int kIters = 5000;  // v2.py's max_iters
constexpr float kLearningRate = 1e-3f;  // v2.py: attention does not tolerate the bigram's 1e-2
constexpr int kBigramIters = 3000;      // bigram.py's max_iters
constexpr float kBigramLearningRate = 1e-2f;  // bigram.py's learning rate
constexpr float kWeightDecay = 0.01f;  // torch.optim.AdamW's default, on every parameter as there
constexpr int kEvalInterval = 500;     // v2.py's eval_interval
constexpr int kEvalIters = 200;        // v2.py's eval_iters: batches averaged per estimate
constexpr uint64_t kSeed = 1337;       // the lecture's torch.manual_seed(1337)

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double cpu_seconds() {  // the process's CPU time: steadier than wall time on a shared machine
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ----------------------------------------------------------------------------
// The rows of the table: which pieces each model has.

struct Variant {
    const char* name;
    const char* what;
    bool bigram = false;    // just a (V,V) table of logits
    int heads = 0;          // heads of self-attention (their sizes add up to kEmbd)
    bool ffwd = false;      // a feed-forward layer after the attention
    bool residual = false;  // kLayers blocks, x + f(x), projection and 4× feed-forward
    bool layernorm = false;
    double lecture;  // the lecture's validation loss
};

const Variant kVariants[] = {
    {"bigram", "a (V,V) table of next-character logits", true, 0, false, false, false, 2.49},
    {"one head", "embeddings, one head of size 32", false, 1, false, false, false, 2.45},
    {"multi-head", "4 heads of size 8, concatenated", false, kHeads, false, false, false, 2.28},
    {"+ feed-forward", "then Linear(32,32) + ReLU", false, kHeads, true, false, false, 2.24},
    {"+ residual", "3 blocks x = x + f(x), 4x feed-forward", false, kHeads, true, true, false,
     2.08},
    {"+ layer norm", "pre-norm blocks and a final norm", false, kHeads, true, true, true, 2.06},
};

// ----------------------------------------------------------------------------
// The model: one class whose forward includes the pieces a Variant asks for.

class Model {
  public:
    Model(const Variant& variant, int V) : v_(variant) {
        if (v_.bigram) {
            tok_ = params_.add("tok", {V, V});  // row i: the logits after character i
            return;
        }
        tok_ = params_.add("tok", {V, kEmbd});
        pos_ = params_.add("pos", {kBlock, kEmbd});
        const int layers = v_.residual ? kLayers : 1;
        for (int l = 0; l < layers; ++l) {
            Layer L;
            const std::string p = fmt::format("h{}.", l);
            if (v_.layernorm) {
                L.ln1w = params_.add(p + "ln1.w", {kEmbd});
                L.ln1b = params_.add(p + "ln1.b", {kEmbd});
            }
            // The heads' query/key/value weights side by side: head h owns columns h·hs..(h+1)·hs,
            // the same numbers as NH separate Linear(C, hs, bias=False).
            L.Wq = params_.add(p + "Wq", {kEmbd, kEmbd});
            L.Wk = params_.add(p + "Wk", {kEmbd, kEmbd});
            L.Wv = params_.add(p + "Wv", {kEmbd, kEmbd});
            if (v_.residual) {  // the projection back into the residual stream
                L.Wproj = params_.add(p + "Wproj", {kEmbd, kEmbd});
                L.bproj = params_.add(p + "bproj", {kEmbd});
            }
            if (v_.layernorm) {
                L.ln2w = params_.add(p + "ln2.w", {kEmbd});
                L.ln2b = params_.add(p + "ln2.b", {kEmbd});
            }
            if (v_.ffwd) {
                const int hidden = v_.residual ? kFfwdMult * kEmbd : kEmbd;
                L.W1 = params_.add(p + "W1", {kEmbd, hidden});
                L.b1 = params_.add(p + "b1", {hidden});
                if (v_.residual) {
                    L.W2 = params_.add(p + "W2", {hidden, kEmbd});
                    L.b2 = params_.add(p + "b2", {kEmbd});
                }
            }
            layers_.push_back(L);
        }
        if (v_.layernorm) {
            lnfw_ = params_.add("lnf.w", {kEmbd});
            lnfb_ = params_.add("lnf.b", {kEmbd});
        }
        Wlm_ = params_.add("Wlm", {kEmbd, V});
        blm_ = params_.add("blm", {V});
    }

    wiggle::Params<float>& params() { return params_; }

    // PyTorch's defaults: nn.Embedding N(0,1); nn.Linear weight and bias U(±1/√fan_in);
    // nn.LayerNorm weight 1, bias 0. Parameters are drawn in the order they were added.
    void init(wiggle::PyRandom& rng) {
        for (int id = 0; id < params_.count(); ++id) {
            const auto& spec = params_.spec(id);
            const std::string& name = spec.name;
            std::span<float> values = params_.values(id);
            if (name == "tok" || name == "pos") {
                for (float& x : values) x = static_cast<float>(rng.gauss(0.0, 1.0));
            } else if (name.find(".ln") != std::string::npos || name.rfind("lnf", 0) == 0) {
                const bool weight = name.back() == 'w';
                std::fill(values.begin(), values.end(), weight ? 1.0f : 0.0f);
            } else {
                // A weight's fan-in is its first dimension; a bias shares its weight's.
                const int fan_in = spec.shape.rank == 2 ? spec.shape[0] : fan_in_of_bias(id);
                const double a = 1.0 / std::sqrt(double(fan_in));
                for (float& x : values) x = static_cast<float>(rng.uniform(-a, a));
            }
        }
    }

    // logits (B,T,V) for B·T tokens, T ≤ kBlock.
    Tensor<float> forward(Graph<float>& g, std::span<const int> idx, int B, int T) {
        if (v_.bigram) return embedding(g.param(params_, tok_), idx, {B, T});
        Tensor<float> x = embedding(g.param(params_, tok_), idx, {B, T}) +
                          slice(g.param(params_, pos_), 0, 0, T);  // (B,T,C)
        for (const Layer& L : layers_) {
            if (v_.residual) {
                x = x + attention(g, L, ln(g, x, L.ln1w, L.ln1b));     // communication
                x = x + feed_forward(g, L, ln(g, x, L.ln2w, L.ln2b));  // computation
            } else {
                x = attention(g, L, x);
                if (v_.ffwd) x = feed_forward(g, L, x);
            }
        }
        if (v_.layernorm) x = ln(g, x, lnfw_, lnfb_);
        return matmul(x, g.param(params_, Wlm_)) + g.param(params_, blm_);  // (B,T,V)
    }

  private:
    struct Layer {
        int ln1w = -1, ln1b = -1, Wq = -1, Wk = -1, Wv = -1, Wproj = -1, bproj = -1;
        int ln2w = -1, ln2b = -1, W1 = -1, b1 = -1, W2 = -1, b2 = -1;
    };

    int fan_in_of_bias(int id) const {  // the weight added just before it
        return params_.shape(id - 1)[0];
    }

    Tensor<float> ln(Graph<float>& g, Tensor<float> x, int w, int b) {
        if (!v_.layernorm) return x;
        return layernorm(x, g.param(params_, w), g.param(params_, b));
    }

    // Causal self-attention with v_.heads heads over x (B,T,C): every head at once, as a batch of
    // (B,NH) independent (T,T) attention matrices.
    Tensor<float> attention(Graph<float>& g, const Layer& L, Tensor<float> x) {
        const int B = x.dim(0), T = x.dim(1), NH = v_.heads, hs = kEmbd / NH;
        auto heads = [&](int W, std::initializer_list<int> perm) {  // (B,T,C) -> per head
            return permute(reshape(matmul(x, g.param(params_, W)), {B, T, NH, hs}), perm);
        };
        Tensor<float> q = heads(L.Wq, {0, 2, 1, 3});   // (B,NH,T,hs)
        Tensor<float> kT = heads(L.Wk, {0, 2, 3, 1});  // (B,NH,hs,T)
        Tensor<float> v = heads(L.Wv, {0, 2, 1, 3});   // (B,NH,T,hs)
        Tensor<float> att = softmax(causal_mask(matmul(q, kT) / std::sqrt(double(hs))));
        Tensor<float> out = reshape(permute(matmul(att, v), {0, 2, 1, 3}), {B, T, kEmbd});
        if (L.Wproj >= 0) out = matmul(out, g.param(params_, L.Wproj)) + g.param(params_, L.bproj);
        return out;  // (B,T,C): the heads' outputs concatenated
    }

    Tensor<float> feed_forward(Graph<float>& g, const Layer& L, Tensor<float> x) {
        Tensor<float> h = relu(matmul(x, g.param(params_, L.W1)) + g.param(params_, L.b1));
        if (L.W2 < 0) return h;
        return matmul(h, g.param(params_, L.W2)) + g.param(params_, L.b2);
    }

    Variant v_;
    wiggle::Params<float> params_;
    int tok_ = -1, pos_ = -1, lnfw_ = -1, lnfb_ = -1, Wlm_ = -1, blm_ = -1;
    std::vector<Layer> layers_;
};

// ----------------------------------------------------------------------------
// Training one row

struct Batch {
    std::vector<int> x, y;
    Batch() : x(kBatch * kBlock), y(kBatch * kBlock) {}
};

// The lecture's estimate_loss: the mean loss over eval_iters random batches of a split.
double estimate_loss(Model& model, Graph<float>& g, std::span<const int> tokens, int eval_iters,
                     wiggle::PyRandom& rng) {
    Batch b;
    double total = 0.0;
    for (int i = 0; i < eval_iters; ++i) {
        wiggle::sample_blocks(tokens, kBatch, kBlock, rng, b.x, b.y);
        g.reset();
        total += cross_entropy(model.forward(g, b.x, kBatch, kBlock), b.y).item();
    }
    return total / eval_iters;
}

struct RunResult {
    size_t params = 0;
    int iters = 0;
    double train = 0, val = 0, seconds = 0, cpu_seconds = 0, ms_per_step = 0;  // ms: CPU time
    std::vector<double> steps, val_curve;
};

RunResult train(const Variant& variant, const wiggle::TextStream& data, int iters, float lr,
                int eval_iters, uint64_t seed) {
    Model model(variant, data.vocab.size());
    wiggle::PyRandom init(seed);
    model.init(init);
    RunResult r;
    r.params = model.params().numel();
    r.iters = iters;
    fmt::print("== {}: {}, {} parameters, {} iterations at lr {}\n", variant.name, variant.what,
               r.params, iters, lr);
    wiggle::AdamW<float> opt(model.params(), {.weight_decay = kWeightDecay});
    wiggle::PyRandom batches(seed + 1), eval_rng(seed + 2);  // the same batches for every row
    Graph<float> g, eval_graph;
    Batch b;
    const int every = std::clamp(iters / 10, 1, kEvalInterval);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    double eval_seconds = 0.0;
    for (int step = 0; step <= iters; ++step) {
        if (step % every == 0 || step == iters) {
            const double eval_start = cpu_seconds();
            r.train = estimate_loss(model, eval_graph, data.train, eval_iters, eval_rng);
            r.val = estimate_loss(model, eval_graph, data.val, eval_iters, eval_rng);
            eval_seconds += cpu_seconds() - eval_start;
            r.steps.push_back(step), r.val_curve.push_back(r.val);
            fmt::print("{}\n", wiggle::format_step(step, iters, r.train, {{"val", r.val}}));
            std::fflush(stdout);
        }
        if (step == iters) break;
        wiggle::sample_blocks(data.train, kBatch, kBlock, batches, b.x, b.y);
        g.reset();
        Tensor<float> loss = cross_entropy(model.forward(g, b.x, kBatch, kBlock), b.y);
        model.params().zero_grad();
        loss.backward();
        opt.step(lr);
    }
    r.seconds = seconds_since(start);
    r.cpu_seconds = cpu_seconds() - cpu_start;
    r.ms_per_step = iters > 0 ? 1000.0 * (r.cpu_seconds - eval_seconds) / iters : 0.0;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Part 8: multi-head attention, feed-forward, residuals, layer norm, one at a time"};
    std::string path = kTextFile, plot_dir;
    int iters = 0, eval_iters = kEvalIters, threads = 1;
    uint64_t seed = kSeed;
    app.add_option("--data", path, "a UTF-8 text file (default: data/tinyshakespeare.txt)")
        ->type_name("FILE");
    app.add_option("--iters", iters,
                   "training iterations of every row (default: 3000 for the bigram, 5000 for the "
                   "others, as the lecture)")
        ->check(CLI::PositiveNumber);
    app.add_option("--eval-iters", eval_iters, "batches averaged per loss estimate")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the weights and the batches")->capture_default_str();
    app.add_option("--plot", plot_dir, "write an SVG of the validation curves into DIR")
        ->type_name("DIR");
    app.add_option("--threads", threads, "kernel threads")->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 08_transformer --help for the flags", __FILE__, __LINE__);
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

    // The data: every character of the file is a token; the first 90% trains.
    const wiggle::TextStream data = wiggle::load_text_stream(path, 0.9, kBlock + 1);
    fmt::print("data: {}: vocabulary {}, {} train and {} val characters\n", path, data.vocab.size(),
               data.train.size(), data.val.size());
    fmt::print("settings: n_embd {}, context {}, batch {}, AdamW, loss estimated over {} batches\n",
               kEmbd, kBlock, kBatch, eval_iters);

    // One run per row, each adding one piece to the row above it.
    std::vector<RunResult> results;
    for (const Variant& v : kVariants) {
        const int n = iters > 0 ? iters : (v.bigram ? kBigramIters : kIters);
        results.push_back(
            train(v, data, n, v.bigram ? kBigramLearningRate : kLearningRate, eval_iters, seed));
    }

    // Side by side.
    fmt::print("\n{:<16} {:>7} {:>6} {:>7} {:>7} {:>8} {:>6} {:>7} {:>7} {:>8}\n", "model",
               "params", "iters", "train", "val", "lecture", "diff", "wall s", "CPU s", "ms/step");
    for (size_t i = 0; i < results.size(); ++i) {
        const RunResult& r = results[i];
        const Variant& v = kVariants[i];
        fmt::print(
            "{:<16} {:>7} {:>6} {:>7.4f} {:>7.4f} {:>8.2f} {:>+6.2f} {:>7.1f} {:>7.1f} {:>8.3f}\n",
            v.name, r.params, r.iters, r.train, r.val, v.lecture, r.val - v.lecture, r.seconds,
            r.cpu_seconds, r.ms_per_step);
    }
    fmt::print(
        "(losses estimated over {} batches of each split; lecture: the ng-video-lecture commits "
        "and video, one head 2.4-2.5; ms/step: CPU time of a training step)\n",
        eval_iters);

    if (!plot_dir.empty()) {
        wiggle::plot::Figure fig("validation loss, one piece at a time");
        fig.x_label("step").y_label("val loss");
        for (size_t i = 0; i < results.size(); ++i)
            fig.line(kVariants[i].name, results[i].steps, results[i].val_curve);
        const std::string out = (std::filesystem::path(plot_dir) / "transformer.svg").string();
        fig.save(out);
        fmt::print("wrote {}\n", out);
    }
    fmt::print("done in {:.1f} s ({:.1f} s of CPU time)\n", seconds_since(start), cpu_seconds());
    return 0;
}
