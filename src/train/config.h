// The settings of a `wiggle train` run (model size, optimizer, schedule, evaluation, files), the
// named presets, their validation with messages that name the flag, and a text form that the
// training-state file stores so `--resume` continues with exactly the same settings.
//
//   TrainConfig c = train_preset("baby");   // nanoGPT's CPU "baby" shakespeare_char config
//   c.max_iters = 500;
//   check_train_config(c);                  // exits with "--n-embd 100 is not divisible ..."
//
// Every setting is one row of train_fields(): its flag name (without "--"), help text, and
// whether a resumed run may change it (the schedule, the model and the data may not).
// reference: nanoGPT config/train_shakespeare_char.py and its README's CPU command line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "nn/gpt_model.h"
#include "nn/gpt_weights.h"
#include "tensor/optim.h"

namespace wiggle {

struct TrainConfig {
    // Data and files.
    std::string data = "data/tinyshakespeare.txt";
    std::string out = "out";         // checkpoints, metrics, loss curve
    std::string metrics;             // metrics log; "" means <out>/metrics.csv (.csv or .jsonl)
    std::string tokenizer = "char";  // char, bpe:FILE.model, gpt2[:DIR] (train/corpus.h), or
                                     // checkpoint: --init-from's own (train/init_from.h)
    std::string init_from;           // "": a random init; else the checkpoint the run starts from
    // Model.
    int n_layer = 4;
    int n_head = 4;
    int n_embd = 128;
    int block_size = 64;
    bool bias = false;
    double dropout = 0.0;
    kernels::GeluForm gelu = kernels::GeluForm::Erf;  // nanoGPT's; GPT-2's is the tanh form
    Precision precision = Precision::Fp32;            // the matmuls' arithmetic (--dtype fp32|bf16)
    // Optimization. Each iteration is one optimizer step on a global batch of
    // ranks × grad_accum × batch_size sequences: every rank of a data-parallel run (mpirun) sums
    // the gradients of grad_accum micro-batches of batch_size.
    int batch_size = 12;
    int grad_accum = 1;  // micro-batches per rank per step (nanoGPT's gradient_accumulation_steps)
    int zero = 0;        // 1: ZeRO stage 1, AdamW's moments sharded across the ranks
    int max_iters = 2000;
    double lr = 1e-3;
    double min_lr = 1e-4;
    int warmup_iters = 100;
    int lr_decay_iters = 0;  // 0: the same as max_iters
    double beta1 = 0.9;
    double beta2 = 0.99;
    double weight_decay = 0.1;
    double grad_clip = 1.0;
    // Evaluation and logging.
    int eval_interval = 250;
    int eval_iters = 200;
    int log_interval = 10;
    int64_t seed = 1337;

    GptConfig gpt(int vocab_size) const;
    AdamWConfig adamw() const;  // grad_clip is applied apart (clip_grad_norm)
    int decay_iters() const { return lr_decay_iters > 0 ? lr_decay_iters : max_iters; }
    // Sequences per optimizer step on `ranks` processes.
    int global_batch(int ranks) const { return ranks * grad_accum * batch_size; }
    double lr_at(int iter) const;  // nanoGPT's get_lr: warmup, cosine to min_lr, then min_lr
    std::string metrics_path() const;
};

// "baby" and "shakespeare-char"; exits with the list of names for anything else.
TrainConfig train_preset(std::string_view name);
std::vector<std::string> train_preset_names();

// Exits with one line naming the flag and the value if a setting is out of range.
void check_train_config(const TrainConfig& c);

// One setting: how the CLI exposes it and how the state file stores it.
struct TrainField {
    std::string flag;  // "n-embd"
    std::string help;
    bool resumable;    // may a --resume run change it?
    std::string type;  // for --help: "INT", "FLOAT", "PATH", "BOOL" or the names, "erf|tanh"
    std::function<std::string(const TrainConfig&)> get;
    // Sets the field from text; false if the text is not a value of the field's type.
    std::function<bool(TrainConfig&, std::string_view)> set;
};
const std::vector<TrainField>& train_fields();

// "flag=value" lines, every field, doubles printed exactly (round-trip).
std::string config_to_text(const TrainConfig& c);
// The inverse; exits naming `source` on an unknown field or a bad value.
TrainConfig config_from_text(std::string_view text, std::string_view source);

}  // namespace wiggle
