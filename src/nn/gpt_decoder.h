// Where sampling decodes tokens fast: a KV cache of the context's keys and values, so each new
// token costs O(context) instead of a full forward; a copy of the weights packed for decoding; the
// sliding window of context; a team of threads that decode together.
//
//   GptDecoder dec(weights, ContextWindow{block_size, block_size / 2});
//   std::span<const float> logits = dec.append(prompt);   // the logits after the prompt
//   logits = dec.append(std::span(&next, 1));             // and after one more token
//
// The plain version, one token at a time on one thread in reading order, is GptReferenceDecoder
// (gpt_reference_decoder.h): the same numbers, and the place to read first. Legend: C = n_embd,
// T = block_size, V = vocab_size, L = n_layer, NH = n_head, hs = C/NH.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "kernels/decode.h"
#include "nn/gpt_weights.h"
#include "util/aligned.h"

namespace wiggle {

// The context a model sees when sampling: at most `block` tokens (block_size). When a new token
// would grow the window past the block, the window keeps its last `keep` tokens (1..block) and
// grows again; with learned position embeddings every kept token then changes position, so the
// decoder recomputes their keys and values. keep = block is nanoGPT's crop (slide by one: a
// block_size recompute for every token past the block); a smaller keep recomputes keep tokens
// once per block − keep new tokens (much faster sampling), at the price of a shorter context right
// after each slide, so the samples differ from nanoGPT's. The cached and the uncached sampling
// paths share this rule, so both see the same tokens.
struct ContextWindow {
    int block;
    int keep;
    // Exits with a clear error unless 1 ≤ keep ≤ block.
    ContextWindow(int block_size, int keep_tokens);
    // The window after n more tokens join a window of len tokens.
    int after(int len, int n) const { return len + n <= block ? len + n : keep; }
};

class GptDecoder {
  public:
    // Packs the weights for decoding (as much memory again as the weight matrices, half as much
    // when they are rounded to bf16: the packed copy is bf16 then). The weights must outlive the
    // decoder; after changing them, call reset().
    GptDecoder(const GptWeights& weights, ContextWindow window);
    ~GptDecoder();

    // Appends tokens (n ≥ 1, or 0 to read the current logits again) to the cached context and
    // returns the logits (V) after the last one. When the context would outgrow the window, the
    // cache keeps window().after(length(), n) tokens, recomputed. Allocates nothing after the
    // first call at a thread count.
    std::span<const float> append(std::span<const int> tokens);
    // Empties the cache.
    void clear() { len_ = 0; }
    // Empties the cache and packs the weights again (after they changed).
    void reset();
    int length() const { return len_; }  // tokens in the cached context (≤ block_size)
    const ContextWindow& window() const { return window_; }

  private:
    struct Packed;
    void forward(const int* tokens, int n);
    void pack();

    const GptWeights& w_;
    ContextWindow window_;
    int len_ = 0;
    std::unique_ptr<int[]> tokens_;  // (T) the cached tokens, for the recompute when it slides
    AlignedArray<float> memory_;
    float* kt_;  // (L, C, T) keys, transposed: position t, channel c at [l][c][t]
    float* v_;   // (L, T, C) values
    // scratch for up to T new rows: every rank writes its own columns of qkv, atty, fch and
    // fch_gelu, and its own heads' (T,C) blocks of the partial sums of attn.c_proj and mlp.c_proj
    // (NH,T,C), which all ranks read (two buffers: a rank may write the MLP's while another still
    // reads attention's)
    float *qkv_, *atty_, *fch_, *fch_gelu_, *attn_parts_, *mlp_parts_, *logits_;
    std::unique_ptr<Packed> packed_;
    // Each rank of a decoding team keeps its own copy of the residual stream x (T,C), normalizes
    // it itself (ln (T,C), mean and rstd (T)), and has its own attention probabilities att (NH,T)
    // and a row to add partial sums in, sum (C); the ranks' blocks `rank_stride_` floats (whole
    // cache lines) apart.
    struct RankScratch {
        float *x, *ln, *mean, *rstd, *att, *sum;
    };
    RankScratch rank_scratch(int rank) const;
    void reserve_ranks(int n);
    AlignedArray<float> rank_memory_;
    int ranks_ = 0;
    size_t rank_stride_ = 0;
};

}  // namespace wiggle
