// The tensor engine as a whole: the scalar engine as an oracle (the same MLP through both gives
// the same loss and gradients), bit-identical training steps with 1 and 2 threads, no heap
// allocation in a steady-state step, the shapes ops produce, and the errors a user can make.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/cpu.h"
#include "scalar/value.h"
#include "tensor/ops.h"
#include "tensor/optim.h"
#include "tensor/params.h"
#include "tensor_testing.h"

// ---- counting heap allocations (for the steady-state test) -----------------------------------
// The replacements pair malloc with free correctly; GCC cannot see that once they are inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<bool> g_counting{false};
static std::atomic<long> g_allocations{0};

void* operator new(size_t n) {
    if (g_counting) ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace wiggle {
namespace {

// ----------------------------------------------------------------------------
// The scalar engine as an oracle

TEST(Engine, MlpMatchesTheScalarEngineInDouble) {
    // x (N,I) → tanh(x·W1 + b1) (N,H) → ·W2 + b2 (N,K) → cross-entropy against t.
    const int N = 4, I = 3, H = 5, K = 3;
    const std::vector<int> targets = {2, 0, 1, 1};
    const auto x = testing::uniform(N * I, 1), w1 = testing::uniform(I * H, 2),
               b1 = testing::uniform(H, 3), w2 = testing::uniform(H * K, 4),
               b2 = testing::uniform(K, 5);

    Graph<double> g;
    Tensor<double> X = g.input({N, I}, x), W1 = g.leaf({I, H}, w1), B1 = g.leaf({H}, b1),
                   W2 = g.leaf({H, K}, w2), B2 = g.leaf({K}, b2);
    Tensor<double> loss = cross_entropy(matmul(tanh(matmul(X, W1) + B1), W2) + B2, targets);
    loss.backward();

    GraphScope scope;
    auto values = [](const std::vector<double>& v) {
        std::vector<Value> out;
        for (double d : v) out.emplace_back(d);
        return out;
    };
    std::vector<Value> sw1 = values(w1), sb1 = values(b1), sw2 = values(w2), sb2 = values(b2);
    Value total = 0.0;
    for (int n = 0; n < N; ++n) {
        std::vector<Value> h;
        for (int j = 0; j < H; ++j) {
            Value s = sb1[j];
            for (int i = 0; i < I; ++i) s = s + x[n * I + i] * sw1[i * H + j];
            h.push_back(tanh(s));
        }
        Value sum = 0.0, target = 0.0;
        for (int k = 0; k < K; ++k) {
            Value s = sb2[k];
            for (int j = 0; j < H; ++j) s = s + h[j] * sw2[j * K + k];
            sum = sum + exp(s);
            if (k == targets[n]) target = s;
        }
        total = total + log(sum) - target;
    }
    Value scalar_loss = total / double(N);
    scalar_loss.backward();

    EXPECT_NEAR(loss.item(), scalar_loss.data(), 1e-6);
    auto expect_grads = [](const std::vector<Value>& s, Tensor<double> t, const char* name) {
        for (size_t i = 0; i < s.size(); ++i) {
            EXPECT_NEAR(t.grad()[i], s[i].grad(), 1e-6) << name << "[" << i << "]";
        }
    };
    expect_grads(sw1, W1, "W1");
    expect_grads(sb1, B1, "b1");
    expect_grads(sw2, W2, "W2");
    expect_grads(sb2, B2, "b2");
}

// ----------------------------------------------------------------------------
// A small training step, big enough that the kernels use their threads.

struct TinyModel {
    static constexpr int V = 65, C = 128, B = 8, T = 40;
    Params<float> params;
    int wte, w1, lnw, lnb, w2;
    std::vector<int> ids, targets;
    TinyModel() {
        wte = params.add("wte", {V, C});
        w1 = params.add("w1", {C, 4 * C});
        lnw = params.add("ln.w", {4 * C}, false);
        lnb = params.add("ln.b", {4 * C}, false);
        w2 = params.add("w2", {4 * C, V});
        const auto init = testing::uniform(static_cast<int64_t>(params.values().size()), 7);
        for (size_t i = 0; i < init.size(); ++i) params.values()[i] = 0.2f * float(init[i]);
        for (float& x : params.values(lnw)) x += 1.0f;
        for (int i = 0; i < B * T; ++i) {
            ids.push_back((i * 7 + 3) % V);
            targets.push_back((i * 11 + 5) % V);
        }
    }
    // embedding → matmul → layernorm → gelu → matmul → causal softmax mixing → cross-entropy
    float step(Graph<float>& g, AdamW<float>& opt) {
        g.reset();
        Tensor<float> x = embedding(g.param(params, wte), ids, {B, T});  // (B,T,C)
        Tensor<float> h = gelu(layernorm(matmul(x, g.param(params, w1)), g.param(params, lnw),
                                         g.param(params, lnb)));                        // (B,T,4C)
        Tensor<float> att = softmax(causal_mask(matmul(x, transpose(x, 1, 2)) * 0.1));  // (B,T,T)
        Tensor<float> logits = matmul(matmul(att, h), g.param(params, w2));             // (B,T,V)
        Tensor<float> loss = cross_entropy(reshape(logits, {B * T, V}), targets);
        params.zero_grad();
        loss.backward();
        opt.step(1e-3f, clip_grad_norm(params, 1.0f).scale);
        return loss.item();
    }
};

TEST(Engine, OneAndTwoThreadsGiveTheSameBits) {
    const int saved = kernels::num_threads();
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2}) {
        kernels::set_num_threads(threads);
        TinyModel m;
        AdamW<float> opt(m.params);
        Graph<float> g;
        std::vector<float> out;
        for (int s = 0; s < 2; ++s) out.push_back(m.step(g, opt));
        out.insert(out.end(), m.params.values().begin(), m.params.values().end());
        out.insert(out.end(), opt.m().begin(), opt.m().end());
        results.push_back(out);
    }
    kernels::set_num_threads(saved);
    ASSERT_EQ(results[0].size(), results[1].size());
    EXPECT_EQ(0, std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4))
        << "losses and parameters differ between 1 and 2 threads";
}

