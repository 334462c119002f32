// Presets (against nanoGPT's config files), the learning-rate schedule (against nanoGPT's get_lr
// evaluated in Python), flag validation messages, and the exact text round trip.
#include "train/config.h"

#include <gtest/gtest.h>

namespace wiggle {
namespace {

using ::testing::ExitedWithCode;

TEST(TrainConfig, Presets) {
    const TrainConfig baby = train_preset("baby");  // nanoGPT README's CPU command line
    EXPECT_EQ(baby.n_layer, 4);
    EXPECT_EQ(baby.n_head, 4);
    EXPECT_EQ(baby.n_embd, 128);
    EXPECT_EQ(baby.block_size, 64);
    EXPECT_EQ(baby.batch_size, 12);
    EXPECT_EQ(baby.max_iters, 2000);
    EXPECT_EQ(baby.dropout, 0.0);
    EXPECT_EQ(baby.lr, 1e-3);
    EXPECT_EQ(baby.min_lr, 1e-4);
    EXPECT_EQ(baby.warmup_iters, 100);
    EXPECT_EQ(baby.beta2, 0.99);
    EXPECT_EQ(baby.weight_decay, 0.1);
    EXPECT_EQ(baby.grad_clip, 1.0);
    EXPECT_FALSE(baby.bias);
    const TrainConfig sc = train_preset("shakespeare-char");  // config/train_shakespeare_char.py
    EXPECT_EQ(sc.n_layer, 6);
    EXPECT_EQ(sc.n_head, 6);
    EXPECT_EQ(sc.n_embd, 384);
    EXPECT_EQ(sc.block_size, 256);
    EXPECT_EQ(sc.batch_size, 64);
    EXPECT_EQ(sc.dropout, 0.2);
    EXPECT_EQ(sc.max_iters, 5000);
    EXPECT_EQ(sc.decay_iters(), 5000);
    EXPECT_EQ(sc.lr, 1e-3);
    EXPECT_EQ(sc.min_lr, 1e-4);
    EXPECT_EQ(sc.warmup_iters, 100);
    EXPECT_EQ(sc.beta2, 0.99);
    check_train_config(baby);
    check_train_config(sc);
}

TEST(TrainConfig, ScheduleMatchesNanoGptGetLr) {
    // nanoGPT train.py get_lr with learning_rate=1e-3, warmup_iters=100, lr_decay_iters=2000,
    // min_lr=1e-4, printed by CPython (repr):
    //   [get_lr(i) for i in (0, 50, 99, 100, 1000, 1999, 2000, 2500)]
    const TrainConfig c = train_preset("baby");
    EXPECT_DOUBLE_EQ(c.lr_at(0), 9.900990099009901e-06);
    EXPECT_DOUBLE_EQ(c.lr_at(50), 0.000504950495049505);
    EXPECT_DOUBLE_EQ(c.lr_at(99), 0.0009900990099009901);
    EXPECT_DOUBLE_EQ(c.lr_at(100), 0.001);
    EXPECT_DOUBLE_EQ(c.lr_at(1000), 0.0005871607054625496);
    EXPECT_DOUBLE_EQ(c.lr_at(1999), 0.00010000061514140841);
    EXPECT_DOUBLE_EQ(c.lr_at(2000), 0.0001);
    EXPECT_DOUBLE_EQ(c.lr_at(2500), 0.0001);
}

TEST(TrainConfig, TextRoundTrip) {
    TrainConfig c = train_preset("shakespeare-char");
    c.lr = 0.1 + 0.2;  // not representable in short decimal: must round-trip exactly
    c.data = "some dir/with spaces.txt";
    c.bias = true;
    c.seed = 42;
    const TrainConfig d = config_from_text(config_to_text(c), "test");
    EXPECT_EQ(config_to_text(d), config_to_text(c));
    EXPECT_EQ(d.lr, c.lr);
    EXPECT_EQ(d.data, c.data);
    EXPECT_TRUE(d.bias);
}

TEST(TrainConfigDeath, OutOfRangeFlags) {
    TrainConfig c;
    c.n_embd = 100;
    c.n_head = 6;
    EXPECT_EXIT(check_train_config(c), ExitedWithCode(1),
                "^error: --n-embd 100 is not divisible by --n-head 6");
    c = TrainConfig();
    c.batch_size = 0;
    EXPECT_EXIT(check_train_config(c), ExitedWithCode(1), "--batch-size must be positive, got 0");
    c = TrainConfig();
    c.dropout = 1.0;
    EXPECT_EXIT(check_train_config(c), ExitedWithCode(1), "--dropout must be in \\[0, 1\\)");
    c = TrainConfig();
    c.lr = -1;
    EXPECT_EXIT(check_train_config(c), ExitedWithCode(1), "--lr must be a positive number");
    c = TrainConfig();
    c.metrics = "m.txt";
    EXPECT_EXIT(check_train_config(c), ExitedWithCode(1), "--metrics 'm.txt' must end in .csv");
    EXPECT_EXIT(train_preset("gpt5"), ExitedWithCode(1), "unknown preset 'gpt5'");
    EXPECT_EXIT(config_from_text("n-layer=x\n", "state"), ExitedWithCode(1),
                "state: bad value 'x' for setting 'n-layer'");
    EXPECT_EXIT(config_from_text("colour=red\n", "state"), ExitedWithCode(1),
                "state: unknown setting 'colour'");
}

}  // namespace
}  // namespace wiggle
