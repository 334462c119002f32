// Every differentiable op of the tensor engine against central finite differences, in double
// precision (Graph<double> runs the naive kernels): the proof that each local derivative in
// ops_*.cpp is the derivative of its forward rule, including broadcasting and the shape ops.
#include <gtest/gtest.h>

#include <array>

#include "tensor/ops.h"
#include "tensor_testing.h"

namespace wiggle {
namespace {

using testing::gradcheck;
using testing::LeafSpec;
using Leaves = std::span<Tensor<double>>;

TEST(GradCheck, AddSubMulDivSameShape) {
    const std::vector<LeafSpec> ab = {{{3, 4}}, {{3, 4}, 0.5, 2.0}};
    EXPECT_TRUE(gradcheck(ab, [](Leaves x) { return add(x[0], x[1]); }));
    EXPECT_TRUE(gradcheck(ab, [](Leaves x) { return sub(x[0], x[1]); }));
    EXPECT_TRUE(gradcheck(ab, [](Leaves x) { return mul(x[0], x[1]); }));
    EXPECT_TRUE(gradcheck(ab, [](Leaves x) { return div(x[0], x[1]); }));
}

TEST(GradCheck, BinaryOpsBroadcast) {
    // (B,T,C) with (C): a bias; (B,1,C) with (T,1): both sides broadcast; a scalar; rank 4.
    const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 5}, {5}},
                                                        {{2, 1, 5}, {3, 1}},
                                                        {{4}, {1}},
                                                        {{2, 3, 1, 4}, {3, 2, 1}},
                                                        {{7, 1}, {7, 3}}};
    for (const auto& [a, b] : cases) {
        SCOPED_TRACE(a.str() + " with " + b.str());
        const std::vector<LeafSpec> specs = {{a}, {b, 0.5, 2.0}};
        EXPECT_TRUE(gradcheck(specs, [](Leaves x) { return add(x[0], x[1]); }));
        EXPECT_TRUE(gradcheck(specs, [](Leaves x) { return sub(x[0], x[1]); }));
        EXPECT_TRUE(gradcheck(specs, [](Leaves x) { return mul(x[0], x[1]); }));
        EXPECT_TRUE(gradcheck(specs, [](Leaves x) { return div(x[0], x[1]); }));
        EXPECT_TRUE(gradcheck(specs, [](Leaves x) { return div(x[1], x[0] * x[0] + x[1]); }));
    }
}

TEST(GradCheck, UnaryMaps) {
    const std::vector<LeafSpec> x = {{{3, 7}, -2.0, 2.0}};
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return scale(t[0], -0.375); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return exp(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return tanh(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return relu(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return gelu(t[0]); }));
    EXPECT_TRUE(gradcheck({{{3, 7}, 0.2, 3.0}}, [](Leaves t) { return log(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return -t[0] / 4.0; }));
}

TEST(GradCheck, ReductionsOverEachAxis) {
    const std::vector<LeafSpec> x = {{{3, 4, 5}}};
    for (int axis : {0, 1, 2, -1}) {
        for (bool keepdim : {false, true}) {
            SCOPED_TRACE(::testing::Message() << "axis " << axis << " keepdim " << keepdim);
            EXPECT_TRUE(gradcheck(x, [&](Leaves t) { return sum(t[0], axis, keepdim); }));
            EXPECT_TRUE(gradcheck(x, [&](Leaves t) { return mean(t[0], axis, keepdim); }));
            EXPECT_TRUE(gradcheck(x, [&](Leaves t) { return max(t[0], axis, keepdim); }));
        }
    }
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return sum(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return mean(t[0]); }));
}

