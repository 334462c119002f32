// The text a GPT trains on, tokenized: the tokenizer `wiggle train --tokenizer` names, and the
// tokens of the lecture's split of the text. The split is by characters (the first 90% of the
// file's characters train, the rest validate), whatever the tokenizer, so that every model sees the
// same validation text and bits per byte compare across tokenizers.
//
//   Tokenizer t = make_tokenizer("bpe:out/shakespeare512.model", text);
//   SplitTokens parts = tokenize_split(t, text, "data file 'input.txt'");  // parts.train, .val
//
// Tokenizer names: "char" (the file's own characters, parts 4 to 9), "bpe:PATH" (a .model file
// from `wiggle tokenizer train` or minbpe), "gpt2" or "gpt2:DIR" (GPT-2's encoder.json and
// vocab.bpe in DIR, by default data/gpt2: scripts/fetch-data --gpt2). Special tokens in the text
// ("<|endoftext|>" for GPT-2) become their tokens.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace wiggle {

// Exits with one line naming the flag's value when it is not one of the names above.
void check_tokenizer_name(std::string_view name);

// The tokenizer a name stands for, "char" built from `text` (the file's characters).
Tokenizer make_tokenizer(std::string_view name, std::u32string_view text);

struct Corpus {
    Tokenizer tokenizer;
    std::vector<int> train, val;
};

// The tokens of `text` (special tokens in it become their tokens); `source` names it in errors.
std::vector<int> tokenize(const Tokenizer& tokenizer, std::u32string_view text,
                          std::string_view source);

// The tokens of each part of the split of `text` (split_point: the first 90% of its characters).
struct SplitTokens {
    std::vector<int> train, val;
};
SplitTokens tokenize_split(const Tokenizer& tokenizer, std::u32string_view text,
                           std::string_view source);

// How many bytes of text the tokens stand for (the denominator of bits per byte).
size_t bytes_of(const Tokenizer& tokenizer, std::span<const int> ids);

}  // namespace wiggle
