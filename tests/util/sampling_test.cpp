// The shared token sampler. Oracles: CPython's random.choices with the same seed, the softmax
// written out by hand, and the definitions of top-k / top-p (which tokens may ever come out).
#include "util/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

namespace wiggle {
namespace {

std::vector<int> draws(TokenSampler& sampler, std::span<const double> probs, uint64_t seed, int n) {
    PyRandom rng(seed);
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(sampler.from_probs(probs, rng));
    return out;
}

TEST(TokenSampler, ProbabilityRowIsCPythonsRandomChoices) {
    TokenSampler sampler(SamplingOptions{});
    const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
    // random.seed(11); [random.choices(range(4), weights=p)[0] for _ in range(16)]
    EXPECT_EQ(draws(sampler, p, 11, 16),
              (std::vector<int>{2, 2, 3, 2, 2, 2, 1, 2, 3, 3, 0, 2, 0, 3, 3, 0}));
    const std::vector<double> q{0.05, 0.0, 0.5, 0.2, 0.25};
    EXPECT_EQ(draws(sampler, q, 12, 16),
              (std::vector<int>{2, 3, 3, 2, 0, 2, 2, 4, 3, 3, 3, 3, 2, 2, 2, 4}));
}

TEST(TokenSampler, SameSeedSameTokens) {
    SamplingOptions o;
    o.temperature = 0.7;
    o.top_k = 5;
    o.top_p = 0.9;
    TokenSampler a(o), b(o);
    std::vector<float> logits(50);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(0.7f * static_cast<float>(i));
    PyRandom ra(99), rb(99), rc(100);
    std::vector<int> xa, xb, xc;
    for (int i = 0; i < 200; ++i) {
        xa.push_back(a.from_logits(std::span<const float>(logits), ra));
        xb.push_back(b.from_logits(std::span<const float>(logits), rb));
        xc.push_back(b.from_logits(std::span<const float>(logits), rc));
    }
    EXPECT_EQ(xa, xb);
    EXPECT_NE(xa, xc);  // and the seed matters
}

TEST(TokenSampler, LogitsWithTemperatureAreTheSoftmaxOfLogitsOverT) {
    const std::vector<double> logits{1.0, -0.5, 2.0, 0.25, 0.0};
    for (double t : {0.5, 1.0, 2.0}) {
        SamplingOptions o;
        o.temperature = t;
        TokenSampler from_logits(o), from_probs(SamplingOptions{});
        std::vector<double> p(logits.size());
        double sum = 0.0;
        for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(logits[i] / t);
        for (double& x : p) x /= sum;
        PyRandom r1(5), r2(5);
        for (int i = 0; i < 100; ++i) {
            ASSERT_EQ(from_logits.from_logits(std::span<const double>(logits), r1),
                      from_probs.from_probs(std::span<const double>(p), r2))
                << "temperature " << t << ", draw " << i;
        }
    }
}

TEST(TokenSampler, FrequenciesFollowTheTemperedProbabilities) {
    // p^(1/T) renormalized: T = 0.5 squares the probabilities.
    const std::vector<double> p{0.2, 0.3, 0.5};
    SamplingOptions o;
    o.temperature = 0.5;
    TokenSampler sampler(o);
    std::vector<int> count(3, 0);
    for (int t : draws(sampler, p, 1, 20000)) ++count[static_cast<size_t>(t)];
    const double z = 0.04 + 0.09 + 0.25;
    EXPECT_NEAR(count[0] / 20000.0, 0.04 / z, 0.01);
    EXPECT_NEAR(count[1] / 20000.0, 0.09 / z, 0.01);
    EXPECT_NEAR(count[2] / 20000.0, 0.25 / z, 0.01);
}

TEST(TokenSampler, TopKNeverReturnsAnExcludedToken) {
    const std::vector<double> p{0.05, 0.3, 0.02, 0.25, 0.08, 0.2, 0.1};  // top 3: 1, 3, 5
    SamplingOptions o;
    o.top_k = 3;
    TokenSampler sampler(o);
    std::set<int> seen;
    for (int t : draws(sampler, p, 7, 3000)) seen.insert(t);
    EXPECT_EQ(seen, (std::set<int>{1, 3, 5}));
}

TEST(TokenSampler, TopKBreaksTiesTowardTheLowerId) {
    const std::vector<double> p{0.1, 0.3, 0.3, 0.3};
    SamplingOptions o;
    o.top_k = 2;
    TokenSampler sampler(o);
    std::set<int> seen;
    for (int t : draws(sampler, p, 3, 2000)) seen.insert(t);
    EXPECT_EQ(seen, (std::set<int>{1, 2}));
}

TEST(TokenSampler, TopPKeepsTheSmallestNucleus) {
    const std::vector<double> p{0.1, 0.5, 0.1, 0.3};  // heaviest first: 1 (0.5), 3 (0.8), 0, 2
    auto nucleus = [&](double top_p) {
        SamplingOptions o;
        o.top_p = top_p;
        TokenSampler sampler(o);
        std::set<int> seen;
        for (int t : draws(sampler, p, 21, 3000)) seen.insert(t);
        return seen;
    };
    EXPECT_EQ(nucleus(0.3), (std::set<int>{1}));  // one token already holds 0.5
    EXPECT_EQ(nucleus(0.75), (std::set<int>{1, 3}));
    EXPECT_EQ(nucleus(0.85), (std::set<int>{0, 1, 3}));  // tie 0.1/0.1: the lower id, 0
    EXPECT_EQ(nucleus(1.0), (std::set<int>{0, 1, 2, 3}));
}

TEST(TokenSampler, TopKThenTopPOnLogits) {
    // softmax of these: token 4 ~0.64, 2 ~0.24, 0 ~0.09, the rest tiny.
    const std::vector<float> logits{1.0f, -3.0f, 2.0f, -3.0f, 3.0f, -2.0f};
    SamplingOptions o;
    o.top_k = 3;     // {4, 2, 0}
    o.top_p = 0.85;  // of their mass 0.99: 4 holds 0.66, 4 and 2 hold 0.90 >= 0.85 -> {4, 2}
    TokenSampler sampler(o);
    PyRandom rng(4);
    std::set<int> seen;
    for (int i = 0; i < 3000; ++i)
        seen.insert(sampler.from_logits(std::span<const float>(logits), rng));
    EXPECT_EQ(seen, (std::set<int>{2, 4}));
}

TEST(TokenSampler, GreedyIsTheFirstArgmaxAndDrawsNothing) {
    SamplingOptions o;
    o.greedy = true;
    TokenSampler sampler(o);
    PyRandom rng(1);
    const PyRandom::State before = rng.state();
    const std::vector<double> logits{0.5, 2.0, -1.0, 2.0};
    EXPECT_EQ(sampler.from_logits(std::span<const double>(logits), rng), 1);
    const std::vector<float> probs{0.1f, 0.2f, 0.7f};
    EXPECT_EQ(sampler.from_probs(std::span<const float>(probs), rng), 2);
    EXPECT_EQ(rng.state().mt, before.mt);
    EXPECT_EQ(rng.state().index, before.index);
}

TEST(TokenSampler, BadSettingsAreClearErrors) {
    SamplingOptions o;
    o.temperature = 0.0;
    EXPECT_EXIT(TokenSampler{o}, ::testing::ExitedWithCode(1),
                "error: --temperature must be a positive number, got 0");
    o.temperature = -1.0;
    EXPECT_EXIT(TokenSampler{o}, ::testing::ExitedWithCode(1), "--temperature must be a positive");
    o = SamplingOptions{};
    o.top_p = 0.0;
    EXPECT_EXIT(TokenSampler{o}, ::testing::ExitedWithCode(1),
                "--top-p must be in \\(0, 1\\], got 0");
    o = SamplingOptions{};
    o.top_k = -2;
    EXPECT_EXIT(TokenSampler{o}, ::testing::ExitedWithCode(1), "--top-k must be 0 or more, got -2");
}

TEST(TokenSampler, BadRowsAreClearErrors) {
    TokenSampler sampler(SamplingOptions{});
    PyRandom rng(1);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> nan_probs{0.5, nan, 0.5};
    EXPECT_EXIT(sampler.from_probs(std::span<const double>(nan_probs), rng),
                ::testing::ExitedWithCode(1),
                "error: cannot sample: the model's probability of token 1 is NaN \\(hint: the "
                "model diverged");
    const std::vector<float> nan_logits{0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN()};
    EXPECT_EXIT(sampler.from_logits(std::span<const float>(nan_logits), rng),
                ::testing::ExitedWithCode(1), "the model's logit of token 2 is NaN");
    const std::vector<double> inf_logits{0.0, std::numeric_limits<double>::infinity()};
    EXPECT_EXIT(sampler.from_logits(std::span<const double>(inf_logits), rng),
                ::testing::ExitedWithCode(1), "the model's logit of token 1 is inf");
    const std::vector<double> negative{0.5, -0.1, 0.6};
    EXPECT_EXIT(sampler.from_probs(std::span<const double>(negative), rng),
                ::testing::ExitedWithCode(1), "the model's probability of token 1 is -0.1");
    const std::vector<double> zeros{0.0, 0.0};
    EXPECT_EXIT(sampler.from_probs(std::span<const double>(zeros), rng),
                ::testing::ExitedWithCode(1), "every probability of the row is 0");
}

TEST(Generate, FeedsThePromptAndStopsAtTheStopToken) {
    // A deterministic "model": after token t comes t + 1 (probability 1), and 5 is the stop token.
    std::vector<double> row;
    std::vector<int> added_seen;
    auto next_row = [&](std::span<const int> tokens, int added) {
        added_seen.push_back(added);
        row.assign(8, 0.0);
        row[static_cast<size_t>((tokens.back() + 1) % 8)] = 1.0;
        return std::span<const double>(row);
    };
    TokenSampler sampler(SamplingOptions{});
    PyRandom rng(0);
    const std::vector<int> prompt{0, 2};
    EXPECT_EQ(generate<double>(prompt, 10, next_row, RowKind::Probs, sampler, rng, 5),
              (std::vector<int>{3, 4}));
    // the first call sees the whole prompt as new, every later one the token drawn before it
    EXPECT_EQ(added_seen, (std::vector<int>{2, 1, 1}));
    EXPECT_EQ(generate<double>(prompt, 4, next_row, RowKind::Probs, sampler, rng),
              (std::vector<int>{3, 4, 5, 6}));
}

}  // namespace
}  // namespace wiggle

namespace wiggle {
namespace {

TEST(TokenSampler, GivenUniformIsTheInverseCdfInTokenOrder) {
    TokenSampler sampler(SamplingOptions{});
    const std::vector<float> p{0.0f, 0.25f, 0.0f, 0.5f, 0.25f};
    EXPECT_EQ(sampler.from_probs(std::span<const float>(p), 0.0), 1);
    EXPECT_EQ(sampler.from_probs(std::span<const float>(p), 0.24), 1);
    EXPECT_EQ(sampler.from_probs(std::span<const float>(p), 0.26), 3);
    EXPECT_EQ(sampler.from_probs(std::span<const float>(p), 0.76), 4);
    EXPECT_EQ(sampler.from_probs(std::span<const float>(p), 0.9999999), 4);
}

}  // namespace
}  // namespace wiggle
