// Decoding the baby GPT (4 layers, n_embd 128, block 64, vocab 65; random weights: speed does not
// depend on them) through the KV cache, beside the uncached baseline, in the same run:
//   Token        one new token at positions 32..63 in turn (the cache holds the tokens before it)
//   Recompute    a token that slides the full window: `wiggle sample` keeps the last
//                block_size/2 = 32 tokens and recomputes them with the new one (33 rows)
//   FullForward  one token nanoGPT's way: a full forward over the 64-token window (the baseline)
// at 1 and 2 threads; Token and Recompute also on weights rounded to bf16 (`wiggle sample --dtype
// bf16`: the cache streams half the bytes). Once its window is full, `wiggle sample` decodes 31
// tokens and recomputes once per 32 tokens: about 32 / (31·Token + Recompute) tokens/s.
// Gpt2Token: one token of a model of GPT-2 124M's shapes (12 layers, n_embd 768, vocab 50257) at
// position 64, in fp32, bf16 and int8 (`wiggle sample --dtype`): decoding streams every weight
// once per token, so the bytes per weight set the speed.
// Not here: timed assertions (speed is reported, never tested).
#include <benchmark/benchmark.h>

#include <optional>
#include <vector>

#include "kernels/cpu.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_model.h"

namespace {

namespace k = wiggle::kernels;

wiggle::GptConfig baby() { return wiggle::GptConfig{}; }  // the defaults are the baby config

std::vector<int> tokens(int n) {
    std::vector<int> t(n);
    for (int i = 0; i < n; ++i) t[i] = (i * 7 + 3) % baby().vocab_size;
    return t;
}

void BM_Token(benchmark::State& state) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    wiggle::GptWeights w(baby(), 1337, /*with_grads=*/false);
    if (state.range(1)) w.round_to_bf16();
    wiggle::GptDecoder dec(w, wiggle::ContextWindow(64, 64));
    const std::vector<int> ctx = tokens(64);
    for (auto _ : state) {
        if (dec.length() == 0 || dec.length() == 63) {
            state.PauseTiming();
            dec.clear();
            dec.append(std::span(ctx.data(), 32));
            state.ResumeTiming();
        }
        const int next = ctx[dec.length()];
        benchmark::DoNotOptimize(dec.append(std::span(&next, 1)).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Recompute(benchmark::State& state) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    wiggle::GptWeights w(baby(), 1337, /*with_grads=*/false);
    if (state.range(1)) w.round_to_bf16();
    // `wiggle sample`'s default window: keep block_size/2
    wiggle::GptDecoder dec(w, wiggle::ContextWindow(64, 32));
    const std::vector<int> ctx = tokens(64);
    for (auto _ : state) {
        state.PauseTiming();
        dec.clear();
        dec.append(ctx);  // a full window: the next token slides it
        state.ResumeTiming();
        benchmark::DoNotOptimize(dec.append(std::span(ctx.data(), 1)).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(33, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FullForward(benchmark::State& state) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    wiggle::GptWeights w(baby(), 1337, /*with_grads=*/false);
    wiggle::GptActivations acts;
    const std::vector<int> ctx = tokens(64);
    for (auto _ : state) {
        benchmark::DoNotOptimize(wiggle::gpt_next_logits(acts, w, ctx.data(), 64).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gpt2Token(benchmark::State& state) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    const auto dtype = static_cast<wiggle::DecodeWeights>(state.range(1));
    const wiggle::GptConfig gpt2{.vocab_size = 50257,
                                 .block_size = 1024,
                                 .n_layer = 12,
                                 .n_head = 12,
                                 .n_embd = 768,
                                 .bias = true,
                                 .gelu = k::GeluForm::Tanh};
    std::optional<wiggle::GptDecoder> dec;
    {
        wiggle::GptWeights w(gpt2, 1337, /*with_grads=*/false);
        if (dtype == wiggle::DecodeWeights::Bf16) w.round_to_bf16();
        dec.emplace(w, wiggle::ContextWindow(1024, 1024), dtype);
    }
    std::vector<int> ctx(128);
    for (int i = 0; i < 128; ++i) ctx[i] = (i * 7919 + 13) % gpt2.vocab_size;
    for (auto _ : state) {
        if (dec->length() == 0 || dec->length() == 128) {
            state.PauseTiming();
            dec->clear();
            dec->append(std::span(ctx.data(), 64));
            state.ResumeTiming();
        }
        const int next = ctx[dec->length()];
        benchmark::DoNotOptimize(dec->append(std::span(&next, 1)).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// {threads, dtype: 1 fp32, 2 bf16, 3 int8 (wiggle::DecodeWeights)}
BENCHMARK(BM_Gpt2Token)
    ->ArgNames({"threads", "dtype"})
    ->ArgsProduct({{1, 2}, {1, 2, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// {threads, bf16}
BENCHMARK(BM_Token)
    ->ArgNames({"threads", "bf16"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Recompute)
    ->ArgNames({"threads", "bf16"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullForward)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
