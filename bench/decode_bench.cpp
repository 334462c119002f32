// Decoding the baby GPT (4 layers, n_embd 128, block 64, vocab 65; random weights: speed does not
// depend on them) through the KV cache, beside the uncached baseline, in the same run:
//   Token        one new token at positions 32..63 in turn (the cache holds the tokens before it)
//   Recompute    a token that slides the full window: `wiggle sample` keeps the last
//                block_size/2 = 32 tokens and recomputes them with the new one (33 rows)
//   FullForward  one token nanoGPT's way: a full forward over the 64-token window (the baseline)
// at 1 and 2 threads; Token and Recompute also on weights rounded to bf16 (`wiggle sample --dtype
// bf16`: the cache streams half the bytes), and for 8 sequences decoded together (batch 8,
// `wiggle sample --num-samples 8`: one pass over the weights for all 8). Once its window is
// full, `wiggle sample` decodes 31 tokens and recomputes once per 32 tokens: about
// 32 / (31·Token + Recompute) tokens/s, unless the decoder keeps shadow caches (one sequence or a
// few, on AVX-512: gpt_decoder.h), which decode each token the slide will keep twice and
// recompute nothing.
//   Window       tokens one after another through the default window's slides, as `wiggle
//                sample` decodes them (with the shadows, or the recomputes)
// Gpt2Token: one token of a model of GPT-2 124M's shapes (12 layers, n_embd 768, vocab 50257) at
// position 64, in fp32, bf16 and int8 (`wiggle sample --dtype`): decoding streams every weight
// once per token, so the bytes per weight set the speed; its GB/s counter is the weights' bytes
// (as packed for decoding) times tokens/s.
// Gpt2RawRead: a plain sequential sum over the same bytes, each thread its half, in the same run:
// what one pass over them costs at this moment, the bound for Gpt2Token (this machine's bandwidth
// swings from minute to minute, so the kernels' GB/s mean something only beside it).
// Not here: timed assertions (speed is reported, never tested).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/decode.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_model.h"

namespace {

namespace k = wiggle::kernels;

wiggle::GptConfig baby() { return wiggle::GptConfig{}; }  // the defaults are the baby config

// The first n tokens of a fixed sequence for each of B sequences (sequence b's shifted by b, so
// that they differ), back to back: GptDecoder::append's layout for a batch.
std::vector<int> batch_tokens(int B, int n) {
    std::vector<int> t(static_cast<size_t>(B) * n);
    for (int b = 0; b < B; ++b) {
        for (int i = 0; i < n; ++i) t[b * n + i] = (i * 7 + 3 + b) % baby().vocab_size;
    }
    return t;
}
std::vector<int> tokens(int n) { return batch_tokens(1, n); }

// The baby decoder for a benchmark's {threads, bf16, sequences decoded together} arguments (the
// decoder keeps no reference to the weights).
wiggle::GptDecoder baby_decoder(benchmark::State& state, wiggle::ContextWindow window) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    wiggle::GptWeights w(baby(), 1337, /*with_grads=*/false);
    if (state.range(1)) w.round_to_bf16();
    return wiggle::GptDecoder(w, window, wiggle::DecodeWeights::AsStored,
                              static_cast<int>(state.range(2)));
}

