// Byte-pair encoding against minbpe: its own test case (Wikipedia's "aaabdaaabac"), its merges on a
// corpus as its algorithm makes them (tests/fixtures/bpe_minbpe.json, written by
// scripts/fixtures/bpe.py from bench/minbpe_plain.py), encoding as the merges' replay, and the
// round trip on empty text, one character, emoji, mixed scripts, invalid UTF-8 and whole texts.
#include "text/bpe.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixture.h"
#include "text/split.h"
#include "util/io.h"
#include "util/json.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

std::vector<int> encode(const Bpe& bpe, std::string_view text) {
    std::vector<int> ids;
    bpe.encode(text, ids);
    return ids;
}

std::string decode(const Bpe& bpe, const std::vector<int>& ids) {
    std::string out;
    bpe.decode(ids, out);
    return out;
}

TEST(Bpe, WikipediaExampleAsMinbpe) {
    // minbpe's test_wikipedia_example: 3 merges on "aaabdaaabac"
    const std::string text = "aaabdaaabac";
    const std::vector<std::string_view> pieces{text};
    const Bpe bpe = Bpe::train(pieces, 256 + 3);
    ASSERT_EQ(bpe.merges().size(), 3u);
    EXPECT_EQ(encode(bpe, text), (std::vector<int>{258, 100, 258, 97, 99}));
    EXPECT_EQ(decode(bpe, encode(bpe, text)), text);
    EXPECT_EQ(bpe.bytes_of(256), "aa");
    EXPECT_EQ(bpe.bytes_of(257), "aaa");  // "aa" + "a": tied with ("a","b"), and first
    EXPECT_EQ(bpe.bytes_of(258), "aaab");
}

TEST(Bpe, RoundTripsAnyBytes) {
    const std::string corpus =
        "the quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs. "
        "Ünïcödé, 日本語のテキスト, emoji 😀🎉, and more of the same the the the.";
    const std::vector<std::string_view> pieces{corpus};
    const Bpe bpe = Bpe::train(pieces, 256 + 40);
    for (const std::string& text :
         {std::string(), std::string("a"), std::string("😀"), std::string("mixed: ab 日本 🎉 é\n\t"),
          std::string("\xff\xfe invalid \xc3 utf-8 \xed\xa0\x80"), corpus + corpus}) {
        SCOPED_TRACE(text);
        const std::vector<int> ids = encode(bpe, text);
        EXPECT_EQ(decode(bpe, ids), text);
        for (int id : ids) EXPECT_TRUE(bpe.has(id));
    }
    EXPECT_LT(encode(bpe, corpus).size(), corpus.size() - 40);  // each merge saved a token or more
}

TEST(Bpe, EncodingReplaysTheMergesInOrder) {
    // Encoding is applying merge after merge, each everywhere, left to right: compare with that
    // written out, on text whose pieces need many merges.
    const std::string corpus = "abababab cdcdcd aaaa bbbb abcabcabc aaa";
    const std::vector<std::string_view> pieces{corpus};
    const Bpe bpe = Bpe::train(pieces, 256 + 12);
    for (std::string_view text : {"abababab", "aaaaaaa", "abcabcab", "ab cd abc aaab"}) {
        std::vector<int> ids;
        for (unsigned char c : text) ids.push_back(c);
        for (const Bpe::Merge& m : bpe.merges()) {
            std::vector<int> next;
            for (size_t i = 0; i < ids.size();) {
                if (i + 1 < ids.size() && ids[i] == m.left && ids[i + 1] == m.right) {
                    next.push_back(m.result);
                    i += 2;
                } else {
                    next.push_back(ids[i++]);
                }
            }
            ids = next;
        }
        EXPECT_EQ(encode(bpe, text), ids) << text;
        std::vector<int> heap;
        bpe.encode_heap(text, heap);
        EXPECT_EQ(heap, ids) << text;
    }
}

