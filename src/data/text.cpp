// Character-level text data: see text.h.
// reference: makemore lecture part 2 (build_dataset, the 80/10/10 split with random.seed(42)),
// ng-video-lecture bigram.py (chars = sorted(list(set(text))), n = int(0.9*len(data)), get_batch).
#include "data/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

constexpr std::string_view kDataHint = "pass --data with a UTF-8 text file";

}  // namespace

// ----------------------------------------------------------------------------
// Reading text

std::u32string decode_utf8(std::string_view bytes, std::string_view source) {
    std::u32string out;
    out.reserve(bytes.size());
    size_t i = 0;
    while (i < bytes.size()) {
        const auto b0 = static_cast<unsigned char>(bytes[i]);
        int extra;        // continuation bytes that follow
        char32_t c;       // the code point being assembled
        char32_t lowest;  // the smallest code point this length may encode (no overlong forms)
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        } else if ((b0 & 0xE0) == 0xC0) {
            extra = 1, c = b0 & 0x1F, lowest = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            extra = 2, c = b0 & 0x0F, lowest = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            extra = 3, c = b0 & 0x07, lowest = 0x10000;
        } else {
            extra = -1, c = 0, lowest = 0;
        }
        bool ok = extra > 0 && i + static_cast<size_t>(extra) < bytes.size();  // not cut short
        for (int k = 1; ok && k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
            if ((b & 0xC0) != 0x80) ok = false;
            c = (c << 6) | (b & 0x3F);
        }
        ok = ok && c >= lowest && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
        WIGGLE_CHECK(ok, "the file must be UTF-8 text", "{} is not valid UTF-8 (byte offset {})",
                     source, i);
        out.push_back(c);
        i += static_cast<size_t>(extra) + 1;
    }
    return out;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::string encode_utf8(std::u32string_view chars) {
    std::string out;
    out.reserve(chars.size());
    for (char32_t c : chars) append_utf8(out, c);
    return out;
}

std::u32string load_text(const std::string& path, size_t min_chars) {
    return text_of_file(read_file(path, "data file"), path, min_chars);
}

std::u32string text_of_file(std::string_view bytes, const std::string& path, size_t min_chars) {
    WIGGLE_CHECK(!bytes.empty(), kDataHint, "data file '{}' is empty", path);
    const size_t nul = bytes.find('\0');
    WIGGLE_CHECK(nul == std::string::npos, kDataHint,
                 "data file '{}' looks binary: it has a NUL byte at offset {}", path, nul);
    std::u32string text = decode_utf8(bytes, fmt::format("data file '{}'", path));
    WIGGLE_CHECK(text.size() >= min_chars, kDataHint,
                 "data file '{}' is too short: {} characters, at least {} needed", path,
                 text.size(), min_chars);
    return text;
}

// ----------------------------------------------------------------------------
// The vocabulary

CharVocab CharVocab::of_text(std::u32string_view text, bool with_boundary) {
    CharVocab v;
    v.with_boundary_ = with_boundary;
    v.chars_.assign(text.begin(), text.end());
    std::sort(v.chars_.begin(), v.chars_.end());
    v.chars_.erase(std::unique(v.chars_.begin(), v.chars_.end()), v.chars_.end());
    return v;
}

int CharVocab::find(char32_t c) const {
    const auto it = std::lower_bound(chars_.begin(), chars_.end(), c);
    if (it == chars_.end() || *it != c) return -1;
    return static_cast<int>(it - chars_.begin()) + offset();
}

char32_t CharVocab::char_of(int id) const {
    assert(id >= 0 && id < size());
    if (with_boundary_ && id == kBoundary) return U'.';
    return chars_[static_cast<size_t>(id - offset())];
}

std::vector<int> CharVocab::encode(std::u32string_view text, std::string_view source) const {
    std::vector<int> tokens(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        tokens[i] = find(text[i]);
        if (tokens[i] < 0) {
            std::string ch;
            append_utf8(ch, text[i]);
            WIGGLE_CHECK(false, "use only characters of the training data",
                         "{} has the character '{}' (U+{:04X}) at position {}, which is not in "
                         "the vocabulary",
                         source, ch, static_cast<uint32_t>(text[i]), i);
        }
    }
    return tokens;
}

std::vector<int> CharVocab::encode_utf8(std::string_view text, std::string_view source) const {
    return encode(decode_utf8(text, source), source);
}

std::string CharVocab::decode(std::span<const int> tokens) const {
    std::string out;
    out.reserve(tokens.size());
    for (int t : tokens) append_utf8(out, char_of(t));
    return out;
}

std::string CharVocab::show(int id) const {
    const char32_t c = char_of(id);
    if (c == U'\n') return "\\n";
    if (c == U'\t') return "\\t";
    if (c == U' ') return "' '";
    if (c < 0x20 || c == 0x7F) return fmt::format("\\x{:02x}", static_cast<uint32_t>(c));
    std::string out;
    append_utf8(out, c);
    return out;
}

void check_vocab_size(const CharVocab& vocab, int max_size, const std::string& path,
                      std::string_view why) {
    WIGGLE_CHECK(vocab.size() <= max_size, "use a text with fewer distinct characters",
                 "data file '{}' has {} distinct tokens, more than the {} this model allows ({})",
                 path, vocab.size(), max_size, why);
}

// ----------------------------------------------------------------------------
// Corpora and their splits

