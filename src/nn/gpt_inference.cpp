// KV-cache inference for the GPT: next-token logits by full recompute (nanoGPT's generate) or
// through the cache of keys and values (each decoded token costs O(context)), with the sliding
// window that both share (Gpt::window_after). Decoding one token is a chain of matrix-vector
// products, so it runs on the decode kernels (kernels/decode.h), not the training gemm.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/decode.h"
#include "kernels/elementwise.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "nn/gpt.h"
#include "nn/gpt_internal.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

std::span<const float> Gpt::next_logits(const int* tokens, int n) {
    WIGGLE_CHECK(n > 0, "give at least one token of context", "empty context");
    const int T = std::min(n, config_.block_size);
    const bool was_training = training_;
    training_ = false;
    forward(tokens + (n - T), nullptr, 1, T);
    training_ = was_training;
    const size_t V = config_.vocab_size;
    return logits().subspan((T - 1) * V, V);
}

void Gpt::cache_reset() {
    if (!cache_) return;
    cache_->len = 0;
    cache_pack();
}

// Copies every product's weight into the cache, packed for decoding (kernels/decode.h).
void Gpt::cache_pack() {
    KvCache& c = *cache_;
    const int C = config_.n_embd;
    for (int l = 0; l < config_.n_layer; ++l) {
        const LayerParams w = layer(l);
        const KvCache::PackedLayer& p = c.packed[l];
        p.c_attn.pack(w.c_attn_weight, C, 3 * C);
        p.attn_proj.pack(w.attn_proj_weight, C, C);
        p.c_fc.pack(w.c_fc_weight, C, 4 * C);
        p.mlp_proj.pack(w.mlp_proj_weight, 4 * C, C);
    }
    c.packed_lm_head.pack(embeddings().wte, C, config_.vocab_size);
}

void Gpt::round_weights_to_bf16() {
    const size_t C = config_.n_embd;
    auto round = [](float* w, size_t n) {
        for (size_t i = 0; i < n; ++i) w[i] = k::to_float(k::to_bf16(w[i]));
    };
    round(embeddings().wte, config_.vocab_size * C);
    for (int l = 0; l < config_.n_layer; ++l) {
        const LayerParams w = layer(l);
        round(w.c_attn_weight, 3 * C * C);
        round(w.attn_proj_weight, C * C);
        round(w.c_fc_weight, 4 * C * C);
        round(w.mlp_proj_weight, 4 * C * C);
    }
    bf16_weights_ = true;
    cache_.reset();  // the next cache_append packs the rounded weights in bf16
}

int Gpt::cache_length() const { return cache_ ? cache_->len : 0; }

void Gpt::set_cache_crop(int keep) {
    WIGGLE_CHECK(keep >= 1 && keep <= config_.block_size, "keep between 1 and block_size",
                 "cache crop {} out of range [1, {}]", keep, config_.block_size);
    cache_crop_ = keep;
}

std::span<const float> Gpt::cache_append(const int* tokens, int n) {
    WIGGLE_CHECK(n > 0 || (n == 0 && cache_length() > 0), "give at least one token of context",
                 "empty context");
    if (!cache_) {
        cache_ = std::make_unique<KvCache>(config_, bf16_weights_);
        cache_pack();
    }
    KvCache& c = *cache_;
    if (n > 0) {
        const int len = c.len;
        const int w = window_after(len, n);
        if (w == len + n) {
            cache_forward(tokens, n);
        } else {
            // The window slides: every position changes, so recompute the cache for the last w
            // tokens of the context followed by the new tokens (nanoGPT's generate crops idx the
            // same way when w is block_size). Assembled in place: no allocation.
            const int from_new = std::min(n, w), from_old = w - from_new;
            std::memmove(c.tokens.get(), c.tokens.get() + (len - from_old),
                         static_cast<size_t>(from_old) * sizeof(int));
            std::memcpy(c.tokens.get() + from_old, tokens + (n - from_new),
                        static_cast<size_t>(from_new) * sizeof(int));
            c.len = 0;
            cache_forward(c.tokens.get(), w);
        }
    }
    return {c.logits, static_cast<size_t>(config_.vocab_size)};
}

