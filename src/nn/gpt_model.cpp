// The GPT's forward and backward on the kernels (gpt_model.h). The forward reads like nanoGPT's
// GPT.forward with its Block.forward inlined; the backward is llm.c's gpt2_backward: the same
// steps in reverse order, each differentiating the forward line it quotes.
#include "nn/gpt_model.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "kernels/attention.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

namespace {

// A distinct mask seed per site of the network: 0 the embeddings, then for block l 1 + 3l the
// attention probabilities, 2 + 3l and 3 + 3l its two residual branches.
uint64_t site_seed(const Dropout& d, int site) {
    uint64_t z = d.seed ^ (static_cast<uint64_t>(site) << 48);  // SplitMix64's finalizer
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

Dropout DropoutStream::forward(uint64_t n) const {
    if (p == 0.0f) return {};
    return {p, (run_seed ^ 0xD1B54A32D192ED03ull) ^ (n * 0x9E3779B97F4A7C15ull)};
}

// ---- Activations -------------------------------------------------------------------------------

size_t GptActivations::layout(const GptConfig& cfg, int B_, int T_, float* base) {
    const size_t BT = static_cast<size_t>(B_) * T_, C = cfg.n_embd, V = cfg.vocab_size;
    size_t off = 0;
    auto take = [&](float*& p, size_t n) {  // each buffer on its own cache lines
        p = base ? base + off : nullptr;
        off += round_up_to_line(n * sizeof(float)) / sizeof(float);
    };
    take(encoded, BT * C);
    layers.resize(cfg.n_layer);
    for (Layer& l : layers) {
        take(l.ln1, BT * C);
        take(l.ln1_mean, BT);
        take(l.ln1_rstd, BT);
        take(l.qkv, BT * 3 * C);
        take(l.atty, BT * C);
        take(l.lse, BT * cfg.n_head);
        take(l.res2, BT * C);
        take(l.ln2, BT * C);
        take(l.ln2_mean, BT);
        take(l.ln2_rstd, BT);
        take(l.fch, BT * 4 * C);
        take(l.fch_gelu, BT * 4 * C);
        take(l.res3, BT * C);
    }
    take(lnf, BT * C);
    take(lnf_mean, BT);
    take(lnf_rstd, BT);
    take(logits, BT * V);
    take(losses, BT);
    take(proj, BT * C);
    take(dres, BT * C);
    take(dbtc, BT * C);
    take(dbtc2, BT * C);
    take(dqkv, BT * 3 * C);
    take(dbt4c, BT * 4 * C);
    take(dbt4c2, BT * 4 * C);
    take(dlogits, BT * V);
    take(dlosses, BT);
    return off;
}

size_t GptActivations::bytes_for(const GptConfig& config, int B, int T) {
    GptActivations probe;
    return probe.layout(config, B, T, nullptr) * sizeof(float);
}

void GptActivations::plan(const GptConfig& config, int B_, int T_) {
    if (B == B_ && T == T_ && memory_) return;
    const size_t need = layout(config, B_, T_, nullptr);
    if (need > capacity_) {
        memory_ = aligned_zeros<float>(need, "the activations");
        capacity_ = need;
    }
    layout(config, B_, T_, memory_.get());
    B = B_;
    T = T_;
}

std::span<const float> GptActivations::last_logits(int V) const {
    return {logits, static_cast<size_t>(B) * T * V};
}

// ---- Forward -----------------------------------------------------------------------------------

float gpt_forward(GptActivations& a, const GptWeights& w, const int* tokens, const int* targets,
                  int B, int T, Dropout dropout) {
    const GptConfig& cfg = w.config();
    WIGGLE_CHECK(B > 0 && T > 0, "", "batch {} and time {} must be positive", B, T);
    WIGGLE_CHECK(T <= cfg.block_size, "crop the context to block_size",
                 "sequence length {} exceeds block_size {}", T, cfg.block_size);
    const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head, L = cfg.n_layer;
    const int BT = B * T;
    for (int i = 0; i < BT; ++i) {
        WIGGLE_CHECK(tokens[i] >= 0 && tokens[i] < V, "", "token {} out of the vocabulary [0, {})",
                     tokens[i], V);
        if (targets) {
            WIGGLE_CHECK(targets[i] >= -1 && targets[i] < V, "", "target {} out of range [-1, {})",
                         targets[i], V);
        }
    }
    a.plan(cfg, B, T);
    a.tokens.assign(tokens, tokens + BT);
    a.has_targets = targets != nullptr;
    if (targets) a.targets.assign(targets, targets + BT);
    a.dropout = dropout;
    const float p = dropout.p;
    const int BTC = BT * C;

    // x = drop(wte(idx) + wpe(pos))
    const EmbeddingView<const float> e = w.embedding();
    k::encoder_forward(a.encoded, tokens, e.wte, e.wpe, B, T, C);
    if (p > 0.0f) k::dropout_forward(a.encoded, a.encoded, p, site_seed(dropout, 0), BTC);

    // for block in self.transformer.h: x = block(x), where Block.forward is
    //   x = x + attn(ln_1(x))
    //   x = x + mlp(ln_2(x))
    // Each skip connection is fused with the layer norm that reads its sum (kernels/layernorm.h's
    // residual_layernorm_forward: one pass instead of an add and a norm): the first line's add
    // with ln_2, the second's with the next block's ln_1, or ln_f after the last block. So ln_1(x)
    // of block 0 is computed here, and that of block l + 1 by block l.
    const float* x = a.encoded;  // the residual stream
    {
        const BlockView<const float> b0 = w.block(0);
        GptActivations::Layer& s0 = a.layers[0];
        k::layernorm_forward(s0.ln1, s0.ln1_mean, s0.ln1_rstd, x, b0.ln_1_weight, b0.ln_1_bias, BT,
                             C);
    }
    for (int l = 0; l < L; ++l) {
        const BlockView<const float> b = w.block(l);
        GptActivations::Layer& s = a.layers[l];
        // attn(ln_1(x)) = drop(c_proj(attention(c_attn(ln_1(x)))))
        k::matmul_forward(s.qkv, s.ln1, b.c_attn_weight, b.c_attn_bias, BT, C, 3 * C);
        k::attention_forward(s.atty, s.lse, s.qkv, B, T, C, NH, p, site_seed(dropout, 1 + 3 * l));
        k::matmul_forward(a.proj, s.atty, b.attn_proj_weight, b.attn_proj_bias, BT, C, C);
        if (p > 0.0f) k::dropout_forward(a.proj, a.proj, p, site_seed(dropout, 2 + 3 * l), BTC);
        // x = x + attn(ln_1(x)), then ln_2(x)
        k::residual_layernorm_forward(s.res2, s.ln2, s.ln2_mean, s.ln2_rstd, x, a.proj,
                                      b.ln_2_weight, b.ln_2_bias, BT, C);
        // mlp(ln_2(x)) = drop(c_proj(gelu(c_fc(ln_2(x)))))
        k::matmul_forward(s.fch, s.ln2, b.c_fc_weight, b.c_fc_bias, BT, C, 4 * C);
        k::gelu_forward(s.fch_gelu, s.fch, BT * 4 * C, cfg.gelu);
        k::matmul_forward(a.proj, s.fch_gelu, b.mlp_proj_weight, b.mlp_proj_bias, BT, 4 * C, C);
        if (p > 0.0f) k::dropout_forward(a.proj, a.proj, p, site_seed(dropout, 3 + 3 * l), BTC);
        // x = x + mlp(ln_2(x)), then the next block's ln_1(x), or ln_f(x) after the last block
        if (l + 1 < L) {
            const BlockView<const float> next = w.block(l + 1);
            GptActivations::Layer& sn = a.layers[l + 1];
            k::residual_layernorm_forward(s.res3, sn.ln1, sn.ln1_mean, sn.ln1_rstd, s.res2, a.proj,
                                          next.ln_1_weight, next.ln_1_bias, BT, C);
        } else {
            k::residual_layernorm_forward(s.res3, a.lnf, a.lnf_mean, a.lnf_rstd, s.res2, a.proj,
                                          e.ln_f_weight, e.ln_f_bias, BT, C);
        }
        x = s.res3;
    }
    // logits = lm_head(ln_f(x)), lm_head tied to wte
    k::matmul_forward(a.logits, a.lnf, e.wte, nullptr, BT, C, V);

    if (!targets) return std::numeric_limits<float>::quiet_NaN();
    // loss = F.cross_entropy(logits, targets, ignore_index=-1): the mean over the counted
    // targets, summed in order in double (the same whatever the thread count)
    k::crossentropy_forward(a.losses, a.logits, targets, BT, V);
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < BT; ++i) {
        if (targets[i] >= 0) {
            sum += a.losses[i];
            ++n;
        }
    }
    a.num_targets = n;
    return n > 0 ? static_cast<float>(sum / n) : 0.0f;
}

std::span<const float> gpt_next_logits(GptActivations& a, const GptWeights& w, const int* tokens,
                                       int n) {
    WIGGLE_CHECK(n > 0, "give at least one token of context", "empty context");
    const int T = std::min(n, w.config().block_size), V = w.config().vocab_size;
    gpt_forward(a, w, tokens + (n - T), nullptr, 1, T);
    return a.last_logits(V).subspan(static_cast<size_t>(T - 1) * V, V);
}

// ---- Backward ----------------------------------------------------------------------------------

void gpt_backward(const GptGrads& g, const GptWeights& w, GptActivations& a, float dloss) {
    WIGGLE_CHECK(a.B > 0 && a.has_targets, "call gpt_forward with targets first",
                 "backward without a forward that computed a loss");
    const GptConfig& cfg = w.config();
    const int B = a.B, T = a.T, BT = B * T;
    const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head;
    const long BTC = static_cast<long>(BT) * C;
    const float p = a.dropout.p;
    // The gradient through a dropout site: mask·dout/(1−p) into scratch (zeroed: dropout_backward
    // accumulates), or dout itself when dropout is off.
    auto through_dropout = [&](const float* dout, float* scratch, int site) -> const float* {
        if (p == 0.0f) return dout;
        k::zero(scratch, BTC);
        k::dropout_backward(scratch, dout, p, site_seed(a.dropout, site), static_cast<int>(BTC));
        return scratch;
    };
    const EmbeddingView<const float> e = w.embedding();
    const EmbeddingView<float> de = g.embedding();

    // loss = mean over the counted targets of losses:  dlosses[i] = dloss/n
    const float dmean = a.num_targets > 0 ? dloss / static_cast<float>(a.num_targets) : 0.0f;
    for (int i = 0; i < BT; ++i) a.dlosses[i] = a.targets[i] >= 0 ? dmean : 0.0f;
    // losses = cross_entropy(logits, targets)
    k::zero(a.dlogits, static_cast<long>(BT) * V);
    k::crossentropy_backward(a.dlogits, a.logits, a.targets.data(), a.dlosses, BT, V);
    // logits = lnf · wteᵀ
    k::zero(a.dbtc, BTC);
    k::matmul_backward(a.dbtc, de.wte, nullptr, a.dlogits, a.lnf, e.wte, BT, C, V);
    // lnf = ln_f(x)
    k::zero(a.dres, BTC);
    const float* x_last = a.layers.back().res3;
    k::layernorm_backward(a.dres, de.ln_f_weight, de.ln_f_bias, a.dbtc, x_last, e.ln_f_weight,
                          a.lnf_mean, a.lnf_rstd, BT, C);

    // a.dres holds the gradient of the residual stream; each block, top down, adds to it what
    // flows back through its two branches (the skip connections pass it on unchanged).
    for (int l = cfg.n_layer - 1; l >= 0; --l) {
        const BlockView<const float> b = w.block(l);
        const BlockView<float> db = g.block(l);
        const GptActivations::Layer& s = a.layers[l];
        const float* x = l == 0 ? a.encoded : a.layers[l - 1].res3;

        // res3 = res2 + drop(mlp_proj(gelu(c_fc(ln_2(res2)))))
        const float* dproj = through_dropout(a.dres, a.dbtc2, 3 + 3 * l);
        k::zero(a.dbt4c, 4 * BTC);
        k::matmul_backward(a.dbt4c, db.mlp_proj_weight, db.mlp_proj_bias, dproj, s.fch_gelu,
                           b.mlp_proj_weight, BT, 4 * C, C);
        k::zero(a.dbt4c2, 4 * BTC);
        k::gelu_backward(a.dbt4c2, s.fch, a.dbt4c, BT * 4 * C, cfg.gelu);
        k::zero(a.dbtc, BTC);
        k::matmul_backward(a.dbtc, db.c_fc_weight, db.c_fc_bias, a.dbt4c2, s.ln2, b.c_fc_weight, BT,
                           C, 4 * C);
        k::layernorm_backward(a.dres, db.ln_2_weight, db.ln_2_bias, a.dbtc, s.res2, b.ln_2_weight,
                              s.ln2_mean, s.ln2_rstd, BT, C);

        // res2 = x + drop(attn_proj(attention(c_attn(ln_1(x)))))
        dproj = through_dropout(a.dres, a.dbtc2, 2 + 3 * l);
        k::zero(a.dbtc, BTC);
        k::matmul_backward(a.dbtc, db.attn_proj_weight, db.attn_proj_bias, dproj, s.atty,
                           b.attn_proj_weight, BT, C, C);
        k::zero(a.dqkv, 3 * BTC);
        k::attention_backward(a.dqkv, a.dbtc, s.qkv, s.atty, s.lse, B, T, C, NH, p,
                              site_seed(a.dropout, 1 + 3 * l));
        k::zero(a.dbtc, BTC);
        k::matmul_backward(a.dbtc, db.c_attn_weight, db.c_attn_bias, a.dqkv, s.ln1, b.c_attn_weight,
                           BT, C, 3 * C);
        k::layernorm_backward(a.dres, db.ln_1_weight, db.ln_1_bias, a.dbtc, x, b.ln_1_weight,
                              s.ln1_mean, s.ln1_rstd, BT, C);
    }
    // encoded = drop(wte[tokens] + wpe[t])
    const float* dencoded = through_dropout(a.dres, a.dbtc2, 0);
    k::encoder_backward(de.wte, de.wpe, dencoded, a.tokens.data(), B, T, C, V);
}

}  // namespace wiggle
