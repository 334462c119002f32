// Splitting text into the pieces a byte-level BPE merges within (GPT-2's and GPT-4's "pre-
// tokenization"): every match of a regular expression, in order, as Python's re.findall or
// JavaScript's matchAll gives them. The patterns need Unicode properties (\p{L} letters, \p{N}
// numbers) and look-ahead, so this is PCRE2 (Debian's libpcre2), compiled with its JIT, in UTF
// mode with Unicode properties for \s, \d and \w.
//
//   const Splitter split(kGpt2Pattern);
//   for (std::string_view piece : split.pieces("Hello world!")) ...   // "Hello", " world", "!"
//
// Text that is not valid UTF-8 is split byte by byte where it is invalid (each invalid byte a
// piece of its own, as GPT-2's byte-level scheme can still encode it).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

// GPT-2's pattern (its encoder.py, and tiktoken's r50k_base).
inline constexpr std::string_view kGpt2Pattern =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// GPT-4's (tiktoken's cl100k_base): case-insensitive contractions, numbers in threes, newlines
// apart.
inline constexpr std::string_view kGpt4Pattern =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";

class Splitter {
  public:
    // Exits with an error naming the pattern, where it came from (`source`: a flag, a file) and
    // the position when it does not compile.
    explicit Splitter(std::string_view pattern, std::string_view source = "split pattern");
    ~Splitter();
    Splitter(Splitter&&) noexcept;
    Splitter& operator=(Splitter&&) noexcept;

    const std::string& pattern() const { return pattern_; }
    // The pieces of text, views into it, in order. Together they cover every byte of the text the
    // pattern matches (GPT's patterns match every byte).
    std::vector<std::string_view> pieces(std::string_view text) const;
    void pieces(std::string_view text, std::vector<std::string_view>& out) const;

  private:
    struct Compiled;
    std::string pattern_;
    std::unique_ptr<Compiled> compiled_;
};

}  // namespace wiggle
