// build/bin/01_neuron prints the article's lines exactly, agrees with its own gradient check, draws
// its graph on request, and rejects a bad flag with one line and a non-zero exit.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::run_program;

TEST(Neuron, PrintsTheArticlesLines) {
    const auto r = run_program("01_neuron");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> want = {
        "-0.29131261245159085",       // print(neuron(2.0, 1.0, w1=-0.6, w2=0.8, b=0.1))
        "[-2.4859, -1.0115, 0.174]",  // [round(numerical_gradient(params, i), 4) ...]
        "step   0 loss 2.2508",      "step  40 loss 0.0389", "step  80 loss 0.0186",
        "step 120 loss 0.0120",      "step 160 loss 0.0088",
    };
    const std::vector<std::string> got = lines_of(r.out);
    ASSERT_GE(got.size(), want.size()) << r.out;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "line " << i + 1;
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(Neuron, GradientChecksAgree) {
    const auto r = run_program("01_neuron");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("DISAGREE"), std::string::npos) << r.out;
    size_t agrees = 0;
    for (size_t pos = r.out.find("(agree)"); pos != std::string::npos;
         pos = r.out.find("(agree)", pos + 1))
        ++agrees;
    EXPECT_EQ(agrees, 2u) << r.out;
}

TEST(Neuron, WritesTheGraph) {
    const std::string path = ::testing::TempDir() + "neuron_test_graph.dot";
    const auto r = run_program("01_neuron", "--graph " + path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str().rfind("digraph", 0), 0u) << ss.str();
    EXPECT_NE(ss.str().find("tanh"), std::string::npos);
    std::remove(path.c_str());
}

TEST(Neuron, BadFlagsAreOneLineAndNonZeroExit) {
    for (const std::string args :
         {"--bogus", "--graph", "--graph out.png", "--graph /no/such/dir/g.svg"}) {
        const auto r = run_program("01_neuron", args);
        EXPECT_NE(r.exit_code, 0) << args;
        EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
        const auto err = lines_of(r.err);
        ASSERT_EQ(err.size(), 1u) << args << ": " << r.err;
        EXPECT_EQ(err[0].rfind("error: ", 0), 0u) << err[0];
    }
}

}  // namespace
}  // namespace wiggle
