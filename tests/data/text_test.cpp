// Text data: UTF-8, the vocabulary, encode/decode, splits, examples and batches. Oracles: Python
// (sorted(set(text)), the makemore split with random.seed(42), random.randrange) and the
// published sizes of the data sets (data/README.md, nanoGPT's prepare.py).
#include "data/text.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace wiggle {
namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
    const std::string path = ::testing::TempDir() + "wiggle_text_test_" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string data_file(const char* name) { return std::string(WIGGLE_SOURCE_DIR) + "/data/" + name; }

bool have(const std::string& path) { return std::ifstream(path).good(); }

TEST(Utf8, RoundTripsMultibyteCharacters) {
    const std::string text = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e";  // "héllo ✓ 𝄞"
    const std::u32string chars = decode_utf8(text, "test");
    ASSERT_EQ(chars.size(), 9u);
    EXPECT_EQ(chars[1], U'\u00e9');
    EXPECT_EQ(chars[6], U'\u2713');
    EXPECT_EQ(chars[8], U'\U0001D11E');
    EXPECT_EQ(encode_utf8(chars), text);
}

TEST(Utf8, MalformedInputIsAClearError) {
    EXPECT_EXIT(decode_utf8("ab\xff", "file 'x'"), ::testing::ExitedWithCode(1),
                "error: file 'x' is not valid UTF-8 \\(byte offset 2\\)");
    EXPECT_EXIT(decode_utf8("ab\xc3", "file 'x'"), ::testing::ExitedWithCode(1),
                "not valid UTF-8");  // cut short
    EXPECT_EXIT(decode_utf8("\xc0\xaf", "file 'x'"), ::testing::ExitedWithCode(1),
                "not valid UTF-8");  // overlong '/'
}

TEST(CharVocab, IsPythonsSortedSetAndRoundTrips) {
    const std::string text = "hello w\xc3\xb6rld \xe2\x9c\x93";  // "hello wörld ✓"
    const CharVocab v = CharVocab::of_text(decode_utf8(text, "test"));
    // Python: sorted(set(text)) == [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 'ö', '✓']
    EXPECT_EQ(v.size(), 10);
    EXPECT_EQ(v.decode(std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}),
              " dehlorw\xc3\xb6\xe2\x9c\x93");
    const std::vector<int> tokens = v.encode_utf8(text);
    EXPECT_EQ(tokens, (std::vector<int>{3, 2, 4, 4, 5, 0, 7, 8, 6, 4, 1, 0, 9}));
    EXPECT_EQ(v.decode(tokens), text);
    EXPECT_EQ(v.find(U'z'), -1);
    EXPECT_EQ(v.show(0), "' '");
}

TEST(CharVocab, BoundaryTokenIsZeroAsInMakemore) {
    const CharVocab v = CharVocab::of_text(U"emma olivia", /*with_boundary=*/true);
    EXPECT_TRUE(v.has_boundary());
    EXPECT_EQ(v.size(), 9);  // '.' + " aeilmov"
    EXPECT_EQ(v.char_of(CharVocab::kBoundary), U'.');
    EXPECT_EQ(v.find(U' '), 1);
    EXPECT_EQ(v.find(U'a'), 2);
    EXPECT_EQ(v.decode(std::vector<int>{0, v.find(U'e'), v.find(U'm'), 0}), ".em.");
}

TEST(CharVocab, UnknownCharacterIsAClearError) {
    const CharVocab v = CharVocab::of_text(U"abc");
    EXPECT_EXIT(v.encode_utf8("abz", "--prompt"), ::testing::ExitedWithCode(1),
                "error: --prompt has the character 'z' \\(U\\+007A\\) at position 2, which is "
                "not in the vocabulary");
}

TEST(CharVocab, TooLargeForTheModelIsAClearError) {
    const CharVocab v = CharVocab::of_text(U"abcdef");
    check_vocab_size(v, 6, "f.txt", "table");  // at the limit: fine
    EXPECT_EXIT(check_vocab_size(v, 5, "f.txt", "the table is V x V"), ::testing::ExitedWithCode(1),
                "error: data file 'f.txt' has 6 distinct tokens, more than the 5 this model "
                "allows \\(the table is V x V\\)");
}

