// The fast decoder (gpt_decoder.h): the KV cache, the packed weights, the sliding window and the
// decoding team. Decoding one token is a chain of matrix-vector products, so it runs on the decode
// kernels (kernels/decode.h), not the training gemm. gpt_reference_decoder.cpp computes the same
// numbers one token at a time in plain loops.
#include "nn/gpt_decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>

#include "kernels/cpu.h"
#include "kernels/elementwise.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "util/check.h"

namespace wiggle {

namespace k = kernels;

namespace {

size_t floats_in_lines(size_t n) { return round_up_to_line(n * sizeof(float)) / sizeof(float); }

// A key or value into the cache: as is, or rounded to bf16 (int8's cache).
void store(float& cached, float x) { cached = x; }
void store(k::bf16& cached, float x) { cached = k::to_bf16(x); }

// x (rows,C) += (p_0 + p_1 + ... + p_{G−1}) + bias: the partial sums of a product whose inputs a
// team split in G groups (kernels::linear_packed_forward over an input range), each (rows,C) and
// `stride` floats after the one before, added in group order whatever the team; sum (C) scratch.
void add_partial_sums(float* x, float* sum, const float* parts, const float* bias, int rows, int C,
                      int G, size_t stride) {
    for (int i = 0; i < rows; ++i) {
        const size_t r = static_cast<size_t>(i) * C;
        std::memcpy(sum, parts + r, C * sizeof(float));
        for (int g = 1; g < G; ++g) k::accumulate(sum, parts + g * stride + r, C);
        if (bias) k::accumulate(sum, bias, C);
        k::accumulate(x + r, sum, C);
    }
}

// Where two ranks' data share a page, a core's prefetchers (which stay within a page) run on past
// the end of its own data and take lines the other core is writing: split by sequences, the rank
// whose block of rows came second ran slower, whichever core it was on (bench/RESULTS.md). Data
// of different ranks are kept at least a page apart, so that no page holds both.
constexpr int kPageBytes = 4096;
// Split by sequences, the ranks write neighbouring blocks of rows of the shared scratch (qkv_ to
// mlp_parts_): each sequence's block of rows is followed by spare rows, at least a page of the
// narrowest buffer (C floats a row).
int spare_rows(int C) {
    const int row_bytes = C * static_cast<int>(sizeof(float));
    return (kPageBytes + row_bytes - 1) / row_bytes;
}
// The rows of the shared scratch: up to T new rows of each of the B sequences, and their spare
// rows.
size_t scratch_rows(const GptConfig& cfg, int B) {
    return static_cast<size_t>(B) * (cfg.block_size + spare_rows(cfg.n_embd));
}

// A forward of at least this many rows is split among the team by rows (or sequences), not by
// heads (forward).
constexpr int kRowSplitRows = 32;
// So is one new token of each of at least `threads` sequences when the packed weights take at most
// this many bytes: then every rank reads all of them from its own core's caches; past it, each
// rank would stream them all from memory, twice the bytes of the head split.
constexpr size_t kSplitSequencesBytes = size_t{4} << 20;
// The shadow cache (gpt_decoder.h) only for weights the cores' caches hold: with a GPT-2 124M's,
// read from memory, the shadow rows cost more than the recompute they saved (bench/RESULTS.md).
constexpr size_t kShadowBytes = kSplitSequencesBytes;

}  // namespace

ContextWindow::ContextWindow(int block_size, int keep_tokens)
    : block(block_size), keep(keep_tokens) {
    WIGGLE_CHECK(keep >= 1 && keep <= block, "keep between 1 and block_size",
                 "the context window keeps {} tokens, out of range [1, {}]", keep, block);
}

int int8_group_size(const GptConfig& config) {
    return std::gcd(config.n_embd / config.n_head, k::kQ8MaxGroup);
}

// A weight matrix packed for decoding, as floats (kernels::pack_linear), bf16 (pack_linear_bf16:
// half the bytes, the same values when the model's weights are rounded to bf16) or int8
// (pack_linear_q8, groups of G inputs).
struct GptDecoder::Packed {
    struct Matrix {
        DecodeWeights dtype = DecodeWeights::Fp32;  // Fp32, Bf16 or Int8
        int K = 0, N = 0, G = 0;                    // G: int8's group size
        void* data = nullptr;

