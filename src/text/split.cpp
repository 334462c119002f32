// The regex pre-tokenizer (split.h) on PCRE2.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/split.h"

#include <pcre2.h>

#include <algorithm>
#include <cstdint>

#include "util/check.h"

namespace wiggle {

struct Splitter::Compiled {
    pcre2_code* code = nullptr;
    bool jit = false;  // compiled to machine code: pcre2_jit_match, without pcre2_match's checks
    ~Compiled() { pcre2_code_free(code); }
};

Splitter::Splitter(std::string_view pattern, std::string_view source)
    : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
    int error = 0;
    PCRE2_SIZE at = 0;
    compiled_->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &at, nullptr);
    if (compiled_->code == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        WIGGLE_CHECK(false, "check the pattern's syntax (PCRE2, as Python's regex module)",
                     "{} '{}' does not compile at offset {}: {}", source, pattern_, at,
                     reinterpret_cast<const char*>(message));
    }
    // when the JIT is missing: interpreted
    compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

Splitter::~Splitter() = default;
Splitter::Splitter(Splitter&&) noexcept = default;
Splitter& Splitter::operator=(Splitter&&) noexcept = default;

std::vector<std::string_view> Splitter::pieces(std::string_view text) const {
    std::vector<std::string_view> out;
    pieces(text, out);
    return out;
}

void Splitter::pieces(std::string_view text, std::vector<std::string_view>& out) const {
    struct MatchData {
        pcre2_match_data* data;
        ~MatchData() { pcre2_match_data_free(data); }
    } match{pcre2_match_data_create_from_pattern(compiled_->code, nullptr)};
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t at = 0;
    // bytes no match covered (invalid UTF-8): one piece each
    auto gap = [&](size_t to) {
        for (; at < to; ++at) out.push_back(text.substr(at, 1));
    };
    while (at < text.size()) {
        const int rc =
            compiled_->jit
                ? pcre2_jit_match(compiled_->code, subject, text.size(), at, 0, match.data, nullptr)
                : pcre2_match(compiled_->code, subject, text.size(), at, 0, match.data, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        WIGGLE_CHECK(rc >= 0, "", "splitting text with pattern '{}' failed (PCRE2 error {})",
                     pattern_, rc);
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
        const size_t begin = ovector[0], end = ovector[1];
        gap(begin);
        if (end == begin) {  // an empty match (GPT's patterns have none): keep the next character
            const auto lead = static_cast<uint8_t>(text[begin]);
            const size_t n = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            out.push_back(text.substr(begin, std::min(n, text.size() - begin)));
            at = begin + std::min(n, text.size() - begin);
            continue;
        }
        out.push_back(text.substr(begin, end - begin));
        at = end;
    }
    gap(text.size());
}

}  // namespace wiggle