namespace {

// x (rows,C) += (p_0 + p_1 + ... + p_{G−1}) + bias: the partial sums of a product whose inputs a
// team split in G groups (kernels::linear_packed_forward over an input range), each (rows,C) and
// `stride` floats after the one before, added in group order whatever the team; sum (C) scratch.
void add_partial_sums(float* x, float* sum, const float* parts, const float* bias, int rows, int C,
                      int G, size_t stride) {
    for (int i = 0; i < rows; ++i) {
        const size_t r = static_cast<size_t>(i) * C;
        std::memcpy(sum, parts + r, C * sizeof(float));
        for (int g = 1; g < G; ++g) k::accumulate(sum, parts + g * stride + r, C);
        if (bias) k::accumulate(sum, bias, C);
        k::accumulate(x + r, sum, C);
    }
}

}  // namespace

// Runs n new tokens through the model at positions len..len+n−1, attending to the cached keys
// and values of the earlier positions, and appends their keys and values to the cache. Leaves the
// logits after the last new token in cache_->logits.
//
// The rows run through the model on a team of threads (kernels/cpu.h), split by heads: a rank
// owns heads [h0, h1) and, in each layer,
//   - computes their q, k and v (its columns of c_attn), caches their keys and values and runs
//     their attention;
//   - multiplies its heads' outputs, the inputs of attn.c_proj it holds, by their rows of
//     c_proj's weight: a partial sum for every output column;
//   - computes its group of the MLP's hidden units (n_head groups of 4·head_size columns of c_fc,
//     then GELU) and their partial sums through mlp.c_proj the same way.
// After each of the two partial products the ranks meet at a barrier, and every rank adds all the
// partial sums, in head order, to its own copy of the residual stream x: the copies stay
// identical, and no rank waits for another before a layer norm. 2 barriers per layer. A rank
// reads the same slice of the weights token after token, so the slice stays in its core's L2 (the
// baby model's 3.1 MB of float weights overflow one core's 2 MB, and half of them fit), and the
// hidden units it computes are the ones it reads. The products run on the weights packed once for
// decoding (kernels/decode.h), for one row (a decoded token) and for the ~33 rows of a recompute
// after the window slides alike. Every output is computed with the same arithmetic whatever the
// team's size and the number of rows, so n rows at once give the same bits as one at a time.
void Gpt::cache_forward(const int* tokens, int n) {
    KvCache& c = *cache_;
    const int C = config_.n_embd, V = config_.vocab_size, NH = config_.n_head, hs = C / NH;
    const int T = config_.block_size, pos0 = c.len, gs = 4 * hs;  // gs: hidden units per group
    assert(n > 0 && pos0 + n <= T);
    const EmbeddingParams e = embeddings();
    for (int i = 0; i < n; ++i) {
        const int tok = tokens[i];
        WIGGLE_CHECK(tok >= 0 && tok < V, "", "token {} out of the vocabulary [0, {})", tok, V);
        c.tokens[pos0 + i] = tok;  // (tokens may be c.tokens itself: then this changes nothing)
    }
    const int threads = k::num_threads();
    c.reserve_ranks(threads);
    const size_t part_stride = static_cast<size_t>(T) * C;  // one head's (T,C) partial sums
    constexpr int kLine = 16;  // logit shares in whole cache lines: no line written by two ranks
    auto member = [&](const k::Team& team) {
        const KvCache::RankScratch s = c.rank_scratch(team.rank());
        const auto [h0, h1] = team.share(NH);  // heads, and groups of hidden units
        const auto [v0, v1] = team.share(V, kLine);
        const int q0 = h0 * hs, q1 = h1 * hs;  // channels of this rank's heads
        for (int i = 0; i < n; ++i) {          // x = wte[token] + wpe[position], this rank's copy
            const float* te = e.wte + static_cast<size_t>(c.tokens[pos0 + i]) * C;
            const float* pe = e.wpe + static_cast<size_t>(pos0 + i) * C;
            float* x = s.x + static_cast<size_t>(i) * C;
            for (int j = 0; j < C; ++j) x[j] = te[j] + pe[j];
        }
        for (int l = 0; l < config_.n_layer; ++l) {
            const LayerParams w = layer(l);
            const KvCache::PackedLayer& pw = c.packed[l];
            float* kt = c.kt + static_cast<size_t>(l) * C * T;  // (C,T) keys of this layer
            float* vc = c.v + static_cast<size_t>(l) * T * C;   // (T,C) values
            // Every row's key and value are cached, but only the last row's output is needed past
            // the last layer's keys and values: there the rows from r0 on are the last one.
            const int r0 = l + 1 < config_.n_layer ? 0 : n - 1, rows = n - r0;
            const size_t rC = static_cast<size_t>(r0) * C;
            // x = x + attn(ln_1(x)): q, k, v of this rank's heads (the same channels of each third
            // of c_attn's output), their keys and values into the cache, then their attention
            k::layernorm_forward(s.ln, s.mean, s.rstd, s.x, w.ln_1_weight, w.ln_1_bias, n, C);
            pw.c_attn.forward(c.qkv + 3 * rC, s.ln + rC, w.c_attn_bias, rows, C, 3 * C, q0, q1, 0,
                              C);
            for (int third = 1; third < 3; ++third) {
                pw.c_attn.forward(c.qkv, s.ln, w.c_attn_bias, n, C, 3 * C, third * C + q0,
                                  third * C + q1, 0, C);
            }
            for (int ch = q0; ch < q1; ++ch) {  // keys: rows of kt, written front to back
                float* key = kt + static_cast<size_t>(ch) * T + pos0;
                for (int i = 0; i < n; ++i) key[i] = c.qkv[static_cast<size_t>(i) * 3 * C + C + ch];
            }
            for (int i = 0; i < n; ++i) {
                std::memcpy(vc + static_cast<size_t>(pos0 + i) * C + q0,
                            c.qkv + static_cast<size_t>(i) * 3 * C + 2 * C + q0,
                            (q1 - q0) * sizeof(float));
            }
            for (int i = r0; i < n; ++i) {  // query pos0+i attends to positions 0..pos0+i
                k::attention_decode_forward(c.atty + static_cast<size_t>(i) * C, s.att,
                                            c.qkv + static_cast<size_t>(i) * 3 * C, kt, vc,
                                            pos0 + i + 1, NH, hs, T, h0, h1);
            }
            for (int h = h0; h < h1; ++h) {  // c_proj's partial sums over each head's channels
                pw.attn_proj.forward(c.attn_parts + h * part_stride + rC, c.atty + rC, nullptr,
                                     rows, C, C, 0, C, h * hs, (h + 1) * hs);
            }
            team.barrier();  // every head's partial sums
            add_partial_sums(s.x + rC, s.sum, c.attn_parts + rC, w.attn_proj_bias, rows, C, NH,
                             part_stride);
            // x = x + mlp(ln_2(x)): this rank's groups of hidden units, then their partial sums
            k::layernorm_forward(s.ln + rC, s.mean, s.rstd, s.x + rC, w.ln_2_weight, w.ln_2_bias,
                                 rows, C);
            pw.c_fc.forward(c.fch + 4 * rC, s.ln + rC, w.c_fc_bias, rows, C, 4 * C, h0 * gs,
                            h1 * gs, 0, C);
            for (int i = r0; i < n; ++i) {
                const size_t r = static_cast<size_t>(i) * 4 * C + h0 * gs;
                k::gelu_forward(c.fch_gelu + r, c.fch + r, (h1 - h0) * gs);
            }
            for (int g = h0; g < h1; ++g) {
                pw.mlp_proj.forward(c.mlp_parts + g * part_stride + rC, c.fch_gelu + 4 * rC,
                                    nullptr, rows, 4 * C, C, 0, C, g * gs, (g + 1) * gs);
            }
            team.barrier();  // every group's partial sums
            add_partial_sums(s.x + rC, s.sum, c.mlp_parts + rC, w.mlp_proj_bias, rows, C, NH,
                             part_stride);
        }
        // Only the last position's logits are needed for the next token.
        const float* x_last = s.x + static_cast<size_t>(n - 1) * C;
        k::layernorm_forward(s.ln, s.mean, s.rstd, x_last, e.ln_f_weight, e.ln_f_bias, 1, C);
        c.packed_lm_head.forward(c.logits, s.ln, nullptr, 1, C, V, v0, v1, 0, C);
    };
    k::parallel_team(threads, member);
    c.len = pos0 + n;
}

}  // namespace wiggle
