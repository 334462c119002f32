// Character-level text data for the language models (parts 4 to 9): load a corpus, build its
// character vocabulary, encode and decode, split, and cut (context, next character) examples and
// (B,T) blocks out of it.
//
//   TextStream shakespeare = load_text_stream("data/tinyshakespeare.txt");  // 90% train, 10% val
//   WordList names = load_word_list("data/names.txt");      // '.'-framed names, 80/10/10, seed 42
//   Examples train = word_examples(names.train, 3);         // makemore's
//   build_dataset(block_size=3) PyRandom rng(1337); sample_indices(rng, train.size(), batch); // a
//   minibatch of example indices sample_blocks(shakespeare.train, B, T, rng, x, y);      // a (B,T)
//   batch for the GPT
//
// A "character" is a Unicode code point of UTF-8 text, as in Python's `sorted(set(text))`, so the
// vocabulary's order (and every token id) is the one the reference notebooks use. Randomness comes
// only from a PyRandom the caller owns, so its state() can be saved and restored exactly.
// Not a tokenizer library: no BPE, no byte fallback, no normalization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/py_random.h"

namespace wiggle {

// ----------------------------------------------------------------------------
// Reading text

// The characters of the UTF-8 file at `path`. Exits with one clear line naming the file if it is
// missing, empty, binary (contains a NUL byte), not valid UTF-8, or shorter than `min_chars`.
std::u32string load_text(const std::string& path, size_t min_chars = 1);
// The same checks on the file's bytes already read (a caller that also hashes them reads once).
std::u32string text_of_file(std::string_view bytes, const std::string& path, size_t min_chars = 1);

// UTF-8 <-> code points. decode_utf8 exits with a clear error (naming `source` and the byte
// offset) on malformed input.
std::u32string decode_utf8(std::string_view bytes, std::string_view source);
std::string encode_utf8(std::u32string_view chars);
void append_utf8(std::string& out, char32_t c);

// ----------------------------------------------------------------------------
// The vocabulary

// The distinct characters of a text, sorted by code point; a token is a character's index.
// With a boundary token (the names data), token 0 is the boundary, printed as '.', and the
// characters are tokens 1..size()-1, as makemore's stoi: {'.': 0, 'a': 1, ..., 'z': 26}.
class CharVocab {
  public:
    static constexpr int kBoundary = 0;  // the boundary token's id, when there is one

    CharVocab() = default;
    static CharVocab of_text(std::u32string_view text, bool with_boundary = false);

    int size() const { return static_cast<int>(chars_.size()) + offset(); }
    bool has_boundary() const { return with_boundary_; }

    // The token of `c`, or -1 if the vocabulary does not have it.
    int find(char32_t c) const;
    // The character of token `id` ('.' for the boundary token).
    char32_t char_of(int id) const;

    // Text -> tokens. Exits with a clear error naming `source` on a character the vocabulary lacks.
    std::vector<int> encode(std::u32string_view text, std::string_view source = "text") const;
    std::vector<int> encode_utf8(std::string_view text, std::string_view source = "text") const;
    // Tokens -> UTF-8 text (the boundary token becomes '.').
    std::string decode(std::span<const int> tokens) const;
    // One token for display: printable characters as themselves, '\n' and other controls escaped.
    std::string show(int id) const;

  private:
    int offset() const { return with_boundary_ ? 1 : 0; }
    std::u32string chars_;  // sorted; token i + offset() is chars_[i]
    bool with_boundary_ = false;
};

// Exits with a clear error if the vocabulary of the data file at `path` has more than
// `max_size` tokens; `why` says what limits it ("the bigram table is V x V").
void check_vocab_size(const CharVocab& vocab, int max_size, const std::string& path,
                      std::string_view why);

// ----------------------------------------------------------------------------
// Corpora and their splits

// The lecture's split of a token stream: the first int(0.9 * len(data)) tokens train, the rest
// validate (Python's product in double, truncated).
constexpr double kTrainFraction = 0.9;
// Where the split falls in n items: int(train_fraction * n).
size_t split_point(size_t n, double train_fraction = kTrainFraction);
struct TokenSplit {
    std::span<const int> train, val;
};
TokenSplit split_tokens(std::span<const int> tokens, double train_fraction = kTrainFraction);

// A corpus read as one stream of characters (tinyshakespeare), split by split_tokens.
struct TextStream {
    std::string path;
    CharVocab vocab;         // every character of the whole file
    std::vector<int> train;  // tokens [0, n)
    std::vector<int> val;    // tokens [n, len)
};
// Exits with a clear error if either split would have fewer than `min_split_tokens` tokens
// (a model with context T needs T + 1 tokens to make one example).
TextStream load_text_stream(const std::string& path, double train_fraction = kTrainFraction,
                            size_t min_split_tokens = 2);

// A corpus of one word per line (names): lines stripped of surrounding whitespace, empty lines
// dropped, shuffled with PyRandom(seed).shuffle, then 80/10/10 train/dev/test, exactly as the
// makemore lecture's random.seed(42); random.shuffle(words); n1 = int(0.8*len(words)); ...
struct WordList {
    std::string path;
    CharVocab vocab;  // boundary token 0, then the characters of the words
    std::vector<std::vector<int>> train, dev, test;  // each word's tokens, without boundaries
    size_t size() const { return train.size() + dev.size() + test.size(); }
};
// Exits with a clear error if a split would be empty (fewer than 10 words).
WordList load_word_list(const std::string& path, uint64_t seed = 42);

// ----------------------------------------------------------------------------
// Examples and batches

// n examples of (context of `context` tokens, next token), stored flat.
struct Examples {
    int context = 1;
    std::vector<int> x;  // (n, context), row-major
    std::vector<int> y;  // (n)
    size_t size() const { return y.size(); }
    std::span<const int> context_of(size_t i) const {
        return std::span<const int>(x).subspan(i * static_cast<size_t>(context),
                                               static_cast<size_t>(context));
    }
};

// makemore's build_dataset: for each word, the context starts as `context` boundary tokens and
// slides over the word and its closing boundary; one example per character plus one for the end.
Examples word_examples(std::span<const std::vector<int>> words, int context);
// Every window of a token stream: x = tokens[i, i + context), y = tokens[i + context].
Examples stream_examples(std::span<const int> tokens, int context);

// Fills `out` with indices drawn uniformly from [0, n) with replacement (torch.randint(0, n, (B,))
// in spirit), each one PyRandom::randbelow(n).
void sample_indices(PyRandom& rng, size_t n, std::span<int> out);

// A (B,T) batch of blocks for the GPT (the lecture's get_batch): for each row b a start
// i = randbelow(len - T), then x[b,t] = tokens[i + t] and y[b,t] = tokens[i + t + 1].
// x and y must hold B*T ints; tokens must hold at least T + 1.
void sample_blocks(std::span<const int> tokens, int B, int T, PyRandom& rng, std::span<int> x,
                   std::span<int> y);

}  // namespace wiggle
