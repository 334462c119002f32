// ladder/10_tokenizer on a small corpus of sentences: the first merge of the basic BPE is the most
// frequent pair of bytes in the training text (counted here, ties to the pair seen first, as
// minbpe), the regex BPE never merges across words, both compress, the round trip gives the text
// back, GPT-2's ids for the line are GPT-2's (when scripts/fetch-data --gpt2 has run), and bad
// flags give one clear line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ladder/corpora.h"
#include "run_program.h"

namespace wiggle {
namespace {

using testing::number_after;
using testing::read_text_file;
using testing::run_program;

// The most frequent pair of adjacent bytes and its count; ties go to the pair that occurs first.
std::pair<std::string, long> most_frequent_pair(const std::string& text) {
    std::map<std::string, long> counts;
    std::map<std::string, size_t> first;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        const std::string pair = text.substr(i, 2);
        ++counts[pair];
        first.emplace(pair, i);
    }
    std::pair<std::string, long> best{"", 0};
    for (const auto& [pair, n] : counts) {
        if (n > best.second || (n == best.second && first[pair] < first[best.first])) {
            best = {pair, n};
        }
    }
    return best;
}

// The number that starts the line holding `needle` (NaN if there is none).
double first_number_of_line(const std::string& out, const std::string& needle) {
    const size_t at = out.find(needle);
    if (at == std::string::npos) return std::nan("");
    const size_t start = out.rfind('\n', at) + 1;  // npos + 1 = 0 on the first line
    return std::strtod(out.c_str() + start, nullptr);
}

TEST(Tokenizer, LearnsCompressesAndRoundTrips) {
    const std::string path = testing::sentence_corpus_file("tokenizer_ladder_corpus.txt");
    const auto r = run_program("10_tokenizer", "--data " + path + " --vocab-size 300");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string& out = r.out;

    // The basic BPE's first merge: the most frequent pair of the training text (the first 90%).
    const std::string text = read_text_file(path);
    const auto [pair, count] = most_frequent_pair(text.substr(0, size_t(0.9 * text.size())));
    const std::string want = fmt::format("merge  1: '{}' + '{}' -> '{}' (token 256, {} times)",
                                         pair.substr(0, 1), pair.substr(1), pair, count);
    const size_t basic = out.find("2. basic BPE (no split): 44 merges");
    ASSERT_NE(basic, std::string::npos) << out;
    EXPECT_EQ(out.find(want, basic), out.find("merge  1:", basic)) << want << "\n" << out;

    // The regex BPE keeps words apart; the basic one does not.
    EXPECT_GT(first_number_of_line(out, "merged tokens run from one word into the next"), 0) << out;
    EXPECT_EQ(first_number_of_line(out, "of its tokens run from one word into the next"), 0) << out;

    // Compression: more than one byte per token, on seen and unseen text.
    for (const char* label : {"basic ", "unseen text; regex "}) {
        EXPECT_GT(number_after(out, label, "compression"), 1.3) << label << "\n" << out;
    }
    EXPECT_NE(out.find("decode(encode(text)) == text: yes for the line, yes for the"),
              std::string::npos)
        << out;
}

TEST(Tokenizer, Gpt2IdsOfTheLine) {
    const std::string dir = std::string(WIGGLE_SOURCE_DIR) + "/data/gpt2";
    const std::string corpus = testing::sentence_corpus_file("tokenizer_ladder_corpus2.txt");
    if (read_text_file(dir + "/vocab.bpe").empty()) {
        const auto r = run_program("10_tokenizer", "--data " + corpus + " --gpt2 " + dir);
        EXPECT_NE(r.out.find("5. GPT-2: skipped, no " + dir), std::string::npos) << r.out;
        GTEST_SKIP() << "no GPT-2 files in " << dir << " (scripts/fetch-data --gpt2)";
    }
    const auto r = run_program("10_tokenizer", "--data " + corpus + " --gpt2 " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // "Hello world!" is [15496, 995, 0] in GPT-2; "<|endoftext|>" is 50256.
    EXPECT_NE(r.out.find("ids: 15496 995 0 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" 50256\n"), std::string::npos) << r.out;
}

TEST(Tokenizer, BadFlagsGiveOneLine) {
    testing::expect_one_error_line("10_tokenizer", "--vocab-size 100", "--vocab-size");
    testing::expect_one_error_line("10_tokenizer", "--data /nonexistent/text.txt",
                                   "/nonexistent/text.txt");
}

}  // namespace
}  // namespace wiggle
