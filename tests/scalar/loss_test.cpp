// Losses and SGD on the scalar engine against PyTorch (tests/fixtures/scalar_losses.safetensors,
// written by scripts/fixtures/scalar_losses.py) and against finite differences in double.
#include "scalar/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "fixture.h"
#include "scalar/gradcheck.h"
#include "scalar/optim.h"
#include "scalar/value.h"

namespace wiggle {
namespace {

using testing::all_close;
using testing::Fixture;

std::vector<Value> leaves(const std::vector<double>& xs) {
    std::vector<Value> out;
    for (double x : xs) out.emplace_back(x);
    return out;
}
std::vector<double> data_of(std::span<const Value> vs) {
    std::vector<double> out;
    for (const Value& v : vs) out.push_back(v.data());
    return out;
}
std::vector<double> grads_of(std::span<const Value> vs) {
    std::vector<double> out;
    for (const Value& v : vs) out.push_back(v.grad());
    return out;
}

// ---- against PyTorch

TEST(LossTorch, SoftmaxAndCrossEntropyIncludingLogitsOfPlusMinus1000) {
    const Fixture f("scalar_losses.safetensors");
    const std::vector<double> x = f.get<double>("ce_logits");
    const std::vector<int> y = f.get<int>("ce_targets");
    ASSERT_EQ(x.size(), y.size() * 3);
    GraphScope graph;
    const std::vector<Value> logits = leaves(x);
    EXPECT_TRUE(all_close(data_of(softmax(logits, 3)), f.get<double>("softmax"), 1e-12, 1e-15));
    Value loss = cross_entropy(logits, 3, y);
    ASSERT_TRUE(std::isfinite(loss.data()));
    EXPECT_TRUE(all_close(std::vector<double>{loss.data()}, f.get<double>("ce_loss"), 1e-12, 0.0));
    loss.backward();
    EXPECT_TRUE(all_close(grads_of(logits), f.get<double>("ce_grad"), 1e-10, 1e-15));
}

TEST(LossTorch, MseOnOneHotTargetsOfTheSoftmax) {
    const Fixture f("scalar_losses.safetensors");
    const std::vector<int> y = f.get<int>("ce_targets");
    GraphScope graph;
    const std::vector<Value> logits = leaves(f.get<double>("ce_logits"));
    Value loss = mse_one_hot_loss(softmax(logits, 3), 3, y);
    EXPECT_TRUE(
        all_close(std::vector<double>{loss.data()}, f.get<double>("mse_onehot_loss"), 1e-12, 0.0));
    loss.backward();
    EXPECT_TRUE(all_close(grads_of(logits), f.get<double>("mse_onehot_grad"), 1e-10, 1e-15));
}

TEST(LossTorch, MseSvmAndL2) {
    const Fixture f("scalar_losses.safetensors");
    {
        GraphScope graph;
        const std::vector<Value> pred = leaves(f.get<double>("mse_pred"));
        Value loss = mse_loss(pred, f.get<double>("mse_target"));
        EXPECT_TRUE(
            all_close(std::vector<double>{loss.data()}, f.get<double>("mse_loss"), 1e-13, 0.0));
        loss.backward();
        EXPECT_TRUE(all_close(grads_of(pred), f.get<double>("mse_grad"), 1e-12, 1e-15));
    }
    {
        GraphScope graph;
        const std::vector<Value> scores = leaves(f.get<double>("svm_scores"));
        Value loss = svm_loss(scores, f.get<int>("svm_labels"));
        EXPECT_TRUE(
            all_close(std::vector<double>{loss.data()}, f.get<double>("svm_loss"), 1e-13, 0.0));
        loss.backward();
        EXPECT_TRUE(all_close(grads_of(scores), f.get<double>("svm_grad"), 1e-12, 1e-15));
    }
    {
        GraphScope graph;
        const std::vector<Value> params = leaves(f.get<double>("l2_params"));
        Value loss = l2_penalty(params);
        EXPECT_TRUE(
            all_close(std::vector<double>{loss.data()}, f.get<double>("l2_loss"), 1e-13, 0.0));
        loss.backward();
        EXPECT_TRUE(all_close(grads_of(params), f.get<double>("l2_grad"), 1e-13, 0.0));
    }
}

TEST(OptimTorch, SgdWithMomentumMatchesTorchOptimSgd) {
    const Fixture f("scalar_losses.safetensors");
    const std::vector<double> p0 = f.get<double>("sgd_p0"), grads = f.get<double>("sgd_grads");
    const std::vector<double> lrs = f.get<double>("sgd_lrs");
    GraphScope graph;
    const std::vector<Value> params = leaves(p0);
    SGD opt(params, 0.9);
    for (size_t k = 0; k < lrs.size(); ++k) {
        opt.zero_grad();
        for (size_t i = 0; i < params.size(); ++i) params[i].grad() = grads[k * params.size() + i];
        opt.step(lrs[k]);
    }
    EXPECT_TRUE(all_close(data_of(params), f.get<double>("sgd_final"), 1e-13, 1e-15));
}

// ---- stability

TEST(Loss, CrossEntropyOfHugeLogitsIsExactNotInfOrNan) {
    GraphScope graph;
    const std::vector<Value> logits = leaves({1000.0, -1000.0, 0.0, -1000.0, 1000.0, 1000.0});
    // Row 0: the target has the huge logit: loss 0. Row 1: the target is 2000 below the best and
    // 2000 + log(2) below log-sum-exp.
    EXPECT_EQ(cross_entropy(std::span(logits).first(3), 3, std::vector<int>{0}).data(), 0.0);
    EXPECT_DOUBLE_EQ(cross_entropy(std::span(logits).subspan(3), 3, std::vector<int>{0}).data(),
                     2000.0 + std::log(2.0));
    Value loss = cross_entropy(logits, 3, std::vector<int>{0, 1});
    loss.backward();
    for (const Value& v : logits) EXPECT_TRUE(std::isfinite(v.grad()));
    const std::vector<Value> p = softmax(logits, 3);
    for (const Value& v : p) EXPECT_TRUE(std::isfinite(v.data()));
    EXPECT_DOUBLE_EQ(p[4].data(), 0.5);
}

// ---- finite differences (double) for every loss

void expect_grad_ok(const GradCheck& r, const char* what) {
    EXPECT_LT(r.max_rel_error, 1e-6)
        << what << ": coordinate " << r.worst << " analytic " << r.analytic[r.worst]
        << " numerical " << r.numerical[r.worst];
}

const std::vector<double> kLogits = {0.3,  -1.2, 2.1, 0.7, 0.05, -0.4,
                                     -2.0, 1.5,  0.9, 3.0, -3.0, 0.0};
const std::vector<int> kTargets = {2, 0, 1, 0};

TEST(LossGrad, CrossEntropy) {
    auto f = [](std::span<const Value> x) { return cross_entropy(x, 3, kTargets); };
    expect_grad_ok(grad_check(f, kLogits), "cross_entropy");
}

TEST(LossGrad, CrossEntropyWithLargeLogits) {
    // Shifted by +-50: exp of the raw logits would be ~1e21 and lose the small terms.
    std::vector<double> x = kLogits;
    for (size_t i = 0; i < x.size(); ++i) x[i] += (i % 2 == 0 ? 50.0 : -50.0);
    auto f = [](std::span<const Value> v) { return cross_entropy(v, 3, kTargets); };
    expect_grad_ok(grad_check(f, x), "cross_entropy, large logits");
}

TEST(LossGrad, SoftmaxThroughAWeightedSum) {
    auto f = [](std::span<const Value> x) {
        const std::vector<Value> p = softmax(x, 3);
        Value s = p[0] * 0.0;
        for (size_t i = 0; i < p.size(); ++i) s = s + p[i] * double(i % 5 + 1);
        return s;
    };
    expect_grad_ok(grad_check(f, kLogits), "softmax");
}

TEST(LossGrad, MseOneHot) {
    auto f = [](std::span<const Value> x) { return mse_one_hot_loss(softmax(x, 3), 3, kTargets); };
    expect_grad_ok(grad_check(f, kLogits), "mse_one_hot_loss(softmax)");
}

TEST(LossGrad, Mse) {
    const std::vector<double> target = {0.5, -1.0, 2.0, 0.0, 1.0, -0.5};
    auto f = [&](std::span<const Value> x) { return mse_loss(x, target); };
    expect_grad_ok(grad_check(f, std::vector<double>{0.1, 0.2, -0.3, 1.5, -2.0, 0.7}), "mse_loss");
}

TEST(LossGrad, SvmAwayFromTheKink) {
    const std::vector<int> labels = {1, -1, 1, -1, 1};
    auto f = [&](std::span<const Value> x) { return svm_loss(x, labels); };
    // Margins y*s: 0.3, 1.7 (inactive), -0.8, 0.4, 2.2 (inactive): none at exactly 1.
    expect_grad_ok(grad_check(f, std::vector<double>{0.3, -1.7, -0.8, -0.4, 2.2}), "svm_loss");
}

TEST(LossGrad, L2WeightDecayOnTopOfALoss) {
    auto f = [](std::span<const Value> x) {
        return cross_entropy(x, 3, kTargets) + 1e-2 * l2_penalty(x);
    };
    expect_grad_ok(grad_check(f, kLogits), "cross_entropy + 1e-2 * l2_penalty");
}

// ---- accuracy (counted by hand)

TEST(Loss, Accuracies) {
    GraphScope graph;
    const std::vector<Value> scores = leaves({0.5, -0.2, 0.0, 3.0});
    // signs: +, -, "not > 0" (counts as -1), +  vs labels +1, +1, -1, -1: right, wrong, right,
    // wrong
    EXPECT_DOUBLE_EQ(sign_accuracy(scores, std::vector<int>{1, 1, -1, -1}), 0.5);
    const std::vector<Value> logits =
        leaves({0.1, 0.9, 0.3, /**/ 2.0, 2.0, 1.0, /**/ -1.0, -2.0, -0.5});
    EXPECT_EQ(argmax(std::span(logits).subspan(3, 3)), 0);  // first on ties
    // argmaxes 1, 0, 2 vs targets 1, 1, 2: two of three
    EXPECT_DOUBLE_EQ(argmax_accuracy(logits, 3, std::vector<int>{1, 1, 2}), 2.0 / 3.0);
}

TEST(OptimDeath, MomentumOutOfRangeIsAUserError) {
    GraphScope graph;
    const std::vector<Value> params = leaves({1.0});
    EXPECT_EXIT(SGD(params, 1.0), ::testing::ExitedWithCode(1), "momentum must be in \\[0, 1\\)");
}

}  // namespace
}  // namespace wiggle
