// ladder/04_bigram on a small corpus: the counting and the neural bigram reach the same loss
// (the counting model is the neural one's oracle: both estimate the same conditional
// probabilities), seeded samples repeat, and every bad input gives one clear error line.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ladder/corpora.h"
#include "run_program.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::number_after;
using testing::run_program;

std::string write_temp(const std::string& name, const std::string& bytes) {
    return testing::write_temp_file("wiggle_bigram_test_" + name, bytes);
}

TEST(Bigram04, CountingAndNeuralAgreeOnASmallCorpus) {
    const std::string path = write_temp("small.txt", testing::word_chain_corpus());
    // Without weight decay the network's optimum is the unsmoothed counting model, which add-1
    // smoothing barely moves on 16,000 pairs. lr 10: this corpus's rows are few and heavy, and
    // lr 50 (makemore's, for 27 rows) makes them oscillate.
    const auto r = run_program("04_bigram", "--data " + path + " --weight-decay 0 --lr 10");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2000 words (1600 train, 200 dev, 200 test, seed 42), vocabulary 7"),
              std::string::npos)
        << r.out;
    const double count_train = number_after(r.out, "smoothing): train ");
    const double count_dev = number_after(r.out, " dev ", "smoothing): train ");
    const double nn_train = number_after(r.out, "neural bigram: train ");
    const double nn_dev = number_after(r.out, " dev ", "neural bigram: train ");
    ASSERT_FALSE(std::isnan(count_train + count_dev + nn_train + nn_dev)) << r.out;
    EXPECT_NEAR(nn_train, count_train, 0.01) << r.out;
    EXPECT_NEAR(nn_dev, count_dev, 0.01) << r.out;
    // Both far below the uniform model's ln 7 = 1.95.
    EXPECT_LT(count_dev, 1.6);
}

TEST(Bigram04, SamplesTenWordsAndRepeatsWithTheSeed) {
    const std::string path = write_temp("small_seed.txt", testing::word_chain_corpus());
    const std::string args = "--data " + path + " --steps 50 --lr 10";
    const auto a = run_program("04_bigram", args + " --seed 7");
    const auto b = run_program("04_bigram", args + " --seed 7");
    const auto c = run_program("04_bigram", args + " --seed 8");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    // Everything repeats but the time per step.
    auto without_timing = [](const std::string& out) {
        std::string kept;
        for (const std::string& l : lines_of(out))
            if (l.find("ms per step") == std::string::npos) kept += l + "\n";
        return kept;
    };
    EXPECT_EQ(without_timing(a.out), without_timing(b.out));
    EXPECT_NE(without_timing(a.out), without_timing(c.out));
    int samples = 0;
    for (const std::string& l : lines_of(a.out))
        samples += l.rfind("  ", 0) == 0 && l.find(" | ") != std::string::npos;
    EXPECT_EQ(samples, 10) << a.out;
}

TEST(Bigram04, TextStreamSamples300Characters) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "To be, or not to be, that is the question.\n";
    const std::string path = write_temp("stream.txt", text);
    const auto r = run_program("04_bigram", "--data " + path + " --format text --steps 20 --lr 10");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string head = "300 sampled characters from the neural model (seed 1337):\n";
    const size_t at = r.out.find(head);
    ASSERT_NE(at, std::string::npos) << r.out;
    // 300 characters of a vocabulary that has only ASCII: 300 bytes, then the final newline.
    EXPECT_EQ(r.out.size() - (at + head.size()), 301u) << r.out;
}

// Every bad input: exit status 1 and a single "error: ..." line that names the problem.
void expect_one_error_line(const std::string& args, const std::string& needle) {
    testing::expect_one_error_line("04_bigram", args, needle);
}

TEST(Bigram04, BadInputsAreOneClearLine) {
    expect_one_error_line("--no-such-flag", "--no-such-flag");
    expect_one_error_line("--data /nonexistent/names.txt",
                          "cannot open data file '/nonexistent/names.txt'");
    expect_one_error_line("--data " + write_temp("empty.txt", ""), "empty.txt' is empty");
    expect_one_error_line("--data " + write_temp("binary.txt", std::string("ab\0c\n", 5)),
                          "binary.txt' looks binary");
    expect_one_error_line("--data " + write_temp("short.txt", "ab\ncd\n"),
                          "short.txt' is too short");
    expect_one_error_line("--data " + write_temp("short2.txt", "a") + " --format text",
                          "short2.txt' is too short");
    // 300 distinct characters (U+0100...): more than the 256 the V x V table allows.
    std::string wide;
    for (char32_t c = 0x100; c < 0x100 + 300; ++c) {
        wide += static_cast<char>(0xC0 | (c >> 6));
        wide += static_cast<char>(0x80 | (c & 0x3F));
    }
    expect_one_error_line("--data " + write_temp("wide.txt", wide) + " --format text",
                          "wide.txt' has 300 distinct tokens, more than the 256");
    expect_one_error_line("--temperature 0", "--temperature must be a positive number");
}

}  // namespace
}  // namespace wiggle
