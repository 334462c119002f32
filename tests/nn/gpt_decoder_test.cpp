// Decoding: the fast decoder (KV cache, packed weights, thread team, sliding window) against the
// reference decoder (one token at a time, plain loops) and against full forwards: the cached
// logits equal a forward over the same window at every step (before and after the window slides,
// for prompts longer than the block, one row and many rows at once); a slide onto the shadow cache
// gives the recompute's bits; cached and uncached sampling give the same tokens for every window;
// the exact window is nanoGPT's generate; thread-count invariance; all of it on float weights and
// on weights rounded to bf16.
#include "nn/gpt_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "fixture.h"
#include "kernels/cpu.h"
#include "kernels/kernel_testing.h"
#include "nn/gpt_generate.h"
#include "nn/gpt_model.h"
#include "nn/gpt_reference_decoder.h"
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

constexpr DecodeWeights kDtypes[] = {DecodeWeights::Fp32, DecodeWeights::Bf16, DecodeWeights::Int8};
const char* name(DecodeWeights d) {
    return d == DecodeWeights::Int8 ? "int8" : d == DecodeWeights::Bf16 ? "bf16" : "fp32";
}

TEST(ContextWindow, GrowsToTheBlockThenKeepsItsLastTokens) {
    const ContextWindow exact(8, 8);  // nanoGPT's crop
    EXPECT_EQ(exact.after(0, 3), 3);
    EXPECT_EQ(exact.after(5, 3), 8);
    EXPECT_EQ(exact.after(8, 1), 8);
    EXPECT_EQ(exact.after(0, 20), 8);
    const ContextWindow half(8, 3);
    EXPECT_EQ(half.after(7, 1), 8);
    EXPECT_EQ(half.after(8, 1), 3);
    EXPECT_EQ(half.after(2, 20), 3);
    EXPECT_EXIT(ContextWindow(8, 0), ::testing::ExitedWithCode(1), "out of range \\[1, 8\\]");
    EXPECT_EXIT(ContextWindow(8, 9), ::testing::ExitedWithCode(1), "keeps 9 tokens");
}

// The reference decoder, token by token, against the fast one and a full forward: the same
// logits at every position of a block, on awkward sizes and on bf16 weights.
TEST(GptDecoder, EqualsTheReferenceDecoderAndAFullForward) {
    for (const GptConfig& cfg : {tiny(), odd()}) {
        for (bool bf16 : {false, true}) {
            SCOPED_TRACE(::testing::Message() << "n_embd " << cfg.n_embd << " bf16 " << bf16);
            GptWeights w(cfg, 5, /*with_grads=*/false);
            if (bf16) w.round_to_bf16();
            const std::vector<int> tokens = random_tokens(cfg.block_size, cfg.vocab_size, 2);
            GptReferenceDecoder reference(w);
            GptDecoder fast(w, ContextWindow(cfg.block_size, cfg.block_size));
            GptActivations acts;
            for (int pos = 0; pos < cfg.block_size; ++pos) {
                const std::vector<float> want = copy(reference.forward(tokens[pos], pos));
                const std::vector<float> got = copy(fast.append(std::span(&tokens[pos], 1)));
                ASSERT_TRUE(testing::all_close(got, want, 1e-5, 1e-5)) << "position " << pos;
                const std::vector<float> full =
                    copy(gpt_next_logits(acts, w, tokens.data(), pos + 1));
                ASSERT_TRUE(testing::all_close(full, want, 1e-5, 1e-5)) << "position " << pos;
            }
        }
    }
}

