// The fast decoder (gpt_decoder.h): the KV cache, the packed weights, the sliding window and the
// decoding team. Decoding one token is a chain of matrix-vector products, so it runs on the decode
// kernels (kernels/decode.h), not the training gemm. gpt_reference_decoder.cpp computes the same
// numbers one token at a time in plain loops.
#include "nn/gpt_decoder.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <tuple>
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

}  // namespace

ContextWindow::ContextWindow(int block_size, int keep_tokens)
    : block(block_size), keep(keep_tokens) {
    WIGGLE_CHECK(keep >= 1 && keep <= block, "keep between 1 and block_size",
                 "the context window keeps {} tokens, out of range [1, {}]", keep, block);
}

// A weight packed for decoding: floats (kernels::pack_linear), or bf16 when the model's weights
// are rounded to it (pack_linear_bf16: half the bytes, the same values).
struct GptDecoder::Packed {
    struct Matrix {
        float* f32 = nullptr;
        k::bf16* b16 = nullptr;
        void pack(const float* weight, int K, int N) const {
            if (b16) return k::pack_linear_bf16(b16, weight, K, N);
            k::pack_linear(f32, weight, K, N);
        }
        // out (M,N) = inp (M,K) · weightᵀ + bias, columns [n0, n1), inputs [k0, k1)
        void forward(float* out, const float* inp, const float* bias, int M, int K, int N, int n0,
                     int n1, int k0, int k1) const {
            if (b16) return k::linear_packed_forward(out, inp, b16, bias, M, K, N, n0, n1, k0, k1);
            k::linear_packed_forward(out, inp, f32, bias, M, K, N, n0, n1, k0, k1);
        }
    };
    struct Block {
        Matrix c_attn, attn_proj, c_fc, mlp_proj;
    };
    std::vector<Block> blocks;
    Matrix lm_head;
    AlignedArray<char> memory;

    Packed(const GptConfig& cfg, bool bf16) : blocks(cfg.n_layer) {
        // every product's (K, N), each packed on its own cache lines
        const int C = cfg.n_embd;
        std::vector<std::tuple<Matrix*, int, int>> all;
        for (Block& b : blocks) {
            all.insert(all.end(), {{&b.c_attn, C, 3 * C},
                                   {&b.attn_proj, C, C},
                                   {&b.c_fc, C, 4 * C},
                                   {&b.mlp_proj, 4 * C, C}});
        }
        all.emplace_back(&lm_head, C, cfg.vocab_size);
        auto bytes = [&](int K, int N) {
            return round_up_to_line(
                bf16 ? static_cast<size_t>(k::packed_linear_bf16_size(K, N)) * sizeof(k::bf16)
                     : static_cast<size_t>(k::packed_linear_size(K, N)) * sizeof(float));
        };
        size_t total = 0;
        for (auto& [m, K, N] : all) total += bytes(K, N);
        memory = aligned_zeros<char>(total, "the packed weights");
        char* at = memory.get();
        for (auto& [m, K, N] : all) {
            if (bf16) {
                m->b16 = reinterpret_cast<k::bf16*>(at);
            } else {
                m->f32 = reinterpret_cast<float*>(at);
            }
            at += bytes(K, N);
        }
    }
};

GptDecoder::GptDecoder(const GptWeights& weights, ContextWindow window)
    : w_(weights), window_(window) {
    const GptConfig& cfg = w_.config();
    WIGGLE_CHECK(window_.block == cfg.block_size, "",
                 "a window of {} tokens for a block_size of {}", window_.block, cfg.block_size);
    const size_t L = cfg.n_layer, T = cfg.block_size, C = cfg.n_embd, NH = cfg.n_head;
    tokens_.reset(new int[T]());
    std::pair<float**, size_t> parts[] = {{&kt_, L * C * T},
                                          {&v_, L * T * C},
                                          {&qkv_, T * 3 * C},
                                          {&atty_, T * C},
                                          {&fch_, T * 4 * C},
                                          {&fch_gelu_, T * 4 * C},
                                          {&attn_parts_, NH * T * C},
                                          {&mlp_parts_, NH * T * C},
                                          {&logits_, static_cast<size_t>(cfg.vocab_size)}};
    size_t total = 0;
    for (auto& [p, n] : parts) total += floats_in_lines(n);
    memory_ = aligned_zeros<float>(total, "the KV cache");
    size_t off = 0;
    for (auto& [p, n] : parts) {
        *p = memory_.get() + off;
        off += floats_in_lines(n);
    }
    packed_ = std::make_unique<Packed>(cfg, w_.bf16());
    pack();
}

GptDecoder::~GptDecoder() = default;

