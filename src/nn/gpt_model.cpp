// The GPT's forward and backward on the kernels (gpt_model.h). The forward reads like nanoGPT's
// GPT.forward with its Block.forward inlined; the backward is llm.c's gpt2_backward: the same
// steps in reverse order, each differentiating the forward line it quotes.
#include "nn/gpt_model.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "kernels/attention.h"
#include "kernels/bf16.h"
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
// The matmuls of one forward and its backward, in the activations' precision: in float on the
// float operands, or (Bf16) on the bf16 copies: the weights' from the forward's copy, the
// inputs' given, and the output gradients' rounded into dout16 by the backward.
struct MixedLinear {
    GptActivations& a;
    const GptWeights& w;
    int BT;  // the rows

    bool half() const { return a.precision == Precision::Bf16; }
    // the bf16 copy of a weight tensor: the same offset in the flat copy
    const kernels::bf16* w16(const float* weight) const {
        return a.weights16() + (weight - w.params().values().data());
    }
    // out (BT,N) = inp (BT,K) · weight (N,K)ᵀ + bias (N)
    void forward(float* out, const float* inp, const kernels::bf16* inp16, const float* weight,
                 const float* bias, int K, int N) const {
        if (half()) {
            k::matmul_forward_bf16(out, inp16, w16(weight), bias, BT, K, N);
        } else {
            k::matmul_forward(out, inp, weight, bias, BT, K, N);
        }
    }
    // out16 (BT,N) = to_bf16(inp16 · weightᵀ + bias), Bf16 only: for outputs that only bf16
    // kernels read, rounded as the gemm stores them (scratch: partial sums of a deep K)
    void forward16(kernels::bf16* out16, float* scratch, const kernels::bf16* inp16,
                   const float* weight, const float* bias, int K, int N) const {
        k::matmul_forward_bf16(out16, scratch, inp16, w16(weight), bias, BT, K, N);
    }
    // dinp (BT,K) = dout · weight (a scratch gradient, set: k::GradInput); dweight (N,K) +=
    // doutᵀ · inp; dbias (N) += Σ dout
    void backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                  const kernels::bf16* inp16, const float* weight, int K, int N) const {
        if (half()) {
            k::matmul_backward_bf16(dinp, dweight, dbias, a.dout16, dout, inp16, w16(weight), BT, K,
                                    N, k::GradInput::Set);
        } else {
            k::matmul_backward(dinp, dweight, dbias, dout, inp, weight, BT, K, N,
                               k::GradInput::Set);
        }
    }
    // The same, Bf16 only and without a bias, from an output gradient already rounded (dout16)
    void backward16(float* dinp, float* dweight, const kernels::bf16* dout16,
                    const kernels::bf16* inp16, const float* weight, int K, int N) const {
        assert(half());
        k::matmul_backward_bf16(dinp, dweight, dout16, inp16, w16(weight), BT, K, N,
                                k::GradInput::Set);
    }
};

// The layer norms whose outputs only the matmuls read (ln_1, ln_2, ln_f): in float, or (Bf16)
// rounded straight into the bf16 copy the matmuls read.
struct MixedNorm {
    bool half;
    int BT, C;
    // out = ln(x)
    void forward(float* out, kernels::bf16* out16, float* mean, float* rstd, const float* x,
                 const float* weight, const float* bias) const {
        if (half) {
            k::layernorm_forward(out16, mean, rstd, x, weight, bias, BT, C);
        } else {
            k::layernorm_forward(out, mean, rstd, x, weight, bias, BT, C);
        }
    }
    // res = x + branch, then out = ln(res)
    void residual(float* res, float* out, kernels::bf16* out16, float* mean, float* rstd,
                  const float* x, const float* branch, const float* weight,
                  const float* bias) const {
        if (half) {
            k::residual_layernorm_forward(res, out16, mean, rstd, x, branch, weight, bias, BT, C);
        } else {
            k::residual_layernorm_forward(res, out, mean, rstd, x, branch, weight, bias, BT, C);
        }
    }
};

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

