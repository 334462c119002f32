// nanoGPT's generate loop on the GPT: next-token logits from the KV cache or a full recompute
// over the same sliding window, then the shared TokenSampler draws the token.
#include "nn/sample.h"

#include "util/check.h"

namespace wiggle {

std::vector<int> generate(Gpt& model, std::span<const int> prompt, int n, TokenSampler& sampler,
                          PyRandom& rng, bool use_cache) {
    WIGGLE_CHECK(!prompt.empty(), "start from at least one token (e.g. a newline)",
                 "the prompt is empty");
    std::vector<int> out(prompt.begin(), prompt.end());
    out.reserve(prompt.size() + static_cast<size_t>(n > 0 ? n : 0));
    if (n <= 0) return out;
    // Both paths see the same window of the context: the last `window` tokens of out, which
    // slides by the model's policy (Gpt::window_after) when it would outgrow the block.
    int window = 0;
    auto logits_after = [&](std::span<const int> added) {
        const int m = static_cast<int>(added.size());
        if (use_cache) return model.cache_append(added.data(), m);
        window = model.window_after(window, m);
        return model.next_logits(out.data() + (out.size() - static_cast<size_t>(window)), window);
    };
    if (use_cache) model.cache_reset();
    std::span<const float> logits = logits_after(out);
    for (int i = 0; i < n; ++i) {
        const int token = sampler.from_logits(logits, rng);
        out.push_back(token);
        if (i + 1 < n) logits = logits_after(std::span<const int>(&out.back(), 1));
    }
    return out;
}

}  // namespace wiggle