        float* f32() const { return static_cast<float*>(data); }
        k::bf16* b16() const { return static_cast<k::bf16*>(data); }
        std::uint8_t* q8() const { return static_cast<std::uint8_t*>(data); }
        size_t bytes() const {
            switch (dtype) {
                case DecodeWeights::Int8:
                    return k::packed_linear_q8_bytes(K, N, G);
                case DecodeWeights::Bf16:
                    return k::packed_linear_bf16_size(K, N) * sizeof(k::bf16);
                default:
                    return k::packed_linear_size(K, N) * sizeof(float);
            }
        }
        // Packs weight (N,K); returns the quantization error (int8), else 0.
        float pack(const float* weight) const {
            switch (dtype) {
                case DecodeWeights::Int8:
                    return k::pack_linear_q8(q8(), weight, K, N, G);
                case DecodeWeights::Bf16:
                    k::pack_linear_bf16(b16(), weight, K, N);
                    return 0.0f;
                default:
                    k::pack_linear(f32(), weight, K, N);
                    return 0.0f;
            }
        }
        // out (M,N) = inp (M,K) · weightᵀ + bias, columns [n0, n1), inputs [k0, k1)
        void forward(float* out, const float* inp, const float* bias, int M, int n0, int n1, int k0,
                     int k1) const {
            switch (dtype) {
                case DecodeWeights::Int8:
                    return k::linear_q8_forward(out, inp, q8(), bias, M, K, N, G, n0, n1, k0, k1);
                case DecodeWeights::Bf16:
                    return k::linear_packed_forward(out, inp, b16(), bias, M, K, N, n0, n1, k0, k1);
                default:
                    return k::linear_packed_forward(out, inp, f32(), bias, M, K, N, n0, n1, k0, k1);
            }
        }
        // Column n (K) of the weight, as the products see it: the output layer's column n is
        // the token embedding wte[n] (tied).
        void column(float* out, int n) const {
            switch (dtype) {
                case DecodeWeights::Int8:
                    return k::unpack_column_q8(out, q8(), K, N, G, n);
                case DecodeWeights::Bf16:
                    return k::unpack_column(out, b16(), K, N, n);
                default:
                    return k::unpack_column(out, f32(), K, N, n);
            }
        }
    };
    struct Block {
        Matrix c_attn, attn_proj, c_fc, mlp_proj;
        BlockView<const float> small;  // biases and layer norms (copies); the matrices null
    };
    std::vector<Block> blocks;
    Matrix lm_head;
    EmbeddingView<const float> small;  // wpe and ln_f (copies); wte null: lm_head's columns
    AlignedArray<char> memory;
    size_t bytes = 0;  // memory's: the packed matrices
    AlignedArray<float> small_memory;

    Packed(const GptConfig& cfg, DecodeWeights dtype) : blocks(cfg.n_layer) {
        assert(dtype != DecodeWeights::AsStored);
        const int C = cfg.n_embd, G = dtype == DecodeWeights::Int8 ? int8_group_size(cfg) : 0;
        std::vector<Matrix*> all;
        for (Block& b : blocks) {
            b.c_attn = {dtype, C, 3 * C, G};
            b.attn_proj = {dtype, C, C, G};
            b.c_fc = {dtype, C, 4 * C, G};
            b.mlp_proj = {dtype, 4 * C, C, G};
            all.insert(all.end(), {&b.c_attn, &b.attn_proj, &b.c_fc, &b.mlp_proj});
        }
        lm_head = {dtype, C, cfg.vocab_size, G};
        all.push_back(&lm_head);
        size_t total = 0;  // each matrix on its own cache lines
        for (Matrix* m : all) total += round_up_to_line(m->bytes());
        memory = aligned_zeros<char>(total, "the packed weights");
        bytes = total;
        char* at = memory.get();
        for (Matrix* m : all) {
            m->data = at;
            at += round_up_to_line(m->bytes());
        }
    }

