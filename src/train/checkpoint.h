// GPT checkpoints: the weights as safetensors with nanoGPT's state_dict names and PyTorch's
// shapes (so `torch.load`-style code, or tests/pytorch_roundtrip.py, reads them), the model's
// configuration and its tokenizer in the file's metadata:
//
//   __metadata__: {"format": "wiggle-gpt", "n_layer": "4", "n_head": "4", "n_embd": "128",
//                  "block_size": "64", "vocab_size": "65", "bias": "false", "dropout": "0",
//                  "vocab": "\n !$&',-.3:;?ABC...xyz", "wiggle.checksum": "fnv1a64:..."}
//
// A character model has "vocab" (its characters in token order); a BPE model has
// "tokenizer": "bpe" and "tokenizer.model", the text of its .model file (text/tokenizer.h). A file
// without "tokenizer" is a character model. "gelu": "tanh" marks a model whose MLP uses GELU's
// tanh form (GPT-2's, and models fine-tuned from it); without it, the erf form.
//
// GPT-2 checkpoints in Hugging Face's layout load too (hf_checkpoint.cpp): model.safetensors with
// names with or without "transformer." (h.0.attn.c_attn.weight, wte.weight, ...), Conv1D weights
// stored (in, out) (transposed on load), biases everywhere, lm_head tied to wte, the causal-mask
// buffers of older files (attn.bias, attn.masked_bias) ignored. The configuration comes from the
// shapes (n_head from GPT-2's sizes: 12, 16, 20 or 25 heads of 64) or from a config.json beside
// the file, which must agree with them; GELU is the tanh form. Such a file has no tokenizer.
//
// lm_head.weight is written too (a copy of transformer.wte.weight, as nanoGPT's state_dict has
// both); on load it may be absent, and if present must equal wte (wiggle's GPT ties them).
// A file written by PyTorch loads if it has these names and metadata: the config keys and
// "vocab" (nanoGPT's mask buffers "*.attn.bias" of rank 4 are ignored).
// The training state that --resume also needs lives beside it (train_state.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "data/text.h"
#include "nn/gpt_weights.h"
#include "text/tokenizer.h"
#include "train/safetensors.h"

namespace wiggle {

// Writes the weights, their config and their tokenizer to `path` atomically.
void save_checkpoint(const std::string& path, const GptWeights& weights,
                     const Tokenizer& tokenizer);

struct LoadedModel {
    GptWeights weights;
    std::optional<Tokenizer> tokenizer;  // none in a Hugging Face GPT-2 file
};

// Reads a checkpoint, checking everything (format, metadata, names, shapes, dtypes, finite
// values, vocabulary); exits with one line naming the file and the problem otherwise.
// `path` may also be a folder: its best.safetensors, else its model.safetensors. with_grads:
// room for gradients (to train further), else none (to sample or evaluate).
LoadedModel load_checkpoint(const std::string& path, bool with_grads = false);
// The same from a parsed file (the fuzz target feeds it bytes). The tensors are checked against
// the configuration before the model is allocated.
LoadedModel read_checkpoint(const SafetensorsReader& file, bool with_grads = false);
// Whether the file is a GPT-2 checkpoint in Hugging Face's layout, and its reader (the same
// checks, against the configuration its shapes and config.json give).
bool is_hf_gpt2(const SafetensorsReader& file);
LoadedModel read_hf_gpt2(const SafetensorsReader& file, bool with_grads);

// The tokenizer to use with a loaded model: `flag` (a --tokenizer value: train/corpus.h's names;
// empty: none given) or the checkpoint's own, which must agree; GPT-2's (data/gpt2) for a
// checkpoint without one whose vocabulary is GPT-2's 50,257 tokens. Exits with one line when they
// disagree, when the tokenizer's vocabulary is not the model's, or when there is none. Takes the
// model's tokenizer out of it.
Tokenizer tokenizer_for(LoadedModel& model, const std::string& flag, const std::string& checkpoint);
// The tokenizer in a checkpoint's metadata (none for a Hugging Face GPT-2 file), without reading
// its weights: a resumed fine-tuning run reads it from the checkpoint it started from.
std::optional<Tokenizer> checkpoint_tokenizer(const std::string& path);
std::string resolve_checkpoint_path(const std::string& path);

// The vocabulary as one string of its characters in token order (the "vocab" metadata).
std::string vocab_to_string(const CharVocab& vocab);
// What makes two tokenizers the same: a character model's characters, a BPE's .model text.
std::string tokenizer_identity(const Tokenizer& tokenizer);

// fnv1a64 of the parameters (the training state records it to match its model file).
uint64_t params_hash(const GptWeights& weights);

}  // namespace wiggle
