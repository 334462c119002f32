// Losses on Values; see loss.h. Each is a few lines of primitive operations, so its gradient
// comes from the engine and the tests check it by finite differences.
#include "scalar/loss.h"

#include <algorithm>
#include <cassert>

namespace wiggle {

namespace {

// Sum of a run of Values, left to right (one Add node per term after the first).
Value sum_of(std::span<const Value> xs) {
    assert(!xs.empty());
    Value s = xs[0];
    for (size_t i = 1; i < xs.size(); ++i) s = s + xs[i];
    return s;
}

double row_max(std::span<const Value> row) {
    double m = row[0].data();
    for (const Value& v : row) m = std::max(m, v.data());
    return m;
}

// log(sum(exp(row))) = m + log(sum(exp(row - m))) with m = max(row): every exponent is <= 0.
Value logsumexp(std::span<const Value> row) {
    const double m = row_max(row);
    Value s = (row[0] - m).exp();
    for (size_t i = 1; i < row.size(); ++i) s = s + (row[i] - m).exp();
    return s.log() + m;
}

}  // namespace

Value mse_loss(std::span<const Value> pred, std::span<const double> target) {
    assert(pred.size() == target.size() && !pred.empty());
    Value total = (pred[0] - target[0]).pow(2.0);
    for (size_t i = 1; i < pred.size(); ++i) total = total + (pred[i] - target[i]).pow(2.0);
    return total * (1.0 / double(pred.size()));
}

Value svm_loss(std::span<const Value> scores, std::span<const int> labels_pm1) {
    assert(scores.size() == labels_pm1.size() && !scores.empty());
    // micrograd: losses = [(1 + -yi*scorei).relu() ...]; sum(losses) * (1.0 / len(losses))
    Value total = (1.0 + double(-labels_pm1[0]) * scores[0]).relu();
    for (size_t i = 1; i < scores.size(); ++i) {
        total = total + (1.0 + double(-labels_pm1[i]) * scores[i]).relu();
    }
    return total * (1.0 / double(scores.size()));
}

void softmax(std::span<const Value> logits, int num_classes, std::span<Value> out) {
    const size_t k = static_cast<size_t>(num_classes);
    assert(k > 0 && logits.size() % k == 0 && out.size() == logits.size());
    for (size_t r = 0; r < logits.size(); r += k) {
        std::span<const Value> row = logits.subspan(r, k);
        const double m = row_max(row);
        for (size_t i = 0; i < k; ++i) out[r + i] = (row[i] - m).exp();
        const Value inv = sum_of(out.subspan(r, k)).pow(-1.0);
        for (size_t i = 0; i < k; ++i) out[r + i] = out[r + i] * inv;
    }
}

std::vector<Value> softmax(std::span<const Value> logits, int num_classes) {
    std::vector<Value> out(logits.size(), Value::from_id(0));
    softmax(logits, num_classes, out);
    return out;
}

Value cross_entropy(std::span<const Value> logits, int num_classes, std::span<const int> targets) {
    const size_t k = static_cast<size_t>(num_classes);
    assert(k > 0 && logits.size() == targets.size() * k && !targets.empty());
    auto nll = [&](size_t b) {  // -log softmax(row b)[target b]
        assert(targets[b] >= 0 && targets[b] < num_classes);
        const std::span<const Value> row = logits.subspan(b * k, k);
        return logsumexp(row) - row[static_cast<size_t>(targets[b])];
    };
    Value total = nll(0);
    for (size_t b = 1; b < targets.size(); ++b) total = total + nll(b);
    return total * (1.0 / double(targets.size()));
}

Value mse_one_hot_loss(std::span<const Value> outputs, int num_classes,
                       std::span<const int> targets) {
    const size_t k = static_cast<size_t>(num_classes);
    assert(k > 0 && outputs.size() == targets.size() * k && !targets.empty());
    Value total = (outputs[0] - (targets[0] == 0 ? 1.0 : 0.0)).pow(2.0);
    for (size_t i = 1; i < outputs.size(); ++i) {
        const double want = targets[i / k] == static_cast<int>(i % k) ? 1.0 : 0.0;
        total = total + (outputs[i] - want).pow(2.0);
    }
    return total * (1.0 / double(outputs.size()));
}

Value l2_penalty(std::span<const Value> params) {
    assert(!params.empty());
    Value total = params[0] * params[0];
    for (size_t i = 1; i < params.size(); ++i) total = total + params[i] * params[i];
    return total;
}

double sign_accuracy(std::span<const Value> scores, std::span<const int> labels_pm1) {
    assert(scores.size() == labels_pm1.size() && !scores.empty());
    size_t right = 0;
    for (size_t i = 0; i < scores.size(); ++i)
        right += (labels_pm1[i] > 0) == (scores[i].data() > 0.0);
    return double(right) / double(scores.size());
}

int argmax(std::span<const Value> row) {
    assert(!row.empty());
    size_t best = 0;
    for (size_t i = 1; i < row.size(); ++i) {
        if (row[i].data() > row[best].data()) best = i;
    }
    return static_cast<int>(best);
}

double argmax_accuracy(std::span<const Value> logits, int num_classes,
                       std::span<const int> targets) {
    const size_t k = static_cast<size_t>(num_classes);
    assert(k > 0 && logits.size() == targets.size() * k && !targets.empty());
    size_t right = 0;
    for (size_t b = 0; b < targets.size(); ++b)
        right += argmax(logits.subspan(b * k, k)) == targets[b];
    return double(right) / double(targets.size());
}

}  // namespace wiggle
