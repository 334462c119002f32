// Where a GPT's gradients are computed: its forward and backward passes (nanoGPT's model.py, and
// llm.c's gpt2_forward / gpt2_backward), written out once on the kernels, as functions of the
// weights (const), the activations and the gradients:
//
//   GptWeights weights(config, seed);
//   GptActivations acts;                                  // planned on the first forward
//   float loss = gpt_forward(acts, weights, x, y, B, T);  // the mean cross-entropy
//   weights.params().zero_grad();
//   gpt_backward(weights.grads(), weights, acts);         // += into every gradient
//
// The gradient convention, for every kernel and buffer here: backward accumulates (+=) into the
// gradients it is given, as micrograd's _backward does, so the tied wte (the embedding and the
// output layer), the residual stream (read by a block's branch and its skip connection) and
// micro-batches adding up in the parameters' gradients need no special case. An activation's
// gradient lives in scratch that is zeroed right before the first kernel adds to it.
//
// The same model written with the tensor ops of part 8, on the autograd tape, is gpt_tape.h; its
// loss and every gradient equal these (tests/nn/gpt_tape_test.cpp).
// Legend: B batch, T time (≤ block_size), C = n_embd, V = vocab_size, NH = n_head, L = n_layer.
// reference: nanoGPT model.py (karpathy/nanoGPT), llm.c train_gpt2.c.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/bf16.h"
#include "nn/gpt_weights.h"
#include "util/aligned.h"

namespace wiggle {

// Dropout for one forward (nanoGPT's training mode): probability p at every site (the embeddings,
// the attention probabilities, the two residual branches of each block), with masks that are a
// hash of (seed, site, element), so backward recomputes them. p = 0: no dropout (evaluation).
struct Dropout {
    float p = 0.0f;
    uint64_t seed = 0;
};

// The dropout of a training run: every training forward draws new masks, the n-th forward's
// (n = 1, 2, ...: micro-batches count one each) from (run seed, n). The trainer counts the
// forwards and saves the count, to resume exactly.
struct DropoutStream {
    float p = 0.0f;
    uint64_t run_seed = 0;
    // The n-th training forward's dropout ({} when p is 0).
    Dropout forward(uint64_t n) const;
};

// The arithmetic of the matmuls. Fp32: everything in float. Bf16: mixed precision as the field
// does it (PyTorch's autocast, llm.c): every matmul reads bf16 copies of its weights, inputs and
// output gradients and sums in float (kernels::matmul_forward_bf16), and so do attention's
// products (kernels::attention_forward_bf16: q, k, v, the probabilities, dO and dS in bf16); the
// weights stay float (master weights: the bf16 copy is made by each forward), and so do the
// gradients, the layer norms, attention's softmax, GELU and the loss. The matmuls' and
// attention's inputs that nothing else reads are kept in bf16 only (half the memory), and the
// GELU's output is recomputed in backward.
enum class Precision : uint8_t { Fp32, Bf16 };

// Everything a forward computes for backward, planned in one arena per (B,T) (llm.c's
// ActivationTensors), and the scratch of backward. Planned by the first forward with a (B,T) and
// reused by later ones; a larger (B,T) grows it. Under Precision::Bf16 only the bf16 copies that
// the matmuls, attention and the GELU read are kept: the layer norms write theirs alone (ln1,
// ln2, lnf and fch_gelu are null; the GELU writes its output into in16, in the forward and again
// in backward; the gemms round qkv and fch straight into their copies), and the float qkv, atty
// and fch point to backward's scratch (dbt4c, dbtc2, which a forward does not otherwise use; the
// gemms keep partial sums there for a K deeper than one block, and backward widens atty16 again,
// into dbtc2). In both precisions proj is dbtc and dqkv is dbt4c2: scratch that is never needed
// at the same time as the other.
class GptActivations {
  public:
    using bf16 = kernels::bf16;
    struct Layer {
        float* ln1;       // (B,T,C)  ln_1(x)
        bf16* ln1_16;     // (B,T,C)  its bf16 copy (Bf16 only)
        float* ln1_mean;  // (B,T)
        float* ln1_rstd;  // (B,T)
        float* qkv;       // (B,T,3C)
        bf16* qkv16;      // (B,T,3C) the same rounded to bf16, kept instead (Bf16 only)
        float* atty;      // (B,T,C)  attention output, heads side by side
        bf16* atty16;     // (B,T,C)  the same rounded to bf16, kept instead (Bf16 only)
        float* lse;       // (B,NH,T) softmax log-sum-exp, all attention's backward keeps
        float* res2;      // (B,T,C)  x + attn(ln_1(x))
        float* ln2;       // (B,T,C)  ln_2(res2)
        bf16* ln2_16;     // (B,T,C)  its bf16 copy (Bf16 only)
        float* ln2_mean;  // (B,T)
        float* ln2_rstd;  // (B,T)
        float* fch;       // (B,T,4C) mlp.c_fc output, the GELU's input
        bf16* fch16;      // (B,T,4C) the same rounded to bf16, kept instead (Bf16 only)
        float* fch_gelu;  // (B,T,4C) (Fp32 only)
        float* res3;      // (B,T,C)  res2 + mlp(ln_2(res2)): the block's output
    };
    float* encoded;  // (B,T,C)  wte[token] + wpe[position]
    std::vector<Layer> layers;
    float* lnf;       // (B,T,C)
    bf16* lnf16;      // (B,T,C)  its bf16 copy (Bf16 only)
    float* lnf_mean;  // (B,T)
    float* lnf_rstd;  // (B,T)
    float* logits;    // (B,T,V)
    float* losses;    // (B,T)
    float* proj;      // (B,T,C)  a c_proj's output before its residual add (not kept): dbtc
    // backward's scratch, reused by every layer
    float* dres;     // (B,T,C)  the gradient of the residual stream
    float* dbtc;     // (B,T,C)
    float* dbtc2;    // (B,T,C)
    float* dqkv;     // (B,T,3C) dbt4c2's first 3C columns' worth
    float* dbt4c;    // (B,T,4C)
    float* dbt4c2;   // (B,T,4C)
    float* dlogits;  // (B,T,V)
    float* dlosses;  // (B,T)
    // Bf16 only: the matmuls' bf16 operands that are not kept
    bf16* in16;    // (B,T,4C) the GELU's output (mlp.c_proj's input), recomputed in backward
    bf16* dout16;  // (B,T,max(4C,V)) a matmul's output gradient, rounded for its backward

