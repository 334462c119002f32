// The GPT: parameter layout and init, planned activations, forward, backward and the optimizer
// step (KV-cache inference is in gpt_inference.cpp). Reads like nanoGPT's model.py (Block.forward
// is the 10 lines in Gpt::forward's layer loop); backward is llm.c's gpt2_backward, in reverse
// order of forward.
//
// Gradient buffers are "overwrite first": the input gradient of a linear layer is written by a
// non-accumulating gemm, GELU's and attention's backward overwrite theirs, so only the buffers
// whose kernel can only accumulate (the residual stream, dlogits) are zeroed, once per use.
#include "nn/gpt.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/cpu.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax.h"
#include "nn/gpt_internal.h"
#include "util/check.h"
#include "util/py_random.h"

namespace wiggle {

namespace k = kernels;
using gpt_detail::alloc_floats;
using gpt_detail::kNone;
using gpt_detail::round_up;

namespace {

// One block's tensors, in nanoGPT's state_dict order and LayerParams' field order.
struct LayerTensorSpec {
    const char* name;
    float* LayerParams::*field;
    bool is_bias;
};
constexpr std::array<LayerTensorSpec, 12> kLayerTensors = {{
    {"ln_1.weight", &LayerParams::ln_1_weight, false},
    {"ln_1.bias", &LayerParams::ln_1_bias, true},
    {"attn.c_attn.weight", &LayerParams::c_attn_weight, false},
    {"attn.c_attn.bias", &LayerParams::c_attn_bias, true},
    {"attn.c_proj.weight", &LayerParams::attn_proj_weight, false},
    {"attn.c_proj.bias", &LayerParams::attn_proj_bias, true},
    {"ln_2.weight", &LayerParams::ln_2_weight, false},
    {"ln_2.bias", &LayerParams::ln_2_bias, true},
    {"mlp.c_fc.weight", &LayerParams::c_fc_weight, false},
    {"mlp.c_fc.bias", &LayerParams::c_fc_bias, true},
    {"mlp.c_proj.weight", &LayerParams::mlp_proj_weight, false},
    {"mlp.c_proj.bias", &LayerParams::mlp_proj_bias, true},
}};

// PyTorch's shape of block tensor i (torch.nn.Linear weights are (out, in)).
std::vector<int64_t> layer_tensor_shape(int i, int64_t C) {
    switch (i) {
        case 2:
            return {3 * C, C};
        case 3:
            return {3 * C};
        case 4:
            return {C, C};
        case 8:
            return {4 * C, C};
        case 9:
            return {4 * C};
        case 10:
            return {C, 4 * C};
        default:
            return {C};  // LayerNorm weights and biases, c_proj biases
    }
}

// A distinct dropout seed per (model seed, training forward, site in the network).
uint64_t dropout_seed(uint64_t base, uint64_t counter, int site) {
    uint64_t z = base ^ (counter * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(site) << 48);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The backward of a linear layer out = inp·weightᵀ + bias: dinp (M,K) = dout·weight, overwritten,
// and dweight (N,K), dbias (N) accumulated. The two products are independent and the same size
// (2·M·K·N flops each). With exactly two threads each runs whole on its own thread (the gemms
// inside an item run inline), with half of dbias's columns each, instead of each product being
// split over both threads: half the pool round trips (a gemm synchronizes twice per 128-deep slice
// of its K), and no poorly split thin dweight product. The bits are the same either way: a gemm's
// result does not depend on its thread count, and each dbias column is the same sum in order.
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N) {
    if (k::num_threads() == 2) {
        auto products = [&](int item) {
            if (item == 0) {
                k::matmul_backward(nullptr, dweight, nullptr, dout, inp, weight, M, K, N);
            } else {
                k::gemm(dinp, dout, weight, M, K, N, false, false, /*accumulate=*/false);
            }
            if (dbias)
                k::bias_backward(dbias, dout, M, N, item == 0 ? 0 : N / 2, item == 0 ? N / 2 : N);
        };
        k::parallel_items(2, 2, products);
    } else {
        k::matmul_backward(nullptr, dweight, dbias, dout, inp, weight, M, K, N);
        k::gemm(dinp, dout, weight, M, K, N, false, false, /*accumulate=*/false);
    }
}

}  // namespace

void check_config(const GptConfig& c) {
    WIGGLE_CHECK(c.vocab_size > 0, "", "vocab_size must be positive, got {}", c.vocab_size);
    WIGGLE_CHECK(c.block_size > 0, "", "block_size must be positive, got {}", c.block_size);
    WIGGLE_CHECK(c.n_layer > 0, "", "n_layer must be positive, got {}", c.n_layer);
    WIGGLE_CHECK(c.n_head > 0, "", "n_head must be positive, got {}", c.n_head);
    WIGGLE_CHECK(c.n_embd > 0, "", "n_embd must be positive, got {}", c.n_embd);
    WIGGLE_CHECK(c.n_embd % c.n_head == 0, "pick n_embd as a multiple of n_head",
                 "n_embd {} is not divisible by n_head {}", c.n_embd, c.n_head);
    WIGGLE_CHECK(c.dropout >= 0.0f && c.dropout < 1.0f, "dropout is a probability like 0.1",
                 "dropout must be in [0, 1), got {}", c.dropout);
}

// ---- Activations: planned once per (B,T)
// --------------------------------------------------------

struct Gpt::Activations {
    struct Layer {
        float* ln1;       // (B,T,C)
        float* ln1_mean;  // (B,T)
        float* ln1_rstd;  // (B,T)
        float* qkv;       // (B,T,3C)
        float* atty;      // (B,T,C)  attention output, heads side by side
        float* lse;       // (B,NH,T) softmax log-sum-exp, all attention backward keeps
        float* res2;      // (B,T,C)  x + attn(ln_1(x))
        float* ln2;       // (B,T,C)
        float* ln2_mean;  // (B,T)
        float* ln2_rstd;  // (B,T)
        float* fch;       // (B,T,4C) c_fc output, GELU input
        float* fch_gelu;  // (B,T,4C)
        float* res3;      // (B,T,C)  res2 + mlp(ln_2(res2)): the block's output
    };
    int B = 0, T = 0;
    size_t capacity = 0;  // floats allocated
    std::unique_ptr<float[], void (*)(void*)> mem{nullptr, std::free};

