// The GPT's loss estimator (estimate_loss.h).
#include "train/estimate_loss.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "data/text.h"
#include "util/check.h"

namespace wiggle {

double estimate_loss(GptActivations& acts, const GptWeights& weights, std::span<const int> tokens,
                     int B, int T, int batches, PyRandom* rng) {
    assert(batches == 0 || rng != nullptr);
    if (batches == 0 && tokens.size() >= 2) {  // no more windows at a time than there are, or fit
        const size_t windows = (tokens.size() - 1 + T - 1) / T;
        const size_t fit =
            kMaxEvalBytes / GptActivations::bytes_for(weights.config(), 1, T, acts.precision);
        B = static_cast<int>(
            std::clamp<size_t>(std::min<size_t>(B, windows), 1, std::max<size_t>(fit, 1)));
    }
    const size_t BT = static_cast<size_t>(B) * T;
    std::vector<int> x(BT), y(BT);
    double sum = 0.0, weight = 0.0;
    auto add = [&](size_t counted) {  // one forward over (x, y) with `counted` targets
        const double share = static_cast<double>(counted) / static_cast<double>(BT);
        sum += double(gpt_forward(acts, weights, x.data(), y.data(), B, T)) * share;
        weight += share;
    };
    if (batches > 0) {
        for (int i = 0; i < batches; ++i) {
            sample_blocks(tokens, B, T, *rng, x, y);
            add(BT);
        }
        return sum / weight;
    }
    WIGGLE_CHECK(tokens.size() >= 2, "use a longer text", "{} tokens make no prediction to score",
                 tokens.size());
    const size_t predictions = tokens.size() - 1;
    const size_t windows = (predictions + T - 1) / T;
    for (size_t w0 = 0; w0 < windows; w0 += B) {
        std::fill(x.begin(), x.end(), 0);
        std::fill(y.begin(), y.end(), -1);
        size_t counted = 0;
        for (size_t b = 0; b < size_t(B) && w0 + b < windows; ++b) {
            const size_t start = (w0 + b) * T, len = std::min<size_t>(T, predictions - start);
            for (size_t t = 0; t < len; ++t) {
                x[b * T + t] = tokens[start + t];
                y[b * T + t] = tokens[start + t + 1];
            }
            counted += len;
        }
        add(counted);
    }
    return sum / weight;
}

double decoder_loss(GptDecoder& decoder, std::span<const int> tokens) {
    WIGGLE_CHECK(tokens.size() >= 2, "use a longer text", "{} tokens make no prediction to score",
                 tokens.size());
    const size_t T = decoder.config().block_size, V = decoder.config().vocab_size;
    const size_t predictions = tokens.size() - 1;
    double sum = 0.0;
    for (size_t start = 0; start < predictions; start += T) {
        const size_t len = std::min(T, predictions - start);
        decoder.clear();
        const std::span<const float> logits = decoder.append_every_row(tokens.subspan(start, len));
        for (size_t t = 0; t < len; ++t) {  // −log softmax(row)[target], in double
            const float* row = logits.data() + t * V;
            const double mx = *std::max_element(row, row + V);
            double z = 0.0;
            for (size_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
            sum += mx + std::log(z) - double(row[tokens[start + t + 1]]);
        }
    }
    return sum / static_cast<double>(predictions);
}

}  // namespace wiggle
