// Sampling text from a GPT: nanoGPT's generate (temperature, top-k) plus top-p, seeded, with or
// without the KV cache. Both paths draw the same random numbers in the same order, so with the
// same seed they produce the same tokens (tests/nn/gpt_test.cpp checks it).
#pragma once

#include <span>
#include <vector>

#include "nn/gpt.h"
#include "util/py_random.h"

namespace wiggle {

struct SampleOptions {
    float temperature = 1.0f;  // > 0; logits are divided by it
    int top_k = 0;             // keep the k most likely tokens; 0 keeps all
    float top_p = 1.0f;        // keep the smallest set whose probability reaches p; 1 keeps all
};

// Picks a token from logits (V) given a uniform draw u in [0,1): softmax(logits / temperature)
// restricted to top-k and top-p, then the inverse CDF at u (ties broken by the lower token id).
// temperature 0 means greedy (argmax).
int sample_logits(std::span<const float> logits, const SampleOptions& opts, double u);

// Appends n sampled tokens to prompt (non-empty) and returns prompt + samples. One rng.random()
// per token. use_cache picks the KV-cache path or the full recompute per token.
std::vector<int> generate(Gpt& model, std::span<const int> prompt, int n, const SampleOptions& opts,
                          PyRandom& rng, bool use_cache = true);

}  // namespace wiggle
