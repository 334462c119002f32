// The GPT against PyTorch, like llm.c's test_gpt2: a tiny nanoGPT (scripts/fixtures/gpt.py, with
// and without biases) gives the weights, one batch, the logits, the loss, every gradient, the
// losses of 10 AdamW steps with clipping and the weights after them; all must match to 1e-4
// relative / 1e-5 absolute. Also: dropout's gradient equals a finite difference, nanoGPT's init,
// and the error paths (thread-count invariance: gpt_step_test.cpp; the KV cache:
// gpt_inference_test.cpp).
#include "nn/gpt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "fixture.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using testing::Fixture;

constexpr double kRtol = 1e-4, kAtol = 1e-5;

// Compares one tensor, prints "name  max diff  OK/MISMATCH" and records a failure on mismatch.
void expect_close(const std::string& name, const std::vector<float>& got,
                  const std::vector<float>& want) {
    const ::testing::AssertionResult r = testing::all_close(got, want, kRtol, kAtol);
    double max_diff = 0.0;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(double(got[i]) - double(want[i])));
    }
    std::printf("  %-40s max diff %.3g  %s\n", name.c_str(), max_diff, r ? "OK" : "MISMATCH");
    EXPECT_TRUE(r) << name;
}

GptConfig fixture_config(const Fixture& f) {
    GptConfig c;
    c.vocab_size = std::stoi(f.meta("vocab_size"));
    c.block_size = std::stoi(f.meta("block_size"));
    c.n_layer = std::stoi(f.meta("n_layer"));
    c.n_head = std::stoi(f.meta("n_head"));
    c.n_embd = std::stoi(f.meta("n_embd"));
    c.bias = f.meta("bias") == "1";
    return c;
}

void check_against_pytorch(const std::string& file) {
    std::printf("%s\n", file.c_str());
    Fixture f(file);
    ASSERT_TRUE(f.has("x")) << "fixture " << file << " missing (run scripts/make-fixtures)";
    Gpt model(fixture_config(f));
    // Every model tensor is in the fixture under the same name with PyTorch's shape.
    for (const ParamTensor& t : model.param_tensors()) {
        ASSERT_TRUE(f.has(t.name)) << t.name;
        ASSERT_EQ(f.shape(t.name), t.shape) << t.name;
        const std::vector<float> w = f.get<float>(t.name);
        std::copy(w.begin(), w.end(), model.param(t.name).begin());
    }
    const std::vector<int> x = f.get<int>("x"), y = f.get<int>("y");
    const std::vector<int64_t> shape = f.shape("x");
    const int B = static_cast<int>(shape[0]), T = static_cast<int>(shape[1]);

    model.zero_grad();
    const float loss = model.forward(x.data(), y.data(), B, T);
    const std::span<const float> logits = model.logits();
    expect_close("logits", {logits.begin(), logits.end()}, f.get<float>("logits"));
    expect_close("loss", {loss}, f.get<float>("loss"));
    model.backward();
    for (const ParamTensor& t : model.param_tensors()) {
        const std::span<float> g = model.grads().subspan(t.offset, t.numel);
        expect_close("grad." + t.name, {g.begin(), g.end()}, f.get<float>("grad." + t.name));
    }

    AdamWOptions opts;
    opts.beta1 = std::stof(f.meta("beta1"));
    opts.beta2 = std::stof(f.meta("beta2"));
    opts.eps = std::stof(f.meta("eps"));
    opts.weight_decay = std::stof(f.meta("weight_decay"));
    opts.grad_clip = std::stof(f.meta("grad_clip"));
    const float lr = std::stof(f.meta("lr"));
    const std::vector<float> want_losses = f.get<float>("losses");
    std::vector<float> losses;
    for (size_t i = 0; i < want_losses.size(); ++i) {
        losses.push_back(model.train_step(x.data(), y.data(), B, T, lr, opts));
    }
    expect_close("losses of 10 AdamW steps", losses, want_losses);
    for (const ParamTensor& t : model.param_tensors()) {
        const std::span<float> p = model.param(t.name);
        expect_close("final." + t.name, {p.begin(), p.end()}, f.get<float>("final." + t.name));
    }
}

