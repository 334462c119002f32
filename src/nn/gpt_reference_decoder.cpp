// The reference decoder (gpt_reference_decoder.h). Legend: C = n_embd, T = block_size,
// NH = n_head, hs = C/NH head size, V = vocab_size. reference: llama2.c run.c forward().
#include "nn/gpt_reference_decoder.h"

#include <cmath>

#include "kernels/decode.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "nn/gpt_decoder.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

namespace {

// out (C) = layernorm(x) · weight + bias, one row (kernels/layernorm.h's definition)
void layernorm(float* out, const float* x, const float* weight, const float* bias, int C) {
    float mean, rstd;
    k::layernorm_forward_naive(out, &mean, &rstd, x, weight, bias, 1, C);
}

}  // namespace

// torch.nn.Linear on one row, or its int8 form
void GptReferenceDecoder::linear(float* out, const float* x, const float* weight, const float* bias,
                                 int K, int N) {
    if (group_ == 0) return k::linear_forward_naive(out, x, weight, bias, 1, K, N);
    const Int8Matrix& m = int8_.at(weight);
    k::linear_q8_forward_naive(out, x, m.q.data(), m.scale.data(), bias, 1, K, N, group_);
}

GptReferenceDecoder::GptReferenceDecoder(const GptWeights& weights, bool int8) : w_(weights) {
    const GptConfig& c = w_.config();
    const size_t C = c.n_embd, T = c.block_size;
    if (int8) {  // every weight matrix quantized row by row
        group_ = int8_group_size(c);
        auto quantize = [&](const float* weight, size_t K, size_t N) {
            Int8Matrix& m = int8_[weight];
            m.q.resize(N * K), m.scale.resize(N * K / group_);
            for (size_t n = 0; n < N; ++n) {
                k::quantize_q8(m.q.data() + n * K, m.scale.data() + n * K / group_, weight + n * K,
                               static_cast<int>(K), group_);
            }
        };
        for (int l = 0; l < c.n_layer; ++l) {
            const BlockView<const float> b = w_.block(l);
            quantize(b.c_attn_weight, C, 3 * C);
            quantize(b.attn_proj_weight, C, C);
            quantize(b.c_fc_weight, C, 4 * C);
            quantize(b.mlp_proj_weight, 4 * C, C);
        }
        quantize(w_.embedding().wte, C, c.vocab_size);
    }
    x_.resize(C), xb_.resize(C), qkv_.resize(3 * C), att_.resize(T), y_.resize(C);
    hb_.resize(4 * C), hb2_.resize(4 * C), logits_.resize(c.vocab_size);
    key_cache_.resize(c.n_layer * T * C), value_cache_.resize(c.n_layer * T * C);
}

std::span<const float> GptReferenceDecoder::forward(int token, int pos) {
    const GptConfig& c = w_.config();
    const int C = c.n_embd, NH = c.n_head, hs = C / NH, T = c.block_size, V = c.vocab_size;
    WIGGLE_CHECK(token >= 0 && token < V, "", "token {} out of the vocabulary [0, {})", token, V);
    WIGGLE_CHECK(pos >= 0 && pos < T, "", "position {} out of the block [0, {})", pos, T);
    const EmbeddingView<const float> e = w_.embedding();
    float* x = x_.data();

    // x = wte[token] + wpe[pos]: what the token is, and where it is (int8: wte's row dequantized)
    for (int i = 0; i < C; ++i) x[i] = e.wte[token * C + i] + e.wpe[pos * C + i];
    if (group_ > 0) {
        const Int8Matrix& wte = int8_.at(e.wte);
        for (int i = 0; i < C; ++i) {
            x[i] = wte.q[token * C + i] * wte.scale[(token * C + i) / group_] + e.wpe[pos * C + i];
        }
    }

    for (int l = 0; l < c.n_layer; ++l) {
        const BlockView<const float> b = w_.block(l);
        // ---- x = x + attn(ln_1(x)) ----
        layernorm(xb_.data(), x, b.ln_1_weight, b.ln_1_bias, C);
        linear(qkv_.data(), xb_.data(), b.c_attn_weight, b.c_attn_bias, C, 3 * C);  // q | k | v
        const float* q = qkv_.data();
        // this position's key and value join the cache of the positions before it
        float* keys = key_cache_.data() + static_cast<size_t>(l) * T * C;  // (T,C) of layer l
        float* values = value_cache_.data() + static_cast<size_t>(l) * T * C;
        auto cached = [&](float x) {  // int8: as the bf16 the fast decoder's cache holds
            return group_ ? kernels::to_float(kernels::to_bf16(x)) : x;
        };
        for (int i = 0; i < C; ++i) {
            keys[pos * C + i] = cached(qkv_[C + i]);
            values[pos * C + i] = cached(qkv_[2 * C + i]);
        }
        // each head: softmax over positions 0..pos of q·k/√hs (the causal mask: nothing after
        // pos is cached yet), then the values weighted by it
        for (int h = 0; h < NH; ++h) {
            const float* qh = q + h * hs;
            float max = -INFINITY;
            for (int t = 0; t <= pos; ++t) {
                const float* kh = keys + t * C + h * hs;
                float score = 0.0f;
                for (int i = 0; i < hs; ++i) score += qh[i] * kh[i];
                att_[t] = score / std::sqrt(static_cast<float>(hs));
                max = std::fmax(max, att_[t]);
            }
            float sum = 0.0f;
            for (int t = 0; t <= pos; ++t) {
                att_[t] = std::exp(att_[t] - max);
                sum += att_[t];
            }
            float* yh = y_.data() + h * hs;  // the heads' outputs side by side
            for (int i = 0; i < hs; ++i) yh[i] = 0.0f;
            for (int t = 0; t <= pos; ++t) {
                const float a = att_[t] / sum;
                const float* vh = values + t * C + h * hs;
                for (int i = 0; i < hs; ++i) yh[i] += a * vh[i];
            }
        }
        linear(xb_.data(), y_.data(), b.attn_proj_weight, b.attn_proj_bias, C, C);  // attn.c_proj
        for (int i = 0; i < C; ++i) x[i] += xb_[i];  // the residual connection

        // ---- x = x + mlp(ln_2(x)) ----
        layernorm(xb_.data(), x, b.ln_2_weight, b.ln_2_bias, C);
        linear(hb_.data(), xb_.data(), b.c_fc_weight, b.c_fc_bias, C, 4 * C);
        k::gelu_forward_naive(hb2_.data(), hb_.data(), 4 * C, c.gelu);
        linear(xb_.data(), hb2_.data(), b.mlp_proj_weight, b.mlp_proj_bias, 4 * C, C);
        for (int i = 0; i < C; ++i) x[i] += xb_[i];
    }

    // logits = lm_head(ln_f(x)), lm_head tied to wte
    layernorm(xb_.data(), x, e.ln_f_weight, e.ln_f_bias, C);
    linear(logits_.data(), xb_.data(), e.wte, nullptr, C, V);
    return logits_;
}

}  // namespace wiggle
