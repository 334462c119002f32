// The GPT on the tape (gpt_tape.h). reference: nanoGPT model.py (CausalSelfAttention, MLP, Block,
// GPT.forward); the tensor ops and their derivatives: tensor/ops.h.
#include "nn/gpt_tape.h"

#include <cmath>
#include <string>

#include "util/check.h"

namespace wiggle {

namespace {

template <typename T>
class TapeGpt {
  public:
    TapeGpt(Graph<T>& g, Params<T>& params, const GptConfig& config)
        : g_(g), params_(params), c_(config) {}

    // GPT.forward
    Tensor<T> loss(std::span<const int> idx, std::span<const int> targets, int B, int Tn) {
        Tensor<T> tok_emb = embedding(param("transformer.wte.weight"), idx, {B, Tn});  // (B,T,C)
        Tensor<T> pos_emb = slice(param("transformer.wpe.weight"), 0, 0, Tn);          // (T,C)
        Tensor<T> x = tok_emb + pos_emb;
        for (int l = 0; l < c_.n_layer; ++l) x = block(x, fmt::format("transformer.h.{}.", l));
        x = layer_norm(x, "transformer.ln_f.");
        Tensor<T> logits = matmul(x, transpose(param("transformer.wte.weight"), 0, 1));  // tied
        return cross_entropy(reshape(logits, {B * Tn, c_.vocab_size}), targets);
    }

  private:
    // Block.forward
    Tensor<T> block(Tensor<T> x, const std::string& h) {
        x = x + attention(layer_norm(x, h + "ln_1."), h + "attn.");
        x = x + mlp(layer_norm(x, h + "ln_2."), h + "mlp.");
        return x;
    }

    // CausalSelfAttention.forward: q, k, v for all heads in one product, then each head's
    // softmax(q·kᵀ/√hs + causal mask)·v, the heads side by side, and the output projection
    Tensor<T> attention(Tensor<T> x, const std::string& a) {
        const int B = x.dim(0), Tn = x.dim(1), C = c_.n_embd, NH = c_.n_head, hs = C / NH;
        Tensor<T> qkv = linear(x, a + "c_attn.");                            // (B,T,3C)
        auto head_split = [&](int third, std::initializer_list<int> perm) {  // (B,T,C) → per head
            return permute(reshape(slice(qkv, 2, third * C, (third + 1) * C), {B, Tn, NH, hs}),
                           perm);
        };
        Tensor<T> q = head_split(0, {0, 2, 1, 3});   // (B,NH,T,hs)
        Tensor<T> kT = head_split(1, {0, 2, 3, 1});  // (B,NH,hs,T)
        Tensor<T> v = head_split(2, {0, 2, 1, 3});   // (B,NH,T,hs)
        Tensor<T> att = softmax(causal_mask(matmul(q, kT) * (1.0 / std::sqrt(double(hs)))));
        Tensor<T> y = reshape(permute(matmul(att, v), {0, 2, 1, 3}), {B, Tn, C});  // (B,T,C)
        return linear(y, a + "c_proj.");
    }

    // MLP.forward
    Tensor<T> mlp(Tensor<T> x, const std::string& m) {
        return linear(gelu(linear(x, m + "c_fc."), c_.gelu), m + "c_proj.");
    }

    // torch.nn.Linear: x · weightᵀ + bias, weight (out, in)
    Tensor<T> linear(Tensor<T> x, const std::string& name) {
        Tensor<T> y = matmul(x, transpose(param(name + "weight"), 0, 1));
        return c_.bias ? y + param(name + "bias") : y;
    }

    Tensor<T> layer_norm(Tensor<T> x, const std::string& name) {
        return layernorm(x, param(name + "weight"), c_.bias ? param(name + "bias") : Tensor<T>());
    }

    Tensor<T> param(const std::string& name) {
        const int id = params_.find(name);
        WIGGLE_CHECK(id >= 0, "build the store with GptWeights' layout",
                     "the parameters have no tensor named '{}'", name);
        return g_.param(params_, id);
    }

    Graph<T>& g_;
    Params<T>& params_;
    const GptConfig& c_;
};

}  // namespace

template <typename T>
Tensor<T> gpt_tape_loss(Graph<T>& g, Params<T>& params, const GptConfig& config,
                        std::span<const int> tokens, std::span<const int> targets, int B, int Tn) {
    check_config(config);
    WIGGLE_CHECK(config.dropout == 0.0f, "compare with dropout 0",
                 "the GPT on the tape has no dropout (the config asks for {})", config.dropout);
    return TapeGpt<T>(g, params, config).loss(tokens, targets, B, Tn);
}

template Tensor<float> gpt_tape_loss(Graph<float>&, Params<float>&, const GptConfig&,
                                     std::span<const int>, std::span<const int>, int, int);
template Tensor<double> gpt_tape_loss(Graph<double>&, Params<double>&, const GptConfig&,
                                      std::span<const int>, std::span<const int>, int, int);

}  // namespace wiggle
