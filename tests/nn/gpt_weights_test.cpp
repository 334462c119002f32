// Where the GPT's weights live: nanoGPT's names, PyTorch's shapes and state_dict order, the views
// of each block into the values and the gradients, nanoGPT's initialization, and rounding to bf16.
#include "nn/gpt_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/decode.h"

namespace wiggle {
namespace {

GptConfig tiny(bool bias) {
    return GptConfig{
        .vocab_size = 11, .block_size = 8, .n_layer = 2, .n_head = 2, .n_embd = 16, .bias = bias};
}

Shape shape_of(const GptWeights& w, const char* name) { return w.spec(name).shape; }

TEST(GptWeights, NamedViewsFollowNanoGpt) {
    GptWeights w(tiny(true));
    const auto& specs = w.params().specs();
    ASSERT_EQ(specs.size(), 2u + 2u * 12u + 2u);
    EXPECT_EQ(specs[0].name, "transformer.wte.weight");
    EXPECT_EQ(specs[0].shape, (Shape{11, 16}));
    EXPECT_EQ(specs[2].name, "transformer.h.0.ln_1.weight");
    EXPECT_EQ(specs.back().name, "transformer.ln_f.bias");
    EXPECT_EQ(shape_of(w, "transformer.wpe.weight"), (Shape{8, 16}));
    EXPECT_EQ(shape_of(w, "transformer.h.1.attn.c_attn.weight"), (Shape{48, 16}));
    EXPECT_EQ(shape_of(w, "transformer.h.1.attn.c_attn.bias"), (Shape{48}));
    EXPECT_EQ(shape_of(w, "transformer.h.1.attn.c_proj.weight"), (Shape{16, 16}));
    EXPECT_EQ(shape_of(w, "transformer.h.1.mlp.c_fc.weight"), (Shape{64, 16}));
    EXPECT_EQ(shape_of(w, "transformer.h.1.mlp.c_proj.weight"), (Shape{16, 64}));
    // weight decay on the 2-D weights only (nanoGPT's configure_optimizers)
    EXPECT_TRUE(w.spec("transformer.h.0.mlp.c_fc.weight").decay);
    EXPECT_TRUE(w.spec("transformer.wpe.weight").decay);
    EXPECT_FALSE(w.spec("transformer.h.0.mlp.c_fc.bias").decay);
    EXPECT_FALSE(w.spec("transformer.ln_f.weight").decay);
    // the views point at the named tensors, in the values and in the gradients
    EXPECT_EQ(w.block(1).c_fc_weight, w.values("transformer.h.1.mlp.c_fc.weight").data());
    EXPECT_EQ(w.block(0).attn_proj_bias, w.values("transformer.h.0.attn.c_proj.bias").data());
    EXPECT_EQ(w.grads().block(1).ln_2_bias - w.params().grads().data(),
              static_cast<std::ptrdiff_t>(w.spec("transformer.h.1.ln_2.bias").offset));
    EXPECT_EQ(w.embedding().ln_f_bias, w.values("transformer.ln_f.bias").data());
    EXPECT_EQ(w.embedding().wpe, w.values("transformer.wpe.weight").data());
    // back to back: the flat arrays are exactly the parameters
    size_t total = 0;
    for (const auto& s : specs) {
        EXPECT_EQ(s.offset, total) << s.name;
        total += s.numel;
    }
    EXPECT_EQ(total, w.num_parameters());
    GptWeights nobias(tiny(false));
    EXPECT_EQ(nobias.params().specs().size(), 2u + 2u * 6u + 1u);
    EXPECT_EQ(nobias.block(0).c_attn_bias, nullptr);
    EXPECT_EQ(nobias.embedding().ln_f_bias, nullptr);
    // without gradients (sampling), the store has none
    GptWeights frozen(tiny(false), 1, /*with_grads=*/false);
    EXPECT_TRUE(frozen.params().grads().empty());
}

TEST(GptWeights, InitializesLikeNanoGpt) {
    const GptConfig c{
        .vocab_size = 65, .block_size = 64, .n_layer = 4, .n_head = 4, .n_embd = 128, .bias = true};
    GptWeights w(c, 7);
    auto stddev = [](std::span<const float> v) {
        double s = 0, s2 = 0;
        for (float x : v) s += x, s2 += double(x) * x;
        const double m = s / v.size();
        return std::sqrt(s2 / v.size() - m * m);
    };
    EXPECT_NEAR(stddev(w.values("transformer.h.0.attn.c_attn.weight")), 0.02, 0.001);
    EXPECT_NEAR(stddev(w.values("transformer.h.0.mlp.c_proj.weight")), 0.02 / std::sqrt(8.0),
                0.0005);
    EXPECT_NEAR(stddev(w.values("transformer.h.3.attn.c_proj.weight")), 0.02 / std::sqrt(8.0),
                0.0005);
    for (float v : w.values("transformer.h.2.ln_1.weight")) ASSERT_EQ(v, 1.0f);
    for (float v : w.values("transformer.h.2.mlp.c_fc.bias")) ASSERT_EQ(v, 0.0f);
    // The same seed gives the same weights; another seed others; zeros() none.
    GptWeights same(c, 7), other(c, 8);
    const auto values = [](const GptWeights& g) { return g.params().values(); };
    EXPECT_TRUE(std::ranges::equal(values(w), values(same)));
    EXPECT_FALSE(std::ranges::equal(values(w), values(other)));
    const GptWeights zeros = GptWeights::zeros(c);
    EXPECT_TRUE(std::ranges::all_of(values(zeros), [](float x) { return x == 0.0f; }));
}

// bf16: the weight matrices (2-D tensors but wpe; wte is also the output layer) become their
// nearest bf16, everything else keeps its bits.
TEST(GptWeights, Bf16RoundsTheWeightMatricesOnly) {
    GptWeights w(tiny(true), 5);
    const std::vector<float> before(w.params().values().begin(), w.params().values().end());
    ASSERT_FALSE(w.bf16());
    w.round_to_bf16();
    EXPECT_TRUE(w.bf16());
    const std::span<const float> after = w.params().values();
    for (const auto& t : w.params().specs()) {
        const bool matrix = t.shape.rank == 2 && t.name != "transformer.wpe.weight";
        for (size_t i = t.offset; i < t.offset + t.numel; ++i) {
            const float want = matrix ? kernels::to_float(kernels::to_bf16(before[i])) : before[i];
            ASSERT_EQ(after[i], want) << t.name << " element " << i - t.offset;
        }
    }
}

}  // namespace
}  // namespace wiggle
