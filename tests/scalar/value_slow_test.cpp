// A graph of 10 million nodes back-propagates: no recursion, no per-node allocation, ids fit.
#include <gtest/gtest.h>

#include "scalar/value.h"

namespace wiggle {
namespace {

TEST(ValueSlow, TenMillionNodeGraph) {
    GraphScope scope;
    Value a = 1.0;
    Value b = 0.5;
    Value x = a;
    constexpr int kPairs = 5'000'000;  // each step adds a Mul and an Add: 10 million nodes
    for (int i = 0; i < kPairs; ++i) x = x + a * b;
    ASSERT_GE(g_tape.size(), 10'000'000u);
    x.backward();
    // x = a + kPairs * a * b: dx/da = 1 + kPairs * b, dx/db = kPairs * a (all exact in double)
    EXPECT_EQ(x.data(), 1.0 + kPairs * 0.5);
    EXPECT_EQ(a.grad(), 1.0 + kPairs * 0.5);
    EXPECT_EQ(b.grad(), static_cast<double>(kPairs));
}

}  // namespace
}  // namespace wiggle
