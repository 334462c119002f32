// Tests of kernels/cpu.h: the ISA names and the item pool (every item exactly once, nested calls
// inline, a second thread really takes part). Oracle: counting.
#include "kernels/cpu.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
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

}  // namespace
}  // namespace wiggle::kernels