void BM_Token(benchmark::State& state) {
    wiggle::GptDecoder dec = baby_decoder(state, wiggle::ContextWindow(64, 64));
    const int B = dec.batch();
    const std::vector<int> ctx = batch_tokens(B, 32), next = batch_tokens(B, 1);
    for (auto _ : state) {
        if (dec.length() == 0 || dec.length() == 63) {
            state.PauseTiming();
            dec.clear();
            dec.append(ctx);
            state.ResumeTiming();
        }
        benchmark::DoNotOptimize(dec.append(next).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(B, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Recompute(benchmark::State& state) {
    // `wiggle sample`'s default window: keep block_size/2
    wiggle::GptDecoder dec = baby_decoder(state, wiggle::ContextWindow(64, 32));
    const int B = dec.batch();
    const std::vector<int> ctx = batch_tokens(B, 64), next = batch_tokens(B, 1);
    for (auto _ : state) {
        state.PauseTiming();
        dec.clear();
        dec.append(ctx);  // a full window: the next token slides it
        state.ResumeTiming();
        benchmark::DoNotOptimize(dec.append(next).data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(33.0 * B, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Window(benchmark::State& state) {
    wiggle::GptDecoder dec = baby_decoder(state, wiggle::ContextWindow(64, 32));
    const int B = dec.batch();
    const std::vector<int> next = batch_tokens(B, 1);
    for (int i = 0; i < 64; ++i) dec.append(next);  // past the first slide: the steady state
    for (auto _ : state) benchmark::DoNotOptimize(dec.append(next).data());
    state.counters["tokens/s"] =
        benchmark::Counter(B, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["shadowed"] = dec.shadowed();
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

const wiggle::GptConfig gpt2{.vocab_size = 50257,
                             .block_size = 1024,
                             .n_layer = 12,
                             .n_head = 12,
                             .n_embd = 768,
                             .bias = true,
                             .gelu = k::GeluForm::Tanh};

// The bytes of the weights one token streams (every block's four matrices and lm_head), as packed
// for decoding in `dtype`.
double gpt2_weight_bytes(wiggle::DecodeWeights dtype) {
    const int C = gpt2.n_embd, G = wiggle::int8_group_size(gpt2);
    auto bytes = [&](int K, int N) -> double {
        switch (dtype) {
            case wiggle::DecodeWeights::Int8:
                return static_cast<double>(k::packed_linear_q8_bytes(K, N, G));
            case wiggle::DecodeWeights::Bf16:
                return 2.0 * static_cast<double>(k::packed_linear_bf16_size(K, N));
            default:
                return 4.0 * static_cast<double>(k::packed_linear_size(K, N));
        }
    };
    const double block = bytes(C, 3 * C) + bytes(C, C) + bytes(C, 4 * C) + bytes(4 * C, C);
    return gpt2.n_layer * block + bytes(C, gpt2.vocab_size);
}

void BM_Gpt2Token(benchmark::State& state) {
    k::set_num_threads(static_cast<int>(state.range(0)));
    const auto dtype = static_cast<wiggle::DecodeWeights>(state.range(1));
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
    state.counters["GB/s"] = benchmark::Counter(gpt2_weight_bytes(dtype) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gpt2RawRead(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    k::set_num_threads(threads);
    // 16-byte lanes of 64-bit sums (GCC's vector extension: plain SSE2 on any x86-64), four
    // independent chains: the loads, not the adds, set the pace
    using u64x2 = std::uint64_t __attribute__((vector_size(16)));
    const auto dtype = static_cast<wiggle::DecodeWeights>(state.range(1));
    const double bytes = gpt2_weight_bytes(dtype);
    const long n = static_cast<long>(bytes / sizeof(u64x2)) / 4 * 4;
    std::vector<u64x2> data(n);
    for (long i = 0; i < n; ++i) data[i] = u64x2{static_cast<std::uint64_t>(i), 1};
    std::vector<std::uint64_t> sums(threads);
    auto member = [&](const k::Team& team) {
        const auto [i0, i1] = team.share(static_cast<int>(n / 4));
        u64x2 a = {}, b = {}, c = {}, d = {};
        for (long i = 4L * i0; i < 4L * i1; i += 4) {
            a += data[i];
            b += data[i + 1];
            c += data[i + 2];
            d += data[i + 3];
        }
        const u64x2 t = a + b + c + d;
        sums[team.rank()] = t[0] + t[1];
    };
    for (auto _ : state) {
        k::parallel_team(threads, member);
        benchmark::DoNotOptimize(sums.data());
    }
    state.counters["GB/s"] =
        benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// {threads, dtype: 1 fp32, 2 bf16, 3 int8 (wiggle::DecodeWeights)}
BENCHMARK(BM_Gpt2Token)
    ->ArgNames({"threads", "dtype"})
    ->ArgsProduct({{1, 2}, {1, 2, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gpt2RawRead)
    ->ArgNames({"threads", "dtype"})
    ->ArgsProduct({{1, 2}, {1, 2, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// {threads, bf16, sequences decoded together (`wiggle sample --num-samples`)}
BENCHMARK(BM_Token)
    ->ArgNames({"threads", "bf16", "batch"})
    ->ArgsProduct({{1, 2}, {0, 1}, {1, 8}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Recompute)
    ->ArgNames({"threads", "bf16", "batch"})
    ->ArgsProduct({{1, 2}, {0, 1}, {1, 8}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Window)
    ->ArgNames({"threads", "bf16", "batch"})
    ->ArgsProduct({{1, 2}, {0, 1}, {1, 8}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FullForward)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