size_t split_point(size_t n, double train_fraction) {
    assert(train_fraction > 0.0 && train_fraction < 1.0);
    // int(0.9 * len(data)) in Python: the product in double, truncated.
    return static_cast<size_t>(train_fraction * static_cast<double>(n));
}

TokenSplit split_tokens(std::span<const int> tokens, double train_fraction) {
    const size_t n = split_point(tokens.size(), train_fraction);
    return {tokens.first(n), tokens.subspan(n)};
}

TextStream load_text_stream(const std::string& path, double train_fraction,
                            size_t min_split_tokens) {
    assert(train_fraction > 0.0 && train_fraction < 1.0);
    TextStream s;
    s.path = path;
    const std::u32string text = load_text(path);
    s.vocab = CharVocab::of_text(text);
    std::vector<int> tokens = s.vocab.encode(text, fmt::format("data file '{}'", path));
    const TokenSplit split = split_tokens(tokens, train_fraction);
    WIGGLE_CHECK(split.train.size() >= min_split_tokens && split.val.size() >= min_split_tokens,
                 kDataHint,
                 "data file '{}' is too short: {} characters split into {} train and {} "
                 "validation, and each split needs at least {}",
                 path, tokens.size(), split.train.size(), split.val.size(), min_split_tokens);
    s.train.assign(split.train.begin(), split.train.end());
    s.val.assign(split.val.begin(), split.val.end());
    return s;
}

WordList load_word_list(const std::string& path, uint64_t seed) {
    WordList w;
    w.path = path;
    const std::u32string text = load_text(path);
    // Python's splitlines() + strip(), dropping empty lines (makemore.py's create_datasets).
    std::vector<std::u32string> words;
    std::u32string all;
    size_t start = 0;
    auto is_space = [](char32_t c) { return c == U' ' || (c >= U'\t' && c <= U'\r'); };
    while (start <= text.size()) {
        size_t end = start;
        while (end < text.size() && text[end] != U'\n') ++end;
        size_t a = start, b = end;
        while (a < b && is_space(text[a])) ++a;
        while (b > a && is_space(text[b - 1])) --b;
        if (b > a) {
            words.emplace_back(text.substr(a, b - a));
            all += words.back();
        }
        start = end + 1;
    }
    WIGGLE_CHECK(words.size() >= 10, "the word-list split is 80/10/10 and needs 10 lines or more",
                 "data file '{}' is too short: {} non-empty lines", path, words.size());
    w.vocab = CharVocab::of_text(all, /*with_boundary=*/true);

    PyRandom rng(seed);
    rng.shuffle(words);
    const size_t n = words.size();
    const auto n1 = static_cast<size_t>(0.8 * static_cast<double>(n));
    const auto n2 = static_cast<size_t>(0.9 * static_cast<double>(n));
    const std::string source = fmt::format("data file '{}'", path);
    for (size_t i = 0; i < n; ++i) {
        auto& split = i < n1 ? w.train : (i < n2 ? w.dev : w.test);
        split.push_back(w.vocab.encode(words[i], source));
    }
    return w;
}

// ----------------------------------------------------------------------------
// Examples and batches

Examples word_examples(std::span<const std::vector<int>> words, int context) {
    assert(context >= 1);
    Examples e;
    e.context = context;
    std::vector<int> window(static_cast<size_t>(context));
    for (const std::vector<int>& word : words) {
        std::fill(window.begin(), window.end(), CharVocab::kBoundary);
        for (size_t i = 0; i <= word.size(); ++i) {
            const int next = i < word.size() ? word[i] : CharVocab::kBoundary;
            e.x.insert(e.x.end(), window.begin(), window.end());
            e.y.push_back(next);
            std::rotate(window.begin(), window.begin() + 1, window.end());  // context[1:] + [ix]
            window.back() = next;
        }
    }
    return e;
}

Examples stream_examples(std::span<const int> tokens, int context) {
    assert(context >= 1);
    Examples e;
    e.context = context;
    const auto c = static_cast<size_t>(context);
    if (tokens.size() <= c) return e;
    const size_t n = tokens.size() - c;
    e.x.reserve(n * c);
    e.y.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        e.x.insert(e.x.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i),
                   tokens.begin() + static_cast<std::ptrdiff_t>(i + c));
        e.y.push_back(tokens[i + c]);
    }
    return e;
}

void sample_indices(PyRandom& rng, size_t n, std::span<int> out) {
    assert(n > 0);
    for (int& i : out) i = static_cast<int>(rng.randbelow(n));
}

void sample_blocks(std::span<const int> tokens, int B, int T, PyRandom& rng, std::span<int> x,
                   std::span<int> y) {
    const auto t_len = static_cast<size_t>(T);
    assert(B > 0 && T > 0 && tokens.size() >= t_len + 1);
    assert(x.size() == static_cast<size_t>(B) * t_len && y.size() == x.size());
    for (size_t b = 0; b < static_cast<size_t>(B); ++b) {
        const size_t start = rng.randbelow(tokens.size() - t_len);
        std::copy_n(tokens.begin() + static_cast<std::ptrdiff_t>(start), t_len,
                    x.begin() + static_cast<std::ptrdiff_t>(b * t_len));
        std::copy_n(tokens.begin() + static_cast<std::ptrdiff_t>(start + 1), t_len,
                    y.begin() + static_cast<std::ptrdiff_t>(b * t_len));
    }
}

}  // namespace wiggle
