// The regex pre-tokenizer (text/split.h) in the browser build: there is no PCRE2 for WebAssembly
// here, so a Splitter cannot be made; the one line says so. Everything else of the tokenizers
// (characters, BPE without a split pattern) works in the page as natively.
#include "text/split.h"

#include "util/check.h"

namespace wiggle {

struct Splitter::Compiled {};

Splitter::Splitter(std::string_view pattern, std::string_view source) : pattern_(pattern) {
    WIGGLE_CHECK(false, "the page samples character-level checkpoints (wiggle train's default)",
                 "{} '{}': split patterns need PCRE2, which the page does not have", source,
                 pattern_);
}

Splitter::~Splitter() = default;
Splitter::Splitter(Splitter&&) noexcept = default;
Splitter& Splitter::operator=(Splitter&&) noexcept = default;

std::vector<std::string_view> Splitter::pieces(std::string_view text) const { return {text}; }
void Splitter::pieces(std::string_view text, std::vector<std::string_view>& out) const {
    out.assign(1, text);
}

}  // namespace wiggle
