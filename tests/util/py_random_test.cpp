// PyRandom against numbers printed by CPython 3.11 (python3 -c "import random; ..."): every value
// must match bit for bit, so the comparisons are exact (EXPECT_EQ on doubles).
#include "util/py_random.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wiggle {
namespace {

TEST(PyRandom, UniformMatchesTheIssueExample) {
    // random.seed(1); random.uniform(-1, 1); random.uniform(-1, 1)
    PyRandom rng(1);
    EXPECT_EQ(rng.uniform(-1, 1), -0.7312715117751976);
    EXPECT_EQ(rng.uniform(-1, 1), 0.6948674738744653);
}

TEST(PyRandom, RandomSeedZero) {
    // random.seed(0); [random.random() for _ in range(3)]
    PyRandom rng(0);
    EXPECT_EQ(rng.random(), 0.8444218515250481);
    EXPECT_EQ(rng.random(), 0.7579544029403025);
    EXPECT_EQ(rng.random(), 0.420571580830845);
}

TEST(PyRandom, Genrand32) {
    // random.seed(1); [random.getrandbits(32) for _ in range(3)]
    PyRandom rng(1);
    EXPECT_EQ(rng.next_u32(), 577090037u);
    EXPECT_EQ(rng.next_u32(), 2444712010u);
    EXPECT_EQ(rng.next_u32(), 3639700191u);
}

TEST(PyRandom, ManyDrawsCrossTheTwistBoundary) {
    // random.seed(1); [random.random() for _ in range(1000)]; random.random()
    PyRandom rng(1);
    for (int i = 0; i < 1000; ++i) rng.random();
    EXPECT_EQ(rng.random(), 0.4116430517162146);
}

TEST(PyRandom, GaussUsesTheCachedSecondValue) {
    // random.seed(42); [random.gauss(0, 1) for _ in range(5)]
    PyRandom rng(42);
    const std::vector<double> want = {-0.14409032957792836, -0.1729036003315193,
                                      -0.11131586156766246, 0.7019837250988631,
                                      -0.12758828378288709};
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(rng.gauss(0, 1), want[i]) << "draw " << i;
    // random.seed(42); [random.gauss(2.5, 0.3) for _ in range(3)]
    rng.seed_with(42);
    EXPECT_EQ(rng.gauss(2.5, 0.3), 2.4567729011266213);
    EXPECT_EQ(rng.gauss(2.5, 0.3), 2.4481289199005443);
    EXPECT_EQ(rng.gauss(2.5, 0.3), 2.466605241529701);
}

TEST(PyRandom, ReseedingDropsTheCachedGauss) {
    PyRandom rng(42);
    rng.gauss();  // leaves a cached value behind
    rng.seed_with(42);
    EXPECT_EQ(rng.gauss(0, 1), -0.14409032957792836);
}

TEST(PyRandom, Randint) {
    // random.seed(3); [random.randint(0, 9) for _ in range(10)],
    // [random.randint(-5, 5) for _ in range(5)], random.randint(0, 10**12)
    PyRandom rng(3);
    const std::vector<int64_t> want = {3, 9, 8, 2, 5, 9, 7, 9, 1, 9};
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(rng.randint(0, 9), want[i]) << "draw " << i;
    const std::vector<int64_t> want2 = {-5, 2, -1, 3, -2};
    for (size_t i = 0; i < want2.size(); ++i)
        EXPECT_EQ(rng.randint(-5, 5), want2[i]) << "draw " << i;
    EXPECT_EQ(rng.randint(0, 1000000000000), 518476202886);
}

TEST(PyRandom, Shuffle) {
    // random.seed(7); x = list(range(10)); random.shuffle(x)
    PyRandom rng(7);
    std::vector<int> x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(x);
    EXPECT_EQ(x, (std::vector<int>{8, 3, 1, 4, 7, 0, 9, 6, 2, 5}));
}

TEST(PyRandom, Choice) {
    // random.seed(7); [random.choice("abcdefghij") for _ in range(8)]
    PyRandom rng(7);
    const std::vector<char> letters = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
    std::string got;
    for (int i = 0; i < 8; ++i) got += rng.choice(letters);
    EXPECT_EQ(got, "fcgabibf");
}

TEST(PyRandom, Getrandbits) {
    // random.seed(5); [random.getrandbits(k) for k in (1, 7, 32, 33, 40, 64)]
    PyRandom rng(5);
    EXPECT_EQ(rng.getrandbits(1), 1u);
    EXPECT_EQ(rng.getrandbits(7), 32u);
    EXPECT_EQ(rng.getrandbits(32), 3185950873u);
    EXPECT_EQ(rng.getrandbits(33), 5834865596u);
    EXPECT_EQ(rng.getrandbits(40), 1038052564958u);
    EXPECT_EQ(rng.getrandbits(64), 13648719601384375088u);
}

TEST(PyRandom, SeedsWiderThan32Bits) {
    PyRandom rng(4294967301ull);  // random.seed(2**32 + 5)
    EXPECT_EQ(rng.random(), 0.15727238718789782);
    EXPECT_EQ(rng.random(), 0.2824866316461999);
    rng.seed_with(18446744073709551615ull);  // random.seed(2**64 - 1)
    EXPECT_EQ(rng.random(), 0.021825695401270107);
    rng.seed_with(12345678901234ull);  // random.seed(12345678901234)
    EXPECT_EQ(rng.random(), 0.02504137575317178);
}

TEST(PyRandom, StateRoundTrips) {
    // random.seed(9); random.gauss(0, 1); s = random.getstate(); a = random.gauss(0, 1);
    // b = random.random(); random.setstate(s); random.gauss(0, 1), random.random()
    PyRandom rng(9);
    rng.gauss(0, 1);
    const PyRandom::State s = rng.state();
    EXPECT_EQ(rng.gauss(0, 1), 0.22268633975498442);
    EXPECT_EQ(rng.random(), 0.13853941251445523);
    PyRandom other(123);
    other.set_state(s);
    EXPECT_EQ(other.gauss(0, 1), 0.22268633975498442);
    EXPECT_EQ(other.random(), 0.13853941251445523);
}

}  // namespace
}  // namespace wiggle