void GptDecoder::pack() {
    const int C = w_.config().n_embd;
    for (int l = 0; l < w_.config().n_layer; ++l) {
        const BlockView<const float> b = w_.block(l);
        const Packed::Block& p = packed_->blocks[l];
        p.c_attn.pack(b.c_attn_weight, C, 3 * C);
        p.attn_proj.pack(b.attn_proj_weight, C, C);
        p.c_fc.pack(b.c_fc_weight, C, 4 * C);
        p.mlp_proj.pack(b.mlp_proj_weight, 4 * C, C);
    }
    packed_->lm_head.pack(w_.embedding().wte, C, w_.config().vocab_size);
}

void GptDecoder::reset() {
    len_ = 0;
    pack();
}

void GptDecoder::reserve_ranks(int n) {
    if (n <= ranks_) return;
    ranks_ = n;
    const GptConfig& cfg = w_.config();
    const size_t T = cfg.block_size, C = cfg.n_embd, NH = cfg.n_head;
    rank_stride_ = floats_in_lines(2 * T * C + 2 * T + NH * T + C);
    rank_memory_ = aligned_zeros<float>(rank_stride_ * ranks_, "the decoding threads' scratch");
}

GptDecoder::RankScratch GptDecoder::rank_scratch(int rank) const {
    assert(rank < ranks_);
    const GptConfig& cfg = w_.config();
    const size_t T = cfg.block_size, C = cfg.n_embd, NH = cfg.n_head;
    float* x = rank_memory_.get() + rank_stride_ * rank;
    float* ln = x + T * C;
    float* mean = ln + T * C;
    float* rstd = mean + T;
    float* att = rstd + T;
    return {x, ln, mean, rstd, att, att + NH * T};
}

std::span<const float> GptDecoder::append(std::span<const int> tokens) {
    const int n = static_cast<int>(tokens.size());
    WIGGLE_CHECK(n > 0 || (n == 0 && len_ > 0), "give at least one token of context",
                 "empty context");
    if (n > 0) {
        const int w = window_.after(len_, n);
        if (w == len_ + n) {
            forward(tokens.data(), n);
        } else {
            // The window slides: every position changes, so recompute the cache for the last w
            // tokens of the context followed by the new tokens (nanoGPT's generate crops idx the
            // same way when w is block_size). Assembled in place: no allocation.
            const int from_new = std::min(n, w), from_old = w - from_new;
            std::memmove(tokens_.get(), tokens_.get() + (len_ - from_old),
                         static_cast<size_t>(from_old) * sizeof(int));
            std::memcpy(tokens_.get() + from_old, tokens.data() + (n - from_new),
                        static_cast<size_t>(from_new) * sizeof(int));
            len_ = 0;
            forward(tokens_.get(), w);
        }
    }
    return {logits_, static_cast<size_t>(w_.config().vocab_size)};
}

