// ladder/09_gpt, briefly, on a small made-up corpus: the tape and the kernels agree on a batch,
// it trains (the loss falls), prints the shared log lines, a final validation loss and a sample of
// the asked length, repeats itself for a seed, and rejects bad input with one clear line. The full
// run is in gpt_slow_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ladder/step_line.h"
#include "run_program.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::run_program;

// 20,000 characters of a toy language: words over 8 letters with a simple successor rule.
std::string corpus_path() {
    PyRandom rng(3);
    const std::string letters = "abcdefgh";
    std::string text;
    while (text.size() < 20000) {
        size_t c = rng.randbelow(8);
        const int n = static_cast<int>(rng.randint(2, 7));
        for (int i = 0; i < n; ++i) {
            text += letters[c];
            c = (c + 1 + rng.randbelow(2)) % 8;
        }
        text += rng.randbelow(5) == 0 ? ".\n" : " ";
    }
    return testing::write_temp_file("wiggle_gpt_test_corpus.txt", text);
}

const std::string kQuick =
    " --iters 30 --eval-interval 15 --eval-iters 2 --final-eval-iters 3 --sample-chars 40";

// The losses of the "step N loss X val Y" lines, in order.
std::vector<double> eval_losses(const std::string& out) {
    std::vector<double> losses;
    for (const std::string& l : lines_of(out)) {
        const auto s = testing::parse_step_line(l);
        if (s && !std::isnan(s->get("val"))) losses.push_back(s->get("val"));
    }
    return losses;
}

// The output without its timings: "ms/iter X" pairs, ", N threads" and the "trained ..." line.
std::string without_timings(const std::string& out) {
    std::string kept;
    for (std::string l : lines_of(out)) {
        if (l.rfind("trained", 0) == 0) continue;
        for (size_t at; (at = l.find("ms/iter ")) != std::string::npos;) {
            size_t end = l.find(' ', at + 8);
            l.erase(at, end == std::string::npos ? std::string::npos : end - at);
        }
        if (size_t at = l.find(" threads"); at != std::string::npos) {
            size_t begin = l.rfind(", ", at);
            if (begin != std::string::npos) l.erase(begin, at + 8 - begin);
        }
        kept += l + "\n";
    }
    return kept;
}

TEST(Gpt09, TrainsPrintsAndSamples) {
    const auto r = run_program("09_gpt", "--data " + corpus_path() + kQuick);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<double> val = eval_losses(r.out);
    ASSERT_EQ(val.size(), 3u) << r.out;  // steps 0, 15 and 30
    EXPECT_LT(val.back(), val.front() - 0.3) << r.out;
    EXPECT_NE(r.out.find("step  0 loss"), std::string::npos) << r.out;  // aligned to "30"
    EXPECT_NE(r.out.find("final val loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ms/iteration"), std::string::npos) << r.out;
    // the tape and the kernels, one batch: the same loss, the gradients equal to float rounding
    const size_t tape = r.out.find("the same GPT on the tape (part 8's ops): loss ");
    ASSERT_NE(tape, std::string::npos) << r.out;
    double tape_loss = 0, kernel_loss = 0, max_diff = 1, max_grad = 0;
    size_t grads = 0;
    ASSERT_EQ(std::sscanf(r.out.c_str() + tape,
                          "the same GPT on the tape (part 8's ops): loss %lf, kernels %lf; the %zu "
                          "gradients differ by at most %lf (the largest is %lf)",
                          &tape_loss, &kernel_loss, &grads, &max_diff, &max_grad),
              5)
        << r.out.substr(tape, 200);
    EXPECT_NEAR(tape_loss, kernel_loss, 1e-5);
    EXPECT_GT(grads, 100000u);
    EXPECT_LT(max_diff, 1e-5 * std::max(1.0, max_grad));
    // the sample: everything after "sample:", 40 characters of the corpus's alphabet
    const size_t at = r.out.find("sample:\n");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::string sample = r.out.substr(at + 8);
    if (!sample.empty() && sample.back() == '\n') sample.pop_back();
    EXPECT_EQ(sample.size(), 40u) << sample;
    EXPECT_EQ(sample.find_first_not_of("abcdefgh .\n"), std::string::npos) << sample;
}

TEST(Gpt09, SameSeedSameRun) {
    // A few steps show the bits; the sanitizer build runs this three times at ~3 s a step.
    const std::string args = "--data " + corpus_path() +
                             " --iters 4 --eval-interval 2 --eval-iters 1 --final-eval-iters 1"
                             " --sample-chars 40";
    const auto a = run_program("09_gpt", args + " --seed 5 --threads 1");
    const auto b = run_program("09_gpt", args + " --seed 5 --threads 2");
    const auto c = run_program("09_gpt", args + " --seed 6");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    // Everything but the timings repeats, whatever the thread count.
    EXPECT_EQ(without_timings(a.out), without_timings(b.out));
    EXPECT_NE(eval_losses(a.out), eval_losses(c.out));
}

TEST(Gpt09, BadInputIsOneClearLine) {
    auto r = run_program("09_gpt", "--data /nonexistent/shakespeare.txt");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/shakespeare.txt"), std::string::npos) << r.err;

    const std::string tiny = ::testing::TempDir() + "wiggle_gpt_test_tiny.txt";
    std::ofstream(tiny) << "too short for a block of 64 characters\n";
    r = run_program("09_gpt", "--data " + tiny);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;

    r = run_program("09_gpt", "--iters -3");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--iters"), std::string::npos) << r.err;
    r = run_program("09_gpt", "--no-such-flag");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

}  // namespace
}  // namespace wiggle
