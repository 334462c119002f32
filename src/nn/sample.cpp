// Sampling: temperature, top-k (nanoGPT's generate), top-p, then the inverse CDF at one uniform
// draw. Not torch.multinomial's stream (no RNG matches it); the same seed gives the same text here.
#include "nn/sample.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/check.h"

namespace wiggle {

int sample_logits(std::span<const float> logits, const SampleOptions& opts, double u) {
    const int V = static_cast<int>(logits.size());
    WIGGLE_CHECK(V > 0, "", "no logits to sample from");
    WIGGLE_CHECK(opts.temperature >= 0.0f, "use a temperature like 0.8 (0 is greedy)",
                 "temperature must not be negative, got {}", opts.temperature);
    WIGGLE_CHECK(opts.top_p > 0.0f && opts.top_p <= 1.0f, "top-p is a probability like 0.9",
                 "top_p must be in (0, 1], got {}", opts.top_p);
    if (opts.temperature == 0.0f) {
        return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    // Scratch kept per thread: sampling allocates nothing per token in steady state.
    thread_local std::vector<double> probs;
    thread_local std::vector<int> order;
    probs.resize(V);
    // top-k: like nanoGPT, drop every logit below the k-th largest (ties with it stay).
    double cutoff = -INFINITY;
    order.resize(V);
    std::iota(order.begin(), order.end(), 0);
    // Most likely first; equal logits by lower id, so the order is fully determined.
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    if (opts.top_k > 0 && opts.top_k < V) cutoff = logits[order[opts.top_k - 1]];
    const double mx = logits[order[0]];
    double total = 0.0;
    for (int i = 0; i < V; ++i) {
        probs[i] = logits[i] < cutoff ? 0.0 : std::exp((logits[i] - mx) / opts.temperature);
        total += probs[i];
    }
    // top-p (nucleus): keep the most likely tokens until their mass reaches top_p.
    if (opts.top_p < 1.0f) {
        double mass = 0.0;
        int kept = 0;
        while (kept < V && mass < opts.top_p * total) mass += probs[order[kept++]];
        for (int i = kept; i < V; ++i) probs[order[i]] = 0.0;
        total = mass;
    }
    // Inverse CDF in token-id order.
    const double r = u * total;
    double cum = 0.0;
    int last = 0;
    for (int i = 0; i < V; ++i) {
        if (probs[i] <= 0.0) continue;
        cum += probs[i];
        last = i;
        if (r < cum) return i;
    }
    return last;  // rounding left r ≥ the final sum: the last kept token
}

std::vector<int> generate(Gpt& model, std::span<const int> prompt, int n, const SampleOptions& opts,
                          PyRandom& rng, bool use_cache) {
    WIGGLE_CHECK(!prompt.empty(), "start from at least one token (e.g. a newline)",
                 "the prompt is empty");
    std::vector<int> out(prompt.begin(), prompt.end());
    out.reserve(prompt.size() + static_cast<size_t>(std::max(n, 0)));
    if (n <= 0) return out;
    std::span<const float> logits;
    if (use_cache) {
        model.cache_reset();
        logits = model.cache_append(out.data(), static_cast<int>(out.size()));
    } else {
        logits = model.next_logits(out.data(), static_cast<int>(out.size()));
    }
    for (int i = 0; i < n; ++i) {
        const int token = sample_logits(logits, opts, rng.random());
        out.push_back(token);
        if (i + 1 == n) break;
        logits = use_cache ? model.cache_append(&token, 1)
                           : model.next_logits(out.data(), static_cast<int>(out.size()));
    }
    return out;
}

}  // namespace wiggle
