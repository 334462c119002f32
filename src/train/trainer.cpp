// The training loop (trainer.h).
#include "train/trainer.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "data/text.h"
#include "nn/gpt_model.h"
#include "tensor/optim.h"
#include "train/checkpoint.h"
#include "train/estimate_loss.h"
#include "train/metrics.h"
#include "train/safetensors.h"
#include "train/train_state.h"
#include "util/check.h"
#include "util/io.h"
#include "util/log.h"

namespace wiggle {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) {
    g_interrupted = 1;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once (files are written atomically)
}

using Clock = std::chrono::steady_clock;

// "nan", "inf", "-inf" or the number (fmt prints a NaN's sign bit as "-nan").
std::string show(double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{}", v); }

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void make_folder(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        WIGGLE_CHECK(S_ISDIR(st.st_mode), "pick another --out", "--out '{}' is not a folder", path);
        return;
    }
    WIGGLE_CHECK(::mkdir(path.c_str(), 0755) == 0, "check the path and its permissions",
                 "cannot create --out folder '{}': {}", path, std::strerror(errno));
}

// Resuming: the weights of <out>/model.safetensors and the state of <out>/model.state, checked
// to belong together, to the settings and to the data.
struct Resumed {
    GptWeights weights;
    TrainState state;
};
Resumed load_run(const TrainConfig& cfg, const CharVocab& vocab, uint64_t data_hash) {
    const std::string spath = state_path(cfg.out), mpath = model_path(cfg.out);
    WIGGLE_CHECK(file_exists(spath) && file_exists(mpath),
                 "train without --resume first, or pass the run's --out",
                 "cannot resume: '{}' needs model.safetensors and model.state", cfg.out);
    TrainState saved = load_train_state(spath);
    LoadedModel loaded = load_checkpoint(mpath, /*with_grads=*/true);
    const char* pair_hint = "both files must come from the same save; train again without --resume";
    const GptConfig want = cfg.gpt(vocab.size()), got = loaded.weights.config();
    WIGGLE_CHECK(want.n_layer == got.n_layer && want.n_head == got.n_head &&
                     want.n_embd == got.n_embd && want.block_size == got.block_size &&
                     want.bias == got.bias && want.dropout == got.dropout,
                 pair_hint,
                 "checkpoint '{}' comes from another configuration (n_layer {}, n_head {}, "
                 "n_embd {}, block_size {}) than its training state",
                 mpath, got.n_layer, got.n_head, got.n_embd, got.block_size);
    WIGGLE_CHECK(saved.data_hash == data_hash, "resume with the --data the run started with",
                 "data file '{}' is not the file this run was trained on", cfg.data);
    WIGGLE_CHECK(vocab_to_string(loaded.vocab) == vocab_to_string(vocab), pair_hint,
                 "checkpoint '{}' has another vocabulary than data file '{}'", mpath, cfg.data);
    WIGGLE_CHECK(params_hash(loaded.weights) == saved.params_hash, pair_hint,
                 "'{}' does not belong to '{}' (the parameters differ from the ones it was "
                 "saved with)",
                 spath, mpath);
    WIGGLE_CHECK(saved.adam_m.size() == loaded.weights.num_parameters() &&
                     saved.adam_v.size() == saved.adam_m.size(),
                 pair_hint, "training state '{}' holds moments for {} parameters, the model has {}",
                 spath, saved.adam_m.size(), loaded.weights.num_parameters());
    // Rows past the checkpoint (from a run that went on and then failed) are dropped.
    std::erase_if(saved.history, [&](const MetricRow& r) { return r.iter > saved.iter; });
    return {std::move(loaded.weights), std::move(saved)};
}

}  // namespace

std::string model_path(const std::string& out) { return out + "/model.safetensors"; }
std::string state_path(const std::string& out) { return out + "/model.state"; }
std::string best_path(const std::string& out) { return out + "/best.safetensors"; }
std::string curve_path(const std::string& out) { return out + "/loss.svg"; }

TrainConfig saved_config(const std::string& out) {
    const std::string path = state_path(out);
    WIGGLE_CHECK(file_exists(path), "train without --resume first, or pass the run's --out",
                 "cannot resume: '{}' does not exist", path);
    const TrainState s = load_train_state(path);
    return config_from_text(s.config_text, fmt::format("training state '{}'", path));
}

