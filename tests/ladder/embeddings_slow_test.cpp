// ladder/05_embeddings' default run on data/names.txt (about two minutes of one core): the dev
// loss reaches the target of 2.30 (makemore part 2 reached 2.17 after 200,000 steps; the
// bigram's 2.45 is the floor to beat), and the step costs 23,088 nodes per example.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "run_program.h"

namespace wiggle {
namespace {

using testing::number_after;
using testing::run_program;

TEST(Embeddings05Slow, DefaultRunReachesDevLoss230OnNames) {
    const std::string path = std::string(WIGGLE_SOURCE_DIR) + "/data/names.txt";
    if (!std::ifstream(path).good()) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const auto r = run_program("05_embeddings", "--data " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("182625 train and 22655 dev examples"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("11897 parameters"), std::string::npos) << r.out;  // makemore's count
    // 2·200·30 + 200 + 2·200·27 + 3·27 + 5 + 2
    EXPECT_EQ(number_after(r.out, "graph nodes per step ("), 23088) << r.out;
    const double dev = number_after(r.out, "dev loss ");
    EXPECT_LE(dev, 2.30) << r.out;
    EXPECT_LT(number_after(r.out, "train loss "), 2.30) << r.out;
}

}  // namespace
}  // namespace wiggle