TEST(GptDecoder, CachedLogitsEqualAForwardOverTheWindow) {
    for (const GptConfig& cfg : {tiny(), odd()}) {
        const int block = cfg.block_size, V = cfg.vocab_size;
        GptWeights w(cfg, 5);
        GptActivations acts;
        for (int keep : {block, block / 2, 1, block - 1}) {
            for (int prompt : {1, 3, block + 5}) {
                SCOPED_TRACE(::testing::Message()
                             << "block=" << block << " keep=" << keep << " prompt=" << prompt);
                GptDecoder decoder(w, ContextWindow(block, keep));
                const std::vector<int> tokens = random_tokens(prompt + 3 * block, V, 7);
                // The window, by the rule written out: [start, n) while it fits the block, else
                // the last `keep` tokens.
                int start = 0;
                for (int n = prompt; n <= static_cast<int>(tokens.size()); ++n) {
                    const int added = n == prompt ? prompt : 1;
                    const std::vector<float> cached =
                        copy(decoder.append(std::span(&tokens[n - added], added)));
                    if (n - start > block) start = n - keep;
                    ASSERT_EQ(decoder.length(), n - start) << "context length " << n;
                    const std::vector<float> full =
                        copy(gpt_next_logits(acts, w, tokens.data() + start, n - start));
                    ASSERT_TRUE(testing::all_close(cached, full, 1e-5, 1e-5))
                        << "context length " << n;
                }
            }
        }
    }
}

TEST(GptDecoder, ManyRowsAtOnceEqualOneAtATime) {
    // Every row goes through the same kernels with the same arithmetic, however many come at
    // once (a recompute after a slide is many): the same bits, on float, bf16 and int8 weights.
    for (DecodeWeights dtype : kDtypes) {
        GptWeights w(odd(), 9);
        if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
        GptDecoder decoder(w, ContextWindow(11, 11), dtype);
        const std::vector<int> tokens = random_tokens(11, 13, 3);
        for (int first : {1, 2, 4, 5, 9, 11}) {
            SCOPED_TRACE(::testing::Message()
                         << "first " << first << " tokens at once, " << name(dtype));
            decoder.clear();
            std::vector<float> together = copy(decoder.append(std::span(tokens.data(), first)));
            decoder.clear();
            std::vector<float> single;
            for (int i = 0; i < first; ++i) single = copy(decoder.append(std::span(&tokens[i], 1)));
            EXPECT_EQ(together, single);
            // and the cache built either way continues the same
            if (first < 11) {
                const std::vector<float> next = copy(decoder.append(std::span(&tokens[first], 1)));
                decoder.clear();
                decoder.append(std::span(tokens.data(), first));
                EXPECT_EQ(copy(decoder.append(std::span(&tokens[first], 1))), next);
            }
        }
    }
}

TEST(GptDecoder, ABatchGivesEachSequenceItsOwnBits) {
    // B sequences decoded together, each with different tokens, through prompts, single tokens
    // and window slides (keep 4 of 11), give each sequence the logits a decoder of its own gives
    // it, bit for bit: on float, bf16 and int8 weights, on 1 and 2 threads.
    constexpr int B = 3, kSteps = 30;
    for (DecodeWeights dtype : kDtypes) {
        GptWeights w(odd(), 12);
        if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
        const ContextWindow window(11, 4);
        std::vector<std::vector<int>> seqs;
        for (int b = 0; b < B; ++b) seqs.push_back(random_tokens(5 + kSteps, 13, 20 + b));
        const int saved = kernels::num_threads();
        for (int threads : {1, 2}) {
            SCOPED_TRACE(::testing::Message() << name(dtype) << ", " << threads << " thread(s)");
            kernels::set_num_threads(threads);
            std::vector<std::vector<float>> alone(B);  // every step's logits, sequence by sequence
            for (int b = 0; b < B; ++b) {
                GptDecoder d(w, window, dtype);
                auto l = copy(d.append(std::span(seqs[b].data(), 5)));
                alone[b] = l;
                for (int i = 5; i < 5 + kSteps; ++i) {
                    l = copy(d.append(std::span(&seqs[b][i], 1)));
                    alone[b].insert(alone[b].end(), l.begin(), l.end());
                }
            }
            GptDecoder batch(w, window, dtype, B);
            ASSERT_EQ(batch.batch(), B);
            std::vector<std::vector<float>> together(B);
            for (int i = 0; i <= kSteps; ++i) {
                const int n = i == 0 ? 5 : 1, from = i == 0 ? 0 : 4 + i;
                std::vector<int> step;  // (B, n): 5 prompt tokens each, then one
                for (int b = 0; b < B; ++b) {
                    for (int j = 0; j < n; ++j) step.push_back(seqs[b][from + j]);
                }
                const std::span<const float> l = batch.append(step);
                ASSERT_EQ(l.size(), static_cast<size_t>(B) * 13);
                for (int b = 0; b < B; ++b) {
                    together[b].insert(together[b].end(), l.begin() + b * 13,
                                       l.begin() + (b + 1) * 13);
                }
            }
            for (int b = 0; b < B; ++b) EXPECT_EQ(together[b], alone[b]) << "sequence " << b;
        }
        kernels::set_num_threads(saved);
    }
}

