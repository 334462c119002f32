// The world of one process (no mpirun): every collective leaves the data as it is, and the shards
// that split an array among ranks cover it exactly, in whole chunks. The collectives across
// ranks are tested through mpirun in tests/tools/wiggle_mpi_slow_test.cpp.
#include "dist/world.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace wiggle {
namespace {

TEST(Shards, CoverTheArrayInWholeChunksInRankOrder) {
    for (size_t n :
         {size_t(0), size_t(1), size_t(8191), size_t(8192), size_t(100000), size_t(804096)}) {
        for (int ranks : {1, 2, 3, 7}) {
            SCOPED_TRACE(::testing::Message() << n << " elements, " << ranks << " ranks");
            const Shards s(n, ranks, 8192);
            ASSERT_EQ(s.ranks(), ranks);
            EXPECT_EQ(s.begin(0), 0u);
            EXPECT_EQ(s.end(ranks - 1), n);
            size_t total = 0, most = 0;
            for (int r = 0; r < ranks; ++r) {
                EXPECT_LE(s.begin(r), s.end(r));
                if (r > 0) {
                    EXPECT_EQ(s.begin(r), s.end(r - 1));
                }
                if (s.end(r) < n) {
                    EXPECT_EQ(s.end(r) % 8192, 0u);  // only the last shard is partial
                }
                total += s.size(r);
                most = std::max(most, s.size(r));
            }
            EXPECT_EQ(total, n);
            EXPECT_EQ(s.largest(), most);
            // as even as whole chunks allow
            const size_t chunks = (n + 8191) / 8192;
            EXPECT_LE(most, ((chunks + ranks - 1) / ranks) * 8192);
        }
    }
}

TEST(World, OfOneProcessLeavesEverythingAsItIs) {
    World& world = World::get();
    ASSERT_EQ(world.size(), 1);
    EXPECT_EQ(world.rank(), 0);
    EXPECT_TRUE(world.root());
    std::vector<float> x = {1, 2, 3, 4, 5};
    const Shards s(x.size(), 1, 2);
    world.sum(x, s);
    world.sum_shard(x, s);
    world.gather(x, s);
    EXPECT_EQ(x, (std::vector<float>{1, 2, 3, 4, 5}));
    std::vector<float> all(5);
    world.gather_to_root(x, all, s);
    EXPECT_EQ(all, x);
    std::vector<float> back(5);
    world.scatter_from_root(all, back, s);
    EXPECT_EQ(back, x);
    const std::vector<double> mine = {0.5, 1.5};
    EXPECT_EQ(world.all_gather(mine), mine);
    EXPECT_TRUE(world.any(true));
    EXPECT_FALSE(world.any(false));
    int value = 7;
    world.broadcast(&value, sizeof value);
    EXPECT_EQ(value, 7);
}

}  // namespace
}  // namespace wiggle