size_t GptActivations::layout(const GptConfig& cfg, int B_, int T_, Precision precision,
                              float* base) {
    const size_t BT = static_cast<size_t>(B_) * T_, C = cfg.n_embd, V = cfg.vocab_size;
    const bool half = precision == Precision::Bf16;
    size_t off = 0;
    auto take = [&](float*& p, size_t n) {  // each buffer on its own cache lines
        p = base ? base + off : nullptr;
        off += round_up_to_line(n * sizeof(float)) / sizeof(float);
    };
    auto take16 = [&](bf16*& p, size_t n) {  // n bf16, Bf16 only
        p = base && half ? reinterpret_cast<bf16*>(base + off) : nullptr;
        if (half) off += round_up_to_line(n * sizeof(bf16)) / sizeof(float);
    };
    // a float buffer that Bf16 does not keep (it points to a shared one, set below), or Bf16's
    // alone
    auto fp32_only = [&](float*& p, size_t n) {
        if (half) {
            p = nullptr;
        } else {
            take(p, n);
        }
    };
    take(encoded, BT * C);
    layers.resize(cfg.n_layer);
    for (Layer& l : layers) {
        fp32_only(l.ln1, BT * C);
        take16(l.ln1_16, BT * C);
        take(l.ln1_mean, BT);
        take(l.ln1_rstd, BT);
        fp32_only(l.qkv, BT * 3 * C);
        take16(l.qkv16, BT * 3 * C);
        fp32_only(l.atty, BT * C);
        take16(l.atty16, BT * C);
        take(l.lse, BT * cfg.n_head);
        take(l.res2, BT * C);
        fp32_only(l.ln2, BT * C);
        take16(l.ln2_16, BT * C);
        take(l.ln2_mean, BT);
        take(l.ln2_rstd, BT);
        fp32_only(l.fch, BT * 4 * C);
        take16(l.fch16, BT * 4 * C);
        fp32_only(l.fch_gelu, BT * 4 * C);
        take(l.res3, BT * C);
    }
    fp32_only(lnf, BT * C);
    take16(lnf16, BT * C);
    take(lnf_mean, BT);
    take(lnf_rstd, BT);
    take(logits, BT * V);
    take(losses, BT);
    take(dres, BT * C);
    take(dbtc, BT * C);
    take(dbtc2, BT * C);
    take(dbt4c, BT * 4 * C);
    take(dbt4c2, BT * 4 * C);
    take(dlogits, BT * V);
    take(dlosses, BT);
    take16(in16, BT * 4 * C);
    take16(dout16, BT * std::max(4 * C, V));
    proj = dbtc;    // a forward's; dbtc is backward's
    dqkv = dbt4c2;  // attention's backward, after c_fc's is done with dbt4c2
    if (half) {
        for (Layer& l : layers) {
            l.ln1 = l.ln2 = nullptr;  // the layer norms write their bf16 copies alone
            l.atty = dbtc2;
            l.qkv = l.fch = dbt4c;  // scratch: the gemm rounds them into their bf16 copies
            l.fch_gelu = nullptr;   // the GELU writes bf16 into in16
        }
        lnf = nullptr;
    }
    return off;
}

size_t GptActivations::bytes_for(const GptConfig& config, int B, int T, Precision precision) {
    GptActivations probe;
    return probe.layout(config, B, T, precision, nullptr) * sizeof(float);
}

void GptActivations::plan(const GptConfig& config, int B_, int T_) {
    if (B == B_ && T == T_ && planned_ == precision && memory_) return;
    const size_t need = layout(config, B_, T_, precision, nullptr);
    if (need > capacity_) {
        memory_ = aligned_zeros<float>(need, "the activations");
        capacity_ = need;
    }
    layout(config, B_, T_, precision, memory_.get());
    B = B_;
    T = T_;
    planned_ = precision;
}

