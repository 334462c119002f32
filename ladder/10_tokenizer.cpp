// Part 10: tokenizers. Every model so far read characters: the 65 of tinyshakespeare. Real text
// has a hundred thousand characters (every script, every emoji), and a model that reads one
// character per step sees little context for its compute. GPT-2 and its successors read
// byte-level BPE tokens instead: the text as UTF-8 bytes (256 symbols cover everything), then
// the most frequent pair of adjacent tokens merged into a new token, again and again, until the
// vocabulary has the size we want. Common words become one token; rare text falls back to bytes.
//
// This program trains such a tokenizer on tinyshakespeare and shows what it learned:
//   1. text is bytes: a character is one to four of them;
//   2. the basic BPE (minbpe's BasicTokenizer): merges learned on the raw bytes; its first merges,
//      and how many of its tokens glue the end of one word to the next;
//   3. the regex BPE (minbpe's RegexTokenizer): the text is first split into pieces by GPT-4's
//      pattern (words with their leading space, numbers, punctuation, whitespace) and merges never
//      cross pieces; its first merges and the compression it reaches (bytes per token) on the
//      text it trained on and on text it never saw;
//   4. the round trip: decode(encode(text)) gives the text back, for any text, emoji included;
//   5. GPT-2's own tokenizer (50,257 tokens from its encoder.json and vocab.bpe) on one line.
// The training is src/text/bpe.cpp, minbpe's algorithm with its tie-breaking, so the merges are
// the ones minbpe would learn (tests/text/bpe_test.cpp checks them), in a fraction of a second.
//
// reference: "Let's build the GPT Tokenizer" and minbpe (karpathy/minbpe); GPT-2's encoder.py.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "data/text.h"
#include "text/tokenizer.h"
#include "util/check.h"
#include "util/io.h"