TEST(Gpt, MatchesPyTorchWithBiases) { check_against_pytorch("gpt_bias.safetensors"); }
TEST(Gpt, MatchesPyTorchWithoutBiases) { check_against_pytorch("gpt_nobias.safetensors"); }

GptConfig tiny(bool bias = false, float dropout = 0.0f) {
    return GptConfig{.vocab_size = 11,
                     .block_size = 8,
                     .n_layer = 2,
                     .n_head = 2,
                     .n_embd = 16,
                     .bias = bias,
                     .dropout = dropout};
}

std::vector<int> random_tokens(int n, int V, uint64_t seed) {
    PyRandom rng(seed);
    std::vector<int> t(n);
    for (int& v : t) v = static_cast<int>(rng.randbelow(V));
    return t;
}

TEST(Gpt, NamedViewsFollowNanoGpt) {
    Gpt model(tiny(true));
    const auto& ts = model.param_tensors();
    ASSERT_EQ(ts.size(), 2u + 2u * 12u + 2u);
    EXPECT_EQ(ts[0].name, "transformer.wte.weight");
    EXPECT_EQ(ts[0].shape, (std::vector<int64_t>{11, 16}));
    EXPECT_EQ(ts[2].name, "transformer.h.0.ln_1.weight");
    EXPECT_EQ(model.param_tensor("transformer.h.1.attn.c_attn.weight").shape,
              (std::vector<int64_t>{48, 16}));
    EXPECT_EQ(model.param_tensor("transformer.h.1.mlp.c_proj.weight").shape,
              (std::vector<int64_t>{16, 64}));
    EXPECT_TRUE(model.param_tensor("transformer.h.0.mlp.c_fc.weight").decay);
    EXPECT_FALSE(model.param_tensor("transformer.h.0.mlp.c_fc.bias").decay);
    EXPECT_FALSE(model.param_tensor("transformer.ln_f.weight").decay);
    // The per-layer view points at the named tensors.
    EXPECT_EQ(model.layer(1).c_fc_weight, model.param("transformer.h.1.mlp.c_fc.weight").data());
    EXPECT_EQ(model.layer(1, true).ln_2_bias - model.grads().data(),
              static_cast<std::ptrdiff_t>(model.param_tensor("transformer.h.1.ln_2.bias").offset));
    EXPECT_EQ(model.embeddings().ln_f_bias, model.param("transformer.ln_f.bias").data());
    size_t total = 0;
    for (const ParamTensor& t : ts) total += t.numel;
    EXPECT_EQ(total, model.num_parameters());
    Gpt nobias(tiny(false));
    EXPECT_EQ(nobias.param_tensors().size(), 2u + 2u * 6u + 1u);
    EXPECT_EQ(nobias.layer(0).c_attn_bias, nullptr);
}

TEST(Gpt, InitializesLikeNanoGpt) {
    const GptConfig c{
        .vocab_size = 65, .block_size = 64, .n_layer = 4, .n_head = 4, .n_embd = 128, .bias = true};
    Gpt model(c, 7);
    auto stddev = [](std::span<const float> v) {
        double s = 0, s2 = 0;
        for (float x : v) s += x, s2 += double(x) * x;
        const double m = s / v.size();
        return std::sqrt(s2 / v.size() - m * m);
    };
    EXPECT_NEAR(stddev(model.param("transformer.h.0.attn.c_attn.weight")), 0.02, 0.001);
    EXPECT_NEAR(stddev(model.param("transformer.h.0.mlp.c_proj.weight")), 0.02 / std::sqrt(8.0),
                0.0005);
    EXPECT_NEAR(stddev(model.param("transformer.h.3.attn.c_proj.weight")), 0.02 / std::sqrt(8.0),
                0.0005);
    for (float v : model.param("transformer.h.2.ln_1.weight")) ASSERT_EQ(v, 1.0f);
    for (float v : model.param("transformer.h.2.mlp.c_fc.bias")) ASSERT_EQ(v, 0.0f);
    // The same seed gives the same weights; another seed others.
    Gpt same(c, 7), other(c, 8);
    EXPECT_TRUE(std::equal(model.params().begin(), model.params().end(), same.params().begin()));
    EXPECT_FALSE(std::equal(model.params().begin(), model.params().end(), other.params().begin()));
}