TEST(Bpe, PlainAndHeapEncodersAgree) {
    // encode() takes the plain loop for short pieces and the heap for long ones: the same tokens
    // for every length up to the switch and beyond, on text with long chains of merges.
    PyRandom rng(11);
    const std::string alphabet = "aab ab\xc3\xa9";  // 'é' is two bytes: merges inside a character
    auto text_of = [&](size_t n) {
        std::string s;
        for (size_t i = 0; i < n; ++i) s += alphabet[rng.randbelow(alphabet.size())];
        return s;
    };
    const std::string corpus = text_of(4000);
    const std::vector<std::string_view> pieces{corpus};
    const Bpe bpe = Bpe::train(pieces, 256 + 200);
    for (size_t n = 0; n <= 2 * Bpe::kPlainMax; ++n) {
        for (int repeat = 0; repeat < 20; ++repeat) {
            const std::string text = text_of(n);
            std::vector<int> heap;
            bpe.encode_heap(text, heap);
            EXPECT_EQ(encode(bpe, text), heap) << text;
            if (n <= Bpe::kPlainMax) {
                std::vector<int> plain;
                bpe.encode_plain(text, plain);
                ASSERT_EQ(plain, heap) << text;
            }
        }
    }
}

TEST(Bpe, TrainingMakesMinbpesMerges) {
    // The merges minbpe's algorithm makes (most frequent pair, ties to the first occurrence), on
    // the whole text (BasicTokenizer) and on GPT-4's pieces (RegexTokenizer).
    const std::string text = read_file(testing::fixture_path("bpe_minbpe.json"), "fixture");
    const JsonParse json = parse_json(text);
    ASSERT_TRUE(json.value) << json.error;
    const std::string corpus = json.value->find("corpus")->text;
    for (const char* kind : {"basic", "regex"}) {
        SCOPED_TRACE(kind);
        const Json& want = *json.value->find(kind);
        std::vector<std::string_view> pieces{corpus};
        if (std::string(kind) == "regex") pieces = Splitter(kGpt4Pattern).pieces(corpus);
        const Bpe bpe = Bpe::train(pieces, 256 + static_cast<int>(want.items.size()));
        ASSERT_EQ(bpe.merges().size(), want.items.size());
        for (size_t i = 0; i < want.items.size(); ++i) {
            const Json& m = want.items[i];
            ASSERT_EQ(bpe.merges()[i].left, *m.items[0].as_int()) << "merge " << i;
            ASSERT_EQ(bpe.merges()[i].right, *m.items[1].as_int()) << "merge " << i;
        }
        // and a line it did not see encodes to minbpe's tokens
        const std::string held_out = json.value->find("held_out")->text;
        std::vector<std::string_view> held{held_out};
        if (std::string(kind) == "regex") held = Splitter(kGpt4Pattern).pieces(held_out);
        std::vector<int> ids;
        for (std::string_view piece : held) bpe.encode(piece, ids);
        std::vector<int> want_ids;
        for (const Json& id : json.value->find(std::string(kind) + "_held_out_ids")->items) {
            want_ids.push_back(static_cast<int>(*id.as_int()));
        }
        EXPECT_EQ(ids, want_ids);
    }
}

TEST(BpeDeathTest, RejectsBadMerges) {
    std::array<int, 256> bytes{};
    for (int b = 0; b < 256; ++b) bytes[b] = b;
    EXPECT_EXIT(Bpe(bytes, {{1, 999, 256}}, "m"), ::testing::ExitedWithCode(1),
                "m: merge 0 joins tokens 1 and 999, not both defined");
    EXPECT_EXIT(Bpe(bytes, {{1, 2, 256}, {1, 2, 257}}, "m"), ::testing::ExitedWithCode(1),
                "joins tokens 1 and 2 again");
    EXPECT_EXIT(Bpe(bytes, {{1, 2, 65}}, "m"), ::testing::ExitedWithCode(1),
                "makes token 65, which is out of range or already exists");
    bytes[3] = 2;
    EXPECT_EXIT(Bpe(bytes, {}, "m"), ::testing::ExitedWithCode(1), "share token id 2");
}

}  // namespace
}  // namespace wiggle
