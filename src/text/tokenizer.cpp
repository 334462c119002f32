// Tokenizers (tokenizer.h). reference: minbpe (karpathy/minbpe) regex.py and base.py (save, load,
// special tokens); GPT-2's encoder.py (bytes_to_unicode, the merges file).
#include "text/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "util/check.h"
#include "util/io.h"
#include "util/json.h"

namespace wiggle {

namespace {

const char* kModelHint = "write it with `wiggle tokenizer train` (or minbpe's save)";

// The length of the valid UTF-8 character at s[i], or 0 when the bytes there are not one.
size_t utf8_char_at(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t c = b(i);
    if (c < 0x80) return 1;
    size_t n = 0;
    uint32_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k) {
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    }
    return n;
}

// The length of the maximal subpart of an ill-formed sequence at s[i] (Unicode's "substitution of
// maximal subparts": a lead byte and as many valid continuation bytes as it allows), at least 1.
size_t invalid_run_at(std::string_view s, size_t i) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 1;
    uint32_t lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    size_t k = 1;
    for (; k < n && i + k < s.size(); ++k) {
        const auto d = static_cast<uint8_t>(s[i + k]);
        if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) break;
    }
    return k;
}

// minbpe's render_token: the bytes as text, invalid UTF-8 as U+FFFD, control characters as \uXXXX.
std::string render(std::string_view bytes) {
    const std::string text = valid_utf8(bytes);
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const size_t n = std::max<size_t>(1, utf8_char_at(text, i));
        const auto c = static_cast<uint8_t>(text[i]);
        if (n == 1 && (c < 0x20 || c == 0x7F)) {
            out += fmt::format("\\u{:04x}", c);
        } else if (n == 2 && c == 0xC2 && static_cast<uint8_t>(text[i + 1]) < 0xA0) {
            out += fmt::format("\\u{:04x}", static_cast<uint8_t>(text[i + 1]));  // C1 controls
        } else {
            out.append(text, i, n);
        }
        i += n;
    }
    return out;
}

bool parse_int(std::string_view s, int& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// The words of a line, split at spaces.
std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

}  // namespace

std::string valid_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        if (const size_t n = utf8_char_at(bytes, i); n > 0) {
            out.append(bytes, i, n);
            i += n;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD
            i += invalid_run_at(bytes, i);
        }
    }
    return out;
}

std::string Utf8Stream::push(std::string_view bytes) {
    pending_ += bytes;
    // hold back a trailing lead byte whose continuation bytes have not all arrived yet
    size_t keep = 0;
    for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
        const auto c = static_cast<uint8_t>(pending_[pending_.size() - back]);
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) keep = back;
        break;
    }
    std::string out = valid_utf8(std::string_view(pending_).substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return out;
}

std::string Utf8Stream::finish() {
    std::string out = valid_utf8(pending_);
    pending_.clear();
    return out;
}

// ---- Making one
// ------------------------------------------------------------------------------------

Tokenizer Tokenizer::chars(CharVocab vocab) {
    Tokenizer t;
    t.kind_ = Kind::Char;
    t.chars_ = std::move(vocab);
    return t;
}

Tokenizer Tokenizer::bpe(Bpe bpe, std::string pattern, std::vector<Special> specials,
                         std::string_view source) {
    Tokenizer t;
    t.kind_ = Kind::Bpe;
    t.bpe_ = std::move(bpe);
    t.pattern_ = std::move(pattern);
    if (!t.pattern_.empty()) {
        t.split_ = std::make_unique<Splitter>(t.pattern_, fmt::format("{}: split pattern", source));
    }
    for (const Special& s : specials) {
        WIGGLE_CHECK(!s.text.empty() && s.id >= 0 && !t.bpe_.has(s.id), "",
                     "{}: special token '{}' has id {}, which is empty, negative or another "
                     "token's",
                     source, s.text, s.id);
        for (const Special& other : t.specials_) {
            WIGGLE_CHECK(other.text != s.text && other.id != s.id, "",
                         "{}: special tokens '{}' and '{}' collide", source, other.text, s.text);
        }
        t.specials_.push_back(s);
    }
    return t;
}

Tokenizer Tokenizer::train(std::string_view text, int vocab_size, std::string pattern,
                           const Bpe::Progress& progress) {
    std::vector<std::string_view> pieces;
    if (pattern.empty()) {
        pieces.push_back(text);
    } else {
        Splitter(pattern).pieces(text, pieces);
    }
    return bpe(Bpe::train(pieces, vocab_size, progress), std::move(pattern), {});
}

