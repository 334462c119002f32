// The one loss estimator of the GPT (the trainer's evaluations, ladder 09, `wiggle eval`): the
// mean cross-entropy of the model on a token sequence, with dropout off and no gradients.
//
//   PyRandom rng(seed + 1);
//   double val = estimate_loss(acts, weights, data.val, B, T, /*batches=*/200, &rng);  // nanoGPT
//   double all = estimate_loss(acts, weights, data.val, B, T, /*batches=*/0);          // exact
//
// batches > 0: that many (B,T) blocks at random positions drawn by rng (data/text.h's
// sample_blocks: nanoGPT's estimate_loss). batches = 0: every prediction of the sequence exactly
// once, in consecutive windows of T predictions, B windows per forward (the last ones padded with
// ignored targets). Each forward's mean loss weighs by the share of its positions that have a
// target, so the estimate is the mean over predictions. There, B is at most the number of windows
// and what kMaxEvalBytes of activations hold (the mean does not depend on B).
#pragma once

#include <span>

#include "nn/gpt_decoder.h"
#include "nn/gpt_model.h"
#include "util/py_random.h"

namespace wiggle {

inline constexpr size_t kMaxEvalBytes = size_t{1} << 30;

double estimate_loss(GptActivations& acts, const GptWeights& weights, std::span<const int> tokens,
                     int B, int T, int batches, PyRandom* rng = nullptr);

// The same exact estimate (every prediction once, windows of block_size) with the decoder's
// arithmetic: its packed, bf16 or int8 weights (`wiggle eval --dtype int8`). Clears the cache.
double decoder_loss(GptDecoder& decoder, std::span<const int> tokens);

}  // namespace wiggle
