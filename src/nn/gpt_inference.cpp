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
#include "kernels/matmul.h"
#include "nn/gpt.h"
#include "nn/gpt_internal.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

// New rows up to this many go through the matrix-vector kernels (linear_rows_forward); more
// through the packed gemm, which wins once its packing is shared by enough rows (measured on the
// baby model: equal at 4 rows, the gemm 1.4× faster at 8).
constexpr int kDecodeRowsMax = 4;

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
    if (cache_) cache_->len = 0;
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
    if (!cache_) cache_ = std::make_unique<KvCache>(config_);
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

// Runs n new tokens through the model at positions len..len+n−1, attending to the cached keys
// and values of the earlier positions, and appends their keys and values to the cache. Leaves the
// logits after the last new token in cache_->logits. A few rows (decoding) go through the
// matrix-vector kernels, which read each weight once and pack nothing; many rows (the recompute
// after a slide) through the packed gemm.
void Gpt::cache_forward(const int* tokens, int n) {
    KvCache& c = *cache_;
    const int C = config_.n_embd, V = config_.vocab_size, NH = config_.n_head, hs = C / NH;
    const int T = config_.block_size;
    const int pos0 = c.len;
    assert(n > 0 && pos0 + n <= T);
    const EmbeddingParams e = embeddings();
    for (int i = 0; i < n; ++i) {
        const int tok = tokens[i];
        WIGGLE_CHECK(tok >= 0 && tok < V, "", "token {} out of the vocabulary [0, {})", tok, V);
        c.tokens[pos0 + i] = tok;  // (tokens may be c.tokens itself: then this changes nothing)
        const float* te = e.wte + static_cast<size_t>(tok) * C;
        const float* pe = e.wpe + static_cast<size_t>(pos0 + i) * C;
        float* x = c.x + static_cast<size_t>(i) * C;
        for (int j = 0; j < C; ++j) x[j] = te[j] + pe[j];
    }
    const bool few = n <= kDecodeRowsMax;
    auto linear = [few, n](float* out, const float* inp, const float* w, const float* b, int K,
                           int N) {
        if (few) {
            k::linear_rows_forward(out, inp, w, b, n, K, N);
        } else {
            k::matmul_forward(out, inp, w, b, n, K, N);
        }
    };
    const long nC = static_cast<long>(n) * C;
    for (int l = 0; l < config_.n_layer; ++l) {
        const LayerParams w = layer(l);
        float* kt = c.kt + static_cast<size_t>(l) * C * T;  // (C,T) keys of this layer
        float* vc = c.v + static_cast<size_t>(l) * T * C;   // (T,C) values
        // x = x + attn(ln_1(x))
        k::layernorm_forward(c.ln, c.mean, c.rstd, c.x, w.ln_1_weight, w.ln_1_bias, n, C);
        linear(c.qkv, c.ln, w.c_attn_weight, w.c_attn_bias, C, 3 * C);
        for (int i = 0; i < n; ++i) {
            const float* row = c.qkv + static_cast<size_t>(i) * 3 * C;
            const int t = pos0 + i;
            for (int ch = 0; ch < C; ++ch) kt[static_cast<size_t>(ch) * T + t] = row[C + ch];
            std::memcpy(vc + static_cast<size_t>(t) * C, row + 2 * C, C * sizeof(float));
        }
        for (int i = 0; i < n; ++i) {  // query pos0+i attends to positions 0..pos0+i
            k::attention_decode_forward(c.atty + static_cast<size_t>(i) * C, c.att,
                                        c.qkv + static_cast<size_t>(i) * 3 * C, kt, vc,
                                        pos0 + i + 1, NH, hs, T);
        }
        linear(c.proj, c.atty, w.attn_proj_weight, w.attn_proj_bias, C, C);
        k::accumulate(c.x, c.proj, nC);
        // x = x + mlp(ln_2(x))
        k::layernorm_forward(c.ln, c.mean, c.rstd, c.x, w.ln_2_weight, w.ln_2_bias, n, C);
        linear(c.fch, c.ln, w.c_fc_weight, w.c_fc_bias, C, 4 * C);
        k::gelu_forward(c.fch_gelu, c.fch, n * 4 * C);
        linear(c.proj, c.fch_gelu, w.mlp_proj_weight, w.mlp_proj_bias, 4 * C, C);
        k::accumulate(c.x, c.proj, nC);
    }
    // Only the last position's logits are needed for the next token.
    const float* x_last = c.x + static_cast<size_t>(n - 1) * C;
    k::layernorm_forward(c.ln, c.mean, c.rstd, x_last, e.ln_f_weight, e.ln_f_bias, 1, C);
    k::linear_rows_forward(c.logits, c.ln, e.wte, nullptr, 1, C, V);
    c.len = pos0 + n;
}

}  // namespace wiggle
