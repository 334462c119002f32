// Where sampling decodes tokens fast: a KV cache of the context's keys and values, so each new
// token costs O(context) instead of a full forward; a copy of the weights packed for decoding; the
// sliding window of context; a team of threads that decode together.
//
//   GptDecoder dec(weights, ContextWindow{block_size, block_size / 2});
//   std::span<const float> logits = dec.append(prompt);   // the logits after the prompt
//   logits = dec.append(std::span(&next, 1));             // and after one more token
//
// It can also decode a batch of B sequences together (nanoGPT's num_samples): each product then
// runs on B rows, one pass over the weights for all of them, and each sequence gets the bits it
// would get alone, since no output's arithmetic depends on the number of rows.
//
// The plain version, one token at a time on one thread in reading order, is GptReferenceDecoder
// (gpt_reference_decoder.h): the same numbers, and the place to read first. Legend: C = n_embd,
// T = block_size, V = vocab_size, L = n_layer, NH = n_head, hs = C/NH, B = batch().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/decode.h"
#include "kernels/thread_tuner.h"
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

// The precision of the weight matrices a decoder streams (wte, which is also the output layer,
// and every block's c_attn, attn.c_proj, c_fc and mlp.c_proj): float; bfloat16 (half the bytes,
// the same float arithmetic on the rounded weights); or int8 in groups of int8_group_size inputs
// (kernels/decode.h: llama2.c's runq, the inputs quantized too, integer dot products). AsStored:
// bf16 when the weights were rounded to it (GptWeights::round_to_bf16), else float.
// Int8 also keeps the KV cache in bf16: past a few hundred positions the cache is a tenth of the
// bytes a token reads, and the leanest setting should not read it in float.
enum class DecodeWeights : uint8_t { AsStored, Fp32, Bf16, Int8 };
// The int8 quantization groups: the largest divisor of the head size up to kQ8MaxGroup (64 for
// GPT-2), so a head's or an MLP group's share of a product is whole groups.
int int8_group_size(const GptConfig& config);

// What int8 quantization did to one weight matrix: the largest |w − q·s| and the largest |w|.
struct QuantizationError {
    std::string name;  // its state_dict name
    float max_error;
    float max_abs;
};

class GptDecoder {
  public:
    static constexpr int kMaxBatch = 1024;
    // Packs the weight matrices for decoding and copies the rest (biases, layer norms, wpe): the
    // decoder keeps no reference to `weights`, which may be freed (sampling then holds one copy
    // of the model). The token embeddings are read back from the packed output layer (tied).
    // batch: the sequences decoded together, each with its own cache (1 ≤ B ≤ kMaxBatch).
    GptDecoder(const GptWeights& weights, ContextWindow window,
               DecodeWeights dtype = DecodeWeights::AsStored, int batch = 1);
    ~GptDecoder();

    // Appends n tokens to each sequence's cached context (n ≥ 1, or 0 to read the current logits
    // again) and returns the logits after each sequence's last token, (B,V). `tokens` is (B,n):
    // sequence b's new tokens at [b·n, (b+1)·n). When the context would outgrow the window, the
    // cache keeps window().after(length(), n) tokens, recomputed. Allocates nothing after the
    // first call at a thread count.
    std::span<const float> append(std::span<const int> tokens);
    // One sequence (B = 1): the logits (n,V) after each of its n new tokens (to evaluate a loss
    // with the decoder's arithmetic). The tokens must fit the block: length() + n ≤ block_size.
    std::span<const float> append_every_row(std::span<const int> tokens);
    // Empties the cache.
    void clear() { len_ = shadow_len_ = 0; }
    int length() const { return len_; }  // tokens in each cached context (≤ block_size)
    int batch() const { return batch_; }
    const ContextWindow& window() const { return window_; }
    const GptConfig& config() const { return cfg_; }
    DecodeWeights dtype() const { return dtype_; }
    // Whether the window's slides take the shadow cache instead of a recompute (below).
    bool shadowed() const { return shadowed_; }
    // Int8: each weight matrix's quantization error, in state_dict order (empty otherwise).
    const std::vector<QuantizationError>& quantization_errors() const { return quant_errors_; }

  private:
    struct Packed;
    // n new tokens of each sequence b at tokens[b·ld .. b·ld + n), on a team of `threads`; with
    // `shadow` (n = 1), each sequence's token goes into its shadow cache too
    void forward(const int* tokens, size_t ld, int n, bool every_row, bool shadow, int threads);
    void pack(const GptWeights& weights);
    // Moves each sequence's last m cached tokens (of len_) to the front of its row of tokens_
    void keep_last(int m);
    // Whether forward splits n new rows of each sequence by rows (or sequences) on `threads`
    bool split_by_rows(int n, int threads) const;
    // Whether a decoded token's rows and their shadows' stay few enough for a rank, and the
    // weights small enough, that the shadows cost little (linear_packed_stream_rows)
    bool shadow_pays(int threads) const;

