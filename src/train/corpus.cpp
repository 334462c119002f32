// Tokenized corpora (corpus.h).
#include "train/corpus.h"

#include "util/check.h"

namespace wiggle {

namespace {

const char* kNames = "char, bpe:FILE.model, gpt2 or gpt2:DIR";

}  // namespace

void check_tokenizer_name(std::string_view name) {
    const bool ok = name == "char" || name == "gpt2" ||
                    (name.starts_with("bpe:") && name.size() > 4) ||
                    (name.starts_with("gpt2:") && name.size() > 5);
    WIGGLE_CHECK(ok, kNames, "--tokenizer '{}' is not a tokenizer", name);
}

Tokenizer make_tokenizer(std::string_view name, std::u32string_view text) {
    check_tokenizer_name(name);
    if (name == "char") return Tokenizer::chars(CharVocab::of_text(text));
    if (name.starts_with("bpe:")) return Tokenizer::load(std::string(name.substr(4)));
    const std::string dir = name == "gpt2" ? "data/gpt2" : std::string(name.substr(5));
    return Tokenizer::gpt2(dir + "/encoder.json", dir + "/vocab.bpe");
}

std::vector<int> tokenize(const Tokenizer& tokenizer, std::u32string_view text,
                          std::string_view source) {
    if (tokenizer.kind() == Tokenizer::Kind::Char)
        return tokenizer.char_vocab().encode(text, source);
    return tokenizer.encode(encode_utf8(text), SpecialTokens::Tokens, source);
}

SplitTokens tokenize_split(const Tokenizer& tokenizer, std::u32string_view text,
                           std::string_view source) {
    const size_t n = split_point(text.size());  // in characters
    return {tokenize(tokenizer, text.substr(0, n), source),
            tokenize(tokenizer, text.substr(n), source)};
}

size_t bytes_of(const Tokenizer& tokenizer, std::span<const int> ids) {
    std::vector<size_t> length(static_cast<size_t>(tokenizer.vocab_size()), 0);
    std::vector<uint8_t> known(length.size(), 0);
    size_t total = 0;
    for (int id : ids) {
        if (!known[id]) {
            length[id] = tokenizer.decode(std::span(&id, 1)).size();
            known[id] = 1;
        }
        total += length[id];
    }
    return total;
}

}  // namespace wiggle
