// ladder/05_embeddings on a small corpus: it learns (the corpus is a first-order chain, so the
// counting bigram's 1.39 dev loss is about the best any model can do, and ln 7 = 1.95 is
// guessing), it reports the graph nodes each step builds (checked against the count of the
// operations in its forward pass), its log lines are util/log.h's, and bad inputs give one line.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ladder/corpora.h"
#include "run_program.h"
#include "util/log.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::number_after;
using testing::run_program;

std::string write_temp(const std::string& name, const std::string& bytes) {
    return testing::write_temp_file("wiggle_embeddings_test_" + name, bytes);
}

TEST(Embeddings05, LearnsASmallCorpusAndReportsItsCost) {
    const std::string path = write_temp("small.txt", testing::word_chain_corpus());
    const int B = 8, H = 16, E = 4, C = 3, V = 7;
    const auto r = run_program(
        "05_embeddings", "--data " + path + " --steps 2000 --hidden 16 --embedding 4 --batch 8");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("vocabulary 7"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("3 chars x 4-d embeddings -> 16 tanh -> 7 logits, 355 parameters"),
              std::string::npos)
        << r.out;  // 7*4 + 12*16 + 16 + 16*7 + 7

    // Nodes per example: hidden 2·H·(C·E) multiply-adds + H tanh; logits 2·H·V; the loss
    // 3·V + 5 (shift, exp, sum, log, pick); the 1/B scaling 2.
    const int per_example = 2 * H * C * E + H + 2 * H * V + 3 * V + 5 + 2;
    EXPECT_EQ(number_after(r.out, "graph nodes per step ("), per_example) << r.out;
    const size_t at = r.out.find(" graph nodes per step");
    ASSERT_NE(at, std::string::npos);
    const size_t line = r.out.rfind('\n', at) + 1;
    EXPECT_EQ(std::strtod(r.out.c_str() + line, nullptr), B * per_example) << r.out;
    EXPECT_NE(r.out.find(" steps/s ("), std::string::npos);

    const double train = number_after(r.out, "train loss ");
    const double dev = number_after(r.out, "dev loss ");
    EXPECT_LT(dev, 1.50) << r.out;  // guessing: 1.95; the counting bigram: 1.39
    EXPECT_LT(train, 1.50) << r.out;

    // The log lines are the shared format: each one reprinted by util/log.h is itself.
    auto is_step_line = [](const std::string& l) {
        int step = 0;
        double loss = 0, dev = 0, lr = 0, ms = 0;
        if (std::sscanf(l.c_str(), "step %d loss %lf dev %lf lr %lf ms %lf", &step, &loss, &dev,
                        &lr, &ms) != 5) {
            return false;
        }
        return l == format_step(step, 1999, loss, {{"dev", dev}, {"lr", lr, 3}, {"ms", ms, 1}});
    };
    int steps = 0, samples = 0;
    bool in_samples = false;
    for (const std::string& l : lines_of(r.out)) {
        if (l.rfind("step", 0) == 0) {
            EXPECT_TRUE(is_step_line(l)) << l;
            ++steps;
        }
        if (in_samples) ++samples;
        if (l.rfind("samples (seed", 0) == 0) in_samples = true;
    }
    EXPECT_EQ(steps, 11);  // every 200 steps and the last
    EXPECT_EQ(samples, 10);
}

TEST(Embeddings05, SamplesRepeatWithTheSeed) {
    const std::string path = write_temp("seed.txt", testing::word_chain_corpus());
    const std::string args = "--data " + path + " --steps 30 --hidden 8 --embedding 2";
    const auto a = run_program("05_embeddings", args + " --seed 3");
    const auto b = run_program("05_embeddings", args + " --seed 3 --top-k 3");
    const auto c = run_program("05_embeddings", args + " --seed 3");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    auto samples = [](const std::string& out) { return out.substr(out.find("samples (seed")); };
    EXPECT_EQ(samples(a.out), samples(c.out));
    EXPECT_NE(samples(a.out), samples(b.out));
}

// Every bad input: exit status 1 and a single "error: ..." line that names the problem.
void expect_one_error_line(const std::string& args, const std::string& needle) {
    testing::expect_one_error_line("05_embeddings", args, needle);
}

TEST(Embeddings05, BadInputsAreOneClearLine) {
    expect_one_error_line("--bogus 3", "--bogus");
    expect_one_error_line("--steps 0", "--steps");
    expect_one_error_line("--data /nonexistent/names.txt",
                          "cannot open data file '/nonexistent/names.txt'");
    expect_one_error_line("--data " + write_temp("empty.txt", ""), "empty.txt' is empty");
    expect_one_error_line("--data " + write_temp("blank.txt", "\n\n"),
                          "too short: 0 non-empty lines");
    expect_one_error_line("--data " + write_temp("binary.txt", std::string("a\0b\n", 4)),
                          "binary.txt' looks binary");
    expect_one_error_line("--data " + write_temp("short.txt", "abc") + " --format text",
                          "short.txt' is too short");
    std::string wide;  // 200 distinct characters, one per line: more than the 128 allowed
    for (char32_t c = 0x100; c < 0x100 + 200; ++c) {
        wide += static_cast<char>(0xC0 | (c >> 6));
        wide += static_cast<char>(0x80 | (c & 0x3F));
        wide += '\n';
    }
    expect_one_error_line("--data " + write_temp("wide.txt", wide), "more than the 128");
    expect_one_error_line("--top-p 2", "--top-p must be in (0, 1]");
}

}  // namespace
}  // namespace wiggle