    // Copies the tensors that are not packed (biases, layer norms, wpe) and points the views at
    // the copies.
    void copy_small(const GptWeights& w) {
        const GptConfig& cfg = w.config();
        const size_t C = cfg.n_embd, T = cfg.block_size;
        std::vector<std::pair<const float**, size_t>> tensors;
        for (int l = 0; l < cfg.n_layer; ++l) {
            BlockView<const float>& s = blocks[l].small;
            s = w.block(l);
            s.c_attn_weight = s.attn_proj_weight = s.c_fc_weight = s.mlp_proj_weight = nullptr;
            tensors.insert(tensors.end(), {{&s.ln_1_weight, C},
                                           {&s.ln_1_bias, C},
                                           {&s.c_attn_bias, 3 * C},
                                           {&s.attn_proj_bias, C},
                                           {&s.ln_2_weight, C},
                                           {&s.ln_2_bias, C},
                                           {&s.c_fc_bias, 4 * C},
                                           {&s.mlp_proj_bias, C}});
        }
        small = w.embedding();
        small.wte = nullptr;
        tensors.insert(tensors.end(),
                       {{&small.wpe, T * C}, {&small.ln_f_weight, C}, {&small.ln_f_bias, C}});
        size_t total = 0;
        for (auto& [p, n] : tensors) total += *p ? n : 0;  // a model without biases has none
        small_memory = aligned_zeros<float>(total, "the decoder's copy of the biases");
        float* at = small_memory.get();
        for (auto& [p, n] : tensors) {
            if (!*p) continue;
            std::memcpy(at, *p, n * sizeof(float));
            *p = at;
            at += n;
        }
    }
};

bool GptDecoder::split_by_rows(int n, int threads) const {
    return threads > 1 && (n * batch_ >= kRowSplitRows ||
                           (n == 1 && batch_ >= threads && packed_->bytes <= kSplitSequencesBytes));
}

bool GptDecoder::shadow_pays(int threads) const {
    const int rows = split_by_rows(1, threads) ? (batch_ + threads - 1) / threads : batch_;
    const int stream_rows = dtype_ == DecodeWeights::Int8 ? 1 : k::linear_packed_stream_rows();
    return 2 * rows <= stream_rows && packed_->bytes <= kShadowBytes;
}

GptDecoder::GptDecoder(const GptWeights& weights, ContextWindow window, DecodeWeights dtype,
                       int batch)
    : cfg_(weights.config()),
      window_(window),
      dtype_(dtype != DecodeWeights::AsStored ? dtype
             : weights.bf16()                 ? DecodeWeights::Bf16
                                              : DecodeWeights::Fp32),
      batch_(batch) {
    const GptConfig& cfg = cfg_;
    WIGGLE_CHECK(window_.block == cfg.block_size, "",
                 "a window of {} tokens for a block_size of {}", window_.block, cfg.block_size);
    WIGGLE_CHECK(batch_ >= 1 && batch_ <= kMaxBatch, "decode 1 to 1024 sequences together",
                 "a batch of {} sequences", batch_);
    const size_t L = cfg.n_layer, T = cfg.block_size, C = cfg.n_embd, NH = cfg.n_head;
    const size_t B = batch_, R = scratch_rows(cfg, batch_);
    tokens_.reset(new int[B * T]());
    packed_ = std::make_unique<Packed>(cfg, dtype_);
    shadowed_ =
        window_.keep > 1 && 2 * window_.keep <= window_.block + 1 && shadow_pays(k::num_threads());
    const size_t cached = (shadowed_ ? 2 : 1) * B * L * C * T;  // keys (values) of every sequence
    const bool cache_bf16 = dtype_ == DecodeWeights::Int8;
    const size_t cache_floats = cache_bf16 ? (cached + 1) / 2 : cached;
    float *kt = nullptr, *v = nullptr;  // the cache's memory, in floats
    std::pair<float**, size_t> parts[] = {{&kt, cache_floats},
                                          {&v, cache_floats},
                                          {&qkv_, R * 3 * C},
                                          {&atty_, R * C},
                                          {&fch_, R * 4 * C},
                                          {&fch_gelu_, R * 4 * C},
                                          {&attn_parts_, NH * R * C},
                                          {&mlp_parts_, NH * R * C},
                                          {&logits_, B * cfg.vocab_size}};
    size_t total = 0;
    for (auto& [p, n] : parts) total += floats_in_lines(n);
    memory_ = aligned_zeros<float>(total, "the KV cache");
    size_t off = 0;
    for (auto& [p, n] : parts) {
        *p = memory_.get() + off;
        off += floats_in_lines(n);
    }
    if (cache_bf16) {
        kt16_ = reinterpret_cast<k::bf16*>(kt), v16_ = reinterpret_cast<k::bf16*>(v);
    } else {
        kt_ = kt, v_ = v;
    }
    pack(weights);
}

GptDecoder::~GptDecoder() = default;

void GptDecoder::pack(const GptWeights& w) {
    const bool int8 = dtype_ == DecodeWeights::Int8;
    auto record = [&](const char* name, int l, const Packed::Matrix& m, const float* weight) {
        const float err = m.pack(weight);
        if (!int8) return;
        float max_abs = 0.0f;
        for (size_t i = 0; i < static_cast<size_t>(m.K) * m.N; ++i) {
            max_abs = std::max(max_abs, std::fabs(weight[i]));
        }
        const std::string full = l < 0 ? name : fmt::format("transformer.h.{}.{}", l, name);
        quant_errors_.push_back({full, err, max_abs});
    };
    for (int l = 0; l < cfg_.n_layer; ++l) {
        const BlockView<const float> b = w.block(l);
        const Packed::Block& p = packed_->blocks[l];
        record("attn.c_attn.weight", l, p.c_attn, b.c_attn_weight);
        record("attn.c_proj.weight", l, p.attn_proj, b.attn_proj_weight);
        record("mlp.c_fc.weight", l, p.c_fc, b.c_fc_weight);
        record("mlp.c_proj.weight", l, p.mlp_proj, b.mlp_proj_weight);
    }
    record("transformer.wte.weight", -1, packed_->lm_head, w.embedding().wte);
    packed_->copy_small(w);
}

void GptDecoder::reserve_ranks(int n) {
    if (n <= ranks_) return;
    ranks_ = n;
    const GptConfig& cfg = cfg_;
    const size_t T = cfg.block_size, TB = T * batch_, C = cfg.n_embd, NH = cfg.n_head;
    // x, ln, mean, rstd, att, sum, then kRowSplitRows rows of qkv (3C), atty (C), fch and
    // fch_gelu (4C each): rank_scratch's layout
    const size_t floats = 2 * TB * C + 2 * TB + NH * T + C + kRowSplitRows * 12 * C;
    rank_stride_ = floats_in_lines(floats + kPageBytes / sizeof(float));  // and a page's gap
    rank_memory_ = aligned_zeros<float>(rank_stride_ * ranks_, "the decoding threads' scratch");
}

GptDecoder::RankScratch GptDecoder::rank_scratch(int rank) const {
    assert(rank < ranks_);
    const GptConfig& cfg = cfg_;
    const size_t T = cfg.block_size, TB = T * batch_, C = cfg.n_embd, NH = cfg.n_head;
    float* x = rank_memory_.get() + rank_stride_ * rank;
    float* ln = x + TB * C;
    float* mean = ln + TB * C;
    float* rstd = mean + TB;
    float* att = rstd + TB;
    float* sum = att + NH * T;
    float* qkv = sum + C;  // kRowSplitRows rows of each
    float* atty = qkv + kRowSplitRows * 3 * C;
    float* fch = atty + kRowSplitRows * C;
    float* fch_gelu = fch + kRowSplitRows * 4 * C;
    assert(fch_gelu + kRowSplitRows * 4 * C <= x + rank_stride_);  // reserve_ranks' size
    return {x, ln, mean, rstd, att, sum, qkv, atty, fch, fch_gelu};
}

std::span<const float> GptDecoder::append(std::span<const int> tokens) {
    WIGGLE_CHECK(tokens.size() % batch_ == 0, "give each sequence the same number of tokens",
                 "{} tokens for {} sequences", tokens.size(), batch_);
    const int n = static_cast<int>(tokens.size() / batch_);
    WIGGLE_CHECK(n > 0 || (n == 0 && len_ > 0), "give at least one token of context",
                 "empty context");
    if (n > 0) {
        const int w = window_.after(len_, n);
        const int kept = window_.keep - 1;  // the old tokens a slide by one new token keeps
        if (w != len_ + n && n == 1 && shadowed_ && shadow_len_ == kept) {
            // The window slides and the shadows hold its kept tokens: they become the cache.
            keep_last(kept);
            cache_half_ = 1 - cache_half_;
            len_ = kept;
            shadow_len_ = 0;
        }
        if (window_.after(len_, n) == len_ + n && n == 1) {  // a decoded token: timed
            const int threads = tuner_.next(k::num_threads());
            const bool shadow = shadowed_ && len_ >= first_kept() &&
                                shadow_len_ == len_ - first_kept() && shadow_pays(threads);
            const auto t0 = std::chrono::steady_clock::now();
            forward(tokens.data(), n, n, /*every_row=*/false, shadow, threads);
            tuner_.done(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            shadow_len_ += shadow;
        } else if (w == len_ + n) {
            forward(tokens.data(), n, n, /*every_row=*/false, /*shadow=*/false,
                    tuner_.chosen(k::num_threads()));
        } else {
            // The window slides: every position changes, so recompute the cache for the last w
            // tokens of each context followed by its new tokens (nanoGPT's generate crops idx the
            // same way when w is block_size). Assembled in place: no allocation.
            const int from_new = std::min(n, w), from_old = w - from_new;
            const size_t T = cfg_.block_size;
            keep_last(from_old);
            for (int b = 0; b < batch_; ++b) {
                std::memcpy(tokens_.get() + b * T + from_old,
                            tokens.data() + static_cast<size_t>(b) * n + (n - from_new),
                            static_cast<size_t>(from_new) * sizeof(int));
            }
            len_ = shadow_len_ = 0;
            forward(tokens_.get(), T, w, /*every_row=*/false, /*shadow=*/false,
                    tuner_.chosen(k::num_threads()));
        }
    }
    return {logits_, static_cast<size_t>(batch_) * cfg_.vocab_size};
}

void GptDecoder::keep_last(int m) {
    const size_t T = cfg_.block_size;
    for (int b = 0; b < batch_; ++b) {
        int* seq = tokens_.get() + b * T;
        std::memmove(seq, seq + (len_ - m), static_cast<size_t>(m) * sizeof(int));
    }
}

std::span<const float> GptDecoder::append_every_row(std::span<const int> tokens) {
    assert(batch_ == 1);
    const int n = static_cast<int>(tokens.size());
    WIGGLE_CHECK(n > 0 && len_ + n <= cfg_.block_size, "",
                 "{} tokens after {} do not fit a block of {}", n, len_, cfg_.block_size);
    if (!row_logits_) {
        row_logits_ = aligned_zeros<float>(static_cast<size_t>(cfg_.block_size) * cfg_.vocab_size,
                                           "the logits of every row");
    }
    forward(tokens.data(), n, n, /*every_row=*/true, /*shadow=*/false,
            tuner_.chosen(k::num_threads()));
    return {row_logits_.get(), static_cast<size_t>(n) * cfg_.vocab_size};
}

// Runs n new tokens of each sequence through the model at positions len..len+n−1, attending to
// the sequence's cached keys and values of the earlier positions, and appends their keys and
// values to its cache. Leaves the logits after each sequence's last new token in logits_ (B,V).
//
// The rows run through the model on a team of threads (kernels/cpu.h), split one of two ways.
// A decoded token (a few rows) is split by heads: a rank owns heads [h0, h1) and, in each layer,
//   - computes their q, k and v (its columns of c_attn), caches their keys and values and runs
//     their attention;
//   - multiplies its heads' outputs, the inputs of attn.c_proj it holds, by their rows of
//     c_proj's weight: a partial sum for every output column;
//   - computes its group of the MLP's hidden units (n_head groups of 4·hs columns of c_fc, then
//     GELU) and their partial sums through mlp.c_proj the same way.
// After each of the two partial products the ranks meet at a barrier, and every rank adds all the
// partial sums, in head order, to its own copy of the residual stream x: the copies stay
// identical, and no rank waits for another before a layer norm. 2 barriers per layer. A rank
// reads the same slice of the weights token after token, so the slice stays in its core's L2, and
// the hidden units it computes are the ones it reads.
// Many rows (a prompt, a recompute after the window slides) are split by rows instead: there the
// weights are read once per tile of rows, not once per row, and splitting them would have every
// rank repeat the layer norms and the sums of all the rows. A rank owns rows [ra, rb) and, in each
// layer, computes their q, k, v and caches their keys and values; after a barrier it runs its
// heads' attention for every row (a row late in the window attends to more positions, so heads
// split the work more evenly than rows); after a second barrier it takes its rows through c_proj,
// the MLP and the residual adds alone, computing every head's (group's) partial sum and adding them
// in head order as above.
// A batch of sequences (`wiggle sample --num-samples`) is split by sequences when every rank gets
// as many (many rows), or at least one (one new token each, of a small model): a rank runs its
// sequences' rows, position by position, with every head, so the ranks share nothing (not even a
// page: spare_rows) and meet at no barrier, and each sequence's keys and values stay in the cache
// of the core that decodes it (the recompute after a slide included). On cores that share no
// cache the head split's partial sums, read by every rank, cost more than each rank reading all of
// a small model's weights for its rows.
// The products run on the weights packed once for decoding. Every output is computed with the same
// arithmetic whatever the split, the team's size and the number of rows, so n rows at once give
// the same bits as one at a time, and a sequence decoded in a batch the same bits as alone.
// A decoded token with `shadow` (append) runs B rows more, first: each sequence's token again, at
// the position it will have after the next slide, into the sequence's shadow cache.
// every_row (B = 1): the logits of all n rows go to row_logits_ (n,V); else only the last
// position's, to logits_.
void GptDecoder::forward(const int* tokens, size_t ld, int n, bool every_row, bool shadow,
                         int threads) {
    const GptConfig& cfg = cfg_;
    const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head, hs = C / NH;
    const int T = cfg.block_size, pos0 = len_, gs = 4 * hs;  // gs: hidden units per group
    const int B = batch_, N = n * B;  // N new rows, row i·B + b: sequence b at position pos0 + i
    assert(n > 0 && pos0 + n <= T && (!every_row || B == 1));
    assert(!shadow || (n == 1 && !every_row && pos0 >= first_kept()));
    const int shadow_pos = pos0 - first_kept(), shadow_rows = shadow ? B : 0;
    const EmbeddingView<const float> e = packed_->small;  // wte: the columns of lm_head
    for (int b = 0; b < B; ++b) {
        for (int i = 0; i < n; ++i) {
            const int tok = tokens[b * ld + i];
            WIGGLE_CHECK(tok >= 0 && tok < V, "", "token {} out of the vocabulary [0, {})", tok, V);
            tokens_[static_cast<size_t>(b) * T + pos0 + i] = tok;  // (a no-op when recomputing)
        }
    }
    const size_t LCT = static_cast<size_t>(cfg.n_layer) * C * T;  // one sequence's keys (values)
    // where sequence b's keys (values) are, and its shadow's
    const size_t own_cache = cache_half_ * B * LCT, shadow_cache = (1 - cache_half_) * B * LCT;
    reserve_ranks(threads);
    const size_t part_stride = scratch_rows(cfg, B) * C;  // one head's (R,C) partial sums
    constexpr int kLine = 16;  // logit shares in whole cache lines: no line written by two ranks
    const bool by_rows = split_by_rows(n, threads);
    // split by sequences: no barrier (above); one token each, or as many sequences on every rank
    const bool apart = by_rows && (n == 1 || B % threads == 0);
    auto member = [&](const k::Team& team) {
        const RankScratch s = rank_scratch(team.rank());
        // The sequences [b0, b0 + Bs) whose rows this member runs, Ns of them, at rows [base,
        // base + Ns) of the shared scratch: split by sequences, its own sequences' rows, position
        // by position (row i·Bs + b − b0, from base = b0·(n + spare rows): after the blocks of the
        // sequences before b0, each followed by its spare rows); else every sequence's. With
        // shadows (n = 1) the rank's shadows' rows come first, and a block holds two rows.
        const std::pair<int, int> seqs = apart ? team.share(B) : std::pair<int, int>{0, B};
        const int b0 = seqs.first, Bs = seqs.second - seqs.first, Ss = shadow ? Bs : 0;
        const int Ns = Ss + n * Bs;  // its shadows' rows first, then its sequences'
        const size_t base = static_cast<size_t>(b0) * (n + shadow + spare_rows(C));
        // row r's sequence, position and cache (of keys; of values at the same offset)
        auto seq = [&](int r) { return b0 + (r < Ss ? r : (r - Ss) % Bs); };
        auto position = [&](int r) { return r < Ss ? shadow_pos : pos0 + (r - Ss) / Bs; };
        auto cache = [&](int r) {
            return (r < Ss ? shadow_cache : own_cache) + static_cast<size_t>(seq(r)) * LCT;
        };
        // Split by heads (fewer than kRowSplitRows rows), a rank's columns of q, k, v, the
        // attention's outputs and the hidden units are its own: they go in its own scratch, not
        // beside the other ranks' columns in rows of the shared scratch, which their pages would
        // share.
        const bool own_rows = !by_rows && N + shadow_rows < kRowSplitRows;
        float* const qkv = own_rows ? s.qkv : qkv_ + base * 3 * C;
        float* const atty = own_rows ? s.atty : atty_ + base * C;
        float* const fch = own_rows ? s.fch : fch_ + base * 4 * C;
        float* const fch_gelu = own_rows ? s.fch_gelu : fch_gelu_ + base * 4 * C;
        float* const attn_parts = attn_parts_ + base * C;
        float* const mlp_parts = mlp_parts_ + base * C;
        // Only the last position's logits are needed for the next tokens (unless every row's).
        const int f0 = every_row ? 0 : Ns - Bs;
        // heads, and groups of hidden units; plain ints, not a structured binding: the lambda
        // below captures them, which Emscripten's clang 14 refuses for bindings (C++20 allows it)
        const std::pair<int, int> heads = team.share(NH);
        const int h0 = heads.first, h1 = heads.second;
        // this rank's rows: all of them (each rank its own copy of x), its share (split by rows)
        // or all of its sequences' (split by sequences)
        const std::pair<int, int> own =
            by_rows && !apart ? team.share(N) : std::pair<int, int>{0, Ns};
        const int ra = own.first, rb = own.second;
        // the heads (groups) whose partial sums this rank computes, and the channels of c_attn's
        // thirds it computes
        const int p0 = by_rows ? 0 : h0, p1 = by_rows ? NH : h1;
        const int c0 = p0 * hs, c1 = p1 * hs;
        for (int r = ra; r < rb; ++r) {                            // x = wte[token] + wpe[position]
            const int b = seq(r), i = r < Ss ? 0 : (r - Ss) / Bs;  // a shadow's token: pos0's
            float* x = s.x + static_cast<size_t>(r) * C;
            packed_->lm_head.column(x, tokens_[static_cast<size_t>(b) * T + pos0 + i]);
            const float* pe = e.wpe + static_cast<size_t>(position(r)) * C;
            for (int j = 0; j < C; ++j) x[j] += pe[j];
        }
        for (int l = 0; l < cfg.n_layer; ++l) {
            const Packed::Block& pw = packed_->blocks[l];
            const BlockView<const float>& bw = pw.small;
            // sequence b's (C,T) keys and (T,C) values of this layer, in the cache's precision
            const size_t layer = static_cast<size_t>(l) * C * T;
            // Every row's key and value are cached, but only the last position's outputs are
            // needed past the last layer's keys and values (unless every row's logits are):
            // there the rows from N − B on.
            const int r0 = l + 1 < cfg.n_layer ? 0 : f0;
            const int ma = std::max(ra, r0), rows = std::max(rb - ma, 0);  // rows past attention
            const size_t aC = static_cast<size_t>(ra) * C, mC = static_cast<size_t>(ma) * C;
            // x = x + attn(ln_1(x)): q, k, v (of this rank's heads, or rows), their keys and values
            // into the cache, then the attention of this rank's heads
            k::layernorm_forward(s.ln + aC, s.mean, s.rstd, s.x + aC, bw.ln_1_weight, bw.ln_1_bias,
                                 rb - ra, C);
            for (int third = 0; third < 3; ++third) {  // the queries: only rows past attention
                const int from = third == 0 ? ma : ra;
                if (rb > from) {
                    const size_t fC = static_cast<size_t>(from) * C;
                    pw.c_attn.forward(qkv + 3 * fC, s.ln + fC, bw.c_attn_bias, rb - from,
                                      third * C + c0, third * C + c1, 0, C);
                }
            }
            auto cache_and_attend = [&](auto* kt, auto* v) {
                const size_t row = static_cast<size_t>(3) * C;  // qkv_ rows
                // values: a row of v each; keys: into rows of kt (channel-major), a line per key.
                // When this rank's rows are positions i in [ia, ib) of each of its sequences (a
                // recompute's, or a prompt's), the keys go in channel by channel instead: each
                // channel's positions one after another, not one key into each of c1 − c0 lines
                // per row.
                const bool by_channel = n > 1 && (Bs == 1 || (ra == 0 && rb == Ns));
                const int ia = Bs == 1 ? ra : 0, ib = Bs == 1 ? rb : n;
                for (int r = ra; r < rb; ++r) {
                    auto* values = v + cache(r) + layer + static_cast<size_t>(position(r)) * C;
                    const float* key = qkv + r * row + C;
                    for (int ch = c0; ch < c1; ++ch) store(values[ch], key[C + ch]);
                    if (by_channel) continue;
                    auto* keys = kt + cache(r) + layer + position(r);
                    for (int ch = c0; ch < c1; ++ch)
                        store(keys[static_cast<size_t>(ch) * T], key[ch]);
                }
                const size_t next_position = static_cast<size_t>(Bs) * row;  // in qkv
                for (int b = b0; by_channel && b < b0 + Bs; ++b) {           // (no shadows: n > 1)
                    const float* key = qkv + static_cast<size_t>(b - b0) * row + C;  // position 0
                    for (int ch = c0; ch < c1; ++ch) {
                        auto* keys =
                            kt + own_cache + b * LCT + layer + static_cast<size_t>(ch) * T + pos0;
                        for (int i = ia; i < ib; ++i) store(keys[i], key[i * next_position + ch]);
                    }
                }
                if (by_rows && !apart) team.barrier();  // every row's key and value and query
                const int qa = apart ? ma : r0, qb = apart ? rb : Ns, ha = apart ? 0 : h0,
                          hb = apart ? NH : h1;
                for (int r = qa; r < qb; ++r) {  // a query attends to positions 0..its own
                    k::attention_decode_forward(atty + static_cast<size_t>(r) * C, s.att,
                                                qkv + static_cast<size_t>(r) * 3 * C,
                                                kt + cache(r) + layer, v + cache(r) + layer,
                                                position(r) + 1, NH, hs, T, ha, hb);
                }
            };
            if (kt16_) {
                cache_and_attend(kt16_, v16_);
            } else {
                cache_and_attend(kt_, v_);
            }
            if (by_rows && !apart) team.barrier();  // every head's outputs of every row
            for (int h = p0; h < p1; ++h) {  // c_proj's partial sums over each head's channels
                pw.attn_proj.forward(attn_parts + h * part_stride + mC, atty + mC, nullptr, rows, 0,
                                     C, h * hs, (h + 1) * hs);
            }
            if (!by_rows) team.barrier();  // every head's partial sums
            add_partial_sums(s.x + mC, s.sum, attn_parts + mC, bw.attn_proj_bias, rows, C, NH,
                             part_stride);
            // x = x + mlp(ln_2(x)): the hidden units of this rank's groups (or rows), then their
            // partial sums
            k::layernorm_forward(s.ln + mC, s.mean, s.rstd, s.x + mC, bw.ln_2_weight, bw.ln_2_bias,
                                 rows, C);
            pw.c_fc.forward(fch + 4 * mC, s.ln + mC, bw.c_fc_bias, rows, p0 * gs, p1 * gs, 0, C);
            for (int r = ma; r < rb; ++r) {
                const size_t at = static_cast<size_t>(r) * 4 * C + p0 * gs;
                k::gelu_forward(fch_gelu + at, fch + at, (p1 - p0) * gs, cfg.gelu);
            }
            for (int g = p0; g < p1; ++g) {
                pw.mlp_proj.forward(mlp_parts + g * part_stride + mC, fch_gelu + 4 * mC, nullptr,
                                    rows, 0, C, g * gs, (g + 1) * gs);
            }
            if (!by_rows) team.barrier();  // every group's partial sums
            add_partial_sums(s.x + mC, s.sum, mlp_parts + mC, bw.mlp_proj_bias, rows, C, NH,
                             part_stride);
        }
        // The logits: this rank's share of the vocabulary for every row (split by heads), or
        // every column for its rows (split by rows).
        const int fa = std::max(ra, f0), frows = std::max(rb - fa, 0);
        if (frows == 0) return;
        const std::pair<int, int> cols = by_rows ? std::pair<int, int>{0, V} : team.share(V, kLine);
        float* logits = every_row ? row_logits_.get() : logits_;
        k::layernorm_forward(s.ln, s.mean, s.rstd, s.x + static_cast<size_t>(fa) * C, e.ln_f_weight,
                             e.ln_f_bias, frows, C);
        packed_->lm_head.forward(logits + static_cast<size_t>(b0 + fa - f0) * V, s.ln, nullptr,
                                 frows, cols.first, cols.second, 0, C);
    };
    k::parallel_team(threads, member);
    len_ = pos0 + n;
}

}  // namespace wiggle
