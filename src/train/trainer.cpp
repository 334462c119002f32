// The training loop (trainer.h): nanoGPT's train.py, on one process or on the ranks of a
// data-parallel run (dist/world.h).
#include "train/trainer.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "data/text.h"
#include "dist/world.h"
#include "kernels/adamw.h"
#include "kernels/bf16.h"
#include "kernels/elementwise.h"
#include "nn/gpt_model.h"
#include "tensor/optim.h"
#include "train/checkpoint.h"
#include "train/corpus.h"
#include "train/estimate_loss.h"
#include "train/init_from.h"
#include "train/metrics.h"
#include "train/safetensors.h"
#include "train/train_state.h"
#include "util/check.h"
#include "util/io.h"
#include "util/log.h"

namespace wiggle {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "nan", "inf", "-inf" or the number (fmt prints a NaN's sign bit as "-nan").
std::string show(double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{}", v); }

// ---- Ctrl-C: finish the iteration, save, stop ------------------------------------------------
// Under mpirun, Ctrl-C ends the whole job at once (mpirun kills the ranks; the last checkpoint
// stays intact); SIGUSR1, which mpirun forwards to every rank, stops it the graceful way.

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int signal) {
    g_interrupted = 1;
    std::signal(signal, SIG_DFL);  // a second one kills at once (files are written atomically)
}

// Catches SIGINT and SIGUSR1 while it lives.
class InterruptCatcher {
  public:
    InterruptCatcher()
        : previous_int_(std::signal(SIGINT, on_interrupt)),
          previous_usr1_(std::signal(SIGUSR1, on_interrupt)) {
        g_interrupted = 0;
    }
    ~InterruptCatcher() {
        std::signal(SIGINT, previous_int_);
        std::signal(SIGUSR1, previous_usr1_);
    }
    bool interrupted() const { return g_interrupted != 0; }

  private:
    void (*previous_int_)(int);
    void (*previous_usr1_)(int);
};

// ---- What the run prints (rank 0 only) --------------------------------------------------------

class Reporter {
  public:
    Reporter(ProgressMode mode, bool root) {
        quiet_ = !root || mode == ProgressMode::Quiet;
        bar_ = !quiet_ && (mode == ProgressMode::Bar ||
                           (mode == ProgressMode::Auto && ::isatty(STDOUT_FILENO) != 0));
    }
    bool bar() const { return bar_; }
    bool quiet() const { return quiet_; }
    // A line of its own (above the progress bar, when there is one).
    void say(const std::string& line) const {
        if (quiet_) return;
        if (bar_) std::fputs("\r\033[K", stdout);
        std::fputs(line.c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    }
    // The progress bar, at most ten times a second (and always at the end).
    void progress(int done, int total, double loss, double tokens_per_s, double tokens_per_step) {
        ema_ = ema_ == 0.0 ? tokens_per_s : 0.9 * ema_ + 0.1 * tokens_per_s;
        if (!bar_ || (seconds_since(last_draw_) < 0.1 && done < total)) return;
        const double eta = (total - done) * tokens_per_step / ema_;
        std::fputs(("\r\033[K" + progress_line(done, total, loss, ema_, eta)).c_str(), stdout);
        std::fflush(stdout);
        last_draw_ = Clock::now();
    }

  private:
    bool quiet_ = true, bar_ = false;
    double ema_ = 0.0;
    Clock::time_point last_draw_ = Clock::now() - std::chrono::seconds(1);
};

// ---- Resuming -----------------------------------------------------------------------------------

// The state of <out>/model.state and the weights it names, checked to belong
// together, to the settings, to the data and to the number of ranks.
struct Resumed {
    GptWeights weights;
    TrainState state;
};
Resumed load_run(const TrainConfig& cfg, const Tokenizer& tokenizer, uint64_t data_hash,
                 int ranks) {
    const std::string spath = state_path(cfg.out);
    WIGGLE_CHECK(file_exists(spath), "train without --resume first, or pass the run's --out",
                 "cannot resume: '{}' does not exist", spath);
    TrainState saved = load_train_state(spath);
    const std::string mpath = weights_path(cfg.out, saved);
    WIGGLE_CHECK(file_exists(mpath), "train again without --resume",
                 "cannot resume: '{}' names weights '{}', which do not exist", spath, mpath);
    LoadedModel loaded = load_checkpoint(mpath, /*with_grads=*/true);
    const char* pair_hint = "both files must come from the same save; train again without --resume";
    const GptConfig want = cfg.gpt(tokenizer.vocab_size()), got = loaded.weights.config();
    // The GELU too: a run fine-tuned from GPT-2 goes on with GPT-2's tanh form.
    WIGGLE_CHECK(want.n_layer == got.n_layer && want.n_head == got.n_head &&
                     want.n_embd == got.n_embd && want.block_size == got.block_size &&
                     want.bias == got.bias && want.dropout == got.dropout && want.gelu == got.gelu,
                 pair_hint,
                 "checkpoint '{}' comes from another configuration (n_layer {}, n_head {}, "
                 "n_embd {}, block_size {}, gelu {}) than its training state",
                 mpath, got.n_layer, got.n_head, got.n_embd, got.block_size,
                 got.gelu == kernels::GeluForm::Tanh ? "tanh" : "erf");
    WIGGLE_CHECK(saved.data_hash == data_hash, "resume with the --data the run started with",
                 "data file '{}' is not the file this run was trained on", cfg.data);
    WIGGLE_CHECK(
        loaded.tokenizer && tokenizer_identity(*loaded.tokenizer) == tokenizer_identity(tokenizer),
        pair_hint, "checkpoint '{}' has another tokenizer than the run ({} on data file '{}')",
        mpath, tokenizer.describe(), cfg.data);
    WIGGLE_CHECK(params_hash(loaded.weights) == saved.params_hash, pair_hint,
                 "'{}' does not belong to '{}' (the parameters differ from the ones it was "
                 "saved with)",
                 spath, mpath);
    WIGGLE_CHECK(saved.adam_m.size() == loaded.weights.num_parameters() &&
                     saved.adam_v.size() == saved.adam_m.size(),
                 pair_hint, "training state '{}' holds moments for {} parameters, the model has {}",
                 spath, saved.adam_m.size(), loaded.weights.num_parameters());
    WIGGLE_CHECK(saved.ranks == ranks,
                 fmt::format("resume it on {} rank{} (mpirun -np {}), or train again", saved.ranks,
                             saved.ranks == 1 ? "" : "s", saved.ranks),
                 "the run in '{}' was trained on {} rank{}, this is {}: its batches would differ",
                 cfg.out, saved.ranks, saved.ranks == 1 ? "" : "s", ranks);
    // Rows past the checkpoint (from a run that went on and then failed) are dropped.
    std::erase_if(saved.history, [&](const MetricRow& r) { return r.iter > saved.iter; });
    return {std::move(loaded.weights), std::move(saved)};
}

// ---- One optimizer step -------------------------------------------------------------------------

// The gradient of one step: this rank's micro-batches, each backward from zero with the loss scaled
// by 1/(micro-batches of the whole step), added in order into one sum; then the ranks' sums added
// in rank order (World::sum), so N ranks give the bits of one process with N micro-batches. With
// ZeRO the ranks keep only their shard of the sum, clip by the norm their shards' parts add up to,
// update their shard and gather the parameters.
class Stepper {
  public:
    Stepper(const TrainConfig& cfg, GptWeights& weights, World& world)
        : cfg_(cfg),
          weights_(weights),
          world_(world),
          shards_(weights.num_parameters(), world.size(), kernels::kSumSquaresChunk),
          optimizer_(weights.params(), cfg.adamw(), cfg.zero ? shards_.begin(world.rank()) : 0,
                     cfg.zero ? shards_.end(world.rank()) : weights.num_parameters()),
          dropout_{weights.config().dropout, static_cast<uint64_t>(cfg.seed)} {
        if (cfg.grad_accum > 1) sum_.resize(weights.num_parameters());
        acts_.precision = cfg.precision;
        const size_t T = static_cast<size_t>(cfg.batch_size) * cfg.block_size;
        x_.resize(T * cfg.grad_accum);
        y_.resize(T * cfg.grad_accum);
        scratch_x_.resize(T);
        scratch_y_.resize(T);
    }

    AdamW<float>& optimizer() { return optimizer_; }
    GptActivations& activations() { return acts_; }
    const Shards& shards() const { return shards_; }
    int micro_batches() const { return world_.size() * cfg_.grad_accum; }
    double comm_seconds() const { return comm_s_; }

    struct Result {
        double loss;  // the mean over the step's micro-batches
        GradClip clip;
    };
    // One step at learning rate lr on the training split; `drawn` counts the batches drawn from
    // rng and `forwards` the training forwards (dropout's stream), both over every rank.
    Result step(std::span<const int> train, PyRandom& rng, double lr, uint64_t& drawn,
                uint64_t& forwards, const std::string& nan_hint, int iter) {
        const int B = cfg_.batch_size, T = cfg_.block_size, K = cfg_.grad_accum;
        const int M = micro_batches(), first = world_.rank() * K;
        const size_t BT = static_cast<size_t>(B) * T;
        // The step's global batch: micro-batches 0..M-1 drawn in order (every rank draws all, so
        // the generator stays the same everywhere), of which this rank keeps first..first+K-1.
        for (int m = 0; m < M; ++m) {
            const bool mine = m >= first && m < first + K;
            const size_t at = static_cast<size_t>(m - first) * BT;
            sample_blocks(train, B, T, rng, mine ? std::span(x_).subspan(at, BT) : scratch_x_,
                          mine ? std::span(y_).subspan(at, BT) : scratch_y_);
        }
        drawn += static_cast<uint64_t>(M);
        Params<float>& params = weights_.params();
        std::vector<double> losses(K);
        for (int k = 0; k < K; ++k) {
            const size_t at = static_cast<size_t>(k) * BT;
            params.zero_grad();
            losses[k] = gpt_forward(acts_, weights_, x_.data() + at, y_.data() + at, B, T,
                                    dropout_.forward(forwards + first + k + 1));
            gpt_backward(weights_.grads(), weights_, acts_, 1.0f / static_cast<float>(M));
            if (K > 1) {  // sum = g_0, then sum += g_k
                const auto g = params.grads();
                if (k == 0) {
                    std::copy(g.begin(), g.end(), sum_.begin());
                } else {
                    kernels::accumulate(sum_.data(), g.data(), static_cast<long>(g.size()));
                }
            }
        }
        if (K > 1) std::copy(sum_.begin(), sum_.end(), params.grads().begin());
        if (dropout_.p > 0.0f) forwards += static_cast<uint64_t>(M);

        // The loss of the step: every micro-batch's, in order. A non-finite one stops every rank
        // before the weights change.
        const std::vector<double> all = world_.all_gather(losses);
        double sum = 0.0;
        for (double l : all) sum += l;
        const double loss = sum / M;
        WIGGLE_CHECK(std::isfinite(loss), nan_hint, "training loss is {} at iteration {}",
                     show(loss), iter);

        GradClip clip;
        const float max_norm = static_cast<float>(cfg_.grad_clip);
        if (cfg_.zero) {
            timed([&] { world_.sum_shard(params.grads(), shards_); });
            clip = clip_from_sum_squares(shard_sum_squares(), max_norm);
        } else {
            timed([&] { world_.sum(params.grads(), shards_); });
            clip = clip_grad_norm(params, max_norm);
        }
        WIGGLE_CHECK(std::isfinite(clip.norm), nan_hint, "gradient norm is {} at iteration {}",
                     show(clip.norm), iter);
        optimizer_.step(static_cast<float>(lr), clip.scale);
        if (cfg_.zero) timed([&] { world_.gather(params.values(), shards_); });
        return {loss, clip};
    }

    // The full moments into m and v on rank 0 (gathered from the shards with ZeRO: every rank
    // takes part), for the training state.
    void moments(std::vector<float>& m, std::vector<float>& v) {
        if (!cfg_.zero) {  // every rank has them all
            if (!world_.root()) return;
            m.assign(optimizer_.m().begin(), optimizer_.m().end());
            v.assign(optimizer_.v().begin(), optimizer_.v().end());
            return;
        }
        if (world_.root()) {
            m.resize(weights_.num_parameters());
            v.resize(weights_.num_parameters());
        }
        world_.gather_to_root(optimizer_.m(), m, shards_);
        world_.gather_to_root(optimizer_.v(), v, shards_);
    }
    // Restores the moments (of every rank, from rank 0's state).
    void set_moments(const std::vector<float>& m, const std::vector<float>& v, int steps) {
        const size_t begin = optimizer_.shard_begin();
        std::copy(m.begin() + static_cast<long>(begin),
                  m.begin() + static_cast<long>(begin + optimizer_.m().size()),
                  optimizer_.m().begin());
        std::copy(v.begin() + static_cast<long>(begin),
                  v.begin() + static_cast<long>(begin + optimizer_.v().size()),
                  optimizer_.v().begin());
        optimizer_.set_steps(steps);
    }

  private:
    // Runs a communication, adding its time to comm_s_.
    template <class F>
    void timed(F communicate) {
        const auto t0 = Clock::now();
        communicate();
        comm_s_ += seconds_since(t0);
    }

    // Σ g² over every rank's shard of the summed gradient: each rank's chunk parts (shards are
    // whole chunks), gathered and added in order, as kernels::sum_squares adds its chunks.
    double shard_sum_squares() {
        const int chunk = kernels::kSumSquaresChunk;
        const size_t most = (shards_.largest() + chunk - 1) / chunk;
        std::vector<double> parts(most, 0.0);  // a shorter shard's missing parts stay 0
        const size_t n = shards_.size(world_.rank());
        kernels::sum_squares_chunks(parts.data(),
                                    weights_.params().grads().data() + shards_.begin(world_.rank()),
                                    static_cast<int>(n));
        std::vector<double> all;
        timed([&] { all = world_.all_gather(parts); });
        double s = 0.0;
        for (double p : all) s += p;
        return s;
    }

    const TrainConfig& cfg_;
    GptWeights& weights_;
    World& world_;
    Shards shards_;
    AdamW<float> optimizer_;
    DropoutStream dropout_;
    GptActivations acts_;
    std::vector<int> x_, y_, scratch_x_, scratch_y_;
    AlignedVector<float> sum_;  // the micro-batches' gradients, with more than one per rank
    double comm_s_ = 0.0;
};

}  // namespace

TrainConfig saved_config(const std::string& out) {
    const std::string path = state_path(out);
    WIGGLE_CHECK(file_exists(path), "train without --resume first, or pass the run's --out",
                 "cannot resume: '{}' does not exist", path);
    const TrainState s = load_train_state(path);
    return config_from_text(s.config_text, fmt::format("training state '{}'", path));
}

TrainOutcome train(const TrainConfig& cfg, const RunOptions& opts,
                   std::optional<LoadedModel> init) {
    check_train_config(cfg);
    World& world = World::get();
    const int B = cfg.batch_size, T = cfg.block_size;
    const int tokens_per_step = cfg.global_batch(world.size()) * T;
    // A new run from a checkpoint (a resumed one has its own weights); every rank reads it.
    const bool from_checkpoint = !cfg.init_from.empty() && !opts.resume;
    if (!from_checkpoint) {
        init.reset();
    } else if (!init) {
        WIGGLE_CHECK(file_exists(cfg.init_from),
                     "pass a wiggle checkpoint or run folder, or a GPT-2 model.safetensors",
                     "--init-from '{}' does not exist", cfg.init_from);
        init.emplace(load_checkpoint(cfg.init_from, /*with_grads=*/false));
    }
    if (init) check_init_config(cfg, init->weights.config());

    // ---- Data ----------------------------------------------------------------------------------
    Corpus data;
    uint64_t data_hash = 0;  // a resumed run checks that its data did not change
    {
        const std::string bytes = read_file(cfg.data, "data file");  // read once: hashed, decoded
        data_hash = fnv1a64(bytes.data(), bytes.size());
        const std::u32string text = text_of_file(bytes, cfg.data);
        data.tokenizer = run_tokenizer(cfg, text, init ? &*init : nullptr);
        SplitTokens parts =
            tokenize_split(data.tokenizer, text, fmt::format("data file '{}'", cfg.data));
        data.train = std::move(parts.train);
        data.val = std::move(parts.val);
    }
    WIGGLE_CHECK(data.train.size() >= size_t(T) + 1 && data.val.size() >= size_t(T) + 1,
                 "use a longer text or a smaller --block-size",
                 "data file '{}' is too short for --block-size {}: its splits have {} (train) "
                 "and {} (validation) tokens, each needs at least block_size + 1 = {}",
                 cfg.data, T, data.train.size(), data.val.size(), T + 1);
    std::optional<RunFolder> folder;  // rank 0 writes the run's files
    if (world.root()) folder.emplace(RunFolder::open(cfg.out));

    // ---- Model, optimizer and state: rank 0 reads a resumed run and sends it to the others ----
    const uint64_t seed = static_cast<uint64_t>(cfg.seed);
    std::optional<Resumed> resumed;
    if (opts.resume && world.root()) {
        resumed.emplace(load_run(cfg, data.tokenizer, data_hash, world.size()));
    }
    const GptConfig model_config = cfg.gpt(data.tokenizer.vocab_size());
    GptWeights weights = resumed ? std::move(resumed->weights)
                         : init  ? initial_weights(model_config, init->weights)
                                 : GptWeights(model_config, seed);
    init.reset();  // the run has its own copy
    TrainState state;
    if (resumed) state = std::move(resumed->state);
    if (opts.resume && world.size() > 1) {
        world.broadcast(weights.params().values().data(), weights.num_parameters() * sizeof(float));
        std::string bytes = world.root() ? serialize_train_state(state) : std::string();
        uint64_t size = bytes.size();
        world.broadcast(&size, sizeof size);
        bytes.resize(size);
        world.broadcast(bytes.data(), size);
        if (!world.root()) state = parse_train_state(bytes, state_path(cfg.out));
    }
    Stepper stepper(cfg, weights, world);
    PyRandom rng(seed);  // the training batches
    int last_saved = -1;
    if (opts.resume) {
        stepper.set_moments(state.adam_m, state.adam_v, state.adam_t);
        rng.set_state(state.batch_rng);
        last_saved = state.iter;
    }
    state.config_text = config_to_text(cfg);  // --iters and the logging settings may change
    state.ranks = world.size();
    WIGGLE_CHECK(state.iter <= cfg.max_iters, "pass a larger --iters to train further",
                 "the checkpoint in '{}' has already done {} iterations, --iters is {}", cfg.out,
                 state.iter, cfg.max_iters);

    Reporter report(opts.progress, world.root());
    report.say(fmt::format(
        "wiggle train: {} parameters (n_layer {}, n_head {}, n_embd {}, block {}), vocab {}, {} "
        "train / {} val {} of '{}', batch {}×{}{}{}",
        weights.num_parameters(), cfg.n_layer, cfg.n_head, cfg.n_embd, T,
        data.tokenizer.vocab_size(), data.train.size(), data.val.size(),
        data.tokenizer.kind() == Tokenizer::Kind::Char
            ? std::string("characters")
            : "tokens (" + data.tokenizer.describe() + ")",
        cfg.data, B, T,
        stepper.micro_batches() > 1
            ? fmt::format(" × {} micro-batches ({}{})", stepper.micro_batches(),
                          world.description(),
                          cfg.zero ? fmt::format(", ZeRO-1: {:.1f} MB of AdamW moments per rank",
                                                 2.0 * stepper.optimizer().m().size() * 4 / 1e6)
                                   : "")
            : "",
        opts.resume       ? fmt::format(", resuming at iteration {}", state.iter)
        : from_checkpoint ? fmt::format(", starting from '{}'", cfg.init_from)
                          : ""));
    {
        // the activation memory: what a step's forward keeps for backward, and its scratch
        const GptConfig& g = weights.config();
        GptConfig more = g;
        more.n_layer += 1;
        const double all = GptActivations::bytes_for(g, B, T, cfg.precision),
                     layer = GptActivations::bytes_for(more, B, T, cfg.precision) - all;
        report.say(fmt::format(
            "activations: {:.1f} MB for a micro-batch of {}×{} in {}, {:.1f} MB "
            "of it per layer",
            all / 1e6, B, T, cfg.precision == Precision::Bf16 ? "bf16 mixed precision" : "fp32",
            layer / 1e6));
    }
    if (cfg.precision == Precision::Bf16) {
        report.say(kernels::amx_instructions()
                       ? "bf16 mixed precision: the matmuls and attention's products on bf16 "
                         "copies (AMX tiles; WIGGLE_AMX=0 for AVX512_BF16), float sums, float "
                         "master weights"
                   : kernels::bf16_instructions()
                       ? "bf16 mixed precision: the matmuls and attention's products on bf16 "
                         "copies (AVX512_BF16), float sums, float master weights"
                       : "bf16 mixed precision: this CPU has no AVX512_BF16, so the bf16 products "
                         "run on portable code (the same numbers, slower than fp32)");
    }

    const std::string metrics = cfg.metrics_path();
    // Saves the resumable checkpoint: every rank takes part (ZeRO gathers the moments), rank 0
    // writes.
    auto save_all = [&](int done) {
        stepper.moments(state.adam_m, state.adam_v);
        last_saved = done;
        if (!world.root()) return;
        state.iter = done;
        state.adam_t = stepper.optimizer().steps();
        state.batch_rng = rng.state();
        state.params_hash = params_hash(weights);
        state.data_hash = data_hash;
        folder->save(weights, data.tokenizer, state);
        write_metrics(metrics, state.history);
        write_loss_curve(curve_path(cfg.out), state.history);
    };
    auto nan_hint = [&] {
        return last_saved >= 0
                   ? fmt::format(
                         "the last good checkpoint is '{}' (iteration {}); lower --lr or "
                         "--grad-clip and resume or retrain",
                         model_path(cfg.out), last_saved)
                   : std::string("no checkpoint was saved; lower --lr or --grad-clip");
    };
    // Evaluates after `done` iterations (rank 0), records it, keeps the best; returns the line.
    // Evaluation runs forwards in the training step's activations (the same (B,T): no second
    // arena), in the training's precision (nanoGPT evaluates in its autocast context too).
    GptActivations& eval_acts = stepper.activations();
    auto evaluate = [&](int done) -> std::string {
        if (!world.root()) return "";
        // always the same batches, from their own generators: evaluating never changes training
        PyRandom val_rng(seed + 1), train_rng(seed + 2);
        const double val =
            estimate_loss(eval_acts, weights, data.val, B, T, cfg.eval_iters, &val_rng);
        const double tr =
            estimate_loss(eval_acts, weights, data.train, B, T, cfg.eval_iters, &train_rng);
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
            save_checkpoint(best_path(cfg.out), weights, data.tokenizer);
            note = " (best, saved)";
        }
        return format_step(done, cfg.max_iters, tr, {{"val", val}}) + note;
    };

    TrainOutcome outcome;
    if (!opts.resume && state.iter == 0) report.say(evaluate(0));

    InterruptCatcher sigint;
    const auto run_start = Clock::now();
    const int start_iter = state.iter;
    const double elapsed_at_start = state.elapsed_s;
    int done = state.iter;
    while (done < cfg.max_iters) {
        const int it = done;
        const double lr = cfg.lr_at(it);
        if (it == opts.debug_nan_at) {
            weights.params().values()[0] = std::numeric_limits<float>::quiet_NaN();
        }
        const auto t0 = Clock::now();
        const Stepper::Result r = stepper.step(data.train, rng, lr, state.batches_drawn,
                                               state.dropout_counter, nan_hint(), it);
        const double s = seconds_since(t0);
        done = it + 1;
        MetricRow row;
        row.iter = done;
        row.loss = r.loss;
        row.lr = lr;
        row.ms = s * 1e3;
        row.tokens_per_s = tokens_per_step / s;
        state.history.push_back(row);
        state.elapsed_s += s;

        if (report.bar()) {
            report.progress(done, cfg.max_iters, r.loss, row.tokens_per_s, tokens_per_step);
        } else if (done % cfg.log_interval == 0 || done == 1) {
            report.say(
                format_step(done, cfg.max_iters, r.loss,
                            {{"lr", lr, 6}, {"ms", row.ms, 1}, {"tok/s", row.tokens_per_s, 0}}));
        }
        // every rank stops at the same iteration: when any was interrupted
        const bool interrupted = world.any(sigint.interrupted());
        const bool asked = opts.stop_after > 0 && done >= opts.stop_after;
        if (done % cfg.eval_interval == 0 || done == cfg.max_iters) report.say(evaluate(done));
        if (done % cfg.eval_interval == 0 || done == cfg.max_iters || interrupted || asked) {
            save_all(done);
        }
        if ((interrupted || asked) && done < cfg.max_iters) {
            outcome.stopped_early = true;
            outcome.interrupted = interrupted;
            report.say(fmt::format(
                "{} after iteration {}: saved '{}'; continue with: {}wiggle train --resume --out "
                "{}",
                interrupted ? "interrupted" : "stopped (--stop-after)", done, model_path(cfg.out),
                world.size() > 1 ? fmt::format("mpirun -np {} ", world.size()) : "", cfg.out));
            break;
        }
    }
    if (!outcome.stopped_early) {
        if (last_saved != done) save_all(done);
        const double wall = seconds_since(run_start);
        const double train_s = state.elapsed_s - elapsed_at_start;
        const int ran = done - start_iter;
        const std::string comm = world.size() > 1 && train_s > 0
                                     ? fmt::format(", {:.1f}% of it summing gradients across ranks",
                                                   100.0 * stepper.comm_seconds() / train_s)
                                     : "";
        report.say(fmt::format(
            "done: {} iterations in {:.1f} s ({:.2f} ms/iteration and {:.0f} tokens/s in training "
            "steps{}); best validation loss {:.4f} at iteration {} in '{}'",
            ran, wall, ran > 0 ? train_s * 1e3 / ran : 0.0,
            train_s > 0 ? double(ran) * tokens_per_step / train_s : 0.0, comm, state.best_val,
            state.best_iter, best_path(cfg.out)));
    }
    outcome.iters_done = done;
    outcome.best_val = state.best_val;
    outcome.best_iter = state.best_iter;
    return outcome;
}

}  // namespace wiggle
