// GPT inference through the KV cache against full forwards: the cached logits equal a forward over
// the same window at every step (before and after the window slides, for prompts longer than the
// block, one row and many rows at once); cached and uncached sampling give the same tokens for
// every window policy; the exact policy is nanoGPT's generate; thread-count invariance. On weights
// rounded to bf16: which tensors are rounded, and the sampling and thread-count tests again.
#include <gtest/gtest.h>

#include <vector>

#include "fixture.h"
#include "kernels/cpu.h"
#include "kernels/decode.h"
#include "kernels/kernel_testing.h"
#include "nn/gpt.h"
#include "nn/sample.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

// head size 8, fewer lanes than a vector
GptConfig tiny() {
    return GptConfig{
        .vocab_size = 11, .block_size = 8, .n_layer = 2, .n_head = 2, .n_embd = 16, .bias = true};
}
// odd sizes everywhere: block 11, head size 7, vocabulary 13
GptConfig odd() {
    return GptConfig{
        .vocab_size = 13, .block_size = 11, .n_layer = 3, .n_head = 3, .n_embd = 21, .bias = false};
}

std::vector<int> random_tokens(int n, int V, uint64_t seed) {
    PyRandom rng(seed);
    std::vector<int> t(n);
    for (int& v : t) v = static_cast<int>(rng.randbelow(V));
    return t;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

TEST(GptInference, WindowPolicy) {
    Gpt model(tiny());
    EXPECT_EQ(model.cache_crop(), 8);  // nanoGPT's exact crop by default
    EXPECT_EQ(model.window_after(0, 3), 3);
    EXPECT_EQ(model.window_after(5, 3), 8);
    EXPECT_EQ(model.window_after(8, 1), 8);
    EXPECT_EQ(model.window_after(0, 20), 8);
    model.set_cache_crop(3);
    EXPECT_EQ(model.cache_crop(), 3);
    EXPECT_EQ(model.window_after(7, 1), 8);
    EXPECT_EQ(model.window_after(8, 1), 3);
    EXPECT_EQ(model.window_after(2, 20), 3);
}

TEST(GptInference, CachedLogitsEqualAForwardOverTheWindow) {
    for (const GptConfig& cfg : {tiny(), odd()}) {
        const int block = cfg.block_size, V = cfg.vocab_size;
        for (int keep : {block, block / 2, 1, block - 1}) {
            for (int prompt : {1, 3, block + 5}) {
                SCOPED_TRACE(::testing::Message()
                             << "block=" << block << " keep=" << keep << " prompt=" << prompt);
                Gpt model(cfg, 5);
                model.set_cache_crop(keep);
                const std::vector<int> tokens = random_tokens(prompt + 3 * block, V, 7);
                // The window, by the rule written out: [start, n) while it fits the block, else
                // the last `keep` tokens.
                int start = 0;
                model.cache_reset();
                for (int n = prompt; n <= static_cast<int>(tokens.size()); ++n) {
                    const int added = n == prompt ? prompt : 1;
                    const std::vector<float> cached =
                        copy(model.cache_append(&tokens[n - added], added));
                    if (n - start > block) start = n - keep;
                    ASSERT_EQ(model.cache_length(), n - start) << "context length " << n;
                    const std::vector<float> full =
                        copy(model.next_logits(tokens.data() + start, n - start));
                    ASSERT_TRUE(testing::all_close(cached, full, 1e-5, 1e-5))
                        << "context length " << n;
                }
            }
        }
    }
}

TEST(GptInference, ManyRowsAtOnceEqualOneAtATime) {
    // Every row goes through the same kernels with the same arithmetic, however many come at
    // once (a recompute after a slide is many): the same bits.
    Gpt model(odd(), 9);
    const std::vector<int> tokens = random_tokens(11, 13, 3);
    for (int first : {1, 2, 4, 5, 9, 11}) {
        SCOPED_TRACE(::testing::Message() << "first " << first << " tokens at once");
        model.cache_reset();
        std::vector<float> together = copy(model.cache_append(tokens.data(), first));
        model.cache_reset();
        std::vector<float> single;
        for (int i = 0; i < first; ++i) single = copy(model.cache_append(&tokens[i], 1));
        EXPECT_EQ(together, single);
        // and the cache built either way continues the same
        if (first < 11) {
            const std::vector<float> next = copy(model.cache_append(&tokens[first], 1));
            model.cache_reset();
            model.cache_append(tokens.data(), first);
            EXPECT_EQ(copy(model.cache_append(&tokens[first], 1)), next);
        }
    }
}

TEST(GptInference, CachedAndUncachedSampleTheSameTokensInEveryMode) {
    for (const GptConfig& cfg : {tiny(), odd()}) {
        for (bool bf16 : {false, true}) {
            const int block = cfg.block_size;
            Gpt model(cfg, 3);
            if (bf16) model.round_weights_to_bf16();
            for (int keep : {block, block / 2, 1}) {
                model.set_cache_crop(keep);
                for (int prompt_len : {1, 3, block + 5}) {
                    const std::vector<int> prompt = random_tokens(prompt_len, cfg.vocab_size, 1);
                    for (bool greedy : {false, true}) {
                        SCOPED_TRACE(::testing::Message()
                                     << "block=" << block << " keep=" << keep << " prompt="
                                     << prompt_len << " greedy=" << greedy << " bf16=" << bf16);
                        SamplingOptions opts;
                        opts.top_k = 5;
                        opts.top_p = 0.95;
                        opts.greedy = greedy;
                        TokenSampler s1(opts), s2(opts);
                        PyRandom r1(42), r2(42);
                        const std::vector<int> cached = generate(model, prompt, 40, s1, r1, true);
                        const std::vector<int> full = generate(model, prompt, 40, s2, r2, false);
                        EXPECT_EQ(cached, full);
                        EXPECT_EQ(cached.size(), prompt.size() + 40);
                    }
                }
            }
        }
    }
}

TEST(GptInference, ExactModeIsNanoGptsGenerate) {
    // nanoGPT: idx_cond = idx[:, -block_size:]; logits = model(idx_cond); sample; append.
    Gpt model(odd(), 4);
    const std::vector<int> prompt = random_tokens(14, 13, 2);  // longer than the block (11)
    SamplingOptions opts;
    opts.temperature = 0.9;
    TokenSampler s0(opts), s1(opts), s2(opts);
    PyRandom r0(8), r1(8), r2(8);
    std::vector<int> want = prompt;
    for (int i = 0; i < 50; ++i) {
        want.push_back(
            s0.from_logits(model.next_logits(want.data(), static_cast<int>(want.size())), r0));
    }
    EXPECT_EQ(generate(model, prompt, 50, s1, r1, false), want);
    EXPECT_EQ(generate(model, prompt, 50, s2, r2, true), want);
}

TEST(GptInference, SameBitsForAnyThreadCount) {
    // A team of 1, 2 or 3 threads, each with its own heads and groups of hidden units (4 split
    // 1/1/2 at 3), decoding and recomputing after slides (keep 8 of 16), on float weights and on
    // bf16 ones.
    for (bool bf16 : {false, true}) {
        SCOPED_TRACE(bf16 ? "bf16 weights" : "float weights");
        Gpt model(GptConfig{.vocab_size = 13,
                            .block_size = 16,
                            .n_layer = 2,
                            .n_head = 4,
                            .n_embd = 160,
                            .bias = true},
                  6);
        if (bf16) model.round_weights_to_bf16();
        model.set_cache_crop(8);
        const std::vector<int> tokens = random_tokens(40, 13, 4);
        testing::expect_thread_invariant([&] {
            std::vector<float> all;
            model.cache_reset();
            model.cache_append(tokens.data(), 3);
            for (int i = 3; i < 40; ++i) {
                const std::vector<float> l = copy(model.cache_append(&tokens[i], 1));
                all.insert(all.end(), l.begin(), l.end());
            }
            return all;
        });
    }
}

// bf16 weights: the weight matrices (2-D tensors but wpe; wte is also the output layer) become
// their nearest bf16, everything else keeps its bits, and a many-row recompute still gives the
// bits of one row at a time.
TEST(GptInference, Bf16RoundsTheWeightMatricesOnly) {
    Gpt model(tiny(), 5);
    const std::vector<float> before(model.params().begin(), model.params().end());
    ASSERT_FALSE(model.bf16_weights());
    model.round_weights_to_bf16();
    EXPECT_TRUE(model.bf16_weights());
    const std::span<const float> after = model.params();
    for (const ParamTensor& t : model.param_tensors()) {
        const bool matrix = t.shape.size() == 2 && t.name != "transformer.wpe.weight";
        for (size_t i = t.offset; i < t.offset + t.numel; ++i) {
            const float want = matrix ? kernels::to_float(kernels::to_bf16(before[i])) : before[i];
            ASSERT_EQ(after[i], want) << t.name << " element " << i - t.offset;
        }
    }
    const std::vector<int> tokens = random_tokens(8, 11, 3);
    model.cache_reset();
    const std::vector<float> together = copy(model.cache_append(tokens.data(), 8));
    model.cache_reset();
    std::vector<float> single;
    for (int i = 0; i < 8; ++i) single = copy(model.cache_append(&tokens[i], 1));
    EXPECT_EQ(together, single);
}

}  // namespace
}  // namespace wiggle
