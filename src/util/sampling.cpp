// The shared token sampler: see sampling.h.
// reference: CPython Lib/random.py (choices: accumulate, random() * total, bisect_right);
// nanoGPT model.py generate (temperature, top-k); Holtzman et al. 2019 (top-p, nucleus sampling).
#include "util/sampling.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

#include "util/check.h"

namespace wiggle {

namespace {

constexpr const char* kDivergedHint = "the model diverged; lower the learning rate or retrain";

}  // namespace

void check_sampling_options(const SamplingOptions& o) {
    if (o.greedy) return;
    WIGGLE_CHECK(o.temperature > 0.0 && std::isfinite(o.temperature),
                 "pass --temperature above 0 (use --greedy for the most likely token)",
                 "--temperature must be a positive number, got {}", o.temperature);
    WIGGLE_CHECK(o.top_k >= 0, "pass --top-k 0 to keep every token",
                 "--top-k must be 0 or more, got {}", o.top_k);
    WIGGLE_CHECK(o.top_p > 0.0 && o.top_p <= 1.0, "pass --top-p in (0, 1]; 1 keeps every token",
                 "--top-p must be in (0, 1], got {}", o.top_p);
}

TokenSampler::TokenSampler(const SamplingOptions& options) : options_(options) {
    check_sampling_options(options_);
}

int TokenSampler::from_logits(std::span<const double> logits, PyRandom& rng) {
    const int greedy = prepare(logits, true);
    return greedy >= 0 ? greedy : draw(rng.random());
}
int TokenSampler::from_logits(std::span<const float> logits, PyRandom& rng) {
    const int greedy = prepare(logits, true);
    return greedy >= 0 ? greedy : draw(rng.random());
}
int TokenSampler::from_probs(std::span<const double> probs, PyRandom& rng) {
    const int greedy = prepare(probs, false);
    return greedy >= 0 ? greedy : draw(rng.random());
}
int TokenSampler::from_probs(std::span<const float> probs, PyRandom& rng) {
    const int greedy = prepare(probs, false);
    return greedy >= 0 ? greedy : draw(rng.random());
}
int TokenSampler::from_logits(std::span<const float> logits, double u) {
    const int greedy = prepare(logits, true);
    return greedy >= 0 ? greedy : draw(u);
}
int TokenSampler::from_probs(std::span<const float> probs, double u) {
    const int greedy = prepare(probs, false);
    return greedy >= 0 ? greedy : draw(u);
}

template <typename T>
int TokenSampler::prepare(std::span<const T> row, bool logits) {
    const size_t n = row.size();
    WIGGLE_CHECK(n > 0, "", "cannot sample from an empty row");
    const char* what = logits ? "logit" : "probability";
    // Check the row first: one bad number makes every later number meaningless.
    size_t best = 0;
    for (size_t i = 0; i < n; ++i) {
        const double v = row[i];
        WIGGLE_CHECK(!std::isnan(v), kDivergedHint,
                     "cannot sample: the model's {} of token {} is NaN", what, i);
        WIGGLE_CHECK(std::isfinite(v) && (logits || v >= 0.0), kDivergedHint,
                     "cannot sample: the model's {} of token {} is {}", what, i, v);
        if (v > static_cast<double>(row[best])) best = i;
    }
    if (options_.greedy) return static_cast<int>(best);

    // Weights: exp((logit - max) / temperature), or probability^(1 / temperature).
    weights_.resize(n);
    const double t = options_.temperature;
    const double top = row[best];
    for (size_t i = 0; i < n; ++i) {
        const double v = row[i];
        weights_[i] = logits ? std::exp((v - top) / t) : (t == 1.0 ? v : std::pow(v, 1.0 / t));
    }
    WIGGLE_CHECK(logits || top > 0.0, kDivergedHint,
                 "cannot sample: every probability of the row is 0");

    const bool use_k = options_.top_k > 0 && static_cast<size_t>(options_.top_k) < n;
    const bool use_p = options_.top_p < 1.0;
    if (use_k || use_p) {
        // Heaviest first; stable, so equal weights keep the lower token id first.
        order_.resize(n);
        std::iota(order_.begin(), order_.end(), 0);
        std::stable_sort(order_.begin(), order_.end(),
                         [&](int a, int b) { return weights_[a] > weights_[b]; });
        size_t keep = use_k ? static_cast<size_t>(options_.top_k) : n;
        if (use_p) {
            double mass = 0.0;
            for (size_t i = 0; i < keep; ++i) mass += weights_[order_[i]];
            double cum = 0.0;
            size_t nucleus = 0;
            while (nucleus < keep) {  // the first tokens whose mass reaches p (at least one)
                cum += weights_[order_[nucleus++]];
                if (cum >= options_.top_p * mass) break;
            }
            keep = nucleus;
        }
        for (size_t i = keep; i < n; ++i) weights_[order_[i]] = 0.0;
    }
    // Underflow can zero a whole tempered row (temperature near 0): fall back to its argmax.
    if (std::all_of(weights_.begin(), weights_.end(), [](double w) { return w == 0.0; })) {
        return static_cast<int>(best);
    }
    return -1;
}

int TokenSampler::draw(double uniform) {
    // random.choices: cumulative weights, left to right, then bisect_right(cum, random() * total).
    double total = 0.0;
    for (double w : weights_) total += w;
    const double u = uniform * total;
    double cum = 0.0;
    int last_kept = 0;
    for (size_t i = 0; i < weights_.size(); ++i) {
        if (weights_[i] == 0.0) continue;  // an excluded token is never returned
        cum += weights_[i];
        last_kept = static_cast<int>(i);
        if (cum > u) return last_kept;
    }
    return last_kept;  // u rounded up to total
}

template <typename R>
std::vector<int> generate(std::span<const int> prompt, int max_new_tokens,
                          const NextRow<R>& next_row, RowKind kind, TokenSampler& sampler,
                          PyRandom& rng, int stop_token, const std::function<void(int)>& on_token) {
    std::vector<int> tokens(prompt.begin(), prompt.end());
    if (!on_token) tokens.reserve(prompt.size() + static_cast<size_t>(std::max(max_new_tokens, 0)));
    int added = static_cast<int>(prompt.size());
    for (int i = 0; i < max_new_tokens; ++i) {
        const std::span<const R> row = next_row(tokens, added);
        const int next =
            kind == RowKind::Logits ? sampler.from_logits(row, rng) : sampler.from_probs(row, rng);
        if (next == stop_token) break;
        tokens.push_back(next);
        added = 1;
        if (on_token) {
            on_token(next);
            // streaming: memory stays bounded however many tokens are drawn
            if (tokens.size() >= 2 * kStreamContext) {
                tokens.erase(tokens.begin(), tokens.end() - kStreamContext);
            }
        }
    }
    if (on_token) return {};
    return std::vector<int>(tokens.begin() + static_cast<std::ptrdiff_t>(prompt.size()),
                            tokens.end());
}

template <typename R>
void generate_batch(std::span<const int> prompt, int max_new_tokens, const NextRows<R>& next_rows,
                    RowKind kind, TokenSampler& sampler, std::span<PyRandom> rngs,
                    const std::function<void(int, int)>& on_token) {
    const int B = static_cast<int>(rngs.size());
    std::vector<int> tokens;  // (B, added): the prompt for each sequence, then each one's draw
    for (int b = 0; b < B; ++b) tokens.insert(tokens.end(), prompt.begin(), prompt.end());
    int added = static_cast<int>(prompt.size());
    for (int i = 0; i < max_new_tokens; ++i) {
        const std::span<const R> rows = next_rows(tokens, added);
        assert(rows.size() % B == 0);
        const size_t V = rows.size() / B;
        tokens.resize(B);
        for (int b = 0; b < B; ++b) {
            const std::span<const R> row = rows.subspan(b * V, V);
            tokens[b] = kind == RowKind::Logits ? sampler.from_logits(row, rngs[b])
                                                : sampler.from_probs(row, rngs[b]);
            on_token(b, tokens[b]);
        }
        added = 1;
    }
}

template void generate_batch(std::span<const int>, int, const NextRows<float>&, RowKind,
                             TokenSampler&, std::span<PyRandom>,
                             const std::function<void(int, int)>&);

template std::vector<int> generate(std::span<const int>, int, const NextRow<float>&, RowKind,
                                   TokenSampler&, PyRandom&, int, const std::function<void(int)>&);
template std::vector<int> generate(std::span<const int>, int, const NextRow<double>&, RowKind,
                                   TokenSampler&, PyRandom&, int, const std::function<void(int)>&);

}  // namespace wiggle
