// The tensor engine's composite graphs against PyTorch (scripts/fixtures/tensor_ops.py, float64):
// makemore's MLP, multi-head causal attention with layer norm and GELU, a mix of broadcasting,
// reductions and the softmax family, and the optimizers with clipping. Each runs on the double
// engine (naive kernels: to 1e-9) and the float engine (fast kernels: to float precision).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fixture.h"
#include "tensor/ops.h"
#include "tensor/optim.h"
#include "tensor/params.h"

namespace wiggle {
namespace {

using testing::all_close;
using testing::Fixture;

Shape shape_of(const std::vector<int64_t>& s) {
    Shape out;
    for (int64_t d : s) out[out.rank++] = static_cast<int>(d);
    return out;
}

template <typename T>
struct Tol;
template <>
struct Tol<double> {
    static constexpr double rtol = 1e-9, atol = 1e-11;
};
template <>
struct Tol<float> {
    static constexpr double rtol = 2e-4, atol = 2e-5;
};

template <typename T>
class TensorFixture : public ::testing::Test {
  public:
    Fixture f{"tensor_ops.safetensors"};
    Graph<T> g;
    Tensor<T> leaf(const std::string& name) {
        return g.leaf(shape_of(f.shape(name)), f.get<T>(name));
    }
    Tensor<T> input(const std::string& name) {
        return g.input(shape_of(f.shape(name)), f.get<T>(name));
    }
    ::testing::AssertionResult close(std::span<const T> got, const std::string& name) {
        return all_close(std::vector<T>(got.begin(), got.end()), f.get<double>(name), Tol<T>::rtol,
                         Tol<T>::atol);
    }
};
using Types = ::testing::Types<double, float>;
TYPED_TEST_SUITE(TensorFixture, Types);

TYPED_TEST(TensorFixture, MakemoreMlp) {
    using T = TypeParam;
    const std::vector<int> X = this->f.template get<int>("mlp.X");
    const std::vector<int> Y = this->f.template get<int>("mlp.Y");
    const int B = static_cast<int>(Y.size());
    Tensor<T> C = this->leaf("mlp.C"), W1 = this->leaf("mlp.W1"), b1 = this->leaf("mlp.b1"),
              W2 = this->leaf("mlp.W2"), b2 = this->leaf("mlp.b2");
    Tensor<T> emb = embedding(C, X, {B, 3});                     // (B,3,E)
    Tensor<T> h = tanh(matmul(reshape(emb, {B, -1}), W1) + b1);  // (B,H)
    Tensor<T> loss = cross_entropy(matmul(h, W2) + b2, Y);
    loss.backward();
    EXPECT_TRUE(this->close(loss.values(), "mlp.loss"));
    EXPECT_TRUE(this->close(C.grads(), "mlp.dC"));
    EXPECT_TRUE(this->close(W1.grads(), "mlp.dW1"));
    EXPECT_TRUE(this->close(b1.grads(), "mlp.db1"));
    EXPECT_TRUE(this->close(W2.grads(), "mlp.dW2"));
    EXPECT_TRUE(this->close(b2.grads(), "mlp.db2"));
}

TYPED_TEST(TensorFixture, MultiHeadCausalAttentionBlock) {
    using T = TypeParam;
    const int B = 2, Tn = 5, C = 8, NH = 2, hs = C / NH;
    Tensor<T> x = this->leaf("attn.x"), Wqkv = this->leaf("attn.Wqkv"), Wo = this->leaf("attn.Wo"),
              lnw = this->leaf("attn.ln_w"), lnb = this->leaf("attn.ln_b");
    Tensor<T> qkv = matmul(x, Wqkv);  // (B,T,3C)
    Tensor<T> parts[3];
    split(qkv, 2, C, std::span<Tensor<T>>(parts));
    Tensor<T> q = transpose(reshape(parts[0], {B, Tn, NH, hs}), 1, 2);        // (B,NH,T,hs)
    Tensor<T> k = permute(reshape(parts[1], {B, Tn, NH, hs}), {0, 2, 3, 1});  // (B,NH,hs,T)
    Tensor<T> v = transpose(reshape(parts[2], {B, Tn, NH, hs}), 1, 2);
    Tensor<T> att = softmax(causal_mask(matmul(q, k) * (1.0 / std::sqrt(double(hs)))));
    Tensor<T> y = reshape(transpose(matmul(att, v), 1, 2), {B, Tn, C});
    y = gelu(layernorm(matmul(y, Wo), lnw, lnb)) + x;
    Tensor<T> loss = sum(y * this->input("attn.w"));
    loss.backward();
    EXPECT_TRUE(this->close(y.values(), "attn.y"));
    EXPECT_TRUE(this->close(x.grads(), "attn.dx"));
    EXPECT_TRUE(this->close(Wqkv.grads(), "attn.dWqkv"));
    EXPECT_TRUE(this->close(Wo.grads(), "attn.dWo"));
    EXPECT_TRUE(this->close(lnw.grads(), "attn.dln_w"));
    EXPECT_TRUE(this->close(lnb.grads(), "attn.dln_b"));
}

TYPED_TEST(TensorFixture, BroadcastingReductionsAndSoftmaxes) {
    using T = TypeParam;
    auto& g = this->g;
    Tensor<T> a = this->leaf("misc.a"), b = this->leaf("misc.b"), c = this->leaf("misc.c");
    Tensor<T> z = (a - b) / (b * b) + c;                                          // (3,4,5)
    Tensor<T> m = max(z, 1, /*keepdim=*/true);                                    // (3,1,5)
    Tensor<T> s = mean(log_softmax(z - m), 0);                                    // (4,5)
    Tensor<T> r = sum(relu(z), 2) + mean(exp(-(z * z)), -1);                      // (3,4)
    Tensor<T> p = transpose(sum(softmax(transpose(z, 1, 2)), 0), 0, 1);           // (4,5)
    Tensor<T> cat = concat({s, p * 2.0, slice(transpose(r, 0, 1), 1, 1, 3)}, 1);  // (4,12)
    std::vector<T> cosines(48);
    for (int i = 0; i < 48; ++i) cosines[i] = static_cast<T>(std::cos(double(i)));
    Tensor<T> loss = sum(cat * g.input({4, 12}, cosines)) + sum(log(b * b));
    loss.backward();
    EXPECT_TRUE(this->close(cat.values(), "misc.out"));
    EXPECT_TRUE(this->close(loss.values(), "misc.loss"));
    EXPECT_TRUE(this->close(a.grads(), "misc.da"));
    EXPECT_TRUE(this->close(b.grads(), "misc.db"));
    EXPECT_TRUE(this->close(c.grads(), "misc.dc"));
}

// 5 steps of loss = 3·Σ(p1⊙t1)² + Σ(p2⊙t2)², clipped to norm 1, weight decay on p1 only.
template <typename T, typename Opt>
void run_optimizer(TensorFixture<T>& t, const std::string& name, Opt make) {
    Params<T> params;
    const int p1 = params.add("p1", {3, 4}, /*decay=*/true);
    const int p2 = params.add("p2", {5}, /*decay=*/false);
    const auto init1 = t.f.template get<T>(name + ".p1_init");
    const auto init2 = t.f.template get<T>(name + ".p2_init");
    std::copy(init1.begin(), init1.end(), params.data(p1));
    std::copy(init2.begin(), init2.end(), params.data(p2));
    auto opt = make(params);
    std::vector<T> norms;
    for (int step = 0; step < 5; ++step) {
        t.g.reset();
        Tensor<T> a = t.g.param(params, p1) * t.input("t1");
        Tensor<T> b = t.g.param(params, p2) * t.input("t2");
        Tensor<T> loss = sum(a * a) * 3.0 + sum(b * b);
        params.zero_grad();
        loss.backward();
        const GradClip clip = clip_grad_norm(params, 1.0f);
        norms.push_back(static_cast<T>(clip.norm));
        opt.step(0.05f, clip.scale);
    }
    // The optimizer hyperparameters are floats, as in the kernels: float precision either way.
    EXPECT_TRUE(all_close(norms, t.f.template get<double>(name + ".norms"), 1e-5, 1e-6));
    EXPECT_TRUE(all_close(std::vector<T>(params.values(p1).begin(), params.values(p1).end()),
                          t.f.template get<double>(name + ".p1"), 1e-5, 1e-6));
    EXPECT_TRUE(all_close(std::vector<T>(params.values(p2).begin(), params.values(p2).end()),
                          t.f.template get<double>(name + ".p2"), 1e-5, 1e-6));
}

TYPED_TEST(TensorFixture, AdamWWithDecayGroupsAndClipping) {
    run_optimizer<TypeParam>(*this, "adamw", [](Params<TypeParam>& p) {
        return AdamW<TypeParam>(
            p, {.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.1f});
    });
}

TYPED_TEST(TensorFixture, SgdWithMomentumDecayAndClipping) {
    run_optimizer<TypeParam>(*this, "sgd", [](Params<TypeParam>& p) {
        return Sgd<TypeParam>(p, {.momentum = 0.9f, .weight_decay = 0.1f});
    });
}

}  // namespace
}  // namespace wiggle