    GptConfig cfg_;
    ContextWindow window_;
    DecodeWeights dtype_;
    int batch_;
    std::vector<QuantizationError> quant_errors_;
    int len_ = 0;
    std::unique_ptr<int[]> tokens_;  // (B,T) the cached tokens, for the recompute when it slides
    // The shadow cache. When the window slides it keeps its last `keep` tokens, which then sit at
    // new positions and see a shorter context: their keys and values must be recomputed. Instead,
    // as each of those tokens is decoded, it is decoded a second time into a second cache per
    // sequence, the shadow, at the position and with the context it will have after the slide;
    // at the slide the shadow becomes the cache, and nothing is recomputed. One row more a token,
    // where a token's products are bound by streaming the weights (a row more costs little); the
    // same bits as the recompute (a row's arithmetic does not depend on the rows beside it).
    // Kept when the kept tokens all come after the slide before (1 < keep, 2·keep ≤ block + 1;
    // keeping one token, the slide is a single row and the shadows would hold nothing), a rank's
    // rows stay few and the weights small (shadow_pays: one sequence or a few, of a model the
    // cores' caches hold, not int8's products); a prompt that reaches past first_kept(), or a
    // token decoded without its shadow (another team size), leaves the next slide to the
    // recompute.
    bool shadowed_ = false;  // the cache holds 2·B sequences
    int shadow_len_ = 0;     // positions the shadows hold: len_ − first_kept() when in step
    int cache_half_ = 0;     // which half of the cache is the sequences' (the other: shadows)
    // the first position whose token the next slide keeps: the shadows' position 0
    int first_kept() const { return window_.block - window_.keep + 1; }
    AlignedArray<float> memory_;
    // The KV cache, in float or (int8) in bf16, the other pair null; with the shadows, 2·B
    // sequences: sequence b's at b + cache_half_·B, its shadow's at b + (1 − cache_half_)·B.
    float* kt_ = nullptr;  // (B, L, C, T) keys, transposed: position t, channel c at [b][l][c][t]
    float* v_ = nullptr;   // (B, L, T, C) values
    kernels::bf16* kt16_ = nullptr;
    kernels::bf16* v16_ = nullptr;
    // The new rows of a forward run position by position, the sequences inside: row i·B + b is
    // sequence b's token at position len + i, so the last position's rows are the last B (split by
    // sequences, each rank's sequences b0.. the same way in their block of rows, from row
    // b0·(n + spare rows), so that no page holds two ranks' rows: gpt_decoder.cpp's spare_rows).
    // A decoded token's shadow rows, one a sequence, come first (each rank's first; its sequences'
    // blocks then from b0·(2 + spare rows)).
    // Scratch for R = B·(T + spare rows) rows: split by heads (forward), every rank writes its own
    // heads' (R,C) blocks of the partial sums of attn.c_proj and mlp.c_proj (NH,R,C), which all
    // ranks read (two buffers: a rank may write the MLP's while another still reads attention's),
    // and its own columns of qkv, atty, fch and fch_gelu in its RankScratch (in these buffers only
    // when a team of one runs kRowSplitRows rows or more); split by rows, its own rows of each (and
    // its heads' columns of every row's atty; split by sequences: its sequences' block of rows,
    // whole rows)
    float *qkv_, *atty_, *fch_, *fch_gelu_, *attn_parts_, *mlp_parts_, *logits_;
    AlignedArray<float> row_logits_;  // (T,V) append_every_row's, allocated on its first call
    std::unique_ptr<Packed> packed_;
    // The team's size for a decoded token: every thread, or one when that is faster (a busy
    // machine), chosen by timing the tokens.
    kernels::ThreadTuner tuner_;
    // Each rank of a decoding team keeps its own copy of the residual stream x (T·B,C) (split by
    // rows: of its rows), normalizes it itself (ln (T·B,C), mean and rstd (T·B)), and has its own
    // attention probabilities att (NH,T), a row to add partial sums in, sum (C), and (split by
    // heads) its columns of qkv, atty, fch and fch_gelu for fewer than kRowSplitRows rows, laid
    // out as in the shared scratch; the ranks' blocks `rank_stride_` floats apart, with a page
    // between them (gpt_decoder.cpp's kPageBytes: no page holds two ranks' scratch).
    struct RankScratch {
        float *x, *ln, *mean, *rstd, *att, *sum;
        float *qkv, *atty, *fch, *fch_gelu;
    };
    RankScratch rank_scratch(int rank) const;
    void reserve_ranks(int n);
    AlignedArray<float> rank_memory_;
    int ranks_ = 0;
    size_t rank_stride_ = 0;
};

}  // namespace wiggle