void GptActivations::copy_weights_to_bf16(const GptWeights& weights) {
    const std::span<const float> w = weights.params().values();
    if (weights16_size_ < w.size()) {
        weights16_ = aligned_zeros<bf16>(w.size(), "the weights' bf16 copy");
        weights16_size_ = w.size();
    }
    k::to_bf16(weights16_.get(), w.data(), static_cast<long>(w.size()));
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
    const bool half = a.precision == Precision::Bf16;
    if (half) a.copy_weights_to_bf16(w);
    const MixedLinear linear{a, w, BT};
    const MixedNorm norm{half, BT, C};
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
        norm.forward(s0.ln1, s0.ln1_16, s0.ln1_mean, s0.ln1_rstd, x, b0.ln_1_weight, b0.ln_1_bias);
    }
    for (int l = 0; l < L; ++l) {
        const BlockView<const float> b = w.block(l);
        GptActivations::Layer& s = a.layers[l];
        // attn(ln_1(x)) = drop(c_proj(attention(c_attn(ln_1(x)))))
        if (half) {
            linear.forward16(s.qkv16, s.qkv, s.ln1_16, b.c_attn_weight, b.c_attn_bias, C, 3 * C);
            k::attention_forward_bf16(s.atty, s.lse, s.qkv16, B, T, C, NH, p,
                                      site_seed(dropout, 1 + 3 * l));
        } else {
            linear.forward(s.qkv, s.ln1, s.ln1_16, b.c_attn_weight, b.c_attn_bias, C, 3 * C);
            k::attention_forward(s.atty, s.lse, s.qkv, B, T, C, NH, p,
                                 site_seed(dropout, 1 + 3 * l));
        }
        if (half) k::to_bf16(s.atty16, s.atty, BTC);
        linear.forward(a.proj, s.atty, s.atty16, b.attn_proj_weight, b.attn_proj_bias, C, C);
        if (p > 0.0f) k::dropout_forward(a.proj, a.proj, p, site_seed(dropout, 2 + 3 * l), BTC);
        // x = x + attn(ln_1(x)), then ln_2(x)
        norm.residual(s.res2, s.ln2, s.ln2_16, s.ln2_mean, s.ln2_rstd, x, a.proj, b.ln_2_weight,
                      b.ln_2_bias);
        // mlp(ln_2(x)) = drop(c_proj(gelu(c_fc(ln_2(x)))))
        if (half) {  // kept in bf16; the GELU reads the rounded values, as backward will
            linear.forward16(s.fch16, s.fch, s.ln2_16, b.c_fc_weight, b.c_fc_bias, C, 4 * C);
            k::gelu_forward(a.in16, s.fch16, BT * 4 * C, cfg.gelu);
        } else {
            linear.forward(s.fch, s.ln2, s.ln2_16, b.c_fc_weight, b.c_fc_bias, C, 4 * C);
            k::gelu_forward(s.fch_gelu, s.fch, BT * 4 * C, cfg.gelu);
        }
        linear.forward(a.proj, s.fch_gelu, a.in16, b.mlp_proj_weight, b.mlp_proj_bias, 4 * C, C);
        if (p > 0.0f) k::dropout_forward(a.proj, a.proj, p, site_seed(dropout, 3 + 3 * l), BTC);
        // x = x + mlp(ln_2(x)), then the next block's ln_1(x), or ln_f(x) after the last block
        if (l + 1 < L) {
            const BlockView<const float> next = w.block(l + 1);
            GptActivations::Layer& sn = a.layers[l + 1];
            norm.residual(s.res3, sn.ln1, sn.ln1_16, sn.ln1_mean, sn.ln1_rstd, s.res2, a.proj,
                          next.ln_1_weight, next.ln_1_bias);
        } else {
            norm.residual(s.res3, a.lnf, a.lnf16, a.lnf_mean, a.lnf_rstd, s.res2, a.proj,
                          e.ln_f_weight, e.ln_f_bias);
        }
        x = s.res3;
    }
    // logits = lm_head(ln_f(x)), lm_head tied to wte
    linear.forward(a.logits, a.lnf, a.lnf16, e.wte, nullptr, C, V);

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
    // The gradient through a dropout site: mask·dout/(1−p) set into scratch, or dout itself when
    // dropout is off.
    auto through_dropout = [&](const float* dout, float* scratch, int site) -> const float* {
        if (p == 0.0f) return dout;
        k::dropout_backward(scratch, dout, p, site_seed(a.dropout, site), static_cast<int>(BTC),
                            k::GradInput::Set);
        return scratch;
    };
    const EmbeddingView<const float> e = w.embedding();
    const EmbeddingView<float> de = g.embedding();
    const bool half = a.precision == Precision::Bf16;
    const MixedLinear linear{a, w, BT};

    // loss = mean over the counted targets of losses:  dlosses[i] = dloss/n
    const float dmean = a.num_targets > 0 ? dloss / static_cast<float>(a.num_targets) : 0.0f;
    for (int i = 0; i < BT; ++i) a.dlosses[i] = a.targets[i] >= 0 ? dmean : 0.0f;
    // losses = cross_entropy(logits, targets)
    k::zero(a.dlogits, static_cast<long>(BT) * V);
    k::crossentropy_backward(a.dlogits, a.logits, a.targets.data(), a.dlosses, BT, V);
    // logits = lnf · wteᵀ
    linear.backward(a.dbtc, de.wte, nullptr, a.dlogits, a.lnf, a.lnf16, e.wte, C, V);
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
        // the GELU's output recomputed from fch's bf16 copy (as llm.c does); dbt4c and dbt4c2
        // are scratch gradients, set (k::GradInput), as dbtc below
        if (half) k::gelu_forward(a.in16, s.fch16, BT * 4 * C, cfg.gelu);
        linear.backward(a.dbt4c, db.mlp_proj_weight, db.mlp_proj_bias, dproj, s.fch_gelu, a.in16,
                        b.mlp_proj_weight, 4 * C, C);
        if (half && !db.c_fc_bias) {
            // no bias to sum in float: the GELU's gradient goes straight into the bf16 copy that
            // c_fc's products read (the same bits as rounding a float one, without writing it)
            k::gelu_backward(a.dout16, s.fch16, a.dbt4c, BT * 4 * C, cfg.gelu);
            linear.backward16(a.dbtc, db.c_fc_weight, a.dout16, s.ln2_16, b.c_fc_weight, C, 4 * C);
        } else {  // a float gradient: the float products', or for the bias's float sum
            if (half) {
                k::gelu_backward(a.dbt4c2, s.fch16, a.dbt4c, BT * 4 * C, cfg.gelu,
                                 k::GradInput::Set);
            } else {
                k::gelu_backward(a.dbt4c2, s.fch, a.dbt4c, BT * 4 * C, cfg.gelu, k::GradInput::Set);
            }
            linear.backward(a.dbtc, db.c_fc_weight, db.c_fc_bias, a.dbt4c2, s.ln2, s.ln2_16,
                            b.c_fc_weight, C, 4 * C);
        }
        k::layernorm_backward(a.dres, db.ln_2_weight, db.ln_2_bias, a.dbtc, s.res2, b.ln_2_weight,
                              s.ln2_mean, s.ln2_rstd, BT, C);

        // res2 = x + drop(attn_proj(attention(c_attn(ln_1(x)))))
        dproj = through_dropout(a.dres, a.dbtc2, 2 + 3 * l);
        linear.backward(a.dbtc, db.attn_proj_weight, db.attn_proj_bias, dproj, s.atty, s.atty16,
                        b.attn_proj_weight, C, C);
        if (half) k::to_float(s.atty, s.atty16, BTC);  // into dbtc2: dproj is used up
        if (half) {
            k::attention_backward_bf16(a.dqkv, a.dbtc, s.qkv16, s.atty, s.lse, B, T, C, NH, p,
                                       site_seed(a.dropout, 1 + 3 * l), k::GradInput::Set);
        } else {
            k::attention_backward(a.dqkv, a.dbtc, s.qkv, s.atty, s.lse, B, T, C, NH, p,
                                  site_seed(a.dropout, 1 + 3 * l), k::GradInput::Set);
        }
        linear.backward(a.dbtc, db.c_attn_weight, db.c_attn_bias, a.dqkv, s.ln1, s.ln1_16,
                        b.c_attn_weight, C, 3 * C);
        k::layernorm_backward(a.dres, db.ln_1_weight, db.ln_1_bias, a.dbtc, x, b.ln_1_weight,
                              s.ln1_mean, s.ln1_rstd, BT, C);
    }
    // encoded = drop(wte[tokens] + wpe[t])
    const float* dencoded = through_dropout(a.dres, a.dbtc2, 0);
    k::encoder_backward(de.wte, de.wpe, dencoded, a.tokens.data(), B, T, C, V);
}

}  // namespace wiggle
