// Internals shared by gpt.cpp (layout, training) and gpt_inference.cpp (the KV cache): memory
// helpers and the cache's planned buffers. Not part of the public API.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/decode.h"
#include "nn/gpt.h"
#include "util/check.h"

namespace wiggle::gpt_detail {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr size_t kAlignFloats = 16;  // 64 bytes: every tensor starts on a cache line

inline size_t round_up(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// A zeroed, 64-byte aligned block of n floats.
inline float* alloc_floats(size_t n) {
    const size_t bytes = std::max<size_t>(64, gpt_detail::round_up(n) * sizeof(float));
    void* p = std::aligned_alloc(64, bytes);
    WIGGLE_CHECK(p != nullptr, "use a smaller model or batch", "out of memory allocating {} MB",
                 bytes >> 20);
    std::memset(p, 0, bytes);
    return static_cast<float*>(p);
}

// residual (N) = a + b: the skip connection x + f(x).
inline void residual_forward(float* out, const float* a, const float* b, size_t N) {
    for (size_t i = 0; i < N; ++i) out[i] = a[i] + b[i];
}

}  // namespace wiggle::gpt_detail

namespace wiggle {

// The KV cache: keys and values of the context, per layer, scratch for the new rows, and a copy of
// the weights packed for decoding. Planned once (block_size rows), plus each decoding thread's own
// scratch, sized when the thread count grows; decoding a token allocates nothing.
struct Gpt::KvCache {
    int len = 0;                    // tokens whose keys and values are cached (≤ block_size)
    std::unique_ptr<int[]> tokens;  // (block_size) those tokens, for the recompute when it slides
    std::unique_ptr<float[], void (*)(void*)> mem{nullptr, std::free};
    float* kt;  // (L, C, block_size) keys, transposed: position t, channel c at [l][c][t]
    float* v;   // (L, block_size, C) values
    // scratch for up to block_size new rows: every rank writes its own columns of qkv, atty, fch
    // and fch_gelu, and its own heads' (T,C) blocks of the partial sums of attn.c_proj and
    // mlp.c_proj (NH,T,C), which all ranks read (two buffers: a rank may write the MLP's while
    // another still reads attention's)
    float *qkv, *atty, *fch, *fch_gelu, *attn_parts, *mlp_parts, *logits;
    // A weight packed for decoding: floats (kernels::pack_linear), or bf16 once the model's
    // weights are rounded to it (pack_linear_bf16: half the bytes, the same values).
    struct Packed {
        float* f32 = nullptr;
        kernels::bf16* b16 = nullptr;
        void pack(const float* weight, int K, int N) const {
            if (b16) return kernels::pack_linear_bf16(b16, weight, K, N);
            kernels::pack_linear(f32, weight, K, N);
        }
        // out (M,N) = inp (M,K) · weightᵀ + bias, columns [n0, n1), inputs [k0, k1)
        // (kernels::linear_packed_forward)
        void forward(float* out, const float* inp, const float* bias, int M, int K, int N, int n0,
                     int n1, int k0, int k1) const {
            if (b16) {
                return kernels::linear_packed_forward(out, inp, b16, bias, M, K, N, n0, n1, k0, k1);
            }
            kernels::linear_packed_forward(out, inp, f32, bias, M, K, N, n0, n1, k0, k1);
        }
    };
    // The weights of every product, packed for decoding.
    struct PackedLayer {
        Packed c_attn, attn_proj, c_fc, mlp_proj;
    };
    std::vector<PackedLayer> packed;
    Packed packed_lm_head;
    std::unique_ptr<void, void (*)(void*)> packed_mem{nullptr, std::free};
    // Each rank of a decoding team keeps its own copy of the residual stream x (T,C), normalizes
    // it itself (ln (T,C), mean and rstd (T)), and has its own attention probabilities att (NH,T)
    // and a row to add partial sums in, sum (C); the ranks' blocks `rank_stride` floats (whole
    // cache lines) apart.
    struct RankScratch {
        float *x, *ln, *mean, *rstd, *att, *sum;
    };
    std::unique_ptr<float[], void (*)(void*)> rank_mem{nullptr, std::free};
    int ranks = 0;
    size_t rank_stride = 0;
    int n_embd, n_head, block_size;

    KvCache(const GptConfig& cfg, bool bf16_weights)
        : tokens(new int[cfg.block_size]()),
          n_embd(cfg.n_embd),
          n_head(cfg.n_head),
          block_size(cfg.block_size) {
        const size_t L = cfg.n_layer, T = cfg.block_size, C = cfg.n_embd;
        size_t off = 0;
        std::vector<std::pair<float**, size_t>> parts = {
            {&kt, L * C * T},
            {&v, L * T * C},
            {&qkv, T * 3 * C},
            {&atty, T * C},
            {&fch, T * 4 * C},
            {&fch_gelu, T * 4 * C},
            {&attn_parts, cfg.n_head * T * C},
            {&mlp_parts, cfg.n_head * T * C},
            {&logits, static_cast<size_t>(cfg.vocab_size)}};
        for (auto& [p, n] : parts) off += gpt_detail::round_up(n);
        mem.reset(gpt_detail::alloc_floats(off));
        off = 0;
        for (auto& [p, n] : parts) {
            *p = mem.get() + off;
            off += gpt_detail::round_up(n);
        }
        // The packed weights, each on its own cache lines: (K, N) of every product.
        packed.resize(L);
        const int Ci = cfg.n_embd;
        std::vector<std::tuple<Packed*, int, int>> weights;
        for (auto& w : packed) {
            weights.insert(weights.end(), {{&w.c_attn, Ci, 3 * Ci},
                                           {&w.attn_proj, Ci, Ci},
                                           {&w.c_fc, Ci, 4 * Ci},
                                           {&w.mlp_proj, 4 * Ci, Ci}});
        }
        weights.emplace_back(&packed_lm_head, Ci, cfg.vocab_size);
        const size_t bytes = bf16_weights ? sizeof(kernels::bf16) : sizeof(float);
        auto size = [&](int K, int N) {
            const long n = bf16_weights ? kernels::packed_linear_bf16_size(K, N)
                                        : kernels::packed_linear_size(K, N);
            return (static_cast<size_t>(n) * bytes + 63) / 64 * 64;
        };
        size_t total = 0;
        for (auto& [w, K, N] : weights) total += size(K, N);
        packed_mem.reset(gpt_detail::alloc_floats(total / sizeof(float)));
        auto* at = static_cast<char*>(packed_mem.get());
        for (auto& [w, K, N] : weights) {
            if (bf16_weights) {
                w->b16 = reinterpret_cast<kernels::bf16*>(at);
            } else {
                w->f32 = reinterpret_cast<float*>(at);
            }
            at += size(K, N);
        }
    }

    // Scratch for n ranks (allocated when the thread count grows, not per token).
    void reserve_ranks(int n) {
        if (n <= ranks) return;
        ranks = n;
        const size_t T = block_size, C = n_embd, NH = n_head;
        rank_stride = gpt_detail::round_up(2 * T * C + 2 * T + NH * T + C);
        rank_mem.reset(gpt_detail::alloc_floats(rank_stride * ranks));
    }
    RankScratch rank_scratch(int rank) const {
        assert(rank < ranks);
        const size_t T = block_size, C = n_embd, NH = n_head;
        float* x = rank_mem.get() + rank_stride * rank;
        float* ln = x + T * C;
        float* mean = ln + T * C;
        float* rstd = mean + T;
        float* att = rstd + T;
        return {x, ln, mean, rstd, att, att + NH * T};
    }
};

}  // namespace wiggle