TEST(GptDecoder, SlidesOntoTheShadowCacheWithTheRecomputesBits) {
    // Decoded a token at a time, the tokens the next slide keeps go into a shadow cache too, at the
    // positions they will have, and at the slide the shadow becomes the cache: every step's logits
    // equal, bit for bit, those of a fresh decoder given the window's tokens at once (the
    // recompute's path). One sequence and a batch, on 1 and 2 threads, keeping 4 or 6 of 11 (6:
    // the most a shadow allows), and after a prompt that reaches past the kept tokens (whose
    // first slide recomputes). Int8 decodes without shadows.
    constexpr int kSteps = 40;
    const int saved = kernels::num_threads();
    for (DecodeWeights dtype : kDtypes) {
        GptWeights w(odd(), 14);
        if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
        for (int keep : {4, 6}) {
            const ContextWindow window(11, keep);
            for (int threads : {1, 2}) {
                kernels::set_num_threads(threads);
                for (int B : {1, 2}) {
                    for (int prompt : {1, 9}) {
                        SCOPED_TRACE(::testing::Message()
                                     << name(dtype) << ", keep " << keep << ", " << threads
                                     << " thread(s), " << B << " sequence(s), prompt " << prompt);
                        GptDecoder decoder(w, window, dtype, B);
                        EXPECT_EQ(decoder.shadowed(),
                                  dtype != DecodeWeights::Int8 &&
                                      kernels::cpu_isa() == kernels::Isa::Avx512);
                        std::vector<std::vector<int>> seqs;
                        for (int b = 0; b < B; ++b) {
                            seqs.push_back(random_tokens(prompt + kSteps, 13, 30 + b));
                        }
                        // (B, n) tokens [from, from + n) of each sequence
                        auto tokens_of = [&](int from, int n) {
                            std::vector<int> t;
                            for (const std::vector<int>& s : seqs) {
                                t.insert(t.end(), s.begin() + from, s.begin() + from + n);
                            }
                            return t;
                        };
                        int start = 0;  // the window: [start, n)
                        for (int n = prompt; n <= prompt + kSteps; ++n) {
                            const int added = n == prompt ? prompt : 1;
                            const std::vector<float> got =
                                copy(decoder.append(tokens_of(n - added, added)));
                            if (n - start > window.block) start = n - keep;
                            ASSERT_EQ(decoder.length(), n - start) << "after token " << n;
                            GptDecoder fresh(w, window, dtype, B);
                            ASSERT_EQ(got, copy(fresh.append(tokens_of(start, n - start))))
                                << "after token " << n;
                        }
                    }
                }
            }
        }
    }
    kernels::set_num_threads(saved);
}

TEST(GptDecoder, BatchedSamplingDrawsEachSequencesOwnText) {
    // generate_batch through a batch decoder draws, for each sequence, the tokens that generate
    // draws for it alone with the same seed (and the uncached path the same).
    GptWeights w(tiny(), 5);
    const ContextWindow window(8, 4);
    const std::vector<int> prompt = random_tokens(3, 11, 9);
    SamplingOptions opts;
    opts.temperature = 1.3;
    constexpr int B = 4, kNew = 25;
    std::vector<PyRandom> rngs;
    for (int b = 0; b < B; ++b) rngs.emplace_back(100 + b);
    GptDecoder batch(w, window, DecodeWeights::AsStored, B);
    TokenSampler sampler(opts);
    std::vector<std::vector<int>> drawn(B);
    generate_batch<float>(prompt, kNew, cached_next_rows(batch), RowKind::Logits, sampler, rngs,
                          [&](int b, int token) { drawn[b].push_back(token); });
    GptActivations acts;
    for (int b = 0; b < B; ++b) {
        TokenSampler s(opts);
        PyRandom r(100 + b);
        EXPECT_EQ(drawn[b], generate<float>(prompt, kNew, recomputed_next_row(acts, w, window),
                                            RowKind::Logits, s, r))
            << "sequence " << b;
    }
}