Tokenizer Tokenizer::gpt2(const std::string& encoder_json, const std::string& vocab_bpe) {
    const char* hint = "scripts/fetch-data --gpt2 gets GPT-2's encoder.json and vocab.bpe";
    const std::string json_text = read_file(encoder_json, "GPT-2 encoder");
    const JsonParse parsed = parse_json(json_text);
    WIGGLE_CHECK(parsed.value && parsed.value->is_object(), hint,
                 "GPT-2 encoder '{}' is not a JSON object{}", encoder_json,
                 parsed.error.empty() ? "" : ": " + parsed.error);
    std::unordered_map<std::string, int> encoder;
    for (const auto& [token, id] : parsed.value->members) {
        const auto v = id.as_int();
        WIGGLE_CHECK(v && *v >= 0 && *v < (1 << 24), hint,
                     "GPT-2 encoder '{}': token '{}' has no valid id", encoder_json, token);
        encoder.emplace(token, static_cast<int>(*v));
    }
    // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256 + n
    std::array<std::string, 256> byte_char;
    {
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            std::string c;
            append_utf8(c, static_cast<char32_t>(printable ? b : 256 + n++));
            byte_char[b] = c;
        }
    }
    auto id_of = [&](const std::string& token, std::string_view what) {
        const auto it = encoder.find(token);
        WIGGLE_CHECK(it != encoder.end(), hint, "GPT-2 encoder '{}' has no token for {} '{}'",
                     encoder_json, what, token);
        return it->second;
    };
    std::array<int, 256> byte_ids{};
    for (int b = 0; b < 256; ++b) byte_ids[b] = id_of(byte_char[b], "byte");
    const std::string merges_text = read_file(vocab_bpe, "GPT-2 merges");
    std::vector<Bpe::Merge> merges;
    size_t start = 0, line_no = 0;
    while (start < merges_text.size()) {
        size_t end = merges_text.find('\n', start);
        if (end == std::string::npos) end = merges_text.size();
        const std::string_view line = std::string_view(merges_text).substr(start, end - start);
        start = end + 1;
        if (line_no++ == 0 && line.starts_with("#version")) continue;
        if (line.empty()) continue;
        const std::vector<std::string_view> pair = words_of(line);
        WIGGLE_CHECK(pair.size() == 2, hint, "GPT-2 merges '{}', line {}: expected two tokens",
                     vocab_bpe, line_no);
        const std::string left(pair[0]), right(pair[1]);
        merges.push_back(
            {id_of(left, "merge part"), id_of(right, "merge part"), id_of(left + right, "merge")});
    }
    WIGGLE_CHECK(merges.size() == 50000 && encoder.size() == static_cast<size_t>(kGpt2VocabSize),
                 hint, "'{}' and '{}' hold {} merges and {} tokens, not GPT-2's 50,000 and 50,257",
                 vocab_bpe, encoder_json, merges.size(), encoder.size());
    Bpe bpe(byte_ids, std::move(merges), vocab_bpe);
    return Tokenizer::bpe(std::move(bpe), std::string(kGpt2Pattern),
                          {{"<|endoftext|>", id_of("<|endoftext|>", "the special token")}},
                          encoder_json);
}

Tokenizer Tokenizer::load(const std::string& path) {
    return parse_model(read_file(path, "tokenizer model"), fmt::format("tokenizer '{}'", path));
}

