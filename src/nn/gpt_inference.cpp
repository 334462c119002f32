// KV-cache inference for the GPT: next-token logits by full recompute (nanoGPT's generate) or
// through the cache of keys and values (each decoded token costs O(context)).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "nn/gpt.h"
#include "nn/gpt_internal.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;
using gpt_detail::residual_forward;

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
    if (cache_) cache_->context.clear();
}

int Gpt::cache_length() const { return cache_ ? static_cast<int>(cache_->context.size()) : 0; }

void Gpt::set_cache_crop(int keep) {
    WIGGLE_CHECK(keep >= 1 && keep <= config_.block_size, "keep between 1 and block_size",
                 "cache crop {} out of range [1, {}]", keep, config_.block_size);
    cache_crop_ = keep;
}

std::span<const float> Gpt::cache_append(const int* tokens, int n) {
    WIGGLE_CHECK(n > 0 || cache_length() > 0, "give at least one token of context",
                 "empty context");
    if (!cache_) cache_ = std::make_unique<KvCache>(config_);
    if (n == 0) return {cache_->logits, static_cast<size_t>(config_.vocab_size)};
    const int block = config_.block_size;
    const int len = static_cast<int>(cache_->context.size());
    if (len + n <= block) {
        cache_forward(tokens, n);
    } else {
        // The window slides: every position changes, so recompute the cache for the last
        // block_size tokens of the context, as nanoGPT's generate does by cropping idx (or for
        // fewer, with set_cache_crop).
        const int keep = cache_crop_ > 0 ? cache_crop_ : block;
        std::vector<int> all = cache_->context;
        all.insert(all.end(), tokens, tokens + n);
        cache_->context.clear();
        cache_forward(all.data() + (all.size() - keep), keep);
    }
    return {cache_->logits, static_cast<size_t>(config_.vocab_size)};
}

// Runs n new tokens through the model at positions len..len+n−1, attending to the cached keys
// and values of the earlier positions, and appends their keys and values to the cache. Leaves the
// logits after the last new token in cache_->logits.
void Gpt::cache_forward(const int* tokens, int n) {
    KvCache& c = *cache_;
    const int C = config_.n_embd, V = config_.vocab_size, NH = config_.n_head, hs = C / NH;
    const int T = config_.block_size;
    const int pos0 = static_cast<int>(c.context.size());
    assert(pos0 + n <= T);
    const EmbeddingParams e = embeddings();
    for (int i = 0; i < n; ++i) {
        WIGGLE_CHECK(tokens[i] >= 0 && tokens[i] < V, "", "token {} out of the vocabulary [0, {})",
                     tokens[i], V);
        const float* te = e.wte + static_cast<size_t>(tokens[i]) * C;
        const float* pe = e.wpe + static_cast<size_t>(pos0 + i) * C;
        for (int j = 0; j < C; ++j) c.x[static_cast<size_t>(i) * C + j] = te[j] + pe[j];
    }
    const size_t nC = static_cast<size_t>(n) * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    for (int l = 0; l < config_.n_layer; ++l) {
        const LayerParams w = layer(l);
        float* kc = c.k + static_cast<size_t>(l) * T * C;  // (T,C) keys of this layer
        float* vc = c.v + static_cast<size_t>(l) * T * C;
        // x = x + attn(ln_1(x))
        k::layernorm_forward(c.ln, c.mean, c.rstd, c.x, w.ln_1_weight, w.ln_1_bias, n, C);
        k::matmul_forward(c.qkv, c.ln, w.c_attn_weight, w.c_attn_bias, n, C, 3 * C);
        for (int i = 0; i < n; ++i) {
            const float* row = c.qkv + static_cast<size_t>(i) * 3 * C;
            std::memcpy(kc + static_cast<size_t>(pos0 + i) * C, row + C, C * sizeof(float));
            std::memcpy(vc + static_cast<size_t>(pos0 + i) * C, row + 2 * C, C * sizeof(float));
        }
        for (int i = 0; i < n; ++i) {
            const int t = pos0 + i;  // this query attends to keys 0..t
            for (int h = 0; h < NH; ++h) {
                const float* q = c.qkv + static_cast<size_t>(i) * 3 * C + h * hs;
                float mx = -INFINITY;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const float* kk = kc + static_cast<size_t>(t2) * C + h * hs;
                    float s = 0.0f;
                    for (int d = 0; d < hs; ++d) s += q[d] * kk[d];
                    c.att[t2] = s * scale;
                    mx = std::max(mx, c.att[t2]);
                }
                float sum = 0.0f;
                for (int t2 = 0; t2 <= t; ++t2) {
                    c.att[t2] = std::exp(c.att[t2] - mx);
                    sum += c.att[t2];
                }
                float* o = c.atty + static_cast<size_t>(i) * C + h * hs;
                std::fill(o, o + hs, 0.0f);
                for (int t2 = 0; t2 <= t; ++t2) {
                    const float a = c.att[t2] / sum;
                    const float* vv = vc + static_cast<size_t>(t2) * C + h * hs;
                    for (int d = 0; d < hs; ++d) o[d] += a * vv[d];
                }
            }
        }
        k::matmul_forward(c.proj, c.atty, w.attn_proj_weight, w.attn_proj_bias, n, C, C);
        residual_forward(c.x, c.x, c.proj, nC);
        // x = x + mlp(ln_2(x))
        k::layernorm_forward(c.ln, c.mean, c.rstd, c.x, w.ln_2_weight, w.ln_2_bias, n, C);
        k::matmul_forward(c.fch, c.ln, w.c_fc_weight, w.c_fc_bias, n, C, 4 * C);
        k::gelu_forward(c.fch_gelu, c.fch, n * 4 * C);
        k::matmul_forward(c.proj, c.fch_gelu, w.mlp_proj_weight, w.mlp_proj_bias, n, 4 * C, C);
        residual_forward(c.x, c.x, c.proj, nC);
    }
    // Only the last position's logits are needed for the next token.
    const float* x_last = c.x + static_cast<size_t>(n - 1) * C;
    k::layernorm_forward(c.ln, c.mean, c.rstd, x_last, e.ln_f_weight, e.ln_f_bias, 1, C);
    k::matmul_forward(c.logits, c.ln, e.wte, nullptr, 1, C, V);
    c.context.insert(c.context.end(), tokens, tokens + n);
}

}  // namespace wiggle