TEST(GptDecoder, CachedAndUncachedSampleTheSameTokensInEveryMode) {
    for (const GptConfig& cfg : {tiny(), odd()}) {
        for (bool bf16 : {false, true}) {
            const int block = cfg.block_size;
            GptWeights w(cfg, 3);
            if (bf16) w.round_to_bf16();
            GptActivations acts;
            for (int keep : {block, block / 2, 1}) {
                const ContextWindow window(block, keep);
                GptDecoder decoder(w, window);
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
                        const std::vector<int> cached = generate<float>(
                            prompt, 40, cached_next_row(decoder), RowKind::Logits, s1, r1);
                        const std::vector<int> full =
                            generate<float>(prompt, 40, recomputed_next_row(acts, w, window),
                                            RowKind::Logits, s2, r2);
                        EXPECT_EQ(cached, full);
                        EXPECT_EQ(cached.size(), 40u);
                    }
                }
            }
        }
    }
}

TEST(GptDecoder, ExactWindowIsNanoGptsGenerate) {
    // nanoGPT: idx_cond = idx[:, -block_size:]; logits = model(idx_cond); sample; append.
    GptWeights w(odd(), 4);
    GptActivations acts;
    const std::vector<int> prompt = random_tokens(14, 13, 2);  // longer than the block (11)
    SamplingOptions opts;
    opts.temperature = 0.9;
    TokenSampler s0(opts), s1(opts), s2(opts);
    PyRandom r0(8), r1(8), r2(8);
    std::vector<int> want = prompt;
    for (int i = 0; i < 50; ++i) {
        want.push_back(s0.from_logits(
            gpt_next_logits(acts, w, want.data(), static_cast<int>(want.size())), r0));
    }
    want.erase(want.begin(), want.begin() + static_cast<long>(prompt.size()));
    const ContextWindow exact(11, 11);
    GptDecoder decoder(w, exact);
    EXPECT_EQ(
        generate<float>(prompt, 50, recomputed_next_row(acts, w, exact), RowKind::Logits, s1, r1),
        want);
    EXPECT_EQ(generate<float>(prompt, 50, cached_next_row(decoder), RowKind::Logits, s2, r2), want);
}

// Two layers of 4 heads of 40 channels (int8 groups of 8), a block of 16: the teams' tests.
GptConfig team_config() {
    return GptConfig{
        .vocab_size = 13, .block_size = 16, .n_layer = 2, .n_head = 4, .n_embd = 160, .bias = true};
}

TEST(GptDecoder, SameBitsForAnyThreadCount) {
    // A team of 1, 2 or 3 threads, each with its own heads and groups of hidden units (4 split
    // 1/1/2 at 3), decoding and recomputing after slides (keep 8 of 16), on float, bf16 and int8
    // weights (int8 groups of 8: the head size is 40).
    for (DecodeWeights dtype : kDtypes) {
        SCOPED_TRACE(name(dtype));
        GptWeights w(team_config(), 6);
        if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
        GptDecoder decoder(w, ContextWindow(16, 8), dtype);
        const std::vector<int> tokens = random_tokens(40, 13, 4);
        testing::expect_thread_invariant([&] {
            std::vector<float> all;
            decoder.clear();
            decoder.append(std::span(tokens.data(), 3));
            for (int i = 3; i < 40; ++i) {
                const std::vector<float> l = copy(decoder.append(std::span(&tokens[i], 1)));
                all.insert(all.end(), l.begin(), l.end());
            }
            return all;
        });
    }
}