Tokenizer Tokenizer::parse_model(std::string_view text, std::string_view source) {
    std::vector<std::string_view> lines;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        start = end + 1;
    }
    WIGGLE_CHECK(lines.size() >= 3, kModelHint, "{} is too short for a tokenizer model", source);
    const bool minbpe = lines[0] == "minbpe v1", ours = lines[0] == "wiggle-bpe v1";
    WIGGLE_CHECK(minbpe || ours, kModelHint,
                 "{} starts with '{}', not 'minbpe v1' or 'wiggle-bpe v1'", source,
                 lines[0].substr(0, 40));
    std::string pattern(lines[1]);
    int specials_count = 0;
    WIGGLE_CHECK(parse_int(lines[2], specials_count) && specials_count >= 0 &&
                     static_cast<size_t>(specials_count) + 3 <= lines.size(),
                 kModelHint, "{}, line 3: '{}' is not a number of special tokens", source,
                 lines[2]);
    size_t at = 3;
    std::vector<Special> specials;
    for (int i = 0; i < specials_count; ++i, ++at) {
        const std::vector<std::string_view> w = words_of(lines[at]);
        int id = 0;
        WIGGLE_CHECK(w.size() == 2 && parse_int(w[1], id), kModelHint,
                     "{}, line {}: expected '<special token> <id>'", source, at + 1);
        specials.push_back({std::string(w[0]), id});
    }
    std::array<int, 256> byte_ids{};
    for (int b = 0; b < 256; ++b) byte_ids[b] = b;
    if (ours) {
        const std::vector<std::string_view> w =
            at < lines.size() ? words_of(lines[at]) : std::vector<std::string_view>{};
        WIGGLE_CHECK(w.size() == 257 && w[0] == "bytes", kModelHint,
                     "{}, line {}: expected 'bytes' and the 256 bytes' ids", source, at + 1);
        for (int b = 0; b < 256; ++b) {
            WIGGLE_CHECK(parse_int(w[b + 1], byte_ids[b]), kModelHint,
                         "{}, line {}: '{}' is not a token id", source, at + 1, w[b + 1]);
        }
        ++at;
    }
    std::vector<Bpe::Merge> merges;
    for (; at < lines.size(); ++at) {
        if (lines[at].empty()) continue;
        const std::vector<std::string_view> w = words_of(lines[at]);
        Bpe::Merge m{0, 0, 256 + static_cast<int>(merges.size())};
        const bool ok = w.size() == (minbpe ? 2u : 3u) && parse_int(w[0], m.left) &&
                        parse_int(w[1], m.right) && (minbpe || parse_int(w[2], m.result));
        WIGGLE_CHECK(ok, kModelHint, "{}, line {}: expected a merge '{}', got '{}'", source, at + 1,
                     minbpe ? "<left> <right>" : "<left> <right> <result>",
                     lines[at].substr(0, 60));
        merges.push_back(m);
    }
    return bpe(Bpe(byte_ids, std::move(merges), source), std::move(pattern), std::move(specials),
               source);
}

// ---- Using one ---------------------------------------------------------------------------------

int Tokenizer::vocab_size() const {
    if (kind_ == Kind::Char) return chars_.size();
    int n = bpe_.vocab_size();
    for (const Special& s : specials_) n = std::max(n, s.id + 1);
    return n;
}

std::string Tokenizer::describe() const {
    if (kind_ == Kind::Char) return fmt::format("characters ({})", chars_.size());
    const std::string split = pattern_.empty()           ? "no split pattern"
                              : pattern_ == kGpt2Pattern ? "GPT-2's split pattern"
                              : pattern_ == kGpt4Pattern ? "GPT-4's split pattern"
                                                         : "a custom split pattern";
    return fmt::format("byte-level BPE of {} tokens ({} merges, {}, {} special token{})",
                       vocab_size(), bpe_.merges().size(), split, specials_.size(),
                       specials_.size() == 1 ? "" : "s");
}

std::optional<int> Tokenizer::special_id(std::string_view text) const {
    for (const Special& s : specials_) {
        if (s.text == text) return s.id;
    }
    return std::nullopt;
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<int>& ids) const {
    if (!split_) {
        bpe_.encode(text, ids);
        return;
    }
    std::vector<std::string_view> pieces;
    split_->pieces(text, pieces);
    for (std::string_view piece : pieces) {
        if (piece.size() == 1) {  // a byte: its own token
            ids.push_back(bpe_.byte_ids()[static_cast<uint8_t>(piece[0])]);
            continue;
        }
        auto it = cache_.find(piece);
        if (it == cache_.end()) {
            std::vector<int> tokens;
            bpe_.encode(piece, tokens);
            it = cache_.emplace(std::string(piece), std::move(tokens)).first;
        }
        ids.insert(ids.end(), it->second.begin(), it->second.end());
    }
}

