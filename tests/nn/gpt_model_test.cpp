// The GPT's forward and backward against PyTorch, like llm.c's test_gpt2: a tiny nanoGPT
// (scripts/fixtures/gpt.py, with and without biases) gives the weights, one batch, the logits,
// the loss, every gradient, the losses of 10 AdamW steps with clipping and the weights after them;
// all must match to 1e-4 relative / 1e-5 absolute. Also: dropout's gradient equals a finite
// difference, ignored targets, backward accumulates, and the error paths (the weights' layout and
// init: gpt_weights_test.cpp; thread-count invariance: gpt_step_test.cpp; against the tape:
// gpt_tape_test.cpp).
#include "nn/gpt_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "fixture.h"
#include "tensor/optim.h"
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
    GptWeights w(fixture_config(f));
    // Every model tensor is in the fixture under the same name with PyTorch's shape.
    for (const auto& t : w.params().specs()) {
        ASSERT_TRUE(f.has(t.name)) << t.name;
        ASSERT_EQ(f.shape(t.name),
                  std::vector<int64_t>(t.shape.dims.begin(), t.shape.dims.begin() + t.shape.rank))
            << t.name;
        const std::vector<float> v = f.get<float>(t.name);
        std::copy(v.begin(), v.end(), w.values(t.name).begin());
    }
    const std::vector<int> x = f.get<int>("x"), y = f.get<int>("y");
    const std::vector<int64_t> shape = f.shape("x");
    const int B = static_cast<int>(shape[0]), T = static_cast<int>(shape[1]);

    GptActivations acts;
    w.params().zero_grad();
    const float loss = gpt_forward(acts, w, x.data(), y.data(), B, T);
    const std::span<const float> logits = acts.last_logits(w.config().vocab_size);
    expect_close("logits", {logits.begin(), logits.end()}, f.get<float>("logits"));
    expect_close("loss", {loss}, f.get<float>("loss"));
    gpt_backward(w.grads(), w, acts);
    for (const auto& t : w.params().specs()) {
        const std::span<float> g = w.params().grads().subspan(t.offset, t.numel);
        expect_close("grad." + t.name, {g.begin(), g.end()}, f.get<float>("grad." + t.name));
    }

    AdamW<float> opt(w.params(), {.beta1 = std::stof(f.meta("beta1")),
                                  .beta2 = std::stof(f.meta("beta2")),
                                  .eps = std::stof(f.meta("eps")),
                                  .weight_decay = std::stof(f.meta("weight_decay"))});
    const float grad_clip = std::stof(f.meta("grad_clip"));
    const float lr = std::stof(f.meta("lr"));
    const std::vector<float> want_losses = f.get<float>("losses");
    std::vector<float> losses;
    for (size_t i = 0; i < want_losses.size(); ++i) {  // nanoGPT's iteration
        w.params().zero_grad();
        losses.push_back(gpt_forward(acts, w, x.data(), y.data(), B, T));
        gpt_backward(w.grads(), w, acts);
        opt.step(lr, clip_grad_norm(w.params(), grad_clip).scale);
    }
    expect_close("losses of 10 AdamW steps", losses, want_losses);
    for (const auto& t : w.params().specs()) {
        const std::span<float> p = w.values(t.name);
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

TEST(Gpt, DropoutGradientMatchesFiniteDifference) {
    // With dropout on, the same dropout counter replays the same masks, so the loss is a
    // deterministic function of the weights whose directional derivative backward must give.
    GptWeights w(tiny(true, 0.2f), 11);
    GptActivations acts;
    const int B = 2, T = 8;
    const std::vector<int> x = random_tokens(B * T, 11, 1), y = random_tokens(B * T, 11, 2);
    const Dropout dropout = DropoutStream{0.2f, 11}.forward(100);
    w.params().zero_grad();
    const float loss = gpt_forward(acts, w, x.data(), y.data(), B, T, dropout);
    gpt_backward(w.grads(), w, acts);
    const std::vector<float> g(w.params().grads().begin(), w.params().grads().end());
    const std::span<float> values = w.params().values();
    const std::vector<float> w0(values.begin(), values.end());
    PyRandom rng(9);
    std::vector<float> dir(w0.size());
    double gd = 0.0;
    for (size_t i = 0; i < dir.size(); ++i) {
        dir[i] = static_cast<float>(rng.gauss());
        gd += double(g[i]) * dir[i];
    }
    auto loss_at = [&](double h) {  // the same masks: the same dropout
        for (size_t i = 0; i < w0.size(); ++i) values[i] = float(w0[i] + h * dir[i]);
        return double(gpt_forward(acts, w, x.data(), y.data(), B, T, dropout));
    };
    const double h = 1e-3;
    const double fd = (loss_at(h) - loss_at(-h)) / (2 * h);
    EXPECT_NEAR(fd, gd, 2e-2 * std::fabs(gd) + 1e-3) << "loss " << loss;
    // Dropout changes the training loss; without it the loss is another, and always the same.
    std::copy(w0.begin(), w0.end(), values.begin());
    const float eval1 = gpt_forward(acts, w, x.data(), y.data(), B, T);
    const float eval2 = gpt_forward(acts, w, x.data(), y.data(), B, T);
    EXPECT_EQ(eval1, eval2);
    EXPECT_NE(eval1, loss);
}

TEST(Gpt, DropoutStreamDrawsNewMasksEachForward) {
    EXPECT_EQ(DropoutStream({0.0f, 5}).forward(1).p, 0.0f);  // a run without dropout
    const DropoutStream on{0.1f, 5}, other_run{0.1f, 6};
    const Dropout a = on.forward(1), b = on.forward(2);
    EXPECT_EQ(a.p, 0.1f);
    EXPECT_NE(a.seed, b.seed);
    EXPECT_NE(a.seed, other_run.forward(1).seed);
    EXPECT_EQ(on.forward(1).seed, a.seed);  // the same run and forward, the same masks: resume
}

TEST(Gpt, BackwardAccumulates) {
    // Two backward passes without zeroing in between give twice the gradient of one (up to
    // rounding): the convention micro-batches rely on. dloss scales it.
    GptWeights w(tiny(true), 3);
    GptActivations acts;
    const std::vector<int> x = random_tokens(16, 11, 5), y = random_tokens(16, 11, 6);
    w.params().zero_grad();
    gpt_forward(acts, w, x.data(), y.data(), 2, 8);
    gpt_backward(w.grads(), w, acts);
    const std::vector<float> once(w.params().grads().begin(), w.params().grads().end());
    gpt_backward(w.grads(), w, acts, 0.5f);
    for (size_t i = 0; i < once.size(); ++i) {
        ASSERT_NEAR(w.params().grads()[i], 1.5f * once[i], 1e-6f + 1e-5f * std::fabs(once[i]))
            << "gradient " << i;
    }
}

TEST(Gpt, IgnoredTargetsDoNotCount) {
    GptWeights w(tiny(), 4);
    GptActivations acts;
    const int B = 1, T = 8;
    const std::vector<int> x = random_tokens(B * T, 11, 3);
    std::vector<int> y = random_tokens(B * T, 11, 4);
    gpt_forward(acts, w, x.data(), y.data(), B, T);
    const std::span<const float> logits = acts.last_logits(11);
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
    EXPECT_NEAR(gpt_forward(acts, w, x.data(), y.data(), B, T), want / 4, 1e-5);
}

// The loss and every gradient of one forward and backward, flattened.
std::vector<float> loss_and_grads(GptWeights& w, GptActivations& acts, const std::vector<int>& x,
                                  const std::vector<int>& y, int B, int T) {
    w.params().zero_grad();
    const float loss = gpt_forward(acts, w, x.data(), y.data(), B, T);
    gpt_backward(w.grads(), w, acts);
    std::vector<float> out{loss};
    out.insert(out.end(), w.params().grads().begin(), w.params().grads().end());
    return out;
}

// bf16 matmuls and attention products round each operand to 8 significant bits (a relative error
// up to 2^-9): the loss within 1e-2 relative and each tensor's gradient within 5% in norm of
// fp32's.
void expect_bf16_near_fp32(const GptConfig& config) {
    GptWeights w(config, 7);
    const int B = 3, T = 16;
    const std::vector<int> x = random_tokens(B * T, 23, 1), y = random_tokens(B * T, 23, 2);
    GptActivations acts;
    const std::vector<float> fp32 = loss_and_grads(w, acts, x, y, B, T);
    acts.precision = Precision::Bf16;  // the same activations, planned again
    const std::vector<float> bf16 = loss_and_grads(w, acts, x, y, B, T);
    EXPECT_NE(fp32, bf16);  // it does round
    EXPECT_NEAR(bf16[0], fp32[0], 1e-2 * fp32[0]);
    for (const auto& spec : w.params().specs()) {
        double diff = 0.0, norm = 0.0;
        for (size_t i = 1 + spec.offset; i < 1 + spec.offset + spec.numel; ++i) {
            diff += (double(bf16[i]) - fp32[i]) * (double(bf16[i]) - fp32[i]);
            norm += double(fp32[i]) * fp32[i];
        }
        EXPECT_LE(std::sqrt(diff), 0.05 * std::sqrt(norm) + 1e-7) << spec.name;
    }
    // and back to fp32: the same bits as before
    acts.precision = Precision::Fp32;
    EXPECT_EQ(loss_and_grads(w, acts, x, y, B, T), fp32);
}

TEST(Gpt, Bf16MixedPrecisionStaysNearFp32) {
    // with and without biases (whose gradients some bf16 kernels sum as they round)
    for (bool bias : {true, false}) {
        SCOPED_TRACE(bias ? "with biases" : "without biases");
        expect_bf16_near_fp32(GptConfig{.vocab_size = 23,
                                        .block_size = 16,
                                        .n_layer = 2,
                                        .n_head = 4,
                                        .n_embd = 64,
                                        .bias = bias});
    }
}

TEST(Gpt, Bf16KeepsLessActivationMemory) {
    // shakespeare-char's shapes: the matmuls' inputs in bf16, the GELU's output recomputed
    const GptConfig c{
        .vocab_size = 65, .block_size = 256, .n_layer = 6, .n_head = 6, .n_embd = 384};
    const double fp32 = GptActivations::bytes_for(c, 64, 256, Precision::Fp32),
                 bf16 = GptActivations::bytes_for(c, 64, 256, Precision::Bf16);
    EXPECT_LT(bf16, 0.8 * fp32) << bf16 / 1e6 << " MB vs " << fp32 / 1e6 << " MB";
}

TEST(GptDeathTest, RejectsBadConfigAndInput) {
    GptConfig bad = tiny();
    bad.n_embd = 10;
    bad.n_head = 4;
    EXPECT_EXIT(GptWeights{bad}, ::testing::ExitedWithCode(1),
                "n_embd 10 is not divisible by n_head 4");
    GptWeights w(tiny());
    GptActivations acts;
    const std::vector<int> x(2 * 9, 1);
    EXPECT_EXIT(gpt_forward(acts, w, x.data(), nullptr, 2, 9), ::testing::ExitedWithCode(1),
                "sequence length 9 exceeds block_size 8");
    const std::vector<int> bad_tokens(8, 11);
    EXPECT_EXIT(gpt_forward(acts, w, bad_tokens.data(), nullptr, 1, 8),
                ::testing::ExitedWithCode(1), "token 11 out of the vocabulary");
    EXPECT_EXIT(gpt_backward(w.grads(), w, acts), ::testing::ExitedWithCode(1),
                "backward without a forward that computed a loss");
    EXPECT_EXIT(w.values("lm_head.bias"), ::testing::ExitedWithCode(1),
                "no parameter named 'lm_head.bias'");
}

}  // namespace
}  // namespace wiggle