TEST(Engine, SteadyStateStepsAllocateNothing) {
    TinyModel m;
    AdamW<float> opt(m.params);
    Graph<float> g;
    m.step(g, opt);  // the first step sizes the node array and the arena
    m.step(g, opt);
    const size_t nodes = g.capacity(), arena = g.arena().capacity();
    g_allocations = 0;
    g_counting = true;
    for (int s = 0; s < 3; ++s) m.step(g, opt);
    g_counting = false;
    EXPECT_EQ(g_allocations, 0) << "heap allocations during steady-state steps";
    EXPECT_EQ(g.capacity(), nodes);
    EXPECT_EQ(g.arena().capacity(), arena);
    EXPECT_EQ(g.arena().blocks(), 1);
}

// ----------------------------------------------------------------------------
// Shapes and values of the ops

TEST(Engine, ShapesFollowPyTorch) {
    Graph<float> g;
    Tensor<float> a = g.empty({2, 3, 4}), b = g.empty({4}), c = g.empty({3, 1});
    EXPECT_EQ((a + b).shape(), (Shape{2, 3, 4}));
    EXPECT_EQ((a * c).shape(), (Shape{2, 3, 4}));
    EXPECT_EQ(sum(a, 1).shape(), (Shape{2, 4}));
    EXPECT_EQ(mean(a, -1, true).shape(), (Shape{2, 3, 1}));
    EXPECT_EQ(sum(a).shape(), Shape{});
    EXPECT_EQ(matmul(a, g.empty({4, 5})).shape(), (Shape{2, 3, 5}));
    EXPECT_EQ(matmul(a, g.empty({2, 4, 6})).shape(), (Shape{2, 3, 6}));
    EXPECT_EQ(reshape(a, {-1, 4}).shape(), (Shape{6, 4}));
    EXPECT_EQ(permute(a, {2, 0, 1}).shape(), (Shape{4, 2, 3}));
    EXPECT_EQ(transpose(a, 0, -1).shape(), (Shape{4, 3, 2}));
    EXPECT_EQ(slice(a, 2, 1, 3).shape(), (Shape{2, 3, 2}));
    EXPECT_EQ(concat({a, a, slice(a, 1, 0, 1)}, 1).shape(), (Shape{2, 7, 4}));
    const std::vector<int> ids = {1, 2, 0, 1, 2, 0};
    EXPECT_EQ(embedding(g.empty({3, 8}), ids, {2, 3}).shape(), (Shape{2, 3, 8}));
    EXPECT_EQ(cross_entropy(g.empty({6, 5}), ids).shape(), Shape{});
}

