// The character MLP of part 5: its batch gradient against central finite differences, its
// initialization against PyRandom's draws, its loss in doubles against the Value graph and a
// log-softmax written out, an SGD step against p - lr·grad, greedy sampling against the argmax
// chain, and the same seed giving the same names.
#include "scalar/char_mlp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "scalar/gradcheck.h"
#include "scalar/value.h"
#include "util/py_random.h"
#include "util/sampling.h"

namespace wiggle {
namespace {

// A tiny model on awkward sizes (nothing a power of two, context != embedding) and a few examples
// whose contexts repeat tokens and use the boundary token.
constexpr CharMlpDims kDims{.vocab = 5, .context = 2, .embedding = 3, .hidden = 7};
const std::vector<int> kX = {0, 0, 0, 3, 3, 1, 1, 4, 4, 4, 2, 0};  // 6 contexts of 2
const std::vector<int> kY = {3, 1, 4, 0, 2, 2};

// The parameters of kDims cut out of one flat vector, in CharMlp::parameters()'s order.
template <typename Num>
CharMlpParams<Num> unflatten(std::span<const Num> flat, const CharMlpDims& d) {
    CharMlpParams<Num> p;
    size_t at = 0;
    auto take = [&](std::vector<Num>& v, int n) {
        v.assign(flat.begin() + static_cast<std::ptrdiff_t>(at),
                 flat.begin() + static_cast<std::ptrdiff_t>(at + static_cast<size_t>(n)));
        at += static_cast<size_t>(n);
    };
    take(p.emb, d.vocab * d.embedding);
    take(p.w1, d.inputs() * d.hidden);
    take(p.b1, d.hidden);
    take(p.w2, d.hidden * d.vocab);
    take(p.b2, d.vocab);
    EXPECT_EQ(at, flat.size());
    return p;
}

TEST(CharMlp, BatchGradientMatchesFiniteDifferences) {
    PyRandom rng(3);
    CharMlp model(kDims, rng);
    // b2 starts at 0 and W2 small: nudge every parameter so no gradient is trivially tiny.
    PyRandom nudge(5);
    for (const Value& q : model.parameters()) q.data() += 0.3 * nudge.gauss(0.0, 1.0);
    const std::vector<int> batch = {4, 0, 2, 4, 5};  // with a repeat: its gradient counts twice

    for (const Value& q : model.parameters()) q.grad() = 0.0;
    const double loss = model.forward_backward(kX, kY, batch);

    std::vector<double> point;
    for (const Value& q : model.parameters()) point.push_back(q.data());
    auto mean_nll = [&](std::span<const Value> flat) {
        const CharMlpParams<Value> p = unflatten(flat, kDims);
        CharMlpBuffers<Value> b(kDims);
        Value total = 0.0;
        for (int i : batch) {
            char_mlp_forward(p, kDims, std::span(kX).subspan(2 * static_cast<size_t>(i), 2), b);
            total = total + char_mlp_nll<Value>(b.logits, kY[static_cast<size_t>(i)]);
        }
        return total * (1.0 / static_cast<double>(batch.size()));
    };
    const GradCheck r = grad_check(mean_nll, point);
    ASSERT_EQ(r.numerical.size(), model.parameters().size());
    double worst = 0.0;
    size_t worst_at = 0;
    for (size_t i = 0; i < point.size(); ++i) {
        const double e = grad_rel_error(model.parameters()[i].grad(), r.numerical[i]);
        if (e > worst) worst = e, worst_at = i;
    }
    EXPECT_LT(worst, 1e-6) << "parameter " << worst_at << ": backward "
                           << model.parameters()[worst_at].grad() << ", finite differences "
                           << r.numerical[worst_at];

    // The same loss in plain doubles, over the batch's examples.
    std::vector<int> bx, by;
    for (int i : batch) {
        bx.insert(bx.end(), kX.begin() + 2 * i, kX.begin() + 2 * i + 2);
        by.push_back(kY[static_cast<size_t>(i)]);
    }
    EXPECT_NEAR(loss, char_mlp_loss(model.snapshot(), kDims, bx, by), 1e-12);
}

TEST(CharMlp, InitializationDrawsGaussiansInOrderWithMakemoresScales) {
    PyRandom rng(2147483647), oracle(2147483647);
    const CharMlp model(kDims, rng);
    const CharMlpParams<double> p = model.snapshot();
    ASSERT_EQ(model.parameters().size(), 15u + 42u + 7u + 35u + 5u);
    const double w1_scale = (5.0 / 3.0) / std::sqrt(6.0);
    for (double e : p.emb) EXPECT_EQ(e, oracle.gauss(0.0, 1.0));
    for (double w : p.w1) EXPECT_EQ(w, w1_scale * oracle.gauss(0.0, 1.0));
    for (double b : p.b1) EXPECT_EQ(b, 0.01 * oracle.gauss(0.0, 1.0));
    for (double w : p.w2) EXPECT_EQ(w, 0.01 * oracle.gauss(0.0, 1.0));
    for (double b : p.b2) EXPECT_EQ(b, 0.0 * oracle.gauss(0.0, 1.0));
}

TEST(CharMlp, NllIsMinusLogSoftmaxAndStaysFiniteForHugeLogits) {
    const std::vector<double> logits = {0.5, -1.25, 2.0, 0.0};
    double sum = 0.0;
    for (double l : logits) sum += std::exp(l);
    for (int t = 0; t < 4; ++t)
        EXPECT_NEAR(char_mlp_nll<double>(logits, t), -std::log(std::exp(logits[t]) / sum), 1e-14);
    const std::vector<double> huge = {1000.0, 999.0, -1000.0};
    EXPECT_NEAR(char_mlp_nll<double>(huge, 1), 1.0 + std::log1p(std::exp(-1.0)), 1e-12);
    // The Value graph computes the same number.
    GraphScope graph;
    std::vector<Value> v(logits.begin(), logits.end());
    EXPECT_EQ(char_mlp_nll<Value>(v, 2).data(), char_mlp_nll<double>(logits, 2));
}

TEST(CharMlp, SgdStepMovesEachParameterByMinusLrTimesItsGradient) {
    PyRandom rng(11);
    CharMlp model(kDims, rng);
    const std::vector<int> batch = {1, 3};
    for (const Value& q : model.parameters()) q.grad() = 0.0;
    const double before_loss = model.forward_backward(kX, kY, batch);
    std::vector<double> expected;
    for (const Value& q : model.parameters()) expected.push_back(q.data() - 0.5 * q.grad());
    size_t nodes = 0;
    const double loss = model.sgd_step(kX, kY, batch, 0.5, &nodes);
    EXPECT_EQ(loss, before_loss);
    EXPECT_GT(nodes, 0u);
    for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_EQ(model.parameters()[i].data(), expected[i]) << "parameter " << i;
}

TEST(CharMlp, GreedySamplingFollowsTheArgmaxAndASeedRepeatsTheSample) {
    PyRandom rng(7);
    const CharMlp model(kDims, rng);
    const CharMlpParams<double> p = model.snapshot();
    SamplingOptions greedy;
    greedy.greedy = true;
    const std::vector<int> tokens = char_mlp_sample(p, kDims, greedy, 1, 12, -1);
    ASSERT_EQ(tokens.size(), 12u);
    std::vector<int> seq = {0, 0};  // the boundary-padded context, then each argmax fed back
    CharMlpBuffers<double> b(kDims);
    for (int t : tokens) {
        char_mlp_forward(p, kDims, std::span(seq).last(2), b);
        EXPECT_EQ(t, std::max_element(b.logits.begin(), b.logits.end()) - b.logits.begin());
        seq.push_back(t);
    }
    SamplingOptions options;
    const std::vector<int> a = char_mlp_sample(p, kDims, options, 42, 30, 0);
    EXPECT_EQ(a, char_mlp_sample(p, kDims, options, 42, 30, 0));
    EXPECT_EQ(std::count(a.begin(), a.end(), 0), 0) << "stops before the boundary token";
}

}  // namespace
}  // namespace wiggle
