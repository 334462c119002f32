// ladder/06_tensors' default run: makemore's result (dev loss ≤ 2.17) on tensors, with the
// speed-up over the scalar engine printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "run_program.h"

namespace wiggle {
namespace {

TEST(Tensors06Slow, DefaultRunReachesMakemoresDevLoss) {
    const std::string path = std::string(WIGGLE_SOURCE_DIR) + "/data/names.txt";
    if (!std::ifstream(path).good()) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const auto r = testing::run_program("06_tensors", "--data " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const size_t at = r.out.find("dev loss ");
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_LE(std::strtod(r.out.c_str() + at + 9, nullptr), 2.17) << r.out;
    EXPECT_NE(r.out.find("x faster than the scalar engine"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wiggle