    float* encoded;  // (B,T,C) wte[tok] + wpe[t]
    std::vector<Layer> layers;
    float* lnf;       // (B,T,C)
    float* lnf_mean;  // (B,T)
    float* lnf_rstd;  // (B,T)
    float* logits;    // (B,T,V)
    float* losses;    // (B,T)
    float* proj;      // (B,T,C) a c_proj output before its residual add (not kept)
    // backward scratch, reused by every layer
    float* dres;     // (B,T,C) gradient of the residual stream
    float* dbtc;     // (B,T,C)
    float* dbtc2;    // (B,T,C)
    float* dqkv;     // (B,T,3C)
    float* dbt4c;    // (B,T,4C)
    float* dbt4c2;   // (B,T,4C)
    float* dlogits;  // (B,T,V)
    float* dlosses;  // (B,T)

    // What backward needs from the forward it differentiates.
    std::vector<int> tokens, targets;
    int num_targets = 0;  // non-ignored targets in the mean
    bool has_targets = false;
    bool dropout_on = false;
    uint64_t dropout_counter = 0;

    // Assigns every pointer for (B,T) from base (or only counts, with base null); returns
    // floats.
    size_t layout(const GptConfig& cfg, int B_, int T_, float* base) {
        const size_t BT = static_cast<size_t>(B_) * T_, C = cfg.n_embd, V = cfg.vocab_size;
        size_t off = 0;
        auto take = [&](float*& p, size_t n) {
            p = base ? base + off : nullptr;
            off += round_up(n);
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
};

// ---- Construction: parameter layout and nanoGPT's init
// -----------------------------------------

Gpt::Gpt(const GptConfig& config, uint64_t seed)
    : config_(config),
      params_(nullptr, std::free),
      grads_(nullptr, std::free),
      m_(nullptr, std::free),
      v_(nullptr, std::free),
      acts_(std::make_unique<Activations>()),
      cache_(nullptr) {
    check_config(config_);
    const int64_t C = config_.n_embd, V = config_.vocab_size;
    auto add = [&](std::string name, std::vector<int64_t> shape) {
        ParamTensor t;
        t.name = std::move(name);
        t.numel = 1;
        for (int64_t d : shape) t.numel *= static_cast<size_t>(d);
        t.decay = shape.size() >= 2;
        t.shape = std::move(shape);
        t.offset = num_params_;
        num_params_ += t.numel;
        tensors_.push_back(std::move(t));
    };
    add("transformer.wte.weight", {V, C});
    add("transformer.wpe.weight", {config_.block_size, C});
    layer_offsets_.resize(config_.n_layer);
    for (int l = 0; l < config_.n_layer; ++l) {
        for (size_t i = 0; i < kLayerTensors.size(); ++i) {
            if (kLayerTensors[i].is_bias && !config_.bias) {
                layer_offsets_[l][i] = kNone;
                continue;
            }
            layer_offsets_[l][i] = num_params_;
            add(fmt::format("transformer.h.{}.{}", l, kLayerTensors[i].name),
                layer_tensor_shape(static_cast<int>(i), C));
        }
    }
    add("transformer.ln_f.weight", {C});
    if (config_.bias) add("transformer.ln_f.bias", {C});

    params_.reset(alloc_floats(num_params_));
    grads_.reset(alloc_floats(num_params_));
    m_.reset(alloc_floats(num_params_));
    v_.reset(alloc_floats(num_params_));
    dropout_seed_ = seed ^ 0xD1B54A32D192ED03ull;
    init_weights(seed);
}

Gpt::~Gpt() = default;
Gpt::Gpt(Gpt&&) noexcept = default;
Gpt& Gpt::operator=(Gpt&&) noexcept = default;

void Gpt::init_weights(uint64_t seed) {
    // nanoGPT's _init_weights: Linear and Embedding weights ~ N(0, 0.02), biases 0; LayerNorm
    // weight 1, bias 0; then the residual projections (c_proj) ~ N(0, 0.02/√(2·n_layer)), so
    // the residual stream's variance does not grow with depth (GPT-2 paper).
    PyRandom rng(seed);
    const double residual_std = 0.02 / std::sqrt(2.0 * config_.n_layer);
    for (const ParamTensor& t : tensors_) {
        float* p = params_.get() + t.offset;
        const bool is_ln = t.name.find(".ln_") != std::string::npos;
        const bool is_bias = t.name.ends_with(".bias");
        if (is_bias) {
            std::fill(p, p + t.numel, 0.0f);
        } else if (is_ln) {
            std::fill(p, p + t.numel, 1.0f);
        } else {
            const double std = t.name.ends_with("c_proj.weight") ? residual_std : 0.02;
            for (size_t i = 0; i < t.numel; ++i) p[i] = static_cast<float>(rng.gauss(0.0, std));
        }
    }
}

// ---- Views
// ---------------------------------------------------------------------------------------

std::span<float> Gpt::params() { return {params_.get(), num_params_}; }
std::span<const float> Gpt::params() const { return {params_.get(), num_params_}; }
std::span<float> Gpt::grads() { return {grads_.get(), num_params_}; }
std::span<float> Gpt::adam_m() { return {m_.get(), num_params_}; }
std::span<float> Gpt::adam_v() { return {v_.get(), num_params_}; }

const ParamTensor& Gpt::param_tensor(std::string_view name) const {
    for (const ParamTensor& t : tensors_) {
        if (t.name == name) return t;
    }
    WIGGLE_CHECK(false,
                 "names follow nanoGPT's state_dict, e.g. transformer.h.0.attn.c_attn.weight",
                 "the model has no parameter named '{}'", name);
    std::abort();  // unreachable: WIGGLE_CHECK exits
}

std::span<float> Gpt::param(std::string_view name) {
    const ParamTensor& t = param_tensor(name);
    return {params_.get() + t.offset, t.numel};
}

LayerParams Gpt::layer(int l, bool grads) {
    assert(l >= 0 && l < config_.n_layer);
    float* base = grads ? grads_.get() : params_.get();
    LayerParams p{};
    for (size_t i = 0; i < kLayerTensors.size(); ++i) {
        const size_t off = layer_offsets_[l][i];
        p.*(kLayerTensors[i].field) = off == kNone ? nullptr : base + off;
    }
    return p;
}

EmbeddingParams Gpt::embeddings(bool grads) {
    float* base = grads ? grads_.get() : params_.get();
    const size_t C = config_.n_embd;
    EmbeddingParams e{};
    e.wte = base;
    e.wpe = base + static_cast<size_t>(config_.vocab_size) * C;
    // ln_f is last: weight, then the bias when there is one.
    const size_t ln_f = num_params_ - (config_.bias ? 2 * C : C);
    e.ln_f_weight = base + ln_f;
    e.ln_f_bias = config_.bias ? base + ln_f + C : nullptr;
    return e;
}

// ---- Forward
// -------------------------------------------------------------------------------------

void Gpt::plan(int B, int T) {
    Activations& a = *acts_;
    if (a.B == B && a.T == T) return;
    const size_t need = a.layout(config_, B, T, nullptr);
    if (need > a.capacity) {
        a.mem.reset(alloc_floats(need));
        a.capacity = need;
    }
    a.layout(config_, B, T, a.mem.get());
    a.B = B;
    a.T = T;
}

float Gpt::forward(const int* tokens, const int* targets, int B, int T) {
    WIGGLE_CHECK(B > 0 && T > 0, "", "batch {} and time {} must be positive", B, T);
    WIGGLE_CHECK(T <= config_.block_size, "crop the context to block_size",
                 "sequence length {} exceeds block_size {}", T, config_.block_size);
    const int C = config_.n_embd, V = config_.vocab_size, NH = config_.n_head;
    const int BT = B * T;
    for (int i = 0; i < BT; ++i) {
        WIGGLE_CHECK(tokens[i] >= 0 && tokens[i] < V, "", "token {} out of the vocabulary [0, {})",
                     tokens[i], V);
        if (targets) {
            WIGGLE_CHECK(targets[i] >= -1 && targets[i] < V, "", "target {} out of range [-1, {})",
                         targets[i], V);
        }
    }
    plan(B, T);
    Activations& a = *acts_;
    a.tokens.assign(tokens, tokens + BT);
    a.has_targets = targets != nullptr;
    if (targets) a.targets.assign(targets, targets + BT);
    a.dropout_on = training_ && config_.dropout > 0.0f;
    if (a.dropout_on) a.dropout_counter = ++dropout_counter_;
    const float p = a.dropout_on ? config_.dropout : 0.0f;
    auto seed = [&](int site) { return dropout_seed(dropout_seed_, a.dropout_counter, site); };
    const size_t BTC = static_cast<size_t>(BT) * C;

    const EmbeddingParams e = embeddings();
    k::encoder_forward(a.encoded, tokens, e.wte, e.wpe, B, T, C);  // wte(idx) + wpe(pos)
    if (a.dropout_on) k::dropout_forward(a.encoded, a.encoded, p, seed(0), static_cast<int>(BTC));

    // Each skip connection is fused with the layer norm that reads it (the next block's ln_1, or
    // ln_f after the last block): one parallel pass instead of a serial add and a second pass.
    const float* x = a.encoded;  // the residual stream
    {
        const LayerParams w0 = layer(0);
        Activations::Layer& s0 = a.layers[0];
        k::layernorm_forward(s0.ln1, s0.ln1_mean, s0.ln1_rstd, x, w0.ln_1_weight, w0.ln_1_bias, BT,
                             C);
    }
    for (int l = 0; l < config_.n_layer; ++l) {
        const LayerParams w = layer(l);
        Activations::Layer& s = a.layers[l];
        // x = x + attn(ln_1(x))   (s.ln1 = ln_1(x) is already computed)
        k::matmul_forward(s.qkv, s.ln1, w.c_attn_weight, w.c_attn_bias, BT, C, 3 * C);
        k::attention_forward(s.atty, s.lse, s.qkv, B, T, C, NH, p, seed(1 + 3 * l));
        k::matmul_forward(a.proj, s.atty, w.attn_proj_weight, w.attn_proj_bias, BT, C, C);
        if (a.dropout_on) k::dropout_forward(a.proj, a.proj, p, seed(2 + 3 * l), int(BTC));
        // res2 = x + proj; ln2 = ln_2(res2)
        k::residual_layernorm_forward(s.res2, s.ln2, s.ln2_mean, s.ln2_rstd, x, a.proj,
                                      w.ln_2_weight, w.ln_2_bias, BT, C);
        // x = x + mlp(ln_2(x))
        k::matmul_forward(s.fch, s.ln2, w.c_fc_weight, w.c_fc_bias, BT, C, 4 * C);
        k::gelu_forward(s.fch_gelu, s.fch, BT * 4 * C);
        k::matmul_forward(a.proj, s.fch_gelu, w.mlp_proj_weight, w.mlp_proj_bias, BT, 4 * C, C);
        if (a.dropout_on) k::dropout_forward(a.proj, a.proj, p, seed(3 + 3 * l), int(BTC));
        // res3 = res2 + proj, then the next block's ln_1 of it (or ln_f after the last block)
        if (l + 1 < config_.n_layer) {
            const LayerParams wn = layer(l + 1);
            Activations::Layer& sn = a.layers[l + 1];
            k::residual_layernorm_forward(s.res3, sn.ln1, sn.ln1_mean, sn.ln1_rstd, s.res2, a.proj,
                                          wn.ln_1_weight, wn.ln_1_bias, BT, C);
        } else {
            k::residual_layernorm_forward(s.res3, a.lnf, a.lnf_mean, a.lnf_rstd, s.res2, a.proj,
                                          e.ln_f_weight, e.ln_f_bias, BT, C);
        }
        x = s.res3;
    }
    k::matmul_forward(a.logits, a.lnf, e.wte, nullptr, BT, C, V);  // lm_head, tied to wte

    if (!targets) return std::numeric_limits<float>::quiet_NaN();
    k::crossentropy_forward(a.losses, a.logits, targets, BT, V);
    // The mean over non-ignored targets, summed in order in double (thread-count independent).
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

std::span<const float> Gpt::logits() const {
    const Activations& a = *acts_;
    return {a.logits, static_cast<size_t>(a.B) * a.T * config_.vocab_size};
}

// ---- Backward
// ------------------------------------------------------------------------------------

void Gpt::zero_grad() {
    // In parallel chunks: a serial memset of every gradient is a visible serial part of a step.
    constexpr size_t kChunk = size_t{1} << 16;
    float* g = grads_.get();
    const size_t n = num_params_;
    auto zero = [g, n](int item) {
        const size_t begin = static_cast<size_t>(item) * kChunk;
        std::memset(g + begin, 0, (std::min(n, begin + kChunk) - begin) * sizeof(float));
    };
    k::parallel_items(static_cast<int>((n + kChunk - 1) / kChunk), k::num_threads(), zero);
}

void Gpt::backward() {
    Activations& a = *acts_;
    WIGGLE_CHECK(a.B > 0 && a.has_targets, "call forward with targets first",
                 "backward without a forward that computed a loss");
    const int B = a.B, T = a.T, BT = B * T;
    const int C = config_.n_embd, V = config_.vocab_size, NH = config_.n_head;
    const size_t BTC = static_cast<size_t>(BT) * C;
    const float p = a.dropout_on ? config_.dropout : 0.0f;
    auto seed = [&](int site) { return dropout_seed(dropout_seed_, a.dropout_counter, site); };
    // gradient of a dropout site: through the mask into scratch, or the identity when off.
    // scratch = mask·dout/(1−p) is the forward applied to dout (dropout_backward into zeros
    // gives the same bits, after a memset).
    auto dropout_back = [&](const float* dout, float* scratch, int site) -> const float* {
        if (!a.dropout_on) return dout;
        k::dropout_forward(scratch, dout, p, seed(site), static_cast<int>(BTC));
        return scratch;
    };
    const EmbeddingParams e = embeddings(), de = embeddings(true);

    // loss = mean over the non-ignored targets: dloss/dlosses[i] = 1/n
    const float dmean = a.num_targets > 0 ? 1.0f / static_cast<float>(a.num_targets) : 0.0f;
    for (int i = 0; i < BT; ++i) a.dlosses[i] = a.targets[i] >= 0 ? dmean : 0.0f;
    std::memset(a.dlogits, 0, static_cast<size_t>(BT) * V * sizeof(float));
    k::crossentropy_backward(a.dlogits, a.logits, a.targets.data(), a.dlosses, BT, V);
    // logits = lnf · wteᵀ: dlnf and dwte
    linear_backward(a.dbtc, de.wte, nullptr, a.dlogits, a.lnf, e.wte, BT, C, V);
    std::memset(a.dres, 0, BTC * sizeof(float));
    const float* x_last = a.layers.back().res3;
    k::layernorm_backward(a.dres, de.ln_f_weight, de.ln_f_bias, a.dbtc, x_last, e.ln_f_weight,
                          a.lnf_mean, a.lnf_rstd, BT, C);

    // a.dres now holds the gradient of the residual stream at the top; each block adds to it
    // what flows back through its branches (the skip connection passes it through unchanged).
    for (int l = config_.n_layer - 1; l >= 0; --l) {
        const LayerParams w = layer(l), dw = layer(l, true);
        const Activations::Layer& s = a.layers[l];
        const float* x = l == 0 ? a.encoded : a.layers[l - 1].res3;

        // res3 = res2 + dropout(mlp_proj(gelu(c_fc(ln_2(res2)))))
        const float* dproj = dropout_back(a.dres, a.dbtc2, 3 + 3 * l);
        linear_backward(a.dbt4c, dw.mlp_proj_weight, dw.mlp_proj_bias, dproj, s.fch_gelu,
                        w.mlp_proj_weight, BT, 4 * C, C);
        k::gelu_backward(a.dbt4c2, s.fch, a.dbt4c, BT * 4 * C, /*accumulate=*/false);
        linear_backward(a.dbtc, dw.c_fc_weight, dw.c_fc_bias, a.dbt4c2, s.ln2, w.c_fc_weight, BT, C,
                        4 * C);  // dln2
        k::layernorm_backward(a.dres, dw.ln_2_weight, dw.ln_2_bias, a.dbtc, s.res2, w.ln_2_weight,
                              s.ln2_mean, s.ln2_rstd, BT, C);

        // res2 = x + dropout(attn_proj(attention(c_attn(ln_1(x)))))
        dproj = dropout_back(a.dres, a.dbtc2, 2 + 3 * l);
        linear_backward(a.dbtc, dw.attn_proj_weight, dw.attn_proj_bias, dproj, s.atty,
                        w.attn_proj_weight, BT, C, C);  // datty
        k::attention_backward(a.dqkv, a.dbtc, s.qkv, s.atty, s.lse, B, T, C, NH, p, seed(1 + 3 * l),
                              /*accumulate=*/false);
        linear_backward(a.dbtc, dw.c_attn_weight, dw.c_attn_bias, a.dqkv, s.ln1, w.c_attn_weight,
                        BT, C, 3 * C);  // dln1
        k::layernorm_backward(a.dres, dw.ln_1_weight, dw.ln_1_bias, a.dbtc, x, w.ln_1_weight,
                              s.ln1_mean, s.ln1_rstd, BT, C);
    }
    // encoded = dropout(wte[tokens] + wpe[t])
    const float* dencoded = dropout_back(a.dres, a.dbtc2, 0);
    k::encoder_backward(de.wte, de.wpe, dencoded, a.tokens.data(), B, T, C, V);
}

// ---- The optimizer step
// --------------------------------------------------------------------------

float Gpt::grad_norm() const {
    return static_cast<float>(
        std::sqrt(k::sum_squares(grads_.get(), static_cast<int>(num_params_))));
}

float Gpt::step(float lr, const AdamWOptions& opts) {
    const float norm = grad_norm();
    // torch.nn.utils.clip_grad_norm_: scale by max_norm/(norm + 1e-6) when that is below 1
    const float coef = opts.grad_clip > 0.0f ? opts.grad_clip / (norm + 1e-6f) : 1.0f;
    const bool clip = opts.grad_clip > 0.0f && coef < 1.0f;
    ++adam_t_;
    // The clipping scale and AdamW are elementwise, so any split gives the same bits: one pool job
    // over fixed blocks of every run of consecutive tensors with the same decay setting (most runs,
    // the biases and LayerNorm weights, are too small to be threaded on their own), each block
    // scaled and then updated while it sits in L1.
    struct Block {
        size_t off, n;
        bool decay;
    };
    constexpr size_t kBlock = 8192;
    thread_local std::vector<Block> caller_blocks;  // grows once
    // A named reference: a lambda that named the thread_local itself would read the worker's own.
    std::vector<Block>& blocks = caller_blocks;
    blocks.clear();
    size_t i = 0;
    while (i < tensors_.size()) {
        size_t j = i + 1;
        while (j < tensors_.size() && tensors_[j].decay == tensors_[i].decay) ++j;
        const size_t off = tensors_[i].offset;
        const size_t end = tensors_[j - 1].offset + tensors_[j - 1].numel;
        for (size_t b = off; b < end; b += kBlock) {
            blocks.push_back({b, std::min(kBlock, end - b), tensors_[i].decay});
        }
        i = j;
    }
    auto update = [&](int item) {
        const Block& b = blocks[static_cast<size_t>(item)];
        const int n = static_cast<int>(b.n);
        float* g = grads_.get() + b.off;
        if (clip) k::scale(g, coef, n);
        k::adamw_update(params_.get() + b.off, m_.get() + b.off, v_.get() + b.off, g, n, lr,
                        opts.beta1, opts.beta2, opts.eps, b.decay ? opts.weight_decay : 0.0f,
                        adam_t_);
    };
    k::parallel_items(static_cast<int>(blocks.size()), k::num_threads(), update);
    return norm;
}

float Gpt::train_step(const int* tokens, const int* targets, int B, int T, float lr,
                      const AdamWOptions& opts) {
    zero_grad();
    const float loss = forward(tokens, targets, B, T);
    backward();
    step(lr, opts);
    return loss;
}

float Gpt::evaluate(const int* tokens, const int* targets, int B, int T) {
    const bool was_training = training_;
    training_ = false;
    const float loss = forward(tokens, targets, B, T);
    training_ = was_training;
    return loss;
}

}  // namespace wiggle
