// Tests of kernels/cpu.h: the ISA names, the item pool (every item exactly once, nested calls
// inline, a second thread really takes part, each thread's own share first, a slow thread's share
// taken by the others) and teams (every rank once, the same thread for a rank call after call,
// once each right after an item job, barriers that order the steps, shares that tile the range).
// Oracle: counting and a serial replay.
#include "kernels/cpu.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace wiggle::kernels {
namespace {

TEST(Cpu, IsaNames) {
    EXPECT_STREQ(isa_name(Isa::Avx512), "avx512");
    EXPECT_STREQ(isa_name(Isa::Avx2), "avx2");
    EXPECT_STREQ(isa_name(Isa::Generic), "generic");
    const char* name = isa_name(cpu_isa());
    EXPECT_TRUE(std::strcmp(name, "avx512") == 0 || std::strcmp(name, "avx2") == 0 ||
                std::strcmp(name, "generic") == 0);
}

TEST(Cpu, ParallelItemsRunsEveryItemExactlyOnce) {
    for (int threads : {1, 2, 3}) {
        for (int n : {0, 1, 2, 7, 1000}) {
            std::vector<std::atomic<int>> count(n);
            auto item = [&](int i) { count[i].fetch_add(1); };
            parallel_items(n, threads, item);
            for (int i = 0; i < n; i++) {
                EXPECT_EQ(count[i].load(), 1)
                    << "item " << i << " of " << n << ", " << threads << " threads";
            }
        }
    }
}

TEST(Cpu, NestedParallelItemsRunInline) {
    std::vector<std::atomic<int>> count(16 * 16);
    auto outer = [&](int i) {
        const std::thread::id me = std::this_thread::get_id();
        auto inner = [&](int j) {
            EXPECT_EQ(std::this_thread::get_id(), me);
            count[i * 16 + j].fetch_add(1);
        };
        parallel_items(16, 2, inner);
    };
    parallel_items(16, 2, outer);
    for (auto& c : count) EXPECT_EQ(c.load(), 1);
}

// With 2 threads a worker does take items: item 0 waits (up to 20 s, the machine may be busy)
// until some other thread has run an item.
TEST(Cpu, ParallelItemsUsesASecondThread) {
    std::mutex mu;
    std::set<std::thread::id> ids;
    std::atomic<bool> other_ran{false};
    const std::thread::id caller = std::this_thread::get_id();
    auto item = [&](int i) {
        {
            std::lock_guard<std::mutex> lock(mu);
            ids.insert(std::this_thread::get_id());
        }
        if (std::this_thread::get_id() != caller) other_ran = true;
        if (i == 0) {
            const auto t0 = std::chrono::steady_clock::now();
            while (!other_ran && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
                std::this_thread::yield();
            }
        }
    };
    parallel_items(64, 2, item);
    EXPECT_TRUE(other_ran.load());
    EXPECT_GE(ids.size(), 2u);
}

// Each thread first takes its own contiguous share: with 2 threads the first item the caller runs
// is 0, and the first a worker runs is 32, the start of the second half. Oracle: the first item
// each thread ran, recorded.
TEST(Cpu, ParallelItemsGiveEachThreadItsOwnShareFirst) {
    std::mutex mu;
    std::map<std::thread::id, int> first_item;
    std::atomic<int> started{0};
    auto item = [&](int i) {
        {
            std::lock_guard<std::mutex> lock(mu);
            first_item.emplace(std::this_thread::get_id(), i);
        }
        // item 0 waits (up to 20 s) until another thread has started, so that the caller cannot
        // take the whole job before the worker wakes
        if (i != 0) started = true;
        const auto t0 = std::chrono::steady_clock::now();
        while (i == 0 && !started &&
               std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
            std::this_thread::yield();
        }
    };
    parallel_items(64, 2, item);
    ASSERT_EQ(first_item.size(), 2u);
    for (const auto& [id, first] : first_item) {
        EXPECT_EQ(first, id == std::this_thread::get_id() ? 0 : 32)
            << (id == std::this_thread::get_id() ? "the caller" : "the worker");
    }
}

// A thread that holds one item for long does not hold up the rest of its share: the others take
// it from the back. The worker's first item (32) waits until items 33..63 have all run, which only
// the caller can do by taking them; a pool without that would wait out the 20 s and fail.
TEST(Cpu, ParallelItemsTakeTheRestOfASlowThreadsShare) {
    std::vector<std::atomic<int>> count(64);
    std::atomic<bool> waited_out{false};
    auto rest_done = [&] {
        for (int i = 33; i < 64; i++) {
            if (count[i].load() == 0) return false;
        }
        return true;
    };
    auto item = [&](int i) {
        if (i == 32) {
            const auto t0 = std::chrono::steady_clock::now();
            while (!rest_done()) {
                if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(20)) {
                    waited_out = true;
                    break;
                }
                std::this_thread::yield();
            }
        }
        count[i].fetch_add(1);
    };
    parallel_items(64, 2, item);
    EXPECT_FALSE(waited_out.load()) << "items 33..63 were left to the thread holding item 32";
    for (int i = 0; i < 64; i++) EXPECT_EQ(count[i].load(), 1) << "item " << i;
}

