// The GPT as the next_row of generate() (util/sampling.h), the one sampling loop of every model:
//
//   GptDecoder decoder(weights, ContextWindow{block_size, block_size / 2});
//   std::vector<int> text = generate<float>(prompt, 500, cached_next_row(decoder),
//                                           RowKind::Logits, sampler, rng);
//
// Two ways to get the logits after the tokens so far: through the decoder's KV cache, or by a full
// forward over the same window for every token (nanoGPT's generate; with keep = block_size its
// exact crop). Both see the same windows, so with the same sampler and seed they draw the same
// tokens (tests/nn/gpt_decoder_test.cpp). Dropout is off in both.
#pragma once

#include "nn/gpt_decoder.h"
#include "nn/gpt_model.h"
#include "util/sampling.h"

namespace wiggle {

// Appends the new tokens to the decoder's cache (emptied at the first call).
NextRow<float> cached_next_row(GptDecoder& decoder);
// The same for generate_batch: the decoder's batch() sequences decoded together.
NextRows<float> cached_next_rows(GptDecoder& decoder);
// A full forward over the window, in acts, for every token.
NextRow<float> recomputed_next_row(GptActivations& acts, const GptWeights& weights,
                                   ContextWindow window);

}  // namespace wiggle