TEST(GptDecoder, ManyRowsOnATeamSplitByRowsGiveTheSameBits) {
    // A forward of 32 rows or more on a team of threads is split by rows, not heads (a batch's
    // prompt: 4 sequences of 12 tokens; its recompute after a slide: 4 windows of 9), by
    // sequences where every rank gets as many (2 threads), else by rows (3). Its logits equal
    // those of the same tokens fed one position at a time (a few rows: split by heads), on 1, 2
    // and 3 threads, on float, bf16 and int8 weights.
    constexpr int B = 4, kPrompt = 12, kSteps = 14;
    for (DecodeWeights dtype : kDtypes) {
        SCOPED_TRACE(name(dtype));
        GptWeights w(team_config(), 8);
        if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
        const std::vector<int> tokens = random_tokens(B * (kPrompt + kSteps), 13, 5);
        // sequence b's token i: tokens[b·(kPrompt + kSteps) + i]
        auto column = [&](int i, int n) {  // tokens i..i+n−1 of every sequence, (B, n)
            std::vector<int> t;
            for (int b = 0; b < B; ++b) {
                for (int j = 0; j < n; ++j) t.push_back(tokens[b * (kPrompt + kSteps) + i + j]);
            }
            return t;
        };
        auto run = [&](bool prompt_at_once) {
            GptDecoder decoder(w, ContextWindow(16, 8), dtype, B);
            std::vector<float> all;
            if (prompt_at_once) {
                all = copy(decoder.append(column(0, kPrompt)));
            } else {
                for (int i = 0; i < kPrompt; ++i) all = copy(decoder.append(column(i, 1)));
            }
            for (int i = kPrompt; i < kPrompt + kSteps; ++i) {  // slides at 16 and 24 tokens
                const std::vector<float> l = copy(decoder.append(column(i, 1)));
                all.insert(all.end(), l.begin(), l.end());
            }
            return all;
        };
        const int saved = kernels::num_threads();
        kernels::set_num_threads(1);
        const std::vector<float> one_at_a_time = run(false);
        kernels::set_num_threads(saved);
        testing::expect_thread_invariant([&] {
            const std::vector<float> all = run(true);
            testing::expect_bits(all, one_at_a_time, "the prompt at once against one at a time");
            return all;
        });
    }
}

// int8: the fast decoder against the reference decoder's int8 form (the same quantization, plain
// loops; the fast one adds the heads' and groups' partial sums in another order, hence the
// tolerance), and both near the float model: quantization moves the logits a little, not far.
TEST(GptDecoder, Int8EqualsTheReferenceDecoderAndStaysNearFloat) {
    for (const GptConfig& cfg : {tiny(), odd(),
                                 GptConfig{.vocab_size = 40,
                                 .block_size = 12,
                                 .n_layer = 2,
                                 .n_head = 2,
                                 .n_embd = 128,
                                 .bias = true}}) {
        SCOPED_TRACE(::testing::Message()
                     << "n_embd " << cfg.n_embd << ", groups of " << int8_group_size(cfg));
        GptWeights w(cfg, 5, /*with_grads=*/false);
        const std::vector<int> tokens = random_tokens(cfg.block_size, cfg.vocab_size, 2);
        GptReferenceDecoder reference(w, /*int8=*/true), reference_f32(w);
        GptDecoder fast(w, ContextWindow(cfg.block_size, cfg.block_size), DecodeWeights::Int8);
        double worst = 0.0;
        for (int pos = 0; pos < cfg.block_size; ++pos) {
            const std::vector<float> want = copy(reference.forward(tokens[pos], pos));
            const std::vector<float> got = copy(fast.append(std::span(&tokens[pos], 1)));
            ASSERT_TRUE(testing::all_close(got, want, 1e-5, 1e-5)) << "position " << pos;
            const std::vector<float> f32 = copy(reference_f32.forward(tokens[pos], pos));
            for (size_t i = 0; i < f32.size(); ++i)
                worst = std::max(worst, double(std::fabs(got[i] - f32[i])));
        }
        EXPECT_LT(worst, 0.05) << "int8 logits far from float";
        EXPECT_GT(worst, 0.0) << "int8 changed nothing: not quantized?";
    }
}

