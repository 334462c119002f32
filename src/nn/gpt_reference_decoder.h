// Where one token is decoded, in reading order: the GPT's forward for a single token at one
// position, on one thread, in plain loops over a KV cache (llama2.c's forward(transformer, token,
// pos)). The first file to read for how a GPT turns a token into the next token's logits.
//
//   GptReferenceDecoder dec(weights);
//   for (int pos = 0; pos < n; ++pos) logits = dec.forward(tokens[pos], pos);
//
// It is the reference the fast decoder (gpt_decoder.h: packed weights, a thread team, many rows
// at once, a sliding window) is tested against, the way the naive gemm backs the fast one. It has
// no window: positions run from 0 to block_size − 1.
#pragma once

#include <span>
#include <vector>

#include "nn/gpt_weights.h"

namespace wiggle {

class GptReferenceDecoder {
  public:
    explicit GptReferenceDecoder(const GptWeights& weights);
    // The logits (V) after `token` at position `pos` (0 ≤ pos < block_size), attending to the
    // tokens forwarded before at positions 0..pos−1, whose keys and values are cached.
    std::span<const float> forward(int token, int pos);

  private:
    const GptWeights& w_;
    std::vector<float> x_, xb_, qkv_, att_, y_, hb_, hb2_, logits_;  // one token's activations
    std::vector<float> key_cache_, value_cache_;                     // (L, T, C) each
};

}  // namespace wiggle