std::vector<int> Tokenizer::encode(std::string_view text, SpecialTokens policy,
                                   std::string_view source) const {
    if (kind_ == Kind::Char) return chars_.encode_utf8(text, source);
    std::vector<int> ids;
    ids.reserve(text.size() / 3);  // most text is 3-4 bytes a token: one growth at most
    if (specials_.empty() || policy == SpecialTokens::Text) {
        encode_ordinary(text, ids);
        return ids;
    }
    // the text between special tokens, each encoded as ordinary text
    size_t at = 0;
    while (at <= text.size()) {
        size_t next = std::string_view::npos;
        const Special* found = nullptr;
        for (const Special& s : specials_) {  // the earliest; at one place the first listed
            const size_t p = text.find(s.text, at);
            if (p < next) next = p, found = &s;
        }
        if (found == nullptr) break;
        WIGGLE_CHECK(policy == SpecialTokens::Tokens,
                     "pass --special tokens to encode it as its token, or --special text",
                     "{} contains the special token '{}' at byte {}", source, found->text, next);
        encode_ordinary(text.substr(at, next - at), ids);
        ids.push_back(found->id);
        at = next + found->text.size();
    }
    encode_ordinary(text.substr(std::min(at, text.size())), ids);
    return ids;
}

std::string Tokenizer::decode(std::span<const int> ids) const {
    const int V = vocab_size();
    for (size_t i = 0; i < ids.size(); ++i) {
        const int id = ids[i];
        WIGGLE_CHECK(
            id >= 0 && id < V &&
                (kind_ == Kind::Char || bpe_.has(id) ||
                 std::ranges::any_of(specials_, [&](const Special& s) { return s.id == id; })),
            "", "token id {} at position {} is not in the vocabulary of {}", id, i, describe());
    }
    if (kind_ == Kind::Char) return chars_.decode(ids);
    std::string out;
    for (int id : ids) {
        if (bpe_.has(id)) {
            out += bpe_.bytes_of(id);
        } else {
            for (const Special& s : specials_) {
                if (s.id == id) out += s.text;
            }
        }
    }
    return out;
}

std::string Tokenizer::show(int id) const {
    if (kind_ == Kind::Char) return chars_.show(id);
    return render(decode(std::span(&id, 1)));
}

// ---- Files
// ---------------------------------------------------------------------------------------

std::string Tokenizer::model_text() const {
    WIGGLE_CHECK(kind_ == Kind::Bpe, "", "a character vocabulary has no .model file");
    bool minbpe = true;
    for (int b = 0; b < 256; ++b) minbpe = minbpe && bpe_.byte_ids()[b] == b;
    for (size_t i = 0; i < bpe_.merges().size(); ++i) {
        minbpe = minbpe && bpe_.merges()[i].result == 256 + static_cast<int>(i);
    }
    std::string out = minbpe ? "minbpe v1\n" : "wiggle-bpe v1\n";
    out += pattern_ + "\n" + std::to_string(specials_.size()) + "\n";
    for (const Special& s : specials_) out += fmt::format("{} {}\n", s.text, s.id);
    if (!minbpe) {
        out += "bytes";
        for (int id : bpe_.byte_ids()) out += fmt::format(" {}", id);
        out += "\n";
    }
    for (const Bpe::Merge& m : bpe_.merges()) {
        out += minbpe ? fmt::format("{} {}\n", m.left, m.right)
                      : fmt::format("{} {} {}\n", m.left, m.right, m.result);
    }
    return out;
}

void Tokenizer::save(const std::string& prefix) const {
    write_file_atomic(prefix + ".model", model_text());
    // minbpe's .vocab: every token rendered, a merge as "[left][right] -> [token] id"
    std::string vocab;
    std::vector<const Bpe::Merge*> made_by(static_cast<size_t>(bpe_.vocab_size()), nullptr);
    for (const Bpe::Merge& m : bpe_.merges()) made_by[m.result] = &m;
    for (int id = 0; id < bpe_.vocab_size(); ++id) {
        if (!bpe_.has(id)) continue;
        const std::string s = render(bpe_.bytes_of(id));
        if (const Bpe::Merge* m = made_by[id]) {
            vocab += fmt::format("[{}][{}] -> [{}] {}\n", render(bpe_.bytes_of(m->left)),
                                 render(bpe_.bytes_of(m->right)), s, id);
        } else {
            vocab += fmt::format("[{}] {}\n", s, id);
        }
    }
    for (const Special& s : specials_) vocab += fmt::format("[{}] {} (special)\n", s.text, s.id);
    write_file_atomic(prefix + ".vocab", vocab);
}

}  // namespace wiggle