namespace {

using wiggle::Tokenizer;

// ----------------------------------------------------------------------------
// Settings

const std::string kDataFile = "data/tinyshakespeare.txt";  // 1.1 MB of ASCII
constexpr int kVocabSize = 512;         // the 256 bytes and 256 merges (minbpe's exercise size)
constexpr double kTrainFraction = 0.9;  // merges learned on the first 90%; the rest is unseen
constexpr int kMergesToShow = 10;
const std::string kRoundTrip = "Hello, wörld! 日本語 and emoji 🙂, tabs\tand  spaces.";
const std::string kGpt2Dir = "data/gpt2";  // scripts/fetch-data --gpt2
const std::string kGpt2Line = "Hello world! It's 2026, tokenizers  split\ttext.<|endoftext|>";

struct Settings {
    std::string data = kDataFile;
    int vocab_size = kVocabSize;
    std::string gpt2 = kGpt2Dir;
};

// ----------------------------------------------------------------------------

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Trains a BPE and prints its first merges, each as the text of the two tokens and of the new one.
Tokenizer train_and_show(const std::string& name, const std::string& text, int vocab_size,
                         const std::string& pattern) {
    std::vector<int64_t> counts;
    const auto t0 = std::chrono::steady_clock::now();
    Tokenizer t = Tokenizer::train(
        text, vocab_size, pattern,
        [&](int, const wiggle::Bpe::Merge&, int64_t count) { counts.push_back(count); });
    fmt::print("{}: {} merges in {:.2f} s; the first {}:\n", name, counts.size(), seconds_since(t0),
               std::min<size_t>(kMergesToShow, counts.size()));
    const auto& merges = t.byte_pairs().merges();
    for (size_t i = 0; i < merges.size() && i < size_t(kMergesToShow); ++i) {
        fmt::print("  merge {:>2}: '{}' + '{}' -> '{}' (token {}, {} times)\n", i + 1,
                   t.show(merges[i].left), t.show(merges[i].right), t.show(merges[i].result),
                   merges[i].result, counts[i]);
    }
    return t;
}

// How many tokens hold a space after some other byte: the end of one word glued to the next.
int tokens_across_words(const Tokenizer& t) {
    int n = 0;
    for (const wiggle::Bpe::Merge& m : t.byte_pairs().merges()) {
        const std::string& bytes = t.byte_pairs().bytes_of(m.result);
        const size_t space = bytes.find(' ', 1);
        n += space != std::string::npos && bytes.find_first_not_of(' ') < space;
    }
    return n;
}

double bytes_per_token(const Tokenizer& t, const std::string& text) {
    return double(text.size()) / double(t.encode(text, wiggle::SpecialTokens::Text).size());
}

void run(const Settings& s) {
    const std::u32string chars = wiggle::load_text(s.data);
    const std::string text = wiggle::encode_utf8(chars);
    const size_t split = wiggle::split_point(chars.size(), kTrainFraction);
    const std::string train = wiggle::encode_utf8(std::u32string_view(chars).substr(0, split));
    const std::string val = wiggle::encode_utf8(std::u32string_view(chars).substr(split));
    fmt::print("data: {} ({} characters, {} of them distinct, {} bytes of UTF-8)\n", s.data,
               chars.size(), wiggle::CharVocab::of_text(chars).size(), text.size());

    // 1. Text is bytes.
    const std::u32string round_trip_chars = wiggle::decode_utf8(kRoundTrip, "the sample line");
    std::string emoji_bytes;
    for (unsigned char b : std::string("🙂")) emoji_bytes += fmt::format(" {:02x}", b);
    fmt::print("\n1. bytes: '{}' is {} characters but {} bytes ('ö' is 2, '日' 3, '🙂'{})\n",
               kRoundTrip, round_trip_chars.size(), kRoundTrip.size(), emoji_bytes);

    // 2. The basic BPE: merges on the raw bytes, across word boundaries.
    fmt::print("\n2. ");
    const Tokenizer basic = train_and_show("basic BPE (no split)", train, s.vocab_size, "");
    fmt::print("  {} of its {} merged tokens run from one word into the next (like 'e t')\n",
               tokens_across_words(basic), basic.byte_pairs().merges().size());

    // 3. The regex BPE: GPT-4's split first; merges stay inside the pieces.
    fmt::print("\n3. ");
    const Tokenizer bpe = train_and_show("regex BPE (GPT-4's split)", train, s.vocab_size,
                                         std::string(wiggle::kGpt4Pattern));
    fmt::print("  {} of its tokens run from one word into the next\n", tokens_across_words(bpe));
    fmt::print(
        "  compression, in bytes per token: basic {:.2f} on the training text, {:.2f} on unseen "
        "text; regex {:.2f} and {:.2f}; characters: 1.00\n",
        bytes_per_token(basic, train), bytes_per_token(basic, val), bytes_per_token(bpe, train),
        bytes_per_token(bpe, val));

    // 4. The round trip: any text, even one full of characters the merges never saw.
    const std::vector<int> ids = bpe.encode(kRoundTrip);
    std::string pieces;
    for (int id : ids) pieces += "|" + bpe.show(id);
    fmt::print("\n4. round trip: {} bytes -> {} tokens {}|\n", kRoundTrip.size(), ids.size(),
               pieces);
    fmt::print(
        "  ('�' marks a token that is part of a character: '🙂' is still 4 byte tokens)\n");
    const bool line_ok = bpe.decode(ids) == kRoundTrip;
    const bool val_ok = bpe.decode(bpe.encode(val, wiggle::SpecialTokens::Text)) == val;
    fmt::print("  decode(encode(text)) == text: {} for the line, {} for the {} unseen bytes\n",
               line_ok ? "yes" : "NO", val_ok ? "yes" : "NO", val.size());
    WIGGLE_CHECK(line_ok && val_ok, "", "the round trip changed the text");

    // 5. GPT-2's tokenizer: the same algorithm with OpenAI's 50,000 merges.
    if (!wiggle::file_exists(s.gpt2 + "/encoder.json")) {
        fmt::print("\n5. GPT-2: skipped, no {}/encoder.json (scripts/fetch-data --gpt2 gets it)\n",
                   s.gpt2);
        return;
    }
    const Tokenizer gpt2 = Tokenizer::gpt2(s.gpt2 + "/encoder.json", s.gpt2 + "/vocab.bpe");
    const std::vector<int> gpt2_ids = gpt2.encode(kGpt2Line, wiggle::SpecialTokens::Tokens);
    std::string gpt2_pieces, gpt2_numbers;
    for (int id : gpt2_ids) {
        gpt2_pieces += "|" + gpt2.show(id);
        gpt2_numbers += fmt::format(" {}", id);
    }
    fmt::print("\n5. GPT-2's tokenizer ({} tokens): {} bytes -> {} tokens {}|\n  ids:{}\n",
               gpt2.vocab_size(), kGpt2Line.size(), gpt2_ids.size(), gpt2_pieces, gpt2_numbers);
    fmt::print("  compression on the unseen text: {:.2f} bytes per token (ours: {:.2f})\n",
               bytes_per_token(gpt2, val), bytes_per_token(bpe, val));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Part 10: byte-level BPE tokenizers, trained on Shakespeare, and GPT-2's"};
    Settings s;
    app.add_option("--data", s.data, "a UTF-8 text file (merges learned on the first 90%)");
    app.add_option("--vocab-size", s.vocab_size, "tokens: the 256 bytes and the merges")
        ->check(CLI::Range(257, 1 << 20));
    app.add_option("--gpt2", s.gpt2, "folder with GPT-2's encoder.json and vocab.bpe");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        wiggle::fail(e.what(), "run 10_tokenizer --help for the flags", __FILE__, __LINE__);
    }
    run(s);
    return 0;
}