TEST(LoadText, BadFilesAreClearErrors) {
    EXPECT_EXIT(load_text("/nonexistent/wiggle.txt"), ::testing::ExitedWithCode(1),
                "error: cannot open data file '/nonexistent/wiggle.txt'");
    const std::string empty = temp_file("empty.txt", "");
    EXPECT_EXIT(load_text(empty), ::testing::ExitedWithCode(1), "data file '.*empty.txt' is empty");
    const std::string binary = temp_file("binary.bin", std::string("ab\0cd", 5));
    EXPECT_EXIT(load_text(binary), ::testing::ExitedWithCode(1),
                "data file '.*binary.bin' looks binary: it has a NUL byte at offset 2");
    const std::string latin1 = temp_file("latin1.txt", "caf\xe9\n");
    EXPECT_EXIT(load_text(latin1), ::testing::ExitedWithCode(1),
                "data file '.*latin1.txt' is not valid UTF-8 \\(byte offset 3\\)");
    const std::string tiny = temp_file("tiny.txt", "abc");
    EXPECT_EQ(load_text(tiny, 3).size(), 3u);
    EXPECT_EXIT(load_text(tiny, 4), ::testing::ExitedWithCode(1),
                "data file '.*tiny.txt' is too short: 3 characters, at least 4 needed");
}

TEST(TextStream, SplitsNinetyTen) {
    // 25 characters: n = int(0.9 * 25) = 22 train, 3 val.
    const std::string path = temp_file("stream.txt", "abcabcabcabcabcabcabcabcX");
    const TextStream s = load_text_stream(path);
    EXPECT_EQ(s.vocab.size(), 4);  // 'X' < 'a' in code point order
    EXPECT_EQ(s.train.size(), 22u);
    ASSERT_EQ(s.val.size(), 3u);
    EXPECT_EQ(s.vocab.decode(s.val), "bcX");
}

TEST(TextStream, TooShortForTheContextIsAClearError) {
    const std::string path = temp_file("short_stream.txt", "abcdefghij");  // 9 train, 1 val
    EXPECT_EXIT(load_text_stream(path, 0.9, 2), ::testing::ExitedWithCode(1),
                "data file '.*short_stream.txt' is too short: 10 characters split into 9 train "
                "and 1 validation, and each split needs at least 2");
}

TEST(TextStream, TinyShakespeareHasTheLecturesSizes) {
    const std::string path = data_file("tinyshakespeare.txt");
    if (!have(path)) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const TextStream s = load_text_stream(path);
    EXPECT_EQ(s.vocab.size(), 65);
    EXPECT_EQ(s.train.size(), 1003854u);  // nanoGPT shakespeare_char/prepare.py
    EXPECT_EQ(s.val.size(), 111540u);
    EXPECT_EQ(s.vocab.decode(std::span<const int>(s.train).first(14)), "First Citizen:");
    EXPECT_EQ(s.vocab.char_of(0), U'\n');
}

TEST(WordList, StripsSplitsAndFramesWords) {
    std::string lines;
    for (int i = 0; i < 20; ++i)
        lines += (i % 5 == 0 ? "  w" : "w") + std::to_string(i) + " \r\n\n";
    const WordList w = load_word_list(temp_file("words.txt", lines), 42);
    EXPECT_EQ(w.size(), 20u);
    EXPECT_EQ(w.train.size(), 16u);  // int(0.8 * 20), int(0.9 * 20)
    EXPECT_EQ(w.dev.size(), 2u);
    EXPECT_EQ(w.test.size(), 2u);
    EXPECT_EQ(w.vocab.size(), 12);  // '.', '0'..'9', 'w'
    for (const auto& word : w.train) EXPECT_EQ(word[0], w.vocab.find(U'w'));
}

TEST(WordList, TooFewWordsIsAClearError) {
    const std::string path = temp_file("few_words.txt", "ann\nbob\n\ncid\n");
    EXPECT_EXIT(load_word_list(path), ::testing::ExitedWithCode(1),
                "data file '.*few_words.txt' is too short: 3 non-empty lines");
}

