// Fine-tuning: a run that starts from a checkpoint's weights instead of a random init (`wiggle
// train --init-from`, nanoGPT's init_from = 'gpt2'). The checkpoint fixes the model: its shape,
// its GELU and its tokenizer; the run may only shorten the context (the position embeddings
// cropped to their first block_size rows, nanoGPT's crop_block_size) and choose its own dropout.
//
//   TrainConfig cfg = train_preset("baby");
//   cfg.init_from = "gpt2/model.safetensors";
//   LoadedModel start = init_from_checkpoint(cfg, [](std::string_view) { return false; });
//   train(cfg, options, std::move(start));   // n_layer, n_head, ... and tokenizer now GPT-2's
//
// Not here: resuming a run (trainer.cpp's load_run), which continues the optimizer as well; a run
// started from a checkpoint resumes like any other.
// reference: nanoGPT train.py (init_from) and model.py (GPT.from_pretrained, crop_block_size).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "nn/gpt_weights.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace wiggle {

// Loads cfg.init_from and settles the run's model settings by it: a setting the user gave (`given`
// answers by flag name: "n-embd", "bias", "gelu", "tokenizer", ...) must agree with the checkpoint
// (check_init_config), one not given is taken from it. The tokenizer, when not given, is the
// checkpoint's: "gpt2" for a Hugging Face GPT-2 file, "char" for a character model (the data must
// then have exactly its characters), else "checkpoint" (the BPE in its metadata). Exits with one
// line naming the flag, the file and both values when they disagree.
LoadedModel init_from_checkpoint(TrainConfig& cfg,
                                 const std::function<bool(std::string_view flag)>& given);

// Exits with one line when a run with these settings cannot start from a model of configuration
// `from` (cfg.init_from's): another n_layer, n_head, n_embd, bias or GELU, or a longer block.
void check_init_config(const TrainConfig& cfg, const GptConfig& from);

// The tokenizer of a run on `text` (the characters of data file cfg.data): cfg.tokenizer's
// (train/corpus.h; "checkpoint": the one in cfg.init_from). With `init` (a run starting from it),
// the tokenizer must be the checkpoint's, and "checkpoint" takes it out of `init`; a resumed run
// passes none (load_run compares the tokenizer with the run's own checkpoint).
Tokenizer run_tokenizer(const TrainConfig& cfg, std::u32string_view text, LoadedModel* init);

// The run's first weights, with room for gradients: the checkpoint's values in the run's
// configuration (the same shapes but for wpe, cropped to its first run.block_size rows).
GptWeights initial_weights(const GptConfig& run, const GptWeights& from);

}  // namespace wiggle
