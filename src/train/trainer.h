// The training loop of `wiggle train`: nanoGPT's train.py for a character GPT on the CPU.
//
// Each iteration draws a global batch of (B,T) micro-batches from the training split (PyRandom
// seeded with --seed, so the batches are Python-reproducible), runs forward and backward on each
// (grad_accum per rank; the ranks of a data-parallel run, dist/world.h, take micro-batches in
// turn), sums their gradients in a fixed order, and takes an AdamW step with the cosine
// schedule. N ranks with grad_accum 1 give the bits of one process with grad_accum N. Every
// eval_interval iterations (and at the end) it estimates the train and validation losses over
// eval_iters batches — always the same batches, from their own seeded generators, so evaluating
// never changes the training trajectory — keeps best.safetensors when validation improves, and
// saves the resumable checkpoint <out>/model.safetensors + <out>/model.state, the metrics log and
// <out>/loss.svg.
//
// Fine-tuning: with --init-from the weights at iteration 0 are a checkpoint's (init_from.h), the
// rest is the same; such a run saves, resumes and stops like any other.
//
// Stopping: Ctrl-C (SIGINT) or --stop-after N finish the current iteration, save the checkpoint
// and return; `--resume` then continues bit for bit (the state has the moments, step, batch
// generator, dropout counter), on as many ranks as the run had. A non-finite loss or gradient
// norm stops with an error naming the iteration, saving nothing, so the last good checkpoint
// stays as it was. Only rank 0 prints, evaluates and writes files.
#pragma once

#include <optional>
#include <string>

#include "train/checkpoint.h"
#include "train/config.h"
#include "train/run_folder.h"  // the files of a run folder

namespace wiggle {

enum class ProgressMode { Auto, Bar, Lines, Quiet };

struct RunOptions {
    bool resume = false;  // continue from <out>/model.safetensors + model.state
    int stop_after = 0;   // > 0: stop (and save) once this many iterations are done
    ProgressMode progress = ProgressMode::Auto;  // Auto: a bar on a terminal, else log lines
    int debug_nan_at = -1;  // tests: a weight becomes NaN before this iteration, as in divergence
};

struct TrainOutcome {
    int iters_done = 0;
    double best_val = 0.0;
    int best_iter = -1;
    bool stopped_early = false;  // interrupted or --stop-after
    bool interrupted = false;    // by Ctrl-C
};

// The settings a resumable run in `out` was started with (from its model.state).
TrainConfig saved_config(const std::string& out);

// Trains; exits with a clear error on bad input. Installs a SIGINT handler for its duration.
// A new run with config.init_from starts from that checkpoint's weights: `init` when given
// (init_from.h's init_from_checkpoint loaded it and settled the config by it), else read here;
// either way the settings must fit it (check_init_config).
TrainOutcome train(const TrainConfig& config, const RunOptions& options,
                   std::optional<LoadedModel> init = std::nullopt);

}  // namespace wiggle
