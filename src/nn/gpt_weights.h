// Where a GPT's weights live (llama2.c's Config and TransformerWeights): the configuration, every
// parameter in one Params store (tensor/params.h: a flat array of values, one of gradients) under
// nanoGPT's state_dict names with PyTorch's shapes, named views of each block, nanoGPT's
// initialization, and rounding to bfloat16 for sampling.
//
//   GptWeights w(GptConfig{.vocab_size = 65, .block_size = 64, .n_layer = 4, .n_head = 4,
//                          .n_embd = 128}, /*seed=*/1337);
//   BlockView<const float> b = w.block(2);          // b.c_attn_weight: (3C, C)
//   std::span<float> wte = w.values("transformer.wte.weight");
//   GptGrads g = w.grads();                         // the same views into the gradients
//
// The forward and backward that read them are in gpt_model.h, the decoders in gpt_decoder.h.
// Legend: C = n_embd, V = vocab_size, T = block_size.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/gelu.h"
#include "tensor/params.h"

namespace wiggle {

struct GptConfig {
    int vocab_size = 65;
    int block_size = 64;
    int n_layer = 4;
    int n_head = 4;
    int n_embd = 128;
    bool bias = false;     // biases in the Linears and LayerNorms (nanoGPT's bias)
    float dropout = 0.0f;  // embedding, attention and residual dropout, training mode only
    // the MLP's GELU: the erf form (nanoGPT's nn.GELU()), or the tanh form GPT-2 was trained with
    kernels::GeluForm gelu = kernels::GeluForm::Erf;
};

// Checks a configuration (sizes positive, n_embd divisible by n_head, dropout in [0,1)); exits
// with a WIGGLE_CHECK error naming the bad field otherwise.
void check_config(const GptConfig& config);

// One transformer block's tensors inside a flat array (the values, or the gradients: the same
// layout). Biases are null when the model has none. F is float or const float.
template <typename F>
struct BlockView {
    F* ln_1_weight;       // (C)
    F* ln_1_bias;         // (C)
    F* c_attn_weight;     // (3C, C)  attn.c_attn: the fused q, k, v projection
    F* c_attn_bias;       // (3C)
    F* attn_proj_weight;  // (C, C)   attn.c_proj
    F* attn_proj_bias;    // (C)
    F* ln_2_weight;       // (C)
    F* ln_2_bias;         // (C)
    F* c_fc_weight;       // (4C, C)  mlp.c_fc
    F* c_fc_bias;         // (4C)
    F* mlp_proj_weight;   // (C, 4C)  mlp.c_proj
    F* mlp_proj_bias;     // (C)
};

// The tensors outside the blocks.
template <typename F>
struct EmbeddingView {
    F* wte;          // (V, C)  transformer.wte.weight, also lm_head.weight (tied)
    F* wpe;          // (T, C)  transformer.wpe.weight
    F* ln_f_weight;  // (C)
    F* ln_f_bias;    // (C), null without biases
};

class GptGrads;

class GptWeights {
  public:
    enum class Init : uint8_t;  // how a tensor starts: gpt_weights.cpp's table
    // Lays out the tensors (nanoGPT's state_dict order; lm_head.weight is not one of them: it is
    // tied to transformer.wte.weight, the same storage) and initializes them like nanoGPT: normal
    // (0, 0.02) weights from PyRandom(seed), residual projections (c_proj) normal(0,
    // 0.02/√(2·n_layer)), biases 0, LayerNorm weights 1. Without gradients, the store has none
    // (sampling and evaluation only).
    explicit GptWeights(const GptConfig& config, uint64_t seed = 1337, bool with_grads = true);
    // The same layout with every value 0, for a loader to fill.
    static GptWeights zeros(const GptConfig& config, bool with_grads = true);
    // Every tensor's state_dict name and PyTorch shape, in order, without allocating them (a
    // loader checks a file against it before it allocates the model).
    struct TensorInfo {
        std::string name;
        std::vector<int64_t> shape;
    };
    static std::vector<TensorInfo> tensor_table(const GptConfig& config);

    const GptConfig& config() const { return config_; }
    Params<float>& params() { return params_; }
    const Params<float>& params() const { return params_; }
    size_t num_parameters() const { return params_.numel(); }

    BlockView<const float> block(int l) const;
    EmbeddingView<const float> embedding() const;
    // One named tensor; exits with an error naming it when the model has no such tensor.
    std::span<float> values(std::string_view name);
    const Params<float>::Spec& spec(std::string_view name) const;
    // Views into the gradients (the store must have them).
    GptGrads grads();

    // Rounds the weight matrices (wte, also the output layer, and every block's c_attn,
    // attn.c_proj, c_fc and mlp.c_proj weights) to the nearest bfloat16, in place: they stay
    // floats. Every forward then computes in float on the rounded weights, and a decoder keeps
    // its packed copy in bf16 (half the bytes to stream per token). Biases, layer norms and wpe
    // stay as they are. For sampling and evaluation, not training.
    void round_to_bf16();
    bool bf16() const { return bf16_; }

  private:
    friend class GptGrads;
    struct Zeros {};
    GptWeights(const GptConfig& config, bool with_grads, Zeros);
    // Adds every tensor to the store (zeros), in state_dict order; appends each one's init.
    void lay_out(std::vector<Init>* inits);

    template <typename F>
    BlockView<F> block_in(F* base, int l) const;
    template <typename F>
    EmbeddingView<F> embedding_in(F* base) const;

    GptConfig config_;
    Params<float> params_;
    std::vector<size_t> block_offsets_;  // (n_layer × 12) where each tensor of each block starts
    size_t ln_f_offset_ = 0;
    bool bf16_ = false;
};

// The gradients, in the layout of the weights they belong to.
class GptGrads {
  public:
    BlockView<float> block(int l) const { return w_->block_in(base_, l); }
    EmbeddingView<float> embedding() const { return w_->embedding_in(base_); }
    std::span<float> all() const { return w_->params_.grads(); }

  private:
    friend class GptWeights;
    GptGrads(GptWeights* w, float* base) : w_(w), base_(base) {}
    GptWeights* w_;
    float* base_;
};

}  // namespace wiggle
