// Starting a run from a checkpoint (train/init_from.h): the settings not given come from the
// checkpoint, given ones must agree with it, and the first weights are the checkpoint's values,
// the position embeddings cropped to the run's block (nanoGPT's crop_block_size), in the run's
// configuration (its dropout, the checkpoint's GELU).
#include "train/init_from.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixture.h"

namespace wiggle {
namespace {

using ::testing::ExitedWithCode;
using testing::fixture_path;

const std::string kFourHeads = fixture_path("gpt2_hf/four_heads/model.safetensors");

TEST(InitFrom, SettingsNotGivenComeFromTheCheckpoint) {
    TrainConfig cfg = train_preset("shakespeare-char");  // 6 layers of 384, block 256, no bias
    cfg.init_from = kFourHeads;
    cfg.tokenizer = "bpe:x.model";
    const LoadedModel m =
        init_from_checkpoint(cfg, [](std::string_view flag) { return flag == "tokenizer"; });
    EXPECT_EQ(cfg.n_layer, 3);
    EXPECT_EQ(cfg.n_head, 4);
    EXPECT_EQ(cfg.n_embd, 32);
    EXPECT_EQ(cfg.block_size, 20);
    EXPECT_TRUE(cfg.bias);
    EXPECT_EQ(cfg.gelu, kernels::GeluForm::Tanh);
    EXPECT_EQ(cfg.dropout, 0.2);              // the run's own
    EXPECT_EQ(cfg.tokenizer, "bpe:x.model");  // given: kept (run_tokenizer checks it)
    EXPECT_EQ(m.weights.config().n_layer, 3);
}

TEST(InitFrom, FirstWeightsAreTheCheckpointsWithWpeCropped) {
    TrainConfig cfg;
    cfg.init_from = kFourHeads;
    LoadedModel m =
        init_from_checkpoint(cfg, [](std::string_view flag) { return flag == "tokenizer"; });
    cfg.block_size = 7;  // shorter than the checkpoint's 20
    cfg.dropout = 0.1;
    check_init_config(cfg, m.weights.config());
    const GptWeights w = initial_weights(cfg.gpt(m.weights.config().vocab_size), m.weights);
    EXPECT_EQ(w.config().block_size, 7);
    EXPECT_EQ(w.config().dropout, 0.1f);
    EXPECT_EQ(w.config().gelu, kernels::GeluForm::Tanh);
    ASSERT_EQ(w.params().specs().size(), m.weights.params().specs().size());
    for (const auto& s : w.params().specs()) {
        const auto& f = m.weights.spec(s.name);
        const auto got = w.params().values().subspan(s.offset, s.numel);
        const auto want = m.weights.params().values().subspan(f.offset, f.numel);
        if (s.name == "transformer.wpe.weight") {
            ASSERT_EQ(s.numel, size_t(7 * 32));
            EXPECT_EQ(f.numel, size_t(20 * 32));
        } else {
            ASSERT_EQ(s.numel, f.numel) << s.name;
        }
        for (size_t i = 0; i < s.numel; ++i) ASSERT_EQ(got[i], want[i]) << s.name << " at " << i;
    }
    EXPECT_FALSE(w.params().grads().empty());  // to train
}

TEST(InitFromDeath, GivenSettingsThatDisagreeAreNamed) {
    TrainConfig cfg;
    cfg.init_from = kFourHeads;
    cfg.tokenizer = "bpe:x.model";
    auto only = [](const char* given) {
        return [given](std::string_view flag) { return flag == given || flag == "tokenizer"; };
    };
    TrainConfig heads = cfg;
    heads.n_head = 2;
    EXPECT_EXIT(init_from_checkpoint(heads, only("n-head")), ExitedWithCode(1),
                "--init-from with an incompatible --n-head: '.*four_heads/model.safetensors' has "
                "n_head 4, got --n-head 2");
    TrainConfig longer = cfg;
    longer.block_size = 21;
    EXPECT_EXIT(init_from_checkpoint(longer, only("block-size")), ExitedWithCode(1),
                "has block_size 20, got --block-size 21 \\(hint: pass --block-size 20 or less");
    TrainConfig erf = cfg;
    EXPECT_EXIT(init_from_checkpoint(erf, only("gelu")), ExitedWithCode(1),
                "has gelu tanh, got --gelu erf");
}

}  // namespace
}  // namespace wiggle
