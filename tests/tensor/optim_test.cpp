// The optimizers' sharding (ZeRO stage 1): AdamW on shards of the flat arrays, each with its own
// moments, gives the bits of AdamW on the whole, and the clipping norm summed from shards' chunk
// parts is the whole's (PyTorch's own numbers for AdamW, SGD and clipping: fixtures_test.cpp).
#include "tensor/optim.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/adamw.h"
#include "tensor_testing.h"

namespace wiggle {
namespace {

// A store of uneven tensors in two decay groups, with values and gradients from seeds.
Params<float> store(uint32_t seed) {
    Params<float> p;
    p.add("w1", {37, 300});
    p.add("b1", {300}, /*decay=*/false);
    p.add("w2", {300, 41});
    p.add("ln", {41}, /*decay=*/false);
    const auto v = testing::uniform(static_cast<int64_t>(p.numel()), seed);
    const auto g = testing::uniform(static_cast<int64_t>(p.numel()), seed + 1);
    for (size_t i = 0; i < p.numel(); ++i) {
        p.values()[i] = static_cast<float>(v[i]);
        p.grads()[i] = static_cast<float>(g[i]);
    }
    return p;
}

TEST(AdamW, ShardsGiveTheBitsOfTheWhole) {
    const AdamWConfig config{.beta2 = 0.99f, .weight_decay = 0.1f};
    Params<float> whole = store(3), sharded = store(3);
    AdamW<float> all(whole, config);
    // three shards, cut inside tensors and inside a decay group
    const size_t n = sharded.numel(), cuts[] = {0, 5000, 11111, n};
    std::vector<AdamW<float>> parts;
    for (int s = 0; s < 3; ++s) parts.emplace_back(sharded, config, cuts[s], cuts[s + 1]);
    for (int step = 0; step < 4; ++step) {
        all.step(1e-2f, 0.5f);
        for (AdamW<float>& p : parts) p.step(1e-2f, 0.5f);
        for (size_t i = 0; i < n; ++i) whole.grads()[i] = sharded.grads()[i] = 0.01f * float(i % 7);
    }
    EXPECT_EQ(0, std::memcmp(whole.values().data(), sharded.values().data(), n * sizeof(float)));
    for (int s = 0; s < 3; ++s) {
        ASSERT_EQ(parts[s].m().size(), cuts[s + 1] - cuts[s]);
        EXPECT_EQ(parts[s].shard_begin(), cuts[s]);
        EXPECT_EQ(0, std::memcmp(parts[s].m().data(), all.m().data() + cuts[s],
                                 parts[s].m().size() * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(parts[s].v().data(), all.v().data() + cuts[s],
                                 parts[s].v().size() * sizeof(float)));
        EXPECT_EQ(parts[s].steps(), 4);
    }
}

TEST(ClipGradNorm, FromShardsChunkPartsIsTheWholes) {
    const Params<float> p = store(5);
    const std::span<const float> g = p.grads();
    // the array cut at chunk boundaries, each piece's parts added in order
    const int chunk = kernels::kSumSquaresChunk;
    std::vector<double> parts((g.size() + chunk - 1) / chunk);
    const size_t cut = 2 * static_cast<size_t>(chunk);
    kernels::sum_squares_chunks(parts.data(), g.data(), static_cast<int>(cut));
    kernels::sum_squares_chunks(parts.data() + 2, g.data() + cut, static_cast<int>(g.size() - cut));
    double sum = 0.0;
    for (double x : parts) sum += x;
    EXPECT_EQ(sum, kernels::sum_squares(g.data(), static_cast<int>(g.size())));
    for (float max_norm : {0.0f, 1.0f, 1e6f}) {
        const GradClip a = clip_grad_norm(p, max_norm), b = clip_from_sum_squares(sum, max_norm);
        EXPECT_EQ(a.norm, b.norm);
        EXPECT_EQ(a.scale, b.scale);
    }
    EXPECT_LT(clip_grad_norm(p, 1.0f).scale, 1.0f);  // the norm is far above 1: clipped
    EXPECT_EQ(clip_grad_norm(p, 1e6f).scale, 1.0f);  // below: untouched
    EXPECT_EQ(clip_grad_norm(p, 0.0f).scale, 1.0f);  // 0: clipping off
}

}  // namespace
}  // namespace wiggle
