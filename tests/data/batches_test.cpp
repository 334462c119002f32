// Train/validation splits and minibatches, against CPython's random.shuffle for the same seeds.
#include "data/batches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace wiggle {
namespace {

using Idx = std::vector<size_t>;

TEST(TrainValSplit, IsCPythonsShuffleCutAtTheEnd) {
    // random.Random(1337).shuffle(list(range(10))) -> [0, 3, 7, 2, 1, 6, 4, 5, 8, 9]
    const Split s = split_train_val(10, 0.2, 1337);
    EXPECT_EQ(s.val, (Idx{8, 9}));
    EXPECT_EQ(s.train, (Idx{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(TrainValSplit, PartsAreDisjointAndCoverEverything) {
    const Split s = split_train_val(300, 0.2, 42);
    EXPECT_EQ(s.train.size(), 240u);
    EXPECT_EQ(s.val.size(), 60u);
    Idx all = s.train;
    all.insert(all.end(), s.val.begin(), s.val.end());
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i);
    EXPECT_EQ(split_train_val(3, 0.01, 1).val.size(), 1u);  // a fraction > 0 keeps at least one
    EXPECT_TRUE(split_train_val(3, 0.0, 1).val.empty());
}

TEST(MinibatchOrder, EpochsAreCPythonShufflesOfThePreviousOrder) {
    // r = random.Random(5); o = list(range(8)); r.shuffle(o) -> [6, 3, 1, 0, 7, 2, 5, 4];
    // r.shuffle(o) again -> [7, 5, 2, 0, 1, 4, 3, 6]
    Minibatches b(Idx{0, 1, 2, 3, 4, 5, 6, 7}, 3, 5);
    auto next = [&] {
        const auto s = b.next();
        return Idx(s.begin(), s.end());
    };
    EXPECT_EQ(next(), (Idx{6, 3, 1}));
    EXPECT_EQ(next(), (Idx{0, 7, 2}));
    EXPECT_EQ(next(), (Idx{5, 4}));  // the short last batch of the epoch
    EXPECT_EQ(b.epoch(), 0);
    EXPECT_EQ(next(), (Idx{7, 5, 2}));
    EXPECT_EQ(b.epoch(), 1);
}

TEST(MinibatchOrder, EveryEpochVisitsEveryIndexOnce) {
    Minibatches b(Idx{10, 20, 30, 40, 50}, 2, 9);
    for (int epoch = 0; epoch < 3; ++epoch) {
        Idx seen;
        for (int i = 0; i < 3; ++i) {
            const auto s = b.next();
            seen.insert(seen.end(), s.begin(), s.end());
        }
        std::sort(seen.begin(), seen.end());
        EXPECT_EQ(seen, (Idx{10, 20, 30, 40, 50})) << "epoch " << epoch;
    }
}

TEST(MinibatchOrderDeath, BadArguments) {
    EXPECT_EXIT(Minibatches(Idx{}, 2, 1), ::testing::ExitedWithCode(1), "no examples");
    EXPECT_EXIT(Minibatches(Idx{1}, 0, 1), ::testing::ExitedWithCode(1),
                "batch size must be positive");
    EXPECT_EXIT(split_train_val(10, 1.0, 1), ::testing::ExitedWithCode(1), "validation fraction");
}

}  // namespace
}  // namespace wiggle
