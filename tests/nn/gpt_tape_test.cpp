// The GPT on the tape (nn/gpt_tape.h) is the GPT of the kernels (nn/gpt_model.h): on the same
// weights and batch, the same loss and every gradient, with and without biases, on awkward sizes,
// with ignored targets. And the tape GPT in double against central finite differences: the whole
// model's gradient, proven. Together they prove the hand-written backward.
#include "nn/gpt_tape.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fixture.h"
#include "nn/gpt_model.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

std::vector<int> random_tokens(int n, int V, uint64_t seed) {
    PyRandom rng(seed);
    std::vector<int> t(n);
    for (int& v : t) v = static_cast<int>(rng.randbelow(V));
    return t;
}

struct Case {
    GptConfig config;
    int B, T;
};

TEST(GptTape, LossAndEveryGradientEqualTheKernels) {
    const Case cases[] = {
        {{.vocab_size = 11, .block_size = 8, .n_layer = 2, .n_head = 2, .n_embd = 16, .bias = true},
         2,
         8},
        // odd sizes, no biases, a sequence shorter than the block
        {{.vocab_size = 13, .block_size = 11, .n_layer = 3, .n_head = 3, .n_embd = 21}, 3, 7},
        // GPT-2's GELU (the tanh form)
        {{.vocab_size = 11,
          .block_size = 8,
          .n_layer = 2,
          .n_head = 2,
          .n_embd = 16,
          .bias = true,
          .gelu = kernels::GeluForm::Tanh},
         2,
         8},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(::testing::Message()
                     << "n_embd " << c.config.n_embd << " bias " << c.config.bias);
        GptWeights w(c.config, 3);
        const int V = c.config.vocab_size;
        const std::vector<int> x = random_tokens(c.B * c.T, V, 1);
        std::vector<int> y = random_tokens(c.B * c.T, V, 2);
        y[3] = -1;  // ignored

        Graph<float> g;
        w.params().zero_grad();
        Tensor<float> tape_loss = gpt_tape_loss(g, w.params(), c.config, x, y, c.B, c.T);
        tape_loss.backward();
        const std::vector<float> tape(w.params().grads().begin(), w.params().grads().end());

        GptActivations acts;
        w.params().zero_grad();
        const float loss = gpt_forward(acts, w, x.data(), y.data(), c.B, c.T);
        gpt_backward(w.grads(), w, acts);
        EXPECT_NEAR(loss, tape_loss.item(), 1e-6);
        for (const auto& s : w.params().specs()) {
            const auto kernels = w.params().grads().subspan(s.offset, s.numel);
            const std::vector<float> want(tape.begin() + s.offset,
                                          tape.begin() + s.offset + s.numel);
            EXPECT_TRUE(testing::all_close(std::vector<float>(kernels.begin(), kernels.end()), want,
                                           1e-4, 1e-7))
                << s.name;
        }
    }
}

TEST(GptTape, TheWholeGptsGradientMatchesFiniteDifferencesInDouble) {
    for (const kernels::GeluForm gelu : {kernels::GeluForm::Erf, kernels::GeluForm::Tanh}) {
        SCOPED_TRACE(gelu == kernels::GeluForm::Erf ? "erf GELU" : "tanh GELU");
        const GptConfig cfg{.vocab_size = 7,
                            .block_size = 5,
                            .n_layer = 2,
                            .n_head = 2,
                            .n_embd = 6,
                            .bias = true,
                            .gelu = gelu};
        // The GPT's layout in double, with weights large enough that every nonlinearity bends.
        const GptWeights layout(cfg, 4);
        Params<double> params;
        for (const auto& s : layout.params().specs()) {
            const int id = params.add(s.name, s.shape, s.decay);
            for (size_t i = 0; i < s.numel; ++i) {
                params.values(id)[i] = 20.0 * layout.params().values()[s.offset + i];
            }
        }
        const int B = 2, T = 5;
        const std::vector<int> x = random_tokens(B * T, 7, 3), y = random_tokens(B * T, 7, 4);
        Graph<double> g;
        auto loss = [&] {
            g.reset();
            return gpt_tape_loss(g, params, cfg, x, y, B, T).item();
        };
        g.reset();
        params.zero_grad();
        gpt_tape_loss(g, params, cfg, x, y, B, T).backward();
        const std::vector<double> analytic(params.grads().begin(), params.grads().end());
        // every tensor, a few elements of each
        PyRandom rng(5);
        const double h = 1e-6;
        for (const auto& s : params.specs()) {
            for (int k = 0; k < 3; ++k) {
                const size_t i = s.offset + rng.randbelow(s.numel);
                double& v = params.values()[i];
                const double v0 = v;
                v = v0 + h;
                const double up = loss();
                v = v0 - h;
                const double down = loss();
                v = v0;
                const double numeric = (up - down) / (2 * h);
                EXPECT_NEAR(analytic[i], numeric, 1e-7 * std::max(1.0, std::fabs(numeric)))
                    << s.name << "[" << i - s.offset << "]";
            }
        }
    }
}

TEST(GptTapeDeathTest, RefusesDropout) {
    const GptConfig cfg{
        .vocab_size = 5, .block_size = 4, .n_layer = 1, .n_head = 1, .n_embd = 4, .dropout = 0.1f};
    GptWeights w(cfg);
    Graph<float> g;
    const std::vector<int> x(4, 1);
    EXPECT_EXIT(gpt_tape_loss(g, w.params(), cfg, x, x, 1, 4), ::testing::ExitedWithCode(1),
                "the GPT on the tape has no dropout");
}

}  // namespace
}  // namespace wiggle