// The quantization errors reported: every weight matrix by name, each at most half a step of
// its largest group (max|w| / 254).
TEST(GptDecoder, Int8ReportsEachMatrixsError) {
    GptWeights w(tiny(), 5, /*with_grads=*/false);
    GptDecoder fast(w, ContextWindow(8, 8), DecodeWeights::Int8);
    const std::vector<QuantizationError>& errors = fast.quantization_errors();
    ASSERT_EQ(errors.size(), 4u * tiny().n_layer + 1);
    EXPECT_EQ(errors[0].name, "transformer.h.0.attn.c_attn.weight");
    EXPECT_EQ(errors[7].name, "transformer.h.1.mlp.c_proj.weight");
    EXPECT_EQ(errors.back().name, "transformer.wte.weight");
    for (const QuantizationError& e : errors) {
        const std::span<float> v = w.values(e.name);
        float max_abs = 0.0f;
        for (float x : v) max_abs = std::max(max_abs, std::fabs(x));
        EXPECT_EQ(e.max_abs, max_abs) << e.name;
        EXPECT_GT(e.max_error, 0.0f) << e.name;
        EXPECT_LE(e.max_error, max_abs / 254.0f * 1.0001f) << e.name;
    }
    GptDecoder f32(w, ContextWindow(8, 8));
    EXPECT_TRUE(f32.quantization_errors().empty());
}

// The decoder keeps no reference to the weights: freed after it is built, it decodes the same.
TEST(GptDecoder, NeedsNoWeightsOnceBuilt) {
    for (DecodeWeights dtype : kDtypes) {
        SCOPED_TRACE(name(dtype));
        auto w = std::make_unique<GptWeights>(tiny(), 3, /*with_grads=*/false);
        if (dtype == DecodeWeights::Bf16) w->round_to_bf16();
        GptDecoder kept(*w, ContextWindow(8, 4), dtype);
        GptDecoder alone(*w, ContextWindow(8, 4), dtype);
        const std::vector<int> tokens = random_tokens(20, 11, 6);
        std::vector<std::vector<float>> want;
        for (int t : tokens) want.push_back(copy(kept.append(std::span(&t, 1))));
        w.reset();
        for (size_t i = 0; i < tokens.size(); ++i) {
            ASSERT_EQ(copy(alone.append(std::span(&tokens[i], 1))), want[i]) << "token " << i;
        }
    }
}

// Every row's logits at once (for a loss) are the logits append gives token by token.
TEST(GptDecoder, EveryRowsLogitsAreEachAppendsLogits) {
    for (DecodeWeights dtype : kDtypes) {
        for (const GptConfig& cfg : {tiny(), odd()}) {
            SCOPED_TRACE(::testing::Message() << name(dtype) << " n_embd " << cfg.n_embd);
            GptWeights w(cfg, 4, /*with_grads=*/false);
            if (dtype == DecodeWeights::Bf16) w.round_to_bf16();
            GptDecoder decoder(w, ContextWindow(cfg.block_size, cfg.block_size), dtype);
            const std::vector<int> tokens = random_tokens(cfg.block_size, cfg.vocab_size, 8);
            const std::vector<float> rows = copy(decoder.append_every_row(tokens));
            ASSERT_EQ(rows.size(), tokens.size() * cfg.vocab_size);
            decoder.clear();
            for (size_t i = 0; i < tokens.size(); ++i) {
                const std::vector<float> one = copy(decoder.append(std::span(&tokens[i], 1)));
                const std::vector<float> row(rows.begin() + i * cfg.vocab_size,
                                             rows.begin() + (i + 1) * cfg.vocab_size);
                ASSERT_EQ(row, one) << "row " << i;
            }
        }
    }
}

TEST(GptDecoderDeathTest, RejectsBadTokensAndPositions) {
    GptWeights w(tiny(), 1, /*with_grads=*/false);
    GptDecoder decoder(w, ContextWindow(8, 4));
    const std::vector<int> bad{11};
    EXPECT_EXIT(decoder.append(bad), ::testing::ExitedWithCode(1),
                "token 11 out of the vocabulary");
    EXPECT_EXIT(decoder.append({}), ::testing::ExitedWithCode(1), "empty context");
    GptDecoder batch(w, ContextWindow(8, 4), DecodeWeights::AsStored, 2);
    const std::vector<int> three{1, 2, 3};
    EXPECT_EXIT(batch.append(three), ::testing::ExitedWithCode(1), "3 tokens for 2 sequences");
    EXPECT_EXIT(GptDecoder(w, ContextWindow(8, 4), DecodeWeights::AsStored, 0),
                ::testing::ExitedWithCode(1), "a batch of 0 sequences");
    GptReferenceDecoder reference(w);
    EXPECT_EXIT(reference.forward(0, 8), ::testing::ExitedWithCode(1),
                "position 8 out of the block");
}

}  // namespace
}  // namespace wiggle
