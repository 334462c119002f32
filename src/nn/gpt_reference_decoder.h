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

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "nn/gpt_weights.h"

namespace wiggle {

class GptReferenceDecoder {
  public:
    // int8: the weight matrices quantized as the fast decoder's DecodeWeights::Int8 does
    // (kernels/decode.h; the embeddings the dequantized rows of wte), products through
    // kernels::linear_q8_forward_naive, and the cached keys and values rounded to bf16.
    explicit GptReferenceDecoder(const GptWeights& weights, bool int8 = false);
    // The logits (V) after `token` at position `pos` (0 ≤ pos < block_size), attending to the
    // tokens forwarded before at positions 0..pos−1, whose keys and values are cached.
    std::span<const float> forward(int token, int pos);

  private:
    struct Int8Matrix {
        std::vector<int8_t> q;     // (N,K)
        std::vector<float> scale;  // (N, K/G)
    };
    // out (N) = weight (N,K) · x (K) + bias, on the float weight or its int8 copy
    void linear(float* out, const float* x, const float* weight, const float* bias, int K, int N);

    const GptWeights& w_;
    int group_ = 0;                                      // int8's group size, 0 for float
    std::unordered_map<const float*, Int8Matrix> int8_;  // each weight matrix's int8 copy
    std::vector<float> x_, xb_, qkv_, att_, y_, hb_, hb2_, logits_;  // one token's activations
    std::vector<float> key_cache_, value_cache_;                     // (L, T, C) each
};

}  // namespace wiggle
