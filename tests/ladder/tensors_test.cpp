// ladder/06_tensors, short runs: the tensor engine agrees with the scalar engine on the same
// weights and batch, training lowers the dev loss, the lines are in the shared log format, the
// speed-up is printed, and bad flags fail with one line.
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

std::string names() { return std::string(WIGGLE_SOURCE_DIR) + "/data/names.txt"; }

TEST(Tensors06, MatchesTheScalarEngineAndLearns) {
    if (!std::ifstream(names()).good())
        GTEST_SKIP() << "no data/names.txt (run scripts/fetch-data)";
    const auto r =
        run_program("06_tensors", "--data " + names() + " --steps 3000 --scalar-steps 1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Same weights, same batch of 32: float tensors vs double scalars.
    const double scalar = number_after(r.out, "scalar loss "),
                 tensor = number_after(r.out, "tensor loss ");
    EXPECT_NEAR(scalar, std::log(27.0), 0.1) << r.out;  // part 3's init: nearly uniform
    EXPECT_NEAR(tensor, scalar, 1e-5) << r.out;
    EXPECT_LT(number_after(r.out, "max gradient difference "), 1e-5) << r.out;
    // The first and last log lines (shared format), and training helped.
    EXPECT_NE(r.out.find("step    0 loss "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("step 2999 loss "), std::string::npos) << r.out;
    const double first_dev = number_after(r.out, "step    0 loss 3.2708 dev ");
    EXPECT_NEAR(first_dev, 3.2461, 1e-3) << r.out;
    EXPECT_LT(number_after(r.out, "dev loss "), 2.45) << r.out;
    EXPECT_GT(number_after(r.out, "ms per step, "), 1.0) << r.out;  // the speed-up is printed
    EXPECT_NE(r.out.find("samples:"), std::string::npos) << r.out;
}

TEST(Tensors06, SameSeedSameRun) {
    if (!std::ifstream(names()).good()) GTEST_SKIP() << "no data/names.txt";
    const std::string args = "--data " + names() + " --steps 500 --scalar-steps 0 --seed 7";
    const auto a = run_program("06_tensors", args), b = run_program("06_tensors", args);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    // Everything but the timings is the same.
    auto strip = [](const std::string& s) { return s.substr(0, s.find("train loss")); };
    EXPECT_EQ(strip(a.out), strip(b.out));
    EXPECT_EQ(a.out.substr(a.out.find("samples:")), b.out.substr(b.out.find("samples:")));
}

TEST(Tensors06, BadInputsFailWithOneLine) {
    auto r = run_program("06_tensors", "--steps 0");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
    r = run_program("06_tensors", "--data /nonexistent/names.txt");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent/names.txt"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wiggle
