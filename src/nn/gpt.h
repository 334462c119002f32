// A GPT (nanoGPT's model.py) written llm.c-style on the kernels: one flat buffer each for the
// parameters, their gradients and AdamW's two moments, with named views (nanoGPT's state_dict
// names, PyTorch's shapes); activations planned in one arena per (B,T); forward and backward call
// the kernels by hand, backward in the reverse order of forward.
//
// It is deliberately not built on the tensor tape: the model is fixed, so its backward is written
// out once (like llm.c's gpt2_backward) and its memory is planned exactly.
//
//   Gpt model(GptConfig{.vocab_size = 65, .block_size = 64, .n_layer = 4, .n_head = 4,
//                       .n_embd = 128}, /*seed=*/1337);
//   float loss = model.train_step(x, y, B, T, lr, AdamWOptions{});   // forward, backward, step
//   float val = model.evaluate(x, y, B, T);                          // no dropout, no grads
//
// Legend: B batch, T time (≤ block_size), C = n_embd, V = vocab_size, L = n_layer, NH = n_head.
// reference: nanoGPT model.py (karpathy/nanoGPT), llm.c train_gpt2.c.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

struct GptConfig {
    int vocab_size = 65;
    int block_size = 64;
    int n_layer = 4;
    int n_head = 4;
    int n_embd = 128;
    bool bias = false;     // biases in the Linears and LayerNorms (nanoGPT's bias)
    float dropout = 0.0f;  // embedding, attention and residual dropout, training mode only
};

// Checks a configuration (sizes positive, n_embd divisible by n_head, dropout in [0,1)); exits
// with a WIGGLE_CHECK error naming the bad field otherwise.
void check_config(const GptConfig& config);

// One parameter tensor: its nanoGPT state_dict name, its PyTorch shape and where it lives in the
// flat buffers (the same offset in params(), grads(), adam_m() and adam_v()).
// lm_head.weight is not listed: it is tied to transformer.wte.weight (same storage), so a
// checkpoint writer that wants nanoGPT's full state_dict writes wte again under that name.
struct ParamTensor {
    std::string name;            // e.g. "transformer.h.0.attn.c_attn.weight"
    std::vector<int64_t> shape;  // e.g. {3C, C}, torch.nn.Linear's (out, in)
    size_t offset = 0;           // in floats, into the flat buffers
    size_t numel = 0;
    bool decay = false;  // 2-D weights get weight decay (nanoGPT's configure_optimizers)
};

// One transformer block's tensors inside a flat buffer (parameters or gradients).
// Biases are null when the model has none.
struct LayerParams {
    float* ln_1_weight;       // (C)
    float* ln_1_bias;         // (C)
    float* c_attn_weight;     // (3C, C)  attn.c_attn: fused q, k, v projection
    float* c_attn_bias;       // (3C)
    float* attn_proj_weight;  // (C, C)  attn.c_proj
    float* attn_proj_bias;    // (C)
    float* ln_2_weight;       // (C)
    float* ln_2_bias;         // (C)
    float* c_fc_weight;       // (4C, C)  mlp.c_fc
    float* c_fc_bias;         // (4C)
    float* mlp_proj_weight;   // (C, 4C)  mlp.c_proj
    float* mlp_proj_bias;     // (C)
};

// The non-block tensors inside a flat buffer.
struct EmbeddingParams {
    float* wte;          // (V, C)  transformer.wte.weight, also lm_head.weight (tied)
    float* wpe;          // (block_size, C)
    float* ln_f_weight;  // (C)
    float* ln_f_bias;    // (C), null without biases
};

struct AdamWOptions {
    float beta1 = 0.9f;
    float beta2 = 0.99f;
    float eps = 1e-8f;
    float weight_decay = 0.1f;  // on 2-D weights only
    float grad_clip = 1.0f;     // global gradient-norm clipping; 0 turns it off
};

class Gpt {
  public:
    // Builds the model and initializes it like nanoGPT (normal(0, 0.02) weights from a seeded
    // generator, residual projections normal(0, 0.02/√(2·n_layer)), biases 0, LayerNorm 1/0).
    explicit Gpt(const GptConfig& config, uint64_t seed = 1337);
    ~Gpt();
    Gpt(Gpt&&) noexcept;
    Gpt& operator=(Gpt&&) noexcept;
    Gpt(const Gpt&) = delete;
    Gpt& operator=(const Gpt&) = delete;

    const GptConfig& config() const { return config_; }
    size_t num_parameters() const { return num_params_; }

    // ---- Parameters, gradients, optimizer state ------------------------------------------------
    // Flat buffers of num_parameters() floats, in the order of param_tensors().
    std::span<float> params();
    std::span<const float> params() const;
    std::span<float> grads();
    std::span<float> adam_m();  // AdamW's first moment
    std::span<float> adam_v();  // AdamW's second moment
    // The named tensors, in nanoGPT's state_dict order (lm_head.weight excluded: tied to wte).
    const std::vector<ParamTensor>& param_tensors() const { return tensors_; }
    // The view of one named tensor inside params(); exits with an error for an unknown name.
    std::span<float> param(std::string_view name);
    const ParamTensor& param_tensor(std::string_view name) const;
    // Per-layer and embedding views into params() (or, with the grads flag, into grads()).
    LayerParams layer(int l, bool grads = false);
    EmbeddingParams embeddings(bool grads = false);