    // What backward needs from the forward it differentiates.
    int B = 0, T = 0;
    std::vector<int> tokens, targets;
    int num_targets = 0;  // targets that are not ignored (−1)
    bool has_targets = false;
    Dropout dropout;

    // The matmuls' arithmetic of the next forward and its backward (Fp32 unless set).
    Precision precision = Precision::Fp32;
    // Bf16: the weights rounded to bf16, in their flat layout (made by each forward)
    kernels::bf16* weights16() { return weights16_.get(); }

    // Points every buffer at memory for (B,T) of this model in `precision` (allocated when it
    // grows).
    void plan(const GptConfig& config, int B, int T);
    // The bytes plan() allocates for (B,T) in a precision.
    static size_t bytes_for(const GptConfig& config, int B, int T,
                            Precision precision = Precision::Fp32);
    // The logits (B,T,V) of the last forward.
    std::span<const float> last_logits(int V) const;

    // Makes weights16() the bf16 copy of `weights` (Bf16's forward does).
    void copy_weights_to_bf16(const GptWeights& weights);

  private:
    size_t layout(const GptConfig& config, int B, int T, Precision precision, float* base);
    AlignedArray<float> memory_;
    size_t capacity_ = 0;  // floats
    Precision planned_ = Precision::Fp32;
    AlignedArray<kernels::bf16> weights16_;
    size_t weights16_size_ = 0;
};

// tokens and targets are (B,T) with T ≤ block_size; targets may be null (logits only) and a target
// of −1 is ignored. Returns the mean cross-entropy over the targets that are not ignored (0 when
// all are, NaN without targets); the logits are acts.logits.
float gpt_forward(GptActivations& acts, const GptWeights& weights, const int* tokens,
                  const int* targets, int B, int T, Dropout dropout = {});

// Accumulates into grads the gradient of dloss × the last forward's mean loss (which must have had
// targets). dloss 1 is the plain gradient; a smaller one lets micro-batches add up to one mean.
void gpt_backward(const GptGrads& grads, const GptWeights& weights, GptActivations& acts,
                  float dloss = 1.0f);

// The logits (V) after the last of n context tokens by a full forward over its last
// min(n, block_size) tokens, without dropout (nanoGPT's generate, which crops the same way).
std::span<const float> gpt_next_logits(GptActivations& acts, const GptWeights& weights,
                                       const int* tokens, int n);

}  // namespace wiggle
