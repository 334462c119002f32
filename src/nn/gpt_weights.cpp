// The GPT's tensors in one table, their layout in a Params store, nanoGPT's init (gpt_weights.h).
#include "nn/gpt_weights.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/decode.h"
#include "util/check.h"
#include "util/py_random.h"

namespace wiggle {

// nanoGPT's _init_weights, then the GPT-2 paper's scaled residual projections (so that the
// residual stream's variance does not grow with depth).
enum class GptWeights::Init : uint8_t { Normal, Residual, One, Zero };

namespace {

constexpr size_t kAbsent = std::numeric_limits<size_t>::max();

using Init = GptWeights::Init;

// One tensor of a block: its state_dict name after "transformer.h.<l>.", its view, its PyTorch
// shape in multiples of C ({rows, cols}, cols 0 for a vector; torch.nn.Linear is (out, in)), and
// its initialization. In nanoGPT's state_dict order, which is BlockView's.
template <typename F>
struct BlockTensor {
    const char* name;
    F* BlockView<F>::*field;
    int rows, cols;
    Init init;
    bool is_bias() const { return init == Init::Zero; }
};
template <typename F>
constexpr BlockTensor<F> kBlockTensors[] = {
    {"ln_1.weight", &BlockView<F>::ln_1_weight, 1, 0, Init::One},
    {"ln_1.bias", &BlockView<F>::ln_1_bias, 1, 0, Init::Zero},
    {"attn.c_attn.weight", &BlockView<F>::c_attn_weight, 3, 1, Init::Normal},
    {"attn.c_attn.bias", &BlockView<F>::c_attn_bias, 3, 0, Init::Zero},
    {"attn.c_proj.weight", &BlockView<F>::attn_proj_weight, 1, 1, Init::Residual},
    {"attn.c_proj.bias", &BlockView<F>::attn_proj_bias, 1, 0, Init::Zero},
    {"ln_2.weight", &BlockView<F>::ln_2_weight, 1, 0, Init::One},
    {"ln_2.bias", &BlockView<F>::ln_2_bias, 1, 0, Init::Zero},
    {"mlp.c_fc.weight", &BlockView<F>::c_fc_weight, 4, 1, Init::Normal},
    {"mlp.c_fc.bias", &BlockView<F>::c_fc_bias, 4, 0, Init::Zero},
    {"mlp.c_proj.weight", &BlockView<F>::mlp_proj_weight, 1, 4, Init::Residual},
    {"mlp.c_proj.bias", &BlockView<F>::mlp_proj_bias, 1, 0, Init::Zero},
};
constexpr size_t kPerBlock = std::size(kBlockTensors<float>);

void initialize(std::span<float> values, Init init, double residual_std, PyRandom& rng) {
    switch (init) {
        case Init::One:
            std::fill(values.begin(), values.end(), 1.0f);
            return;
        case Init::Zero:
            std::fill(values.begin(), values.end(), 0.0f);
            return;
        case Init::Normal:
        case Init::Residual:
            const double std = init == Init::Normal ? 0.02 : residual_std;
            for (float& x : values) x = static_cast<float>(rng.gauss(0.0, std));
            return;
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

GptWeights::GptWeights(const GptConfig& config, bool with_grads, Zeros)
    : config_(config), params_(with_grads) {
    check_config(config_);
    lay_out(nullptr);
}

GptWeights GptWeights::zeros(const GptConfig& config, bool with_grads) {
    return GptWeights(config, with_grads, Zeros{});
}

GptWeights::GptWeights(const GptConfig& config, uint64_t seed, bool with_grads)
    : config_(config), params_(with_grads) {
    check_config(config_);
    std::vector<Init> inits;
    lay_out(&inits);
    // every tensor in state_dict order, the random ones drawn in that order from one generator
    PyRandom rng(seed);
    const double residual_std = 0.02 / std::sqrt(2.0 * config_.n_layer);
    for (int id = 0; id < params_.count(); ++id) {
        initialize(params_.values(id), inits[id], residual_std, rng);
    }
}

namespace {

// Calls add(name, shape, init, block, index in the block) for every tensor of a GPT with config
// c, in state_dict order (block −1: outside the blocks).
template <typename Add>
void for_each_tensor(const GptConfig& c, Add add) {
    const int C = c.n_embd;
    add("transformer.wte.weight", Shape{c.vocab_size, C}, Init::Normal, -1, 0);
    add("transformer.wpe.weight", Shape{c.block_size, C}, Init::Normal, -1, 0);
    for (int l = 0; l < c.n_layer; ++l) {
        for (size_t i = 0; i < kPerBlock; ++i) {
            const BlockTensor<float>& t = kBlockTensors<float>[i];
            if (t.is_bias() && !c.bias) continue;
            const Shape shape = t.cols ? Shape{t.rows * C, t.cols * C} : Shape{t.rows * C};
            add(fmt::format("transformer.h.{}.{}", l, t.name), shape, t.init, l, i);
        }
    }
    add("transformer.ln_f.weight", Shape{C}, Init::One, -1, 0);
    if (c.bias) add("transformer.ln_f.bias", Shape{C}, Init::Zero, -1, 0);
}

}  // namespace

std::vector<GptWeights::TensorInfo> GptWeights::tensor_table(const GptConfig& config) {
    std::vector<TensorInfo> out;
    for_each_tensor(config, [&](std::string name, const Shape& shape, Init, int, size_t) {
        out.push_back({std::move(name),
                       std::vector<int64_t>(shape.dims.begin(), shape.dims.begin() + shape.rank)});
    });
    return out;
}

void GptWeights::lay_out(std::vector<Init>* inits) {
    size_t total = 0;
    for_each_tensor(config_, [&](std::string, const Shape& shape, Init, int, size_t) {
        total += static_cast<size_t>(shape.numel());
    });
    params_.reserve(total);
    block_offsets_.assign(static_cast<size_t>(config_.n_layer) * kPerBlock, kAbsent);
    for_each_tensor(config_, [&](std::string name, const Shape& shape, Init init, int l, size_t i) {
        if (inits) inits->push_back(init);
        const bool is_ln_f = name == "transformer.ln_f.weight";
        const int id = params_.add(std::move(name), shape, /*decay=*/shape.rank >= 2);
        if (l >= 0) block_offsets_[l * kPerBlock + i] = params_.spec(id).offset;
        if (is_ln_f) ln_f_offset_ = params_.spec(id).offset;
    });
}

template <typename F>
BlockView<F> GptWeights::block_in(F* base, int l) const {
    assert(l >= 0 && l < config_.n_layer);
    BlockView<F> v{};
    for (size_t i = 0; i < kPerBlock; ++i) {
        const size_t off = block_offsets_[l * kPerBlock + i];
        v.*(kBlockTensors<F>[i].field) = off == kAbsent ? nullptr : base + off;
    }
    return v;
}

template <typename F>
EmbeddingView<F> GptWeights::embedding_in(F* base) const {
    const size_t C = config_.n_embd;
    return {base, base + static_cast<size_t>(config_.vocab_size) * C, base + ln_f_offset_,
            config_.bias ? base + ln_f_offset_ + C : nullptr};
}

// GptGrads' views (gpt_weights.h)
template BlockView<float> GptWeights::block_in(float*, int) const;
template EmbeddingView<float> GptWeights::embedding_in(float*) const;

BlockView<const float> GptWeights::block(int l) const {
    return block_in(params_.values().data(), l);
}
EmbeddingView<const float> GptWeights::embedding() const {
    return embedding_in(params_.values().data());
}

GptGrads GptWeights::grads() {
    assert(params_.has_grads());
    return GptGrads(this, params_.grads().data());
}

const Params<float>::Spec& GptWeights::spec(std::string_view name) const {
    const int id = params_.find(name);
    WIGGLE_CHECK(id >= 0,
                 "names follow nanoGPT's state_dict, e.g. transformer.h.0.attn.c_attn.weight",
                 "the model has no parameter named '{}'", name);
    return params_.spec(id);
}

std::span<float> GptWeights::values(std::string_view name) {
    const auto& s = spec(name);
    return params_.values().subspan(s.offset, s.numel);
}

void GptWeights::round_to_bf16() {
    for (const auto& s : params_.specs()) {
        if (s.shape.rank != 2 || s.name == "transformer.wpe.weight") continue;
        for (float& x : params_.values().subspan(s.offset, s.numel)) {
            x = kernels::to_float(kernels::to_bf16(x));
        }
    }
    bf16_ = true;
}

}  // namespace wiggle