TEST(Gpt, DropoutGradientMatchesFiniteDifference) {
    // With dropout on, the same dropout counter replays the same masks, so the loss is a
    // deterministic function of the weights whose directional derivative backward must give.
    Gpt model(tiny(true, 0.2f), 11);
    const int B = 2, T = 8;
    const std::vector<int> x = random_tokens(B * T, 11, 1), y = random_tokens(B * T, 11, 2);
    model.zero_grad();
    model.set_dropout_counter(100);
    const float loss = model.forward(x.data(), y.data(), B, T);
    model.backward();
    const std::vector<float> g(model.grads().begin(), model.grads().end());
    const std::vector<float> w0(model.params().begin(), model.params().end());
    PyRandom rng(9);
    std::vector<float> dir(w0.size());
    double gd = 0.0;
    for (size_t i = 0; i < dir.size(); ++i) {
        dir[i] = static_cast<float>(rng.gauss());
        gd += double(g[i]) * dir[i];
    }
    auto loss_at = [&](double h) {
        for (size_t i = 0; i < w0.size(); ++i) model.params()[i] = float(w0[i] + h * dir[i]);
        model.set_dropout_counter(100);
        return double(model.forward(x.data(), y.data(), B, T));
    };
    const double h = 1e-3;
    const double fd = (loss_at(h) - loss_at(-h)) / (2 * h);
    EXPECT_NEAR(fd, gd, 2e-2 * std::fabs(gd) + 1e-3) << "loss " << loss;
    // Dropout changes the training loss; evaluation has none.
    for (size_t i = 0; i < w0.size(); ++i) model.params()[i] = w0[i];
    const float eval1 = model.evaluate(x.data(), y.data(), B, T);
    const float eval2 = model.evaluate(x.data(), y.data(), B, T);
    EXPECT_EQ(eval1, eval2);
    EXPECT_NE(eval1, loss);
}

TEST(Gpt, IgnoredTargetsDoNotCount) {
    Gpt model(tiny(), 4);
    const int B = 1, T = 8;
    const std::vector<int> x = random_tokens(B * T, 11, 3);
    std::vector<int> y = random_tokens(B * T, 11, 4);
    model.forward(x.data(), y.data(), B, T);
    const std::span<const float> logits = model.logits();
    // the mean of the per-position losses of positions 0..3 only
    double want = 0.0;
    for (int t = 0; t < 4; ++t) {
        const float* row = logits.data() + t * 11;
        double mx = row[0], sum = 0.0;
        for (int v = 0; v < 11; ++v) mx = std::max(mx, double(row[v]));
        for (int v = 0; v < 11; ++v) sum += std::exp(row[v] - mx);
        want += std::log(sum) + mx - row[y[t]];
    }
    for (int t = 4; t < T; ++t) y[t] = -1;
    EXPECT_NEAR(model.forward(x.data(), y.data(), B, T), want / 4, 1e-5);
}

TEST(GptDeathTest, RejectsBadConfigAndInput) {
    GptConfig bad = tiny();
    bad.n_embd = 10;
    bad.n_head = 4;
    EXPECT_EXIT(Gpt{bad}, ::testing::ExitedWithCode(1), "n_embd 10 is not divisible by n_head 4");
    Gpt model(tiny());
    const std::vector<int> x(2 * 9, 1);
    EXPECT_EXIT(model.forward(x.data(), nullptr, 2, 9), ::testing::ExitedWithCode(1),
                "sequence length 9 exceeds block_size 8");
    const std::vector<int> bad_tokens(8, 11);
    EXPECT_EXIT(model.forward(bad_tokens.data(), nullptr, 1, 8), ::testing::ExitedWithCode(1),
                "token 11 out of the vocabulary");
    EXPECT_EXIT(model.param("lm_head.bias"), ::testing::ExitedWithCode(1),
                "no parameter named 'lm_head.bias'");
}

}  // namespace
}  // namespace wiggle
