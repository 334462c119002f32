// ladder/04_bigram on the real corpora (data/names.txt, data/tinyshakespeare.txt): the counting
// model's losses equal CPython's (a transcription of makemore part 1's counting in plain Python:
// add-1 smoothing, the makemore split with random.seed(42), and the lecture's 90/10
// tinyshakespeare split), and the neural bigram lands within 0.01 of it on names and near the
// GPT lecture's 2.49 validation loss on tinyshakespeare.
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

std::string data_file(const char* name) { return std::string(WIGGLE_SOURCE_DIR) + "/data/" + name; }

TEST(Bigram04Slow, NamesMatchCPythonAndTheNetworkMatchesTheCounts) {
    const std::string path = data_file("names.txt");
    if (!std::ifstream(path).good()) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const auto r = run_program("04_bigram", "--data " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // CPython (float64): train 2.454836888567456, dev 2.453263936817344, all 2.454576820116076.
    EXPECT_NEAR(number_after(r.out, "smoothing): train "), 2.4548, 5e-5) << r.out;
    EXPECT_NEAR(number_after(r.out, " dev ", "smoothing): train "), 2.4533, 5e-5) << r.out;
    EXPECT_NEAR(number_after(r.out, "as makemore part 1 does: "), 2.4546, 5e-5) << r.out;
    EXPECT_NEAR(number_after(r.out, "neural bigram: train "), 2.4548, 0.01) << r.out;
    EXPECT_NEAR(number_after(r.out, " dev ", "neural bigram: train "), 2.4533, 0.01) << r.out;
}

TEST(Bigram04Slow, TinyShakespeareMatchesCPythonAndTheLecture) {
    const std::string path = data_file("tinyshakespeare.txt");
    if (!std::ifstream(path).good()) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const auto r = run_program("04_bigram", "--data " + path + " --format text");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1115394 characters (1003854 train, 111540 val), vocabulary 65"),
              std::string::npos)
        << r.out;
    // CPython (float64): train 2.4545713757197, val 2.4818894321157265.
    EXPECT_NEAR(number_after(r.out, "smoothing): train "), 2.4546, 5e-5) << r.out;
    EXPECT_NEAR(number_after(r.out, " val ", "smoothing): train "), 2.4819, 5e-5) << r.out;
    // The lecture's bigram.py: val ~2.49; the network within 0.01 of the counts.
    const double val = number_after(r.out, " val ", "neural bigram: train ");
    EXPECT_NEAR(val, 2.49, 0.02) << r.out;
    EXPECT_NEAR(val, 2.4819, 0.01) << r.out;
}

}  // namespace
}  // namespace wiggle