// Runs n new tokens through the model at positions len..len+n−1, attending to the cached keys
// and values of the earlier positions, and appends their keys and values to the cache. Leaves the
// logits after the last new token in logits_.
//
// The rows run through the model on a team of threads (kernels/cpu.h), split by heads: a rank
// owns heads [h0, h1) and, in each layer,
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
// the hidden units it computes are the ones it reads. The products run on the weights packed once
// for decoding, for one row (a decoded token) and for the rows of a recompute after the window
// slides alike. Every output is computed with the same arithmetic whatever the team's size and
// the number of rows, so n rows at once give the same bits as one at a time.
void GptDecoder::forward(const int* tokens, int n) {
    const GptConfig& cfg = w_.config();
    const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head, hs = C / NH;
    const int T = cfg.block_size, pos0 = len_, gs = 4 * hs;  // gs: hidden units per group
    assert(n > 0 && pos0 + n <= T);
    const EmbeddingView<const float> e = w_.embedding();
    for (int i = 0; i < n; ++i) {
        const int tok = tokens[i];
        WIGGLE_CHECK(tok >= 0 && tok < V, "", "token {} out of the vocabulary [0, {})", tok, V);
        tokens_[pos0 + i] = tok;  // (tokens may be tokens_ itself: then this changes nothing)
    }
    const int threads = k::num_threads();
    reserve_ranks(threads);
    const size_t part_stride = static_cast<size_t>(T) * C;  // one head's (T,C) partial sums
    constexpr int kLine = 16;  // logit shares in whole cache lines: no line written by two ranks
    auto member = [&](const k::Team& team) {
        const RankScratch s = rank_scratch(team.rank());
        const auto [h0, h1] = team.share(NH);  // heads, and groups of hidden units
        const auto [v0, v1] = team.share(V, kLine);
        const int q0 = h0 * hs, q1 = h1 * hs;  // channels of this rank's heads
        for (int i = 0; i < n; ++i) {          // x = wte[token] + wpe[position], this rank's copy
            const float* te = e.wte + static_cast<size_t>(tokens_[pos0 + i]) * C;
            const float* pe = e.wpe + static_cast<size_t>(pos0 + i) * C;
            float* x = s.x + static_cast<size_t>(i) * C;
            for (int j = 0; j < C; ++j) x[j] = te[j] + pe[j];
        }
        for (int l = 0; l < cfg.n_layer; ++l) {
            const BlockView<const float> b = w_.block(l);
            const Packed::Block& pw = packed_->blocks[l];
            float* kt = kt_ + static_cast<size_t>(l) * C * T;  // (C,T) keys of this layer
            float* vc = v_ + static_cast<size_t>(l) * T * C;   // (T,C) values
            // Every row's key and value are cached, but only the last row's output is needed past
            // the last layer's keys and values: there the rows from r0 on are the last one.
            const int r0 = l + 1 < cfg.n_layer ? 0 : n - 1, rows = n - r0;
            const size_t rC = static_cast<size_t>(r0) * C;
            // x = x + attn(ln_1(x)): q, k, v of this rank's heads (the same channels of each third
            // of c_attn's output), their keys and values into the cache, then their attention
            k::layernorm_forward(s.ln, s.mean, s.rstd, s.x, b.ln_1_weight, b.ln_1_bias, n, C);
            pw.c_attn.forward(qkv_ + 3 * rC, s.ln + rC, b.c_attn_bias, rows, C, 3 * C, q0, q1, 0,
                              C);
            for (int third = 1; third < 3; ++third) {
                pw.c_attn.forward(qkv_, s.ln, b.c_attn_bias, n, C, 3 * C, third * C + q0,
                                  third * C + q1, 0, C);
            }
            for (int ch = q0; ch < q1; ++ch) {  // keys: rows of kt, written front to back
                float* key = kt + static_cast<size_t>(ch) * T + pos0;
                for (int i = 0; i < n; ++i) key[i] = qkv_[static_cast<size_t>(i) * 3 * C + C + ch];
            }
            for (int i = 0; i < n; ++i) {
                std::memcpy(vc + static_cast<size_t>(pos0 + i) * C + q0,
                            qkv_ + static_cast<size_t>(i) * 3 * C + 2 * C + q0,
                            (q1 - q0) * sizeof(float));
            }
            for (int i = r0; i < n; ++i) {  // query pos0+i attends to positions 0..pos0+i
                k::attention_decode_forward(atty_ + static_cast<size_t>(i) * C, s.att,
                                            qkv_ + static_cast<size_t>(i) * 3 * C, kt, vc,
                                            pos0 + i + 1, NH, hs, T, h0, h1);
            }
            for (int h = h0; h < h1; ++h) {  // c_proj's partial sums over each head's channels
                pw.attn_proj.forward(attn_parts_ + h * part_stride + rC, atty_ + rC, nullptr, rows,
                                     C, C, 0, C, h * hs, (h + 1) * hs);
            }
            team.barrier();  // every head's partial sums
            add_partial_sums(s.x + rC, s.sum, attn_parts_ + rC, b.attn_proj_bias, rows, C, NH,
                             part_stride);
            // x = x + mlp(ln_2(x)): this rank's groups of hidden units, then their partial sums
            k::layernorm_forward(s.ln + rC, s.mean, s.rstd, s.x + rC, b.ln_2_weight, b.ln_2_bias,
                                 rows, C);
            pw.c_fc.forward(fch_ + 4 * rC, s.ln + rC, b.c_fc_bias, rows, C, 4 * C, h0 * gs, h1 * gs,
                            0, C);
            for (int i = r0; i < n; ++i) {
                const size_t r = static_cast<size_t>(i) * 4 * C + h0 * gs;
                k::gelu_forward(fch_gelu_ + r, fch_ + r, (h1 - h0) * gs, cfg.gelu);
            }
            for (int g = h0; g < h1; ++g) {
                pw.mlp_proj.forward(mlp_parts_ + g * part_stride + rC, fch_gelu_ + 4 * rC, nullptr,
                                    rows, 4 * C, C, 0, C, g * gs, (g + 1) * gs);
            }
            team.barrier();  // every group's partial sums
            add_partial_sums(s.x + rC, s.sum, mlp_parts_ + rC, b.mlp_proj_bias, rows, C, NH,
                             part_stride);
        }
        // Only the last position's logits are needed for the next token.
        const float* x_last = s.x + static_cast<size_t>(n - 1) * C;
        k::layernorm_forward(s.ln, s.mean, s.rstd, x_last, e.ln_f_weight, e.ln_f_bias, 1, C);
        packed_->lm_head.forward(logits_, s.ln, nullptr, 1, C, V, v0, v1, 0, C);
    };
    k::parallel_team(threads, member);
    len_ = pos0 + n;
}

}  // namespace wiggle