TEST(Cpu, TeamRunsEveryRankOnceOnItsOwnThread) {
    for (int threads : {1, 2, 3}) {
        std::map<int, std::thread::id> first_call;
        for (int call = 0; call < 20; call++) {
            std::mutex mu;
            std::map<int, std::thread::id> ranks;
            int size = 0;
            auto member = [&](const Team& team) {
                std::lock_guard<std::mutex> lock(mu);
                EXPECT_TRUE(ranks.emplace(team.rank(), std::this_thread::get_id()).second)
                    << "rank " << team.rank() << " ran twice";
                size = team.size();
            };
            parallel_team(threads, member);
            ASSERT_EQ(size, threads);
            ASSERT_EQ(static_cast<int>(ranks.size()), threads);
            EXPECT_EQ(ranks.begin()->first, 0);
            EXPECT_EQ(ranks.rbegin()->first, threads - 1);
            EXPECT_EQ(ranks.at(0), std::this_thread::get_id()) << "rank 0 is the caller";
            std::set<std::thread::id> threads_used;
            for (auto& [rank, id] : ranks) threads_used.insert(id);
            EXPECT_EQ(static_cast<int>(threads_used.size()), threads) << "one thread per rank";
            // the point of a team: a rank's share stays on the same thread (and core's cache)
            if (call == 0) first_call = ranks;
            EXPECT_EQ(ranks, first_call) << "call " << call;
        }
    }
}

// Each member writes its slot of step s, waits at the barrier, then checks every slot of step s:
// without the barrier a member would read a slot some other member has not written yet.
TEST(Cpu, TeamBarrierOrdersTheSteps) {
    for (int threads : {2, 3}) {
        constexpr int kSteps = 2000;
        std::vector<std::atomic<int>> slot(threads);
        std::atomic<int> errors{0};
        auto member = [&](const Team& team) {
            for (int step = 1; step <= kSteps; step++) {
                slot[team.rank()].store(step, std::memory_order_relaxed);
                team.barrier();
                for (int r = 0; r < team.size(); r++) {
                    if (slot[r].load(std::memory_order_relaxed) < step) errors++;
                }
                team.barrier();  // nobody starts step+1 before all have checked step
            }
        };
        parallel_team(threads, member);
        EXPECT_EQ(errors.load(), 0) << threads << " threads";
        for (auto& s : slot) EXPECT_EQ(s.load(), kSteps);
    }
}

// An item job whose items the caller runs alone (the worker not yet awake) returns at once, and
// the caller writes the next job's fields before publishing it. A worker only now waking to the
// item job must not take those fields for its job: it ran the team's member early, then again
// when the team was published (by then, maybe, on a returned call's dead stack frame).
TEST(Cpu, TeamRightAfterAnItemJobRunsEachRankOnce) {
    for (int call = 0; call < 20000; call++) {
        std::atomic<int> runs[2] = {0, 0};
        auto item = [](int) {};
        parallel_items(2, 2, item);
        auto member = [&](const Team& team) { runs[team.rank()]++; };
        parallel_team(2, member);
        ASSERT_TRUE(runs[0].load() == 1 && runs[1].load() == 1)
            << "call " << call << ": rank 0 ran " << runs[0].load() << " times, rank 1 "
            << runs[1].load();
    }
}

TEST(Cpu, TeamInsideAnItemIsATeamOfOne) {
    std::atomic<int> sizes{0}, members{0};
    auto item = [&](int) {
        auto member = [&](const Team& team) {
            sizes += team.size();
            members++;
            team.barrier();  // a team of one passes its barriers alone
        };
        parallel_team(2, member);
    };
    parallel_items(8, 2, item);
    EXPECT_EQ(members.load(), 8);
    EXPECT_EQ(sizes.load(), 8);
}

TEST(Cpu, TeamSharesTileTheRangeInOrder) {
    for (int size : {1, 2, 3, 5}) {
        for (int n : {0, 1, 7, 64, 65, 130}) {
            for (int grain : {1, 16}) {
                int expect_begin = 0;
                for (int rank = 0; rank < size; rank++) {
                    const auto [begin, end] = Team(rank, size).share(n, grain);
                    EXPECT_EQ(begin, expect_begin) << "n " << n << " grain " << grain;
                    EXPECT_LE(begin, end);
                    EXPECT_TRUE(begin % grain == 0 || begin == n);
                    const int chunks = (n + grain - 1) / grain;
                    EXPECT_LE((end - begin + grain - 1) / grain, chunks / size + 1);
                    expect_begin = end;
                }
                EXPECT_EQ(expect_begin, n) << "size " << size << " n " << n;
            }
        }
    }
}

}  // namespace
}  // namespace wiggle::kernels
