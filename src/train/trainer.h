// The training loop of `wiggle train`: nanoGPT's train.py for a character GPT on the CPU.
//
// Each iteration draws a (B,T) batch from the training split (PyRandom seeded with --seed, so
// the batches are Python-reproducible), runs forward, backward and an AdamW step with the
// cosine schedule. Every eval_interval iterations (and at the end) it estimates the train and
// validation losses over eval_iters batches — always the same batches, from their own seeded
// generators, so evaluating never changes the training trajectory — keeps best.safetensors when
// validation improves, and saves the resumable checkpoint <out>/model.safetensors +
// <out>/model.state, the metrics log and <out>/loss.svg.
//
// Stopping: Ctrl-C (SIGINT) or --stop-after N finish the current iteration, save the checkpoint
// and return; `--resume` then continues bit for bit (the state has the moments, step, batch
// generator, dropout counter). A non-finite loss or gradient norm stops with an error naming the
// iteration, saving nothing, so the last good checkpoint stays as it was.
#pragma once

#include <string>

#include "train/config.h"

namespace wiggle {

enum class ProgressMode { Auto, Bar, Lines, Quiet };

struct RunOptions {
    bool resume = false;  // continue from <out>/model.safetensors + model.state
    int stop_after = 0;   // > 0: stop (and save) once this many iterations are done
    ProgressMode progress = ProgressMode::Auto;  // Auto: a bar on a terminal, else log lines
};

struct TrainOutcome {
    int iters_done = 0;
    double best_val = 0.0;
    int best_iter = -1;
    bool stopped_early = false;  // interrupted or --stop-after
};

// The files of a run folder.
std::string model_path(const std::string& out);  // <out>/model.safetensors
std::string state_path(const std::string& out);  // <out>/model.state
std::string best_path(const std::string& out);   // <out>/best.safetensors
std::string curve_path(const std::string& out);  // <out>/loss.svg

// The settings a resumable run in `out` was started with (from its model.state).
TrainConfig saved_config(const std::string& out);

// Trains; exits with a clear error on bad input. Installs a SIGINT handler for its duration.
TrainOutcome train(const TrainConfig& config, const RunOptions& options);

}  // namespace wiggle
