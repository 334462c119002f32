// The character MLP of part 5 (Bengio et al. 2003) on the scalar engine. See char_mlp.h.
// reference: makemore lecture part 2 (model), part 3 (initialization).
#include "scalar/char_mlp.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "util/check.h"

namespace wiggle {

namespace {

double value_of(double x) { return x; }
double value_of(Value v) { return v.data(); }

std::span<const int> context_at(std::span<const int> x, const CharMlpDims& d, size_t i) {
    return x.subspan(i * static_cast<size_t>(d.context), static_cast<size_t>(d.context));
}

}  // namespace

template <typename Num>
void char_mlp_forward(const CharMlpParams<Num>& p, const CharMlpDims& d,
                      std::span<const int> context, CharMlpBuffers<Num>& b) {
    using std::tanh;
    assert(context.size() == static_cast<size_t>(d.context));
    const size_t E = d.embedding, H = d.hidden, V = d.vocab;
    // 1. Look up and concatenate the embeddings: picking rows makes no nodes.
    for (size_t k = 0; k < context.size(); ++k) {
        for (size_t e = 0; e < E; ++e)
            b.x[k * E + e] = p.emb[static_cast<size_t>(context[k]) * E + e];
    }
    // 2. h = tanh(x·W1 + b1)
    for (size_t j = 0; j < H; ++j) b.h[j] = p.b1[j];
    for (size_t i = 0; i < b.x.size(); ++i) {
        for (size_t j = 0; j < H; ++j) b.h[j] = b.h[j] + b.x[i] * p.w1[i * H + j];
    }
    for (size_t j = 0; j < H; ++j) b.h[j] = tanh(b.h[j]);
    // 3. logits = h·W2 + b2
    for (size_t t = 0; t < V; ++t) b.logits[t] = p.b2[t];
    for (size_t j = 0; j < H; ++j) {
        for (size_t t = 0; t < V; ++t) b.logits[t] = b.logits[t] + b.h[j] * p.w2[j * V + t];
    }
}

// logsumexp(logits) - logits[target]; the shift by the largest logit is a constant (it changes
// neither the value nor the gradient) that keeps exp from overflowing.
template <typename Num>
Num char_mlp_nll(std::span<const Num> logits, int target) {
    using std::exp;
    using std::log;
    double top = value_of(logits[0]);
    for (const Num& l : logits) top = std::max(top, value_of(l));
    const Num shift = Num(-top);
    Num sum = exp(logits[0] + shift);
    for (size_t t = 1; t < logits.size(); ++t) sum = sum + exp(logits[t] + shift);
    return log(sum) - (logits[static_cast<size_t>(target)] + shift);
}

template void char_mlp_forward<double>(const CharMlpParams<double>&, const CharMlpDims&,
                                       std::span<const int>, CharMlpBuffers<double>&);
template void char_mlp_forward<Value>(const CharMlpParams<Value>&, const CharMlpDims&,
                                      std::span<const int>, CharMlpBuffers<Value>&);
template double char_mlp_nll<double>(std::span<const double>, int);
template Value char_mlp_nll<Value>(std::span<const Value>, int);

double char_mlp_loss(const CharMlpParams<double>& p, const CharMlpDims& d, std::span<const int> x,
                     std::span<const int> y) {
    assert(x.size() == y.size() * static_cast<size_t>(d.context));
    CharMlpBuffers<double> b(d);
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i) {
        char_mlp_forward(p, d, context_at(x, d, i), b);
        total += char_mlp_nll<double>(b.logits, y[i]);
    }
    return total / static_cast<double>(y.size());
}

std::vector<int> char_mlp_sample(const CharMlpParams<double>& p, const CharMlpDims& d,
                                 const SamplingOptions& options, uint64_t seed, int max_tokens,
                                 int stop_token) {
    CharMlpBuffers<double> b(d);
    TokenSampler sampler(options);
    PyRandom rng(seed);
    std::vector<int> window(static_cast<size_t>(d.context));
    auto next_row = [&](std::span<const int> tokens, int) {
        for (size_t k = 0; k < window.size(); ++k) {  // the last `context` tokens, '.'-padded
            const size_t back = window.size() - k;
            window[k] = tokens.size() >= back ? tokens[tokens.size() - back] : 0;
        }
        char_mlp_forward(p, d, window, b);
        return std::span<const double>(b.logits);
    };
    const std::vector<int> prompt{0};
    return generate<double>(prompt, max_tokens, next_row, RowKind::Logits, sampler, rng,
                            stop_token);
}

CharMlp::CharMlp(const CharMlpDims& d, PyRandom& rng) : dims_(d), buffers_(d) {
    WIGGLE_CHECK(d.vocab >= 1 && d.context >= 1 && d.embedding >= 1 && d.hidden >= 1, "",
                 "a character MLP needs positive sizes, got vocabulary {}, context {}, "
                 "embedding {}, hidden {}",
                 d.vocab, d.context, d.embedding, d.hidden);
    auto fill = [&](std::vector<Value>& v, int n, double scale) {
        v.reserve(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) v.emplace_back(scale * rng.gauss(0.0, 1.0));
    };
    fill(params_.emb, d.vocab * d.embedding, 1.0);
    fill(params_.w1, d.inputs() * d.hidden, (5.0 / 3.0) / std::sqrt(double(d.inputs())));
    fill(params_.b1, d.hidden, 0.01);
    fill(params_.w2, d.hidden * d.vocab, 0.01);
    fill(params_.b2, d.vocab, 0.0);
    for (const auto* v : {&params_.emb, &params_.w1, &params_.b1, &params_.w2, &params_.b2})
        all_.insert(all_.end(), v->begin(), v->end());
}

double CharMlp::forward_backward(std::span<const int> x, std::span<const int> y,
                                 std::span<const int> batch, size_t* nodes) {
    double total = 0.0;
    size_t built = 0;
    for (int i : batch) {
        GraphScope graph;
        const size_t before = g_tape.size();
        char_mlp_forward(params_, dims_, context_at(x, dims_, static_cast<size_t>(i)), buffers_);
        const Value loss = char_mlp_nll<Value>(buffers_.logits, y[static_cast<size_t>(i)]) *
                           (1.0 / static_cast<double>(batch.size()));
        built += g_tape.size() - before;
        loss.backward();
        total += loss.data();
    }
    if (nodes != nullptr) *nodes = built;
    return total;
}

double CharMlp::sgd_step(std::span<const int> x, std::span<const int> y, std::span<const int> batch,
                         double lr, size_t* nodes) {
    for (const Value& q : all_) q.grad() = 0.0;
    const double loss = forward_backward(x, y, batch, nodes);
    for (const Value& q : all_) q.data() -= lr * q.grad();
    return loss;
}

CharMlpParams<double> CharMlp::snapshot() const {
    auto values = [](const std::vector<Value>& v) {
        std::vector<double> out(v.size());
        for (size_t i = 0; i < v.size(); ++i) out[i] = v[i].data();
        return out;
    };
    return CharMlpParams<double>{values(params_.emb), values(params_.w1), values(params_.b1),
                                 values(params_.w2), values(params_.b2)};
}

}  // namespace wiggle
