// Part 9: a tiny GPT that writes Shakespeare. Everything of parts 7 and 8 assembled into the
// library's GPT (token + position embeddings, pre-LayerNorm blocks of causal multi-head attention
// and a GELU MLP, a final LayerNorm, the lm_head tied to the token embedding) and trained with
// nanoGPT's recipe: AdamW with weight decay on 2-D weights only, gradient clipping, a warmup then
// a cosine learning-rate decay.
//
// The model is written twice in the library. src/nn/gpt_tape.cpp builds it from part 8's tensor
// ops, and the tape differentiates it; src/nn/gpt_model.cpp is the same math with a hand-written
// backward on fused kernels and planned memory, much faster. Before training, this
// program runs one batch through both and shows that the loss and every gradient agree: the fast
// model is the same model. The training loop is nanoGPT's train.py; sampling goes through the KV
// cache of src/nn/gpt_decoder.h (one token at a time, in plain loops: gpt_reference_decoder.cpp).
//
// It runs nanoGPT's CPU "baby" configuration on tinyshakespeare, whose README command is
//   python train.py config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20
//     --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
//     --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0
// and which reaches a validation loss of about 1.88 there (1.91 with PyTorch on this machine).
// It prints the train and validation losses as it goes, the final validation loss over 200
// batches, the speed, and then 500 characters sampled through the KV cache.
//
// reference: nanoGPT train.py / model.py / sample.py (karpathy/nanoGPT).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "data/text.h"
#include "kernels/cpu.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_generate.h"
#include "nn/gpt_model.h"
#include "nn/gpt_tape.h"
#include "tensor/optim.h"
#include "train/estimate_loss.h"
#include "util/check.h"
#include "util/log.h"
#include "util/py_random.h"
#include "util/sampling.h"
#include "util/schedule.h"

namespace {

// ----------------------------------------------------------------------------
// Settings: nanoGPT's baby config (config/train_shakespeare_char.py + the README's CPU flags)

const std::string kDataFile = "data/tinyshakespeare.txt";  // 1.1 M characters, 65 distinct
constexpr double kTrainFraction = 0.9;  // the lecture's 90/10 train/validation split
// model
constexpr int kNLayer = 4;  // the README's CPU command shrinks the 6-layer config to 4
constexpr int kNHead = 4;   // head size 128/4 = 32
constexpr int kNEmbd = 128;
constexpr int kBlockSize = 64;  // characters of context
constexpr bool kBias = false;   // nanoGPT train.py's default (bias=False): slightly better, faster
constexpr float kDropout = 0.0f;  // the README's --dropout=0.0: a model this small does not overfit
// training
constexpr int kBatchSize = 12;
constexpr int kMaxIters = 2000;
constexpr double kLearningRate = 1e-3;  // "with baby networks can afford to go a bit higher"
constexpr double kMinLr = 1e-4;         // learning_rate / 10, "per Chinchilla"
constexpr int kWarmupIters = 100;       // "not super necessary potentially"
constexpr int kLrDecayIters = 2000;     // = max_iters: the cosine ends with the run
constexpr float kBeta1 = 0.9f;
constexpr float kBeta2 = 0.99f;  // "make a bit bigger because number of tokens per iter is small"
constexpr float kWeightDecay = 0.1f;  // on 2-D weights only (configure_optimizers)
constexpr float kGradClip = 1.0f;     // clip the global gradient norm at 1
// evaluation and logging
constexpr int kEvalInterval = 250;    // the config's eval_interval
constexpr int kEvalIters = 20;        // the README's --eval_iters=20 batches per estimate
constexpr int kFinalEvalIters = 200;  // the final validation loss: 200 batches, 153,600 tokens
constexpr int kLogInterval = 50;      // a training-loss line between evaluations
constexpr uint64_t kSeed = 1337;      // nanoGPT's torch.manual_seed(1337)
// sampling (nanoGPT's sample.py)
constexpr int kSampleChars = 500;
constexpr double kTemperature = 0.8;  // "< 1.0 = less random"
constexpr int kTopK = 200;            // keeps all 65 characters: no effect here, as in nanoGPT
constexpr uint64_t kCheckSeed = 7;    // the batch that compares the tape and the kernels

struct Settings {
    std::string data = kDataFile;
    int max_iters = kMaxIters;
    int eval_interval = kEvalInterval;
    int eval_iters = kEvalIters;
    int final_eval_iters = kFinalEvalIters;
    int sample_chars = kSampleChars;
    int threads = 0;  // 0: the default (the cores)
    uint64_t seed = kSeed;
};

// ----------------------------------------------------------------------------
// The same model twice: the loss and the gradients of one batch, on the tape (part 8's tensor ops,
// differentiated by the autograd engine) and on the kernels (the hand-written backward).

void compare_with_the_tape(wiggle::GptWeights& weights, const std::vector<int>& split) {
    std::vector<int> x(kBatchSize * kBlockSize), y(kBatchSize * kBlockSize);
    wiggle::PyRandom rng(kCheckSeed);
    wiggle::sample_blocks(split, kBatchSize, kBlockSize, rng, x, y);
    wiggle::Params<float>& params = weights.params();

    wiggle::Graph<float> g;
    params.zero_grad();
    wiggle::Tensor<float> tape_loss =
        wiggle::gpt_tape_loss(g, params, weights.config(), x, y, kBatchSize, kBlockSize);
    tape_loss.backward();
    const std::vector<float> tape_grads(params.grads().begin(), params.grads().end());

    params.zero_grad();
    wiggle::GptActivations acts;
    const float loss =
        wiggle::gpt_forward(acts, weights, x.data(), y.data(), kBatchSize, kBlockSize);
    wiggle::gpt_backward(weights.grads(), weights, acts);
    double max_diff = 0.0, max_grad = 0.0;
    for (size_t i = 0; i < tape_grads.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(double(params.grads()[i]) - tape_grads[i]));
        max_grad = std::max(max_grad, std::fabs(double(tape_grads[i])));
    }
    params.zero_grad();
    fmt::print(
        "the same GPT on the tape (part 8's ops): loss {:.6f}, kernels {:.6f}; the {} gradients "
        "differ by at most {:.1e} (the largest is {:.1e})\n",
        tape_loss.item(), loss, tape_grads.size(), max_diff, max_grad);
}