TrainOutcome train(const TrainConfig& cfg, const RunOptions& opts) {
    check_train_config(cfg);
    const int B = cfg.batch_size, T = cfg.block_size;

    // ---- Data ----------------------------------------------------------------------------------
    TextStream data = load_text_stream(cfg.data, kTrainFraction, 2);
    const char* short_hint = "use a longer text or a smaller --block-size";
    WIGGLE_CHECK(data.train.size() >= size_t(T) + 1 && data.val.size() >= size_t(T) + 1, short_hint,
                 "data file '{}' is too short for --block-size {}: its splits have {} (train) "
                 "and {} (validation) characters, each needs at least block_size + 1 = {}",
                 cfg.data, T, data.train.size(), data.val.size(), T + 1);
    const std::string data_bytes = read_file(cfg.data, "data file");
    const uint64_t data_hash = fnv1a64(data_bytes.data(), data_bytes.size());
    make_folder(cfg.out);

    // ---- Model, optimizer and state -------------------------------------------------------------
    const uint64_t seed = static_cast<uint64_t>(cfg.seed);
    const GptConfig gpt = cfg.gpt(data.vocab.size());
    std::optional<Resumed> resumed;
    if (opts.resume) resumed.emplace(load_run(cfg, data.vocab, data_hash));
    GptWeights weights = resumed ? std::move(resumed->weights) : GptWeights(gpt, seed);
    AdamW<float> optimizer(weights.params(), cfg.adamw());
    GptActivations acts;
    DropoutStream dropout{gpt.dropout, seed};
    PyRandom rng(seed);  // the training batches
    TrainState state;
    int last_saved = -1;
    if (resumed) {
        state = std::move(resumed->state);
        std::copy(state.adam_m.begin(), state.adam_m.end(), optimizer.m().begin());
        std::copy(state.adam_v.begin(), state.adam_v.end(), optimizer.v().begin());
        optimizer.set_steps(state.adam_t);
        dropout.forwards = state.dropout_counter;
        rng.set_state(state.batch_rng);
        last_saved = state.iter;
    }
    state.config_text = config_to_text(cfg);  // --iters and the logging settings may change
    WIGGLE_CHECK(state.iter <= cfg.max_iters, "pass a larger --iters to train further",
                 "the checkpoint in '{}' has already done {} iterations, --iters is {}", cfg.out,
                 state.iter, cfg.max_iters);

    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    const bool bar =
        opts.progress == ProgressMode::Bar || (opts.progress == ProgressMode::Auto && tty);
    const bool quiet = opts.progress == ProgressMode::Quiet;
    auto say = [&](const std::string& line) {
        if (quiet) return;
        if (bar) std::fputs("\r\033[K", stdout);
        std::fputs(line.c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    };
    say(
        fmt::format("wiggle train: {} parameters (n_layer {}, n_head {}, n_embd {}, block {}), "
                    "vocab {}, {} train / {} val characters of '{}', batch {}×{}{}",
                    weights.num_parameters(), cfg.n_layer, cfg.n_head, cfg.n_embd, T,
                    data.vocab.size(), data.train.size(), data.val.size(), cfg.data, B, T,
                    opts.resume ? fmt::format(", resuming at iteration {}", state.iter) : ""));

    std::vector<int> x(size_t(B) * T), y(size_t(B) * T);
    const std::string metrics = cfg.metrics_path();

    auto save_all = [&](int done) {
        state.iter = done;
        state.adam_t = optimizer.steps();
        state.dropout_counter = dropout.forwards;
        state.batch_rng = rng.state();
        state.params_hash = params_hash(weights);
        state.data_hash = data_hash;
        state.adam_m.assign(optimizer.m().begin(), optimizer.m().end());
        state.adam_v.assign(optimizer.v().begin(), optimizer.v().end());
        save_checkpoint(model_path(cfg.out), weights, data.vocab);
        save_train_state(state_path(cfg.out), state);
        write_metrics(metrics, state.history);
        write_loss_curve(curve_path(cfg.out), state.history);
        last_saved = done;
    };
    auto nan_hint = [&] {
        return last_saved >= 0
                   ? fmt::format(
                         "the last good checkpoint is '{}' (iteration {}); lower --lr or "
                         "--grad-clip and resume or retrain",
                         model_path(cfg.out), last_saved)
                   : std::string("no checkpoint was saved; lower --lr or --grad-clip");
    };
    // Evaluates after `done` iterations, records it, keeps the best; returns the log line.
    auto evaluate = [&](int done) {
        // always the same batches, from their own generators: evaluating never changes training
        PyRandom val_rng(seed + 1), train_rng(seed + 2);
        const double val = estimate_loss(acts, weights, data.val, B, T, cfg.eval_iters, &val_rng);
        const double tr =
            estimate_loss(acts, weights, data.train, B, T, cfg.eval_iters, &train_rng);
        WIGGLE_CHECK(std::isfinite(val) && std::isfinite(tr), nan_hint(),
                     "evaluation loss is not finite after iteration {}: validation {}, train {}",
                     done, show(val), show(tr));
        if (state.history.empty() || state.history.back().iter != done) {
            MetricRow r;
            r.iter = done;
            r.loss = r.lr = r.ms = r.tokens_per_s = std::numeric_limits<double>::quiet_NaN();
            state.history.push_back(r);
        }
        state.history.back().val_loss = val;
        state.history.back().train_eval = tr;
        std::string note;
        if (val < state.best_val) {
            state.best_val = val;
            state.best_iter = done;
            save_checkpoint(best_path(cfg.out), weights, data.vocab);
            note = " (best, saved)";
        }
        return format_step(done, cfg.max_iters, tr, {{"val", val}}) + note;
    };

    TrainOutcome outcome;
    if (!opts.resume && state.iter == 0) say(evaluate(0));

    g_interrupted = 0;
    auto previous = std::signal(SIGINT, on_sigint);
    const auto run_start = Clock::now();
    const int start_iter = state.iter;
    const double elapsed_at_start = state.elapsed_s;
    double ema_tps = 0.0;
    auto last_draw = Clock::now() - std::chrono::seconds(1);
    int done = state.iter;
    bool stop = false;
    // Test hook: WIGGLE_DEBUG_NAN_AT=N sets one weight to NaN before iteration N, the way a
    // diverging run ends, so the tests can check that the run stops and keeps its checkpoint.
    const char* nan_at_env = std::getenv("WIGGLE_DEBUG_NAN_AT");
    const int nan_at = nan_at_env != nullptr ? std::atoi(nan_at_env) : -1;
    while (done < cfg.max_iters && !stop) {
        const int it = done;
        const double lr = cfg.lr_at(it);
        if (it == nan_at) weights.params().values()[0] = std::numeric_limits<float>::quiet_NaN();
        const auto t0 = Clock::now();
        // nanoGPT's iteration: a batch, forward, backward, clip, AdamW
        sample_blocks(data.train, B, T, rng, x, y);
        ++state.batches_drawn;
        weights.params().zero_grad();
        const float loss = gpt_forward(acts, weights, x.data(), y.data(), B, T, dropout.next());
        WIGGLE_CHECK(std::isfinite(loss), nan_hint(), "training loss is {} at iteration {}",
                     show(loss), it);
        gpt_backward(weights.grads(), weights, acts);
        const GradClip clip = clip_grad_norm(weights.params(), static_cast<float>(cfg.grad_clip));
        WIGGLE_CHECK(std::isfinite(clip.norm), nan_hint(), "gradient norm is {} at iteration {}",
                     show(clip.norm), it);
        optimizer.step(static_cast<float>(lr), clip.scale);
        const double s = seconds_since(t0);
        done = it + 1;
        MetricRow row;
        row.iter = done;
        row.loss = loss;
        row.lr = lr;
        row.ms = s * 1e3;
        row.tokens_per_s = double(B) * T / s;
        state.history.push_back(row);
        state.elapsed_s += s;
        ema_tps = ema_tps == 0.0 ? row.tokens_per_s : 0.9 * ema_tps + 0.1 * row.tokens_per_s;

        if (bar && !quiet && (seconds_since(last_draw) > 0.1 || done == cfg.max_iters)) {
            const double eta = (cfg.max_iters - done) * double(B) * T / ema_tps;
            std::fputs(
                ("\r\033[K" + progress_line(done, cfg.max_iters, loss, ema_tps, eta)).c_str(),
                stdout);
            std::fflush(stdout);
            last_draw = Clock::now();
        } else if (!bar && (done % cfg.log_interval == 0 || done == 1)) {
            say(format_step(done, cfg.max_iters, loss,
                            {{"lr", lr, 6}, {"ms", row.ms, 1}, {"tok/s", row.tokens_per_s, 0}}));
        }
        const bool interrupted = g_interrupted != 0;
        const bool asked = opts.stop_after > 0 && done >= opts.stop_after;
        if (done % cfg.eval_interval == 0 || done == cfg.max_iters) say(evaluate(done));
        if (done % cfg.eval_interval == 0 || done == cfg.max_iters || interrupted || asked) {
            save_all(done);
        }
        if ((interrupted || asked) && done < cfg.max_iters) {
            stop = true;
            outcome.stopped_early = true;
            say(
                fmt::format("{} after iteration {}: saved '{}'; continue with: wiggle train "
                            "--resume --out {}",
                            interrupted ? "interrupted" : "stopped (--stop-after)", done,
                            model_path(cfg.out), cfg.out));
        }
    }
    std::signal(SIGINT, previous);
    if (!outcome.stopped_early) {
        if (last_saved != done) save_all(done);
        const double wall = seconds_since(run_start);
        const double train_s = state.elapsed_s - elapsed_at_start;
        const int ran = done - start_iter;
        say(
            fmt::format("done: {} iterations in {:.1f} s ({:.2f} ms/iteration and {:.0f} tokens/s "
                        "in training steps); best validation loss {:.4f} at iteration {} in '{}'",
                        ran, wall, ran > 0 ? train_s * 1e3 / ran : 0.0,
                        train_s > 0 ? double(ran) * B * T / train_s : 0.0, state.best_val,
                        state.best_iter, best_path(cfg.out)));
    }
    outcome.iters_done = done;
    outcome.best_val = state.best_val;
    outcome.best_iter = state.best_iter;
    return outcome;
}

}  // namespace wiggle
