// Sampling text from a GPT: nanoGPT's generate, with the shared TokenSampler (util/sampling.h:
// temperature, top-k, top-p, greedy, seeded), through the KV cache or by full recompute. Both
// paths draw the same random numbers in the same order, so with the same seed they produce the
// same tokens (tests/nn/gpt_test.cpp checks it).
#pragma once

#include <span>
#include <vector>

#include "nn/gpt.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace wiggle {

// Returns prompt (non-empty) followed by n sampled tokens. The model sees at most its last
// block_size tokens: a window that slides by model.cache_crop() tokens when full
// (Gpt::window_after; the default, block_size, is nanoGPT's exact crop). use_cache picks the KV
// cache (O(context) per token) or a full forward over the window per token; both see the same
// windows, so they give the same tokens. Dropout is off in both.
std::vector<int> generate(Gpt& model, std::span<const int> prompt, int n, TokenSampler& sampler,
                          PyRandom& rng, bool use_cache = true);

}  // namespace wiggle
