// The GPT training step (forward, backward, clipping, AdamW) on 1, 2 and 3 threads: the losses,
// the parameters, the AdamW moments and the (clipped) gradients after a few steps are the same
// bits. With and without dropout, biases and clipping, and in bf16 mixed precision.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "nn/gpt_model.h"
#include "tensor/optim.h"

namespace wiggle {
namespace {

std::vector<int> tokens(int n, int vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(0, vocab - 1);
    std::vector<int> t(static_cast<size_t>(n));
    for (int& x : t) x = dist(rng);
    return t;
}

struct Case {
    bool bias;
    float dropout;
    float grad_clip;
    Precision precision = Precision::Fp32;
};

// Losses, parameters, moments and gradients after 3 training steps on `threads` threads.
std::vector<float> train(int threads, Case c) {
    kernels::set_num_threads(threads);
    // T = 33 and n_embd 48 (head size 12): rows and heads that are not whole vectors
    GptWeights w(GptConfig{.vocab_size = 37,
                           .block_size = 40,
                           .n_layer = 2,
                           .n_head = 4,
                           .n_embd = 48,
                           .bias = c.bias,
                           .dropout = c.dropout},
                 11);
    GptActivations acts;
    acts.precision = c.precision;
    AdamW<float> opt(w.params());
    DropoutStream dropout{c.dropout, 11};
    const int B = 3, T = 33;
    std::vector<float> out;
    for (int step = 0; step < 3; ++step) {
        const std::vector<int> x = tokens(B * T, 37, 30 + step), y = tokens(B * T, 37, 40 + step);
        w.params().zero_grad();
        out.push_back(gpt_forward(acts, w, x.data(), y.data(), B, T, dropout.forward(step + 1)));
        gpt_backward(w.grads(), w, acts);
        opt.step(3e-3f, clip_grad_norm(w.params(), c.grad_clip).scale);
    }
    for (std::span<float> s : {w.params().values(), opt.m(), opt.v(), w.params().grads()}) {
        out.insert(out.end(), s.begin(), s.end());
    }
    return out;
}

TEST(GptStep, OneTwoAndThreeThreadsGiveTheSameBits) {
    const int saved = kernels::num_threads();
    for (Case c : {Case{true, 0.0f, 1.0f}, Case{true, 0.2f, 0.05f}, Case{false, 0.1f, 0.0f},
                   Case{true, 0.1f, 1.0f, Precision::Bf16}}) {
        SCOPED_TRACE(::testing::Message() << "bias=" << c.bias << " dropout=" << c.dropout
                                          << " grad_clip=" << c.grad_clip
                                          << " bf16=" << (c.precision == Precision::Bf16));
        const std::vector<float> one = train(1, c);
        for (int threads : {2, 3}) {
            const std::vector<float> many = train(threads, c);
            ASSERT_EQ(one.size(), many.size());
            size_t differ = 0, first = one.size();
            for (size_t i = 0; i < one.size(); ++i) {
                if (one[i] != many[i] && !(one[i] != one[i] && many[i] != many[i])) {
                    if (differ++ == 0) first = i;
                }
            }
            EXPECT_EQ(differ, 0u) << "with " << threads << " threads, of " << one.size()
                                  << " values; first at " << first;
        }
    }
    kernels::set_num_threads(saved);
}

}  // namespace
}  // namespace wiggle