void run(const Settings& s) {
    if (s.threads > 0) wiggle::kernels::set_num_threads(s.threads);
    const wiggle::TextStream text =
        wiggle::load_text_stream(s.data, kTrainFraction, kBlockSize + 1);
    fmt::print("data: {} ({} train, {} val characters, vocabulary of {})\n", s.data,
               text.train.size(), text.val.size(), text.vocab.size());

    const wiggle::GptConfig config{.vocab_size = text.vocab.size(),
                                   .block_size = kBlockSize,
                                   .n_layer = kNLayer,
                                   .n_head = kNHead,
                                   .n_embd = kNEmbd,
                                   .bias = kBias,
                                   .dropout = kDropout};
    wiggle::GptWeights weights(config, s.seed);
    fmt::print("model: {} layers, {} heads, n_embd {}, block {}, {:.2f}M parameters\n", kNLayer,
               kNHead, kNEmbd, kBlockSize, weights.num_parameters() / 1e6);
    compare_with_the_tape(weights, text.train);
    fmt::print("training: {} iterations of batch {}, {} threads ({})\n", s.max_iters, kBatchSize,
               wiggle::kernels::num_threads(),
               wiggle::kernels::isa_name(wiggle::kernels::cpu_isa()));

    const wiggle::Schedule lr_schedule{.kind = wiggle::ScheduleKind::Cosine,
                                       .lr = kLearningRate,
                                       .min_lr = kMinLr,
                                       .warmup = kWarmupIters,
                                       .total = kLrDecayIters};
    wiggle::AdamW<float> optimizer(
        weights.params(), {.beta1 = kBeta1, .beta2 = kBeta2, .weight_decay = kWeightDecay});
    wiggle::GptActivations acts;
    // the mean loss over `iters` random batches of a split (nanoGPT's estimate_loss)
    auto estimate_loss = [&](const std::vector<int>& split, int iters, wiggle::PyRandom& rng) {
        return static_cast<float>(
            wiggle::estimate_loss(acts, weights, split, kBatchSize, kBlockSize, iters, &rng));
    };

    wiggle::PyRandom batch_rng(s.seed), eval_rng(s.seed + 1);
    std::vector<int> x(kBatchSize * kBlockSize), y(kBatchSize * kBlockSize);
    using Clock = std::chrono::steady_clock;
    double train_seconds = 0.0;  // optimizer steps only, evaluation excluded
    const auto run_start = Clock::now();
    for (int iter = 0; iter <= s.max_iters; ++iter) {
        const double lr = lr_schedule.at(iter);
        // every eval_interval, estimate the loss on both splits (and always at the end)
        if (iter % s.eval_interval == 0 || iter == s.max_iters) {
            const float train_loss = estimate_loss(text.train, s.eval_iters, eval_rng);
            const float val_loss = estimate_loss(text.val, s.eval_iters, eval_rng);
            const double ms = iter > 0 ? 1000.0 * train_seconds / iter : 0.0;
            fmt::print("{}\n",
                       wiggle::format_step(iter, s.max_iters, train_loss,
                                           {{"val", val_loss}, {"lr", lr, 6}, {"ms/iter", ms, 2}}));
            std::fflush(stdout);  // progress shows even when the output is piped
        }
        if (iter == s.max_iters) break;
        // one optimizer step on a random batch: forward, backward, clip, AdamW
        wiggle::sample_blocks(text.train, kBatchSize, kBlockSize, batch_rng, x, y);
        const auto t0 = Clock::now();
        const float loss =
            wiggle::gpt_forward(acts, weights, x.data(), y.data(), kBatchSize, kBlockSize);
        weights.params().zero_grad();
        wiggle::gpt_backward(weights.grads(), weights, acts);
        const wiggle::GradClip clip = wiggle::clip_grad_norm(weights.params(), kGradClip);
        optimizer.step(float(lr), clip.scale);
        train_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        WIGGLE_CHECK(std::isfinite(loss), "lower the learning rate",
                     "the loss is {} at iteration {}", loss, iter);
        if (iter % kLogInterval == 0 && iter % s.eval_interval != 0) {
            fmt::print("{}\n", wiggle::format_step(iter, s.max_iters, loss, {{"lr", lr, 6}}));
            std::fflush(stdout);
        }
    }
    const double wall = std::chrono::duration<double>(Clock::now() - run_start).count();
    const double ms_per_iter = s.max_iters > 0 ? 1000.0 * train_seconds / s.max_iters : 0.0;
    fmt::print(
        "trained {} iterations in {:.1f} s: {:.2f} ms/iteration, {:.0f} tokens/s "
        "({:.1f} s with evaluation)\n",
        s.max_iters, train_seconds, ms_per_iter,
        ms_per_iter > 0 ? kBatchSize * kBlockSize * 1000.0 / ms_per_iter : 0.0, wall);

    // the final validation loss, over many more batches than the running estimates
    wiggle::PyRandom final_rng(s.seed + 2);
    const float val = estimate_loss(text.val, s.final_eval_iters, final_rng);
    fmt::print("final val loss {:.4f} ({} batches of {}x{})\n", val, s.final_eval_iters, kBatchSize,
               kBlockSize);

    // a sample, starting from a newline like nanoGPT's sample.py, through the KV cache with
    // nanoGPT's window (the last block_size characters)
    wiggle::SamplingOptions sampling;
    sampling.temperature = kTemperature;
    sampling.top_k = kTopK;
    wiggle::TokenSampler sampler(sampling);
    wiggle::PyRandom sample_rng(s.seed);
    wiggle::GptDecoder decoder(weights, wiggle::ContextWindow(kBlockSize, kBlockSize));
    const std::vector<int> prompt = text.vocab.encode_utf8("\n");
    const std::vector<int> tokens =
        wiggle::generate<float>(prompt, s.sample_chars, wiggle::cached_next_row(decoder),
                                wiggle::RowKind::Logits, sampler, sample_rng);
    fmt::print("\nsample:\n{}\n", text.vocab.decode(tokens));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 9: a tiny GPT trained on Shakespeare (nanoGPT's CPU baby config)"};
    Settings s;
    app.add_option("--data", s.data, "a UTF-8 text file (90% train, 10% validation)");
    app.add_option("--iters", s.max_iters, "training iterations")->check(CLI::NonNegativeNumber);
    app.add_option("--eval-interval", s.eval_interval, "iterations between loss estimates")
        ->check(CLI::PositiveNumber);
    app.add_option("--eval-iters", s.eval_iters, "batches per running loss estimate")
        ->check(CLI::PositiveNumber);
    app.add_option("--final-eval-iters", s.final_eval_iters, "validation batches of the final loss")
        ->check(CLI::PositiveNumber);
    app.add_option("--sample-chars", s.sample_chars, "characters to sample at the end")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", s.threads, "kernel threads (0: one per core)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--seed", s.seed, "seed of the weights, the batches and the sample");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 09_gpt --help for the flags", __FILE__, __LINE__);
    }
    run(s);
    return 0;
}