TEST(Engine, ValuesOfTheShapeOps) {
    Graph<float> g;
    const std::vector<float> v = {0, 1, 2, 3, 4, 5};  // (2,3)
    Tensor<float> x = g.input({2, 3}, v);
    auto vals = [](Tensor<float> t) {
        return std::vector<float>(t.values().begin(), t.values().end());
    };
    EXPECT_EQ(vals(transpose(x, 0, 1)), (std::vector<float>{0, 3, 1, 4, 2, 5}));
    EXPECT_EQ(vals(slice(x, 1, 1, 3)), (std::vector<float>{1, 2, 4, 5}));
    EXPECT_EQ(vals(concat({x, x}, 0)), (std::vector<float>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(vals(concat({x, slice(x, 1, 0, 1)}, 1)),
              (std::vector<float>{0, 1, 2, 0, 3, 4, 5, 3}));
    EXPECT_EQ(vals(max(x, 0)), (std::vector<float>{3, 4, 5}));
    EXPECT_EQ(vals(sum(x, 1)), (std::vector<float>{3, 12}));
    EXPECT_EQ(reshape(x, {3, 2}).data(), x.data());  // a view: no copy
    Tensor<float> m = causal_mask(g.input({1, 2, 3}, v), -1.0);
    EXPECT_EQ(vals(m), (std::vector<float>{0, -1, -1, 3, 4, -1}));
    // Dropout is the kernel's seeded mask: the same seed gives the same zeros; p = 0 is identity.
    std::vector<float> ones(1000, 1.0f);
    Tensor<float> d1 = dropout(g.input({1000}, ones), 0.5f, 42);
    Tensor<float> d2 = dropout(g.input({1000}, ones), 0.5f, 42);
    EXPECT_EQ(vals(d1), vals(d2));
    int kept = 0;
    for (float f : d1.values()) kept += f != 0.0f;
    EXPECT_GT(kept, 400);
    EXPECT_LT(kept, 600);
    EXPECT_EQ(dropout(x, 0.0f, 1).id(), x.id());
}

TEST(Engine, GradientsOfParametersAccumulateIntoTheFlatBuffer) {
    Params<float> params;
    const int w = params.add("w", {3});
    params.values(w)[0] = 1, params.values(w)[1] = 2, params.values(w)[2] = 3;
    Graph<float> g;
    for (int i = 0; i < 2; ++i) {  // no zero_grad in between: the two backward passes add up
        g.reset();
        Tensor<float> p = g.param(params, w);
        sum(p * p).backward();
    }
    EXPECT_EQ(std::vector<float>(params.grads(w).begin(), params.grads(w).end()),
              (std::vector<float>{4, 8, 12}));
    EXPECT_EQ(params.find("w"), w);
    EXPECT_EQ(params.find("nope"), -1);
    EXPECT_EQ(params.numel(), 3u);
}

// ----------------------------------------------------------------------------
// User errors: one line, exit status 1.

TEST(EngineDeathTest, ShapeErrorsNameTheOpAndTheShapes) {
    Graph<float> g;
    Tensor<float> a = g.empty({2, 3}), b = g.empty({4});
    EXPECT_EXIT(add(a, b), ::testing::ExitedWithCode(1), "add: shapes \\(2, 3\\) and \\(4\\)");
    EXPECT_EXIT(matmul(a, a), ::testing::ExitedWithCode(1), "matmul: inner dimensions differ");
    EXPECT_EXIT(reshape(a, {5}), ::testing::ExitedWithCode(1), "reshape: \\(5\\) does not fit");
    EXPECT_EXIT(sum(a, 2), ::testing::ExitedWithCode(1), "axis 2 is out of range");
    EXPECT_EXIT(slice(a, 1, 2, 5), ::testing::ExitedWithCode(1), "slice: \\[2, 5\\)");
    const std::vector<int> bad = {0, 7};
    EXPECT_EXIT(embedding(g.empty({3, 4}), bad), ::testing::ExitedWithCode(1),
                "embedding: id 7 at 1 is outside \\[0, 3\\)");
    EXPECT_EXIT(cross_entropy(a, bad), ::testing::ExitedWithCode(1),
                "cross_entropy: target 7 of row 1");
    EXPECT_EXIT(g.empty({1, 2, 3, 4, 5}), ::testing::ExitedWithCode(1), "at most 4 dimensions");
    EXPECT_EXIT(a.backward(), ::testing::ExitedWithCode(1), "backward: the root must have one");
}

}  // namespace
}  // namespace wiggle