TEST(WordList, NamesSplitIsMakemoresWithSeed42) {
    const std::string path = data_file("names.txt");
    if (!have(path)) GTEST_SKIP() << "no " << path << " (run scripts/fetch-data)";
    const WordList w = load_word_list(path, 42);
    // CPython: random.seed(42); random.shuffle(words); n1 = int(0.8*len(words)); ...
    EXPECT_EQ(w.train.size(), 25626u);
    EXPECT_EQ(w.dev.size(), 3203u);
    EXPECT_EQ(w.test.size(), 3204u);
    EXPECT_EQ(w.vocab.size(), 27);
    EXPECT_EQ(w.vocab.decode(w.train[0]), "yuheng");
    EXPECT_EQ(w.vocab.decode(w.train[1]), "diondre");
    EXPECT_EQ(w.vocab.decode(w.train[2]), "xavien");
    // makemore part 2: Xtr.shape == (182625, 3), Xdev (22655, 3), Xte (22866, 3).
    EXPECT_EQ(word_examples(w.train, 3).size(), 182625u);
    EXPECT_EQ(word_examples(w.dev, 3).size(), 22655u);
    EXPECT_EQ(word_examples(w.test, 3).size(), 22866u);
}

TEST(Examples, WordExamplesAreMakemoresBuildDataset) {
    const CharVocab v = CharVocab::of_text(U"emma", true);  // . a e m -> 0 1 2 3
    const std::vector<std::vector<int>> words{v.encode(U"emma")};
    const Examples e = word_examples(words, 3);
    // ... ---> e, ..e ---> m, .em ---> m, emm ---> a, mma ---> .
    ASSERT_EQ(e.size(), 5u);
    const std::vector<std::string> want_x{"...", "..e", ".em", "emm", "mma"};
    const std::string want_y = "emma.";
    for (size_t i = 0; i < e.size(); ++i) {
        EXPECT_EQ(v.decode(e.context_of(i)), want_x[i]) << "example " << i;
        EXPECT_EQ(v.char_of(e.y[i]), static_cast<char32_t>(want_y[i])) << "example " << i;
    }
}

TEST(Examples, StreamExamplesAreEveryWindow) {
    const std::vector<int> tokens{5, 6, 7, 8, 9};
    const Examples e = stream_examples(tokens, 2);
    EXPECT_EQ(e.x, (std::vector<int>{5, 6, 6, 7, 7, 8}));
    EXPECT_EQ(e.y, (std::vector<int>{7, 8, 9}));
    EXPECT_EQ(stream_examples(tokens, 5).size(), 0u);
}

TEST(Batches, IndicesAreCPythonsRandrange) {
    PyRandom rng(7);
    std::vector<int> idx(6);
    sample_indices(rng, 1000, idx);
    // random.seed(7); [random.randrange(1000) for _ in range(6)]
    EXPECT_EQ(idx, (std::vector<int>{331, 970, 154, 404, 666, 49}));
}

TEST(Batches, BlocksAreShiftedByOneAndReproducible) {
    std::vector<int> tokens(20);
    for (int i = 0; i < 20; ++i) tokens[static_cast<size_t>(i)] = 100 + i;
    const int B = 3, T = 4;
    std::vector<int> x(B * T), y(B * T);
    PyRandom rng(3);
    sample_blocks(tokens, B, T, rng, x, y);
    // random.seed(3); [random.randrange(20 - 4) for _ in range(3)] == [7, 4, 11]
    const std::vector<int> starts{7, 4, 11};
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < T; ++t) {
            EXPECT_EQ(x[b * T + t], 100 + starts[b] + t);
            EXPECT_EQ(y[b * T + t], 100 + starts[b] + t + 1);
        }
    }
    // The same state gives the same batch: save, draw, restore, draw again.
    const PyRandom::State saved = rng.state();
    sample_blocks(tokens, B, T, rng, x, y);
    const std::vector<int> first = x;
    rng.set_state(saved);
    sample_blocks(tokens, B, T, rng, x, y);
    EXPECT_EQ(x, first);
}

}  // namespace
}  // namespace wiggle
