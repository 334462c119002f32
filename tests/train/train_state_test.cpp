// The training-state file: an exact round trip of every field (the oracle is the struct that was
// written), and one clear error for each kind of damage.
#include "train/train_state.h"

#include "train/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

namespace wiggle {
namespace {

using ::testing::ExitedWithCode;

TrainState sample_state() {
    TrainState s;
    s.config_text = "n-layer=2\nlr=0.001\n";
    s.iter = 500;
    s.adam_t = 500;
    s.dropout_counter = 12345678901234ULL;
    PyRandom rng(1337);
    for (int i = 0; i < 700; ++i) rng.random();
    rng.gauss();  // leaves a cached second value
    s.batch_rng = rng.state();
    s.batches_drawn = 500;
    s.best_val = 1.8765432109876;
    s.best_iter = 500;
    s.elapsed_s = 12.5;
    s.params_hash = 0x0123456789abcdefULL;
    s.data_hash = 0xfedcba9876543210ULL;
    s.adam_m = {0.1f, -0.2f, 3e-9f};
    s.adam_v = {1e-3f, 2e-3f, 0.0f};
    s.weights_file = "model.500.safetensors";
    s.ranks = 3;
    MetricRow a;
    a.iter = 0;
    a.loss = NAN;
    a.val_loss = 4.17;
    MetricRow b;
    b.iter = 1;
    b.loss = 4.2;
    b.lr = 1e-5;
    b.ms = 21.0;
    b.tokens_per_s = 36000;
    s.history = {a, b};
    s.ranks = 3;
    return s;
}

TEST(TrainState, RoundTripIsExact) {
    const TrainState s = sample_state();
    const TrainState t = parse_train_state(serialize_train_state(s), "mem");
    EXPECT_EQ(t.config_text, s.config_text);
    EXPECT_EQ(t.iter, s.iter);
    EXPECT_EQ(t.adam_t, s.adam_t);
    EXPECT_EQ(t.dropout_counter, s.dropout_counter);
    EXPECT_EQ(t.batches_drawn, s.batches_drawn);
    EXPECT_EQ(t.best_val, s.best_val);
    EXPECT_EQ(t.best_iter, s.best_iter);
    EXPECT_EQ(t.elapsed_s, s.elapsed_s);
    EXPECT_EQ(t.params_hash, s.params_hash);
    EXPECT_EQ(t.data_hash, s.data_hash);
    EXPECT_EQ(t.weights_file, s.weights_file);
    EXPECT_EQ(t.ranks, s.ranks);
    EXPECT_EQ(t.adam_m, s.adam_m);
    EXPECT_EQ(t.adam_v, s.adam_v);
    EXPECT_EQ(t.ranks, 3);
    ASSERT_EQ(t.history.size(), 2u);
    EXPECT_TRUE(std::isnan(t.history[0].loss));
    EXPECT_EQ(t.history[0].val_loss, 4.17);
    EXPECT_EQ(t.history[1].tokens_per_s, 36000);
    // The restored generator continues exactly where the saved one was.
    PyRandom saved(1), restored(2);
    saved.set_state(s.batch_rng);
    restored.set_state(t.batch_rng);
    EXPECT_EQ(saved.gauss(), restored.gauss());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(saved.randbelow(1000003), restored.randbelow(1000003));
}

TEST(TrainStateDeath, WrongMagic) {
    std::string bytes = serialize_train_state(sample_state());
    bytes[0] = 'X';
    EXPECT_EXIT(parse_train_state(bytes, "out/model.state"), ExitedWithCode(1),
                "training state 'out/model.state' is not a wiggle training-state file \\(wrong "
                "magic\\)");
    EXPECT_EXIT(parse_train_state("", "out/model.state"), ExitedWithCode(1), "wrong magic");
}

TEST(TrainStateDeath, WrongVersion) {
    std::string bytes = serialize_train_state(sample_state());
    const uint32_t v = 99;
    std::memcpy(bytes.data() + 8, &v, 4);
    EXPECT_EXIT(parse_train_state(bytes, "s"), ExitedWithCode(1),
                "has format version 99; this wiggle reads versions 1 to 3");
}

// The bytes of an earlier version: the current file without its last `drop` payload bytes (the
// fields later versions added at the end), renumbered and re-checksummed.
std::string as_version(const std::string& current, uint32_t version, size_t drop) {
    uint64_t n = 0;
    std::memcpy(&n, current.data() + 16, 8);
    const std::string payload = current.substr(24, n - drop);
    std::string out = current.substr(0, 24) + payload;
    const uint64_t size = payload.size(), hash = fnv1a64(payload.data(), payload.size());
    std::memcpy(out.data() + 8, &version, 4);
    std::memcpy(out.data() + 16, &size, 8);
    out.append(reinterpret_cast<const char*>(&hash), 8);
    return out;
}

TEST(TrainState, EarlierVersionsStillLoad) {
    // Version 2 is version 3 without the weights' file name (its length and its bytes) at the
    // end; version 1 is version 2 without the ranks: written by one process.
    const TrainState s = sample_state();
    const std::string v3 = serialize_train_state(s);
    const size_t file_field = 8 + s.weights_file.size();
    const TrainState t2 = parse_train_state(as_version(v3, 2, file_field), "v2");
    EXPECT_EQ(t2.ranks, 3);
    EXPECT_EQ(t2.weights_file, "");  // model.safetensors
    const TrainState t1 = parse_train_state(as_version(v3, 1, file_field + 4), "v1");
    EXPECT_EQ(t1.ranks, 1);
    EXPECT_EQ(t1.iter, 500);
    EXPECT_EQ(t1.history.size(), 2u);
}

TEST(TrainStateDeath, AWeightsFileOutsideTheFolderIsRefused) {
    TrainState s = sample_state();
    s.weights_file = "../elsewhere.safetensors";
    EXPECT_EXIT(parse_train_state(serialize_train_state(s), "s"), ExitedWithCode(1),
                "values out of range");
}

TEST(TrainStateDeath, Truncated) {
    const std::string bytes = serialize_train_state(sample_state());
    for (size_t cut : {size_t(10), size_t(30), bytes.size() / 2, bytes.size() - 1}) {
        EXPECT_EXIT(parse_train_state(bytes.substr(0, cut), "s"), ExitedWithCode(1),
                    "training state 's' is truncated")
            << "cut at " << cut;
    }
}

TEST(TrainStateDeath, Corrupted) {
    std::string bytes = serialize_train_state(sample_state());
    bytes[bytes.size() / 2] ^= 0x01;
    EXPECT_EXIT(parse_train_state(bytes, "s"), ExitedWithCode(1),
                "training state 's' is corrupted: its checksum does not match");
    EXPECT_EXIT(parse_train_state(serialize_train_state(sample_state()) + "x", "s"),
                ExitedWithCode(1), "corrupted: 1 bytes after its end");
}

}  // namespace
}  // namespace wiggle