TEST(GradCheck, Matmul) {
    // 2-D; rows of a 3-D input times one weight; batched 3-D and 4-D; sizes 1 and primes.
    EXPECT_TRUE(gradcheck({{{3, 5}}, {{5, 7}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
    EXPECT_TRUE(gradcheck({{{1, 1}}, {{1, 3}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
    EXPECT_TRUE(gradcheck({{{2, 3, 5}}, {{5, 4}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
    EXPECT_TRUE(gradcheck({{{2, 3, 5}}, {{2, 5, 4}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
    EXPECT_TRUE(
        gradcheck({{{2, 2, 3, 5}}, {{2, 2, 5, 3}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
    // one (T,T) matrix applied to every batch: wei @ x
    EXPECT_TRUE(gradcheck({{{4, 4}}, {{3, 4, 2}}}, [](Leaves t) { return matmul(t[0], t[1]); }));
}

TEST(GradCheck, SoftmaxFamily) {
    const std::vector<LeafSpec> x = {{{2, 3, 6}, -3.0, 3.0}};
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return softmax(t[0]); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return log_softmax(t[0]); }));
    const std::array<int, 6> targets = {2, 0, 5, -1, 3, 3};  // one ignored
    EXPECT_TRUE(gradcheck(x, [&](Leaves t) { return cross_entropy(t[0], targets); }));
}

TEST(GradCheck, EmbeddingWithRepeatedIds) {
    const std::array<int, 6> ids = {3, 0, 3, 4, 1, 3};
    EXPECT_TRUE(gradcheck({{{5, 4}}}, [&](Leaves t) { return embedding(t[0], ids); }));
    EXPECT_TRUE(gradcheck({{{5, 4}}}, [&](Leaves t) { return embedding(t[0], ids, {2, 3}); }));
}

TEST(GradCheck, LayerNormWithAndWithoutBias) {
    const std::vector<LeafSpec> specs = {{{2, 3, 8}, -2.0, 2.0}, {{8}, 0.5, 1.5}, {{8}}};
    EXPECT_TRUE(gradcheck(specs, [](Leaves t) { return layernorm(t[0], t[1], t[2]); }));
    EXPECT_TRUE(gradcheck(specs, [](Leaves t) { return layernorm(t[0], t[1], Tensor<double>()); }));
}

TEST(GradCheck, ShapeOps) {
    const std::vector<LeafSpec> x = {{{2, 3, 4}}};
    // A reshape is free, but its gradient must still reach the input (through a shared buffer).
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return tanh(reshape(t[0], {4, -1})); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return permute(t[0], {2, 0, 1}); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return transpose(t[0], 0, 2); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return transpose(t[0], -1, -2); }));
    EXPECT_TRUE(gradcheck({{{2, 3, 4, 5}}}, [](Leaves t) { return permute(t[0], {0, 2, 3, 1}); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return slice(t[0], 1, 1, 3); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return slice(t[0], -1, 0, 1); }));
    // split into pieces, then used unevenly, then joined back in another order
    EXPECT_TRUE(gradcheck(x, [](Leaves t) {
        std::array<Tensor<double>, 3> pieces;
        split(t[0], 2, 2, std::span<Tensor<double>>(pieces));
        return concat({pieces[1] * 3.0, pieces[0], pieces[1]}, 2);
    }));
    EXPECT_TRUE(gradcheck({{{2, 3}}, {{4, 3}}, {{1, 3}}}, [](Leaves t) {
        return concat({t[0], t[1], t[2]}, 0);
    }));
}

TEST(GradCheck, MasksAndDropout) {
    const std::vector<LeafSpec> x = {{{2, 4, 4}}};
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return causal_mask(t[0], -5.0); }));
    // The attention pattern: a causal mask with −∞, then softmax (masked entries get exactly 0).
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return softmax(causal_mask(t[0])); }));
    const std::array<uint8_t, 4> mask = {0, 1, 1, 0};
    EXPECT_TRUE(gradcheck(x, [&](Leaves t) { return masked_fill(t[0], mask, 2.0); }));
    EXPECT_TRUE(gradcheck(x, [](Leaves t) { return dropout(t[0], 0.3f, 1234); }));
}

TEST(GradCheck, ReusedTensorsAccumulate) {
    // x feeds three ops, the bias two: their gradients are sums of several contributions.
    EXPECT_TRUE(gradcheck({{{3, 4}}, {{4}}}, [](Leaves t) {
        Tensor<double> h = tanh(t[0] + t[1]);
        return h * t[0] +
               exp(t[0]) / (h * h + t[1] * t[1] + 1.0 * t[0] * t[0] + t[1] * 0.0 + exp(h));
    }));
}

}  // namespace
}  // namespace wiggle

namespace wiggle {
namespace {

TEST(GradCheck, CatchesAWrongGradient) {
    // The checker itself: an output changed behind the tape's back must fail it.
    EXPECT_FALSE(testing::gradcheck({{{2, 3}}}, [](std::span<Tensor<double>> t) {
        Tensor<double> y = tanh(t[0]);
        y.data()[1] = 2.0 * y.data()[1];  // the tape still believes y = tanh(x)
        return y;
    }));
}

}  // namespace
}  // namespace wiggle
