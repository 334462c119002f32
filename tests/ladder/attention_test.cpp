// ladder/07_attention on a small corpus: the three ways of averaging the past agree (checked
// against the loop, which the program prints), training lowers the estimated loss, the log lines
// are util/log.h's, the same seed gives the same run, --plot writes a well-formed attention
// heatmap and loss curve, and bad inputs give one line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ladder/corpora.h"
#include "ladder/step_line.h"
#include "run_program.h"
#include "util/py_random.h"
#include "xml_reader.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::number_after;
using testing::run_program;

testing::LossLog step_lines(const std::string& out) {
    return testing::loss_val_lines(lines_of(out));
}

TEST(Attention07, AveragesAgreeAndTrainingLowersTheLoss) {
    const std::string data = testing::sentence_corpus_file("wiggle_attention_test_corpus.txt");
    const auto r = run_program("07_attention", "--data " + data + " --iters 300 --eval-iters 10");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The averaging trick: differences from the loop, as printed.
    const double d2 = number_after(r.out, "loop vs tril matmul ");
    const double d3 = number_after(r.out, "loop vs masked softmax ");
    EXPECT_LT(d2, 1e-5) << r.out;
    EXPECT_LT(d3, 1e-5) << r.out;
    // The last row of the weights is the uniform average over 8 positions.
    EXPECT_NE(r.out.find(" 0.125 0.125 0.125 0.125 0.125 0.125 0.125 0.125"), std::string::npos);
    EXPECT_NE(r.out.find("vocabulary 14"), std::string::npos) << r.out;
    // 14·32 + 8·32 + 3·32·32 + 32·14 + 14 parameters.
    EXPECT_NE(r.out.find("4238 parameters"), std::string::npos) << r.out;

    const testing::LossLog l = step_lines(r.out);
    ASSERT_EQ(l.val.size(), 11u) << r.out;   // steps 0, 30, ..., 300
    EXPECT_GT(l.val.front(), 2.5) << r.out;  // ln 14 = 2.64 for guessing
    EXPECT_LT(l.val.back(), l.val.front() - 0.8) << r.out;
    EXPECT_LT(l.train.back(), l.train.front() - 0.8) << r.out;
    EXPECT_DOUBLE_EQ(number_after(r.out, "val loss "), l.val.back());
    EXPECT_NE(r.out.find("ms per training step"), std::string::npos);
    EXPECT_NE(r.out.find("sample:\n"), std::string::npos);
    EXPECT_NE(r.out.find("done in "), std::string::npos);
}

TEST(Attention07, SameSeedSameRunOtherSeedOtherRun) {
    const std::string data = testing::sentence_corpus_file("wiggle_attention_test_corpus.txt");
    const std::string args = "--data " + data + " --iters 40 --eval-iters 2";
    const auto a = run_program("07_attention", args);
    const auto b = run_program("07_attention", args);
    const auto c = run_program("07_attention", args + " --seed 5");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(step_lines(a.out).val, step_lines(b.out).val);
    EXPECT_NE(step_lines(a.out).val, step_lines(c.out).val);
    auto sample = [](const std::string& out) { return out.substr(out.find("sample:")); };
    EXPECT_EQ(sample(a.out).substr(0, 300), sample(b.out).substr(0, 300));
}

TEST(Attention07, PlotsTheAttentionWeightsAndTheLossCurve) {
    const std::string data = testing::sentence_corpus_file("wiggle_attention_test_corpus.txt");
    const std::filesystem::path dir =
        std::filesystem::path(::testing::TempDir()) / "wiggle_07_plots";
    std::filesystem::remove_all(dir);
    const auto r = run_program(
        "07_attention", "--data " + data + " --iters 20 --eval-iters 2 --plot " + dir.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto read_all = [](const std::filesystem::path& p) { return testing::read_text_file(p); };
    testing::ParsedXml heat;
    ASSERT_TRUE(testing::well_formed_svg(read_all(dir / "attention.svg"), heat));
    EXPECT_EQ(heat.root->all("g", "heatmap").size(), 1u);
    EXPECT_EQ(heat.root->all("g", "colorbar").size(), 1u);
    // The sample line is the corpus's second line; its characters label the axes.
    const std::string svg = read_all(dir / "attention.svg");
    EXPECT_NE(svg.find("one head"), std::string::npos);
    testing::ParsedXml loss;
    ASSERT_TRUE(testing::well_formed_svg(read_all(dir / "loss.svg"), loss));
    EXPECT_EQ(loss.root->all("path", "series").size(), 2u);
}

TEST(Attention07, BadInputsGiveOneLine) {
    const auto flag = run_program("07_attention", "--no-such-flag");
    EXPECT_EQ(flag.exit_code, 1);
    EXPECT_EQ(lines_of(flag.err).size(), 1u) << flag.err;
    EXPECT_NE(flag.err.find("error: "), std::string::npos) << flag.err;

    const auto missing = run_program("07_attention", "--data /nonexistent/text.txt --iters 1");
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("/nonexistent/text.txt"), std::string::npos) << missing.err;

    const std::string tiny = ::testing::TempDir() + "wiggle_attention_test_tiny.txt";
    std::ofstream(tiny) << "too short";
    const auto short_file = run_program("07_attention", "--data " + tiny + " --iters 1");
    EXPECT_EQ(short_file.exit_code, 1);
    EXPECT_EQ(lines_of(short_file.err).size(), 1u) << short_file.err;

    const auto iters = run_program("07_attention", "--iters -3");
    EXPECT_EQ(iters.exit_code, 1);
    EXPECT_NE(iters.err.find("--iters"), std::string::npos) << iters.err;
}

}  // namespace
}  // namespace wiggle
