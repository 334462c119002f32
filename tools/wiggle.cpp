// The `wiggle` command: train a character-level GPT on a text file, sample from a checkpoint,
// evaluate a checkpoint's loss.
//
//   wiggle train --preset baby                  # data/tinyshakespeare.txt -> out/
//   wiggle sample --checkpoint out -n 500       # out/best.safetensors
//   wiggle eval --checkpoint out --split val
//
// Flags are parsed with CLI11; every value is then checked with WIGGLE_CHECK so a bad one gives
// one line naming the flag and exit status 1. The work itself lives in src/train (trainer,
// checkpoints) and src/nn (the model, sampling); this file only wires flags to it.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/text.h"
#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_generate.h"
#include "tools/tokenizer_command.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/corpus.h"
#include "train/estimate_loss.h"
#include "train/init_from.h"
#include "train/trainer.h"
#include "util/check.h"
#include "util/io.h"
#include "util/sampling.h"

namespace wiggle {
namespace {

#ifndef WIGGLE_SOURCE_DIR
#define WIGGLE_SOURCE_DIR "."
#endif

// data/tinyshakespeare.txt relative to the working folder, else to the source tree.
std::string default_data() {
    const std::string rel = "data/tinyshakespeare.txt";
    if (file_exists(rel)) return rel;
    const std::string src = std::string(WIGGLE_SOURCE_DIR) + "/" + rel;
    return file_exists(src) ? src : rel;
}

void set_threads(int threads) {
    WIGGLE_CHECK(threads >= 0 && threads <= 1024, "0 keeps the default (all cores)",
                 "--threads must be in [0, 1024], got {}", threads);
    if (threads > 0) kernels::set_num_threads(threads);
}

// ---- train -------------------------------------------------------------------------------------

// Why `text` is not a value of field f.
std::string why_not(const TrainField& f, const std::string& text) {
    if (f.type == "PATH") return "not a path";
    if (const size_t bar = f.type.find('|'); bar != std::string::npos) {  // names: "erf|tanh"
        return "not " + f.type.substr(0, bar) + " or " + f.type.substr(bar + 1);
    }
    const bool integer =
        !text.empty() &&
        text.find_first_not_of("0123456789", text[0] == '-') == std::string::npos && text != "-";
    if (f.type == "INT" && integer) {
        return fmt::format("out of range (an integer from {} to {})",
                           std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
    }
    return "not a number";
}

struct TrainArgs {
    std::string preset;
    std::map<std::string, std::string> values;  // flag -> text, for every train_fields() flag
    bool bias = false, no_bias = false, resume = false;
    int stop_after = 0, threads = 0, debug_nan_at = -1;
    std::string progress = "auto";
};

void add_train_options(CLI::App* cmd, TrainArgs& a) {
    cmd->add_option("--preset", a.preset,
                    "named settings: baby (4 layers, 128 wide, block 64, 2000 iterations; the "
                    "default) or shakespeare-char (nanoGPT's GPU config); flags override them");
    for (const TrainField& f : train_fields()) {
        if (f.flag == "bias") continue;
        TrainConfig defaults;
        std::string help = f.help + " (baby: " + f.get(defaults) + ")";
        if (f.flag == "data") help = f.help + " (default data/tinyshakespeare.txt)";
        if (f.flag == "metrics" || f.flag == "init-from") help = f.help;
        cmd->add_option("--" + f.flag, a.values[f.flag], help)
            ->type_name(f.type)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    cmd->add_flag("--bias", a.bias, "biases in the Linears and LayerNorms");
    cmd->add_flag("--no-bias", a.no_bias, "no biases (the default, as nanoGPT's configs)");
    cmd->add_flag(
        "--resume", a.resume,
        "continue the run in --out exactly where it stopped (settings come from its "
        "model.state; --iters, --out, --data (the same text, checked by its hash) and the "
        "logging flags may change)");
    cmd->add_option("--stop-after", a.stop_after,
                    "stop and save a resumable checkpoint after this many iterations");
    cmd->add_option("--threads", a.threads, "kernel threads (0: the default, all cores)");
    cmd->add_option("--progress", a.progress,
                    "auto (a bar on a terminal, log lines otherwise), bar, lines or quiet");
    // For the tests: make a weight NaN before this iteration, the way a diverging run ends.
    cmd->add_option("--debug-nan-at", a.debug_nan_at)->group("");
}

int run_train(CLI::App* cmd, TrainArgs& a) {
    set_threads(a.threads);
    WIGGLE_CHECK(!(a.bias && a.no_bias), "", "--bias and --no-bias contradict each other");
    WIGGLE_CHECK(a.stop_after >= 0, "0 runs to --iters", "--stop-after must be 0 or more, got {}",
                 a.stop_after);
    RunOptions opts;
    opts.resume = a.resume;
    opts.stop_after = a.stop_after;
    opts.debug_nan_at = a.debug_nan_at;
    if (a.progress == "auto") {
        opts.progress = ProgressMode::Auto;
    } else if (a.progress == "bar") {
        opts.progress = ProgressMode::Bar;
    } else if (a.progress == "lines") {
        opts.progress = ProgressMode::Lines;
    } else if (a.progress == "quiet") {
        opts.progress = ProgressMode::Quiet;
    } else {
        WIGGLE_CHECK(false, "auto, bar, lines or quiet", "unknown --progress '{}'", a.progress);
    }

    auto given = [&](const std::string& flag) { return cmd->count("--" + flag) > 0; };
    TrainConfig cfg;
    if (a.resume) {
        WIGGLE_CHECK(a.preset.empty(), "drop --preset: a resumed run keeps its settings",
                     "--preset cannot be combined with --resume");
        cfg = saved_config(given("out") ? a.values["out"] : std::string("out"));
    } else {
        cfg = train_preset(a.preset.empty() ? "baby" : a.preset);
        cfg.data = default_data();
    }
    for (const TrainField& f : train_fields()) {
        std::string text;
        if (f.flag == "bias") {
            if (!a.bias && !a.no_bias) continue;
            text = a.bias ? "true" : "false";
        } else {
            if (!given(f.flag)) continue;
            text = a.values[f.flag];
        }
        TrainConfig changed = cfg;
        WIGGLE_CHECK(f.set(changed, text), "see wiggle train --help", "--{} got '{}', {}", f.flag,
                     text, why_not(f, text));
        if (a.resume && !f.resumable) {
            WIGGLE_CHECK(f.get(changed) == f.get(cfg),
                         "a resumed run keeps its settings; train a new run in another --out",
                         "--{} cannot change when resuming (the run was started with {}, got {})",
                         f.flag, f.get(cfg), text);
        }
        cfg = changed;
    }
    // A new run from a checkpoint: the flags not given take its values (read once, here).
    std::optional<LoadedModel> init;
    if (!a.resume && !cfg.init_from.empty()) {
        init.emplace(init_from_checkpoint(cfg, [&](std::string_view flag) {
            return flag == "bias" ? a.bias || a.no_bias : given(std::string(flag));
        }));
    }
    // 130 after Ctrl-C, as shells expect of a program stopped by SIGINT (it saved first)
    return train(cfg, opts, std::move(init)).interrupted ? 130 : 0;
}

// --dtype of sample and eval: the precision of the weight matrices.
void add_dtype_option(CLI::App* cmd, std::string& dtype) {
    cmd->add_option("--dtype", dtype,
                    "fp32; bf16: the weight matrices rounded to bfloat16 (arithmetic stays fp32; "
                    "half the bytes per token); int8: quantized in groups (llama2.c's runq: "
                    "integer dot products, about a quarter of the bytes; the KV cache in bf16)")
        ->capture_default_str();
}

DecodeWeights check_dtype(const std::string& dtype) {
    WIGGLE_CHECK(dtype == "fp32" || dtype == "bf16" || dtype == "int8", "fp32, bf16 or int8",
                 "unknown --dtype '{}'", dtype);
    return dtype == "int8"   ? DecodeWeights::Int8
           : dtype == "bf16" ? DecodeWeights::Bf16
                             : DecodeWeights::Fp32;
}

// int8's quantization error, matrix by matrix, on stderr.
void report_quantization(const GptDecoder& decoder) {
    fmt::print(stderr, "int8 weights in groups of {} ({}); the largest |w - q*s| of each matrix:\n",
               int8_group_size(decoder.config()),
               kernels::q8_dot_products() ? "AVX512-VNNI dot products" : "portable loops");
    for (const QuantizationError& e : decoder.quantization_errors()) {
        fmt::print(stderr, "  {:<40} {:.3g} ({:.2f}% of max |w| {:.3g})\n", e.name, e.max_error,
                   e.max_abs > 0 ? 100.0 * e.max_error / e.max_abs : 0.0, e.max_abs);
    }
}

// ---- sample ------------------------------------------------------------------------------------

struct SampleArgs {
    std::string checkpoint = "out", prompt = "\n", prompt_file, dtype = "fp32", tokenizer;
    int num_chars = 500, num_samples = 1, top_k = 0, threads = 0, cache_keep = 0;
    double temperature = 1.0, top_p = 1.0;
    int64_t seed = 1337;
    bool no_cache = false, stats = false, exact = false;
};

void add_sample_options(CLI::App* cmd, SampleArgs& a) {
    cmd->add_option("--checkpoint,-c", a.checkpoint,
                    "a .safetensors checkpoint, or a run folder (its best.safetensors)")
        ->capture_default_str();
    cmd->add_option("--prompt,-p", a.prompt, "text to continue (default a newline)");
    cmd->add_option("--tokenizer", a.tokenizer,
                    "the checkpoint's tokenizer is used; a GPT-2 file has none: gpt2 (the default "
                    "for its 50257 tokens), gpt2:DIR or bpe:FILE.model");
    cmd->add_option("--prompt-file", a.prompt_file, "read the prompt from this file instead");
    cmd->add_option("--num-chars,-n", a.num_chars, "characters to generate")->capture_default_str();
    cmd->add_option("--num-samples", a.num_samples,
                    "samples to draw, decoded together (one pass over the weights per character "
                    "for all of them); sample i draws with seed --seed + i, so it is the text a "
                    "single sample with that seed gives. Printed one after another, each followed "
                    "by a line of dashes")
        ->capture_default_str();
    cmd->add_option("--temperature,-t", a.temperature, "divides the logits; 0 is greedy")
        ->capture_default_str();
    cmd->add_option("--top-k", a.top_k, "keep the k most likely characters (0: all)")
        ->capture_default_str();
    cmd->add_option("--top-p", a.top_p, "keep the most likely characters up to this mass")
        ->capture_default_str();
    cmd->add_option("--seed", a.seed, "seed of the sampling draws")->capture_default_str();
    cmd->add_flag("--no-cache", a.no_cache,
                  "recompute the whole window for every character instead of using the KV cache "
                  "(same text, slower; for benchmarks)");
    cmd->add_option("--cache-keep", a.cache_keep,
                    "the context is a window of at most block_size characters; when it is full, "
                    "keep its last N and go on (0: half the block). A smaller N recomputes the "
                    "window less often (once per block_size − N characters: fast) but gives the "
                    "model less context right after; N = block_size (--exact) is nanoGPT's crop, "
                    "which recomputes it for every character (slow)")
        ->capture_default_str();
    cmd->add_flag("--exact", a.exact,
                  "nanoGPT's generate exactly: keep the whole block (--cache-keep block_size)");
    add_dtype_option(cmd, a.dtype);
    cmd->add_flag("--stats", a.stats, "print characters/s to stderr");
    cmd->add_option("--threads", a.threads,
                    "kernel threads (0: the default, all cores; on a busy machine 1 can be as "
                    "fast)");
}

// Prints --stats' line: the rate of all samples together.
void print_sample_stats(const SampleArgs& a, double seconds, const char* unit,
                        const ContextWindow& window) {
    const double drawn = static_cast<double>(a.num_chars) * a.num_samples;
    fmt::print(stderr,
               "sampled {} {} in {:.3f} s: {:.0f} {}/s ({}{}, window keeps {} of {}, {} weights, "
               "{} thread{})\n",
               drawn, unit, seconds, seconds > 0 ? drawn / seconds : 0.0, unit,
               a.no_cache ? "full recompute" : "KV cache",
               a.num_samples > 1 ? fmt::format(", {} samples", a.num_samples) : "", window.keep,
               window.block, a.dtype, kernels::num_threads(),
               kernels::num_threads() == 1 ? "" : "s");
}

// --num-samples N > 1: N sequences drawn together through one decoder (with --no-cache, one after
// another), sample i with seed --seed + i; printed at the end, one after another.
int sample_many(const SampleArgs& a, std::optional<GptWeights>& weights,
                const ContextWindow& window, DecodeWeights dtype, const Tokenizer& tokenizer,
                const std::vector<int>& prompt, TokenSampler& sampler) {
    const int N = a.num_samples;
    std::vector<PyRandom> rngs;
    for (int i = 0; i < N; ++i) rngs.emplace_back(static_cast<uint64_t>(a.seed) + i);
    std::vector<Utf8Stream> streams(N);
    std::vector<std::string> texts(N);
    for (int i = 0; i < N; ++i) texts[i] = streams[i].push(tokenizer.decode(prompt));
    auto add = [&](int i, int token) {
        texts[i] += streams[i].push(tokenizer.decode(std::span(&token, 1)));
    };
    const auto t0 = std::chrono::steady_clock::now();
    if (a.no_cache) {
        GptActivations acts;
        for (int i = 0; i < N; ++i) {
            generate<float>(prompt, a.num_chars, recomputed_next_row(acts, *weights, window),
                            RowKind::Logits, sampler, rngs[i], -1,
                            [&](int token) { add(i, token); });
        }
    } else {
        GptDecoder decoder(*weights, window, dtype, N);
        weights.reset();  // the decoder packed its own copy
        if (a.stats && dtype == DecodeWeights::Int8) report_quantization(decoder);
        generate_batch<float>(prompt, a.num_chars, cached_next_rows(decoder), RowKind::Logits,
                              sampler, rngs, add);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int i = 0; i < N; ++i) {
        std::fputs((texts[i] + streams[i].finish() + "\n---------------\n").c_str(), stdout);
    }
    std::fflush(stdout);
    if (a.stats) {
        print_sample_stats(
            a, s, tokenizer.kind() == Tokenizer::Kind::Char ? "characters" : "tokens", window);
    }
    return 0;
}

int run_sample(SampleArgs& a) {
    // All cores by default: a decoded token streams every weight once, and each thread of the
    // decoding team keeps its share of the weights in its own core's cache.
    set_threads(a.threads);
    WIGGLE_CHECK(a.num_chars >= 0 && a.num_chars <= 100'000'000, "",
                 "--num-chars must be 0 or more, got {}", a.num_chars);
    WIGGLE_CHECK(std::isfinite(a.temperature) && a.temperature >= 0.0,
                 "use a temperature like 0.8 (0 is greedy)",
                 "--temperature must not be negative, got {}", a.temperature);
    WIGGLE_CHECK(a.top_k >= 0, "0 keeps every character", "--top-k must be 0 or more, got {}",
                 a.top_k);
    WIGGLE_CHECK(a.top_p > 0.0 && a.top_p <= 1.0, "top-p is a probability like 0.9",
                 "--top-p must be in (0, 1], got {}", a.top_p);
    WIGGLE_CHECK(a.seed >= 0, "", "--seed must be 0 or more, got {}", a.seed);
    WIGGLE_CHECK(a.num_samples >= 1 && a.num_samples <= GptDecoder::kMaxBatch,
                 "draw 1 to 1024 samples", "--num-samples must be in [1, {}], got {}",
                 GptDecoder::kMaxBatch, a.num_samples);
    const DecodeWeights dtype = check_dtype(a.dtype);
    WIGGLE_CHECK(!(a.no_cache && dtype == DecodeWeights::Int8),
                 "int8 weights are for the KV-cache decoder; drop --no-cache",
                 "--no-cache and --dtype int8 cannot be combined");
    const std::string prompt =
        a.prompt_file.empty() ? a.prompt : read_file(a.prompt_file, "prompt file");
    WIGGLE_CHECK(!prompt.empty(), "pass at least one character, e.g. --prompt 'ROMEO:'",
                 "the prompt is empty");

    LoadedModel m = load_checkpoint(a.checkpoint);
    const Tokenizer tokenizer = tokenizer_for(m, a.tokenizer, a.checkpoint);
    std::optional<GptWeights> weights(std::move(m.weights));
    if (dtype == DecodeWeights::Bf16) weights->round_to_bf16();
    const int block = weights->config().block_size;
    const char* unit = tokenizer.kind() == Tokenizer::Kind::Char ? "characters" : "tokens";
    WIGGLE_CHECK(a.cache_keep >= 0 && a.cache_keep <= block,
                 "0 keeps half the block; the block size (or --exact) is nanoGPT's exact crop",
                 "--cache-keep must be in [0, {}] (the checkpoint's block_size), got {}", block,
                 a.cache_keep);
    WIGGLE_CHECK(!a.exact || a.cache_keep == 0 || a.cache_keep == block,
                 "--exact is --cache-keep block_size; give one of them",
                 "--exact and --cache-keep {} contradict each other", a.cache_keep);
    const ContextWindow window(block, a.exact            ? block
                                      : a.cache_keep > 0 ? a.cache_keep
                                                         : std::max(1, block / 2));
    const std::vector<int> tokens = tokenizer.encode(prompt, SpecialTokens::Tokens, "the prompt");
    WIGGLE_CHECK(!tokens.empty(), "pass at least one character, e.g. --prompt 'ROMEO:'",
                 "the prompt is empty");
    SamplingOptions opts;
    opts.greedy = a.temperature == 0.0;
    opts.temperature = opts.greedy ? 1.0 : a.temperature;
    opts.top_k = a.top_k;
    opts.top_p = a.top_p;
    check_sampling_options(opts);
    TokenSampler sampler(opts);
    if (a.num_samples > 1)
        return sample_many(a, weights, window, dtype, tokenizer, tokens, sampler);
    PyRandom rng(static_cast<uint64_t>(a.seed));
    std::optional<GptDecoder> decoder;
    GptActivations acts;
    NextRow<float> next_row;
    if (a.no_cache) {
        next_row = recomputed_next_row(acts, *weights, window);
    } else {
        // the decoder packs its own copy of the weights: the loaded ones are freed
        next_row = cached_next_row(decoder.emplace(*weights, window, dtype));
        weights.reset();
        if (a.stats && dtype == DecodeWeights::Int8) report_quantization(*decoder);
    }
    // The text as it is drawn: to a terminal token by token, else through stdout's buffer.
    const bool terminal = ::isatty(STDOUT_FILENO) != 0;
    Utf8Stream text;
    std::fputs(text.push(tokenizer.decode(tokens)).c_str(), stdout);
    auto print = [&](int token) {
        std::fputs(text.push(tokenizer.decode(std::span(&token, 1))).c_str(), stdout);
        if (terminal) std::fflush(stdout);
    };
    const auto t0 = std::chrono::steady_clock::now();
    generate<float>(tokens, a.num_chars, next_row, RowKind::Logits, sampler, rng, -1, print);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fputs((text.finish() + "\n").c_str(), stdout);
    std::fflush(stdout);
    if (a.stats) print_sample_stats(a, s, unit, window);
    return 0;
}

// ---- eval --------------------------------------------------------------------------------------

struct EvalArgs {
    std::string checkpoint = "out", data, split = "val", dtype = "fp32", tokenizer;
    int batch_size = 32, threads = 0;
};

void add_eval_options(CLI::App* cmd, EvalArgs& a) {
    cmd->add_option("--checkpoint,-c", a.checkpoint,
                    "a .safetensors checkpoint, or a run folder (its best.safetensors)")
        ->capture_default_str();
    cmd->add_option("--data", a.data, "text file (default data/tinyshakespeare.txt)");
    cmd->add_option("--tokenizer", a.tokenizer,
                    "the checkpoint's tokenizer is used; a GPT-2 file has none: gpt2 (the default "
                    "for its 50257 tokens), gpt2:DIR or bpe:FILE.model");
    cmd->add_option("--split", a.split,
                    "val (the last 10%, as in training), train (the first 90%) or all")
        ->capture_default_str();
    cmd->add_option("--batch-size", a.batch_size, "windows per forward pass")
        ->capture_default_str();
    add_dtype_option(cmd, a.dtype);
    cmd->add_option("--threads", a.threads, "kernel threads (0: the default, all cores)");
}

int run_eval(EvalArgs& a) {
    set_threads(a.threads);
    WIGGLE_CHECK(a.split == "val" || a.split == "train" || a.split == "all", "val, train or all",
                 "unknown --split '{}'", a.split);
    WIGGLE_CHECK(a.batch_size > 0 && a.batch_size <= 65536, "pass --batch-size 1 or more",
                 "--batch-size must be positive, got {}", a.batch_size);
    const DecodeWeights dtype = check_dtype(a.dtype);
    const std::string data = a.data.empty() ? default_data() : a.data;
    LoadedModel m = load_checkpoint(a.checkpoint);
    const Tokenizer tokenizer = tokenizer_for(m, a.tokenizer, a.checkpoint);
    std::optional<GptWeights> weights(std::move(m.weights));
    if (dtype == DecodeWeights::Bf16) weights->round_to_bf16();
    const int block = weights->config().block_size;
    const std::u32string text = load_text(data, 2);
    const std::string source = fmt::format("data file '{}'", data);
    // the training run's split of the text, tokenized
    std::vector<int> seq;
    if (a.split == "all") {
        seq = tokenize(tokenizer, text, source);
    } else {
        SplitTokens parts = tokenize_split(tokenizer, text, source);
        seq = a.split == "train" ? std::move(parts.train) : std::move(parts.val);
    }
    WIGGLE_CHECK(seq.size() >= 2, "use a longer file or --split all",
                 "the {} split of '{}' has {} tokens; evaluating needs at least 2", a.split, data,
                 seq.size());
    // every token predicted once, in windows of block_size predictions: by the training forward
    // (fp32, bf16), or by the decoder for int8 (its arithmetic is not the training kernels')
    double loss = 0.0;
    if (dtype == DecodeWeights::Int8) {
        GptDecoder decoder(*weights, ContextWindow(block, block), dtype);
        weights.reset();  // the decoder holds its own (int8) copy
        report_quantization(decoder);
        loss = decoder_loss(decoder, seq);
    } else {
        GptActivations acts;
        loss = estimate_loss(acts, *weights, seq, a.batch_size, block, /*batches=*/0);
    }
    const size_t preds = seq.size() - 1;
    // bits per byte: the bits of every prediction over the bytes of text they predicted
    const size_t bytes = bytes_of(tokenizer, std::span<const int>(seq).subspan(1));
    fmt::print(
        "{} loss {:.4f} per token (perplexity {:.3f}), {:.4f} bits per byte over {} predictions "
        "({} bytes) of '{}'{}\n",
        a.split, loss, std::exp(loss), loss * double(preds) / (std::log(2.0) * double(bytes)),
        preds, bytes, data, a.dtype == "fp32" ? "" : ", " + a.dtype + " weights");
    return 0;
}

// `wiggle --version`: the release, the compiler that built it, and the kernels this CPU runs
// (what a bug report needs: the same seed gives other bits on other kernels).
std::string version_line() {
#if defined(__clang__)
    const std::string compiler = "clang " __clang_version__;
#else
    const std::string compiler = "g++ " __VERSION__;
#endif
    const char* bf16 = kernels::amx_instructions()    ? "AMX tiles"
                       : kernels::bf16_instructions() ? "AVX512_BF16"
                                                      : "portable code";
    return fmt::format("wiggle {} ({}); this CPU: {} kernels, bf16 products on {}, {} threads",
                       WIGGLE_VERSION, compiler, kernels::isa_name(kernels::cpu_isa()), bf16,
                       kernels::num_threads());
}

}  // namespace
}  // namespace wiggle

int main(int argc, char** argv) {
    using namespace wiggle;
    CLI::App app{"wiggle: train, sample and evaluate GPTs on the CPU, and their tokenizers"};
    app.require_subcommand(1);
    app.set_version_flag("--version", version_line());
    app.footer(
        "examples:\n"
        "  wiggle train --preset baby             # data/tinyshakespeare.txt -> out/\n"
        "  wiggle sample --checkpoint out -n 500  # 500 characters from out/best.safetensors\n"
        "  wiggle eval --checkpoint out           # validation loss\n"
        "  wiggle tokenizer train --data data/tinyshakespeare.txt --vocab-size 512 --out bpe512\n"
        "  wiggle train --tokenizer bpe:bpe512.model --out out512");

    TrainArgs train_args;
    CLI::App* train_cmd = app.add_subcommand(
        "train", "train a GPT on a text file; checkpoints, metrics and loss curve go to --out");
    add_train_options(train_cmd, train_args);
    SampleArgs sample_args;
    CLI::App* sample_cmd =
        app.add_subcommand("sample", "generate text from a checkpoint (KV-cached)");
    add_sample_options(sample_cmd, sample_args);
    EvalArgs eval_args;
    CLI::App* eval_cmd =
        app.add_subcommand("eval", "loss of a checkpoint on a text file or one of its splits");
    add_eval_options(eval_cmd, eval_args);
    TokenizerArgs tokenizer_args;
    CLI::App* tokenizer_cmd = add_tokenizer_command(app, tokenizer_args);

    if (argc >= 2 && argv[1][0] != '-') {
        const std::string command = argv[1];
        WIGGLE_CHECK(command == "train" || command == "sample" || command == "eval" ||
                         command == "tokenizer",
                     "the commands are train, sample, eval and tokenizer; see 'wiggle --help'",
                     "unknown command '{}'", command);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        std::string where = "wiggle";
        for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
        fmt::print(stderr, "error: {} (hint: see '{} --help')\n", e.what(), where);
        return 1;
    }
    if (train_cmd->parsed()) return run_train(train_cmd, train_args);
    if (sample_cmd->parsed()) return run_sample(sample_args);
    if (tokenizer_cmd->parsed()) return run_tokenizer(tokenizer_cmd, tokenizer_args);
    return run_eval(eval_args);
}
