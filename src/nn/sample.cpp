// nanoGPT's generate loop on the GPT: next-token logits from the KV cache or a full recompute,
// then the shared TokenSampler draws the token.
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
    auto logits_after = [&](std::span<const int> added) {
        return use_cache ? model.cache_append(added.data(), static_cast<int>(added.size()))
                         : model.next_logits(out.data(), static_cast<int>(out.size()));
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