    // AdamW's step count t (1-based after the first step; 0 before any). Saved in checkpoints.
    int optimizer_step() const { return adam_t_; }
    void set_optimizer_step(int t) { adam_t_ = t; }
    // Dropout masks are a hash of (seed, dropout_counter, site); the counter advances once per
    // training forward so every step draws new masks. Save and restore it for exact resume.
    uint64_t dropout_counter() const { return dropout_counter_; }
    void set_dropout_counter(uint64_t c) { dropout_counter_ = c; }

    // ---- Training ------------------------------------------------------------------------------
    // Training mode turns dropout on (when config.dropout > 0); the default is training mode.
    void set_training(bool training) { training_ = training; }
    bool training() const { return training_; }

    // tokens and targets are (B,T) with T ≤ block_size; targets may be null (logits only) and a
    // target of −1 is ignored. Returns the mean cross-entropy over the non-ignored targets, or
    // NaN without targets. The activations for (B,T) are planned on the first call with that
    // size; later calls reuse them.
    float forward(const int* tokens, const int* targets, int B, int T);
    // The logits (B,T,V) of the last forward.
    std::span<const float> logits() const;
    // Sets every gradient to zero (backward accumulates, so micro-batches can add up).
    void zero_grad();
    // Accumulates into grads() the gradient of the last forward's mean loss (which must have had
    // targets; evaluate() and next_logits() are forwards too). Once per forward.
    void backward();
    // Global L2 norm of grads(), summed in a fixed order (thread-count independent).
    float grad_norm() const;
    // nanoGPT's optimizer step: clip the global gradient norm to opts.grad_clip (like
    // torch.nn.utils.clip_grad_norm_), then AdamW with weight decay on 2-D weights only.
    // Returns the gradient norm before clipping.
    float step(float lr, const AdamWOptions& opts);
    // zero_grad + forward + backward + step; returns the loss.
    float train_step(const int* tokens, const int* targets, int B, int T, float lr,
                     const AdamWOptions& opts);
    // Mean loss with dropout off and no gradients (restores the training mode afterwards).
    float evaluate(const int* tokens, const int* targets, int B, int T);

    // ---- Inference -----------------------------------------------------------------------------
    // Uncached: the logits (V) after the last of n context tokens, by a full forward over the
    // last min(n, block_size) of them (nanoGPT's generate crops the same way).
    std::span<const float> next_logits(const int* tokens, int n);
    // With a KV cache: appends n tokens to the cached context and returns the logits (V) after
    // the last one. Each decoded token costs O(context) instead of a full recompute. When the
    // context would grow past block_size, the window slides: the cache keeps the last
    // window_after(cache_length(), n) tokens, recomputed (their positions all change).
    // Allocates nothing after the first call. The first call also packs a copy of the weights
    // for decoding (kernels/decode.h: as much memory again as the weight matrices, half as much
    // after round_weights_to_bf16).
    std::span<const float> cache_append(const int* tokens, int n);
    // Empties the cache and packs the weights again: call it after changing them.
    void cache_reset();
    int cache_length() const;  // tokens in the cached context (≤ block_size)
    // Rounds the weight matrices (wte, also the output layer, and every block's c_attn,
    // attn_proj, c_fc and mlp_proj weights) to the nearest bfloat16, in place: they stay floats.
    // From then on the KV cache keeps its packed copy of them in bf16, half the bytes to stream
    // per decoded token. Every forward, cached or not, computes in float on the same rounded
    // weights, so cached and uncached sampling still agree. Biases, layer norms and wpe stay as
    // they are. For sampling and evaluation, not training.
    void round_weights_to_bf16();
    bool bf16_weights() const { return bf16_weights_; }
    // The sliding-window policy, shared by the cached and the uncached sampling paths (so that
    // both see the same tokens): how many tokens (keep, 1..block_size) the window keeps when it
    // would grow past block_size. keep = block_size, the default, is nanoGPT's exact crop: every
    // token past the block then pays a block_size-token recompute. A smaller keep (e.g.
    // block_size/2) recomputes keep tokens once per block_size − keep new tokens instead (much
    // faster sampling), at the price of a shorter context right after each slide, so the
    // samples differ from nanoGPT's.
    void set_cache_crop(int keep);
    int cache_crop() const { return cache_crop_ > 0 ? cache_crop_ : config_.block_size; }
    // The window after n more tokens join a window of len tokens: len + n while that fits in
    // block_size, else cache_crop() (the last ones).
    int window_after(int len, int n) const {
        return len + n <= config_.block_size ? len + n : cache_crop();
    }

  private:
    struct Activations;
    struct KvCache;
    void init_weights(uint64_t seed);
    void plan(int B, int T);
    void cache_forward(const int* tokens, int n);
    void cache_pack();

    GptConfig config_;
    std::vector<ParamTensor> tensors_;
    std::vector<std::array<size_t, 12>> layer_offsets_;  // per block, LayerParams' field order
    size_t num_params_ = 0;
    std::unique_ptr<float[], void (*)(void*)> params_, grads_, m_, v_;
    std::unique_ptr<Activations> acts_;
    std::unique_ptr<KvCache> cache_;
    int adam_t_ = 0;
    uint64_t dropout_counter_ = 0;
    uint64_t dropout_seed_ = 0;
    bool training_ = true;
    int cache_crop_ = 0;  // 0: block_size
    bool bf16_weights_ = false;
};

}  // namespace wiggle
