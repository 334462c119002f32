// The regex pre-tokenizer (split.h) on PCRE2.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/split.h"

#include <pcre2.h>

#include "text/split_scan.h"
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
    detail::scan_pieces(text, out, [&](size_t at, size_t& begin, size_t& end) {
        const int rc =
            compiled_->jit
                ? pcre2_jit_match(compiled_->code, subject, text.size(), at, 0, match.data, nullptr)
                : pcre2_match(compiled_->code, subject, text.size(), at, 0, match.data, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) return false;
        WIGGLE_CHECK(rc >= 0, "", "splitting text with pattern '{}' failed (PCRE2 error {})",
                     pattern_, rc);
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
        begin = ovector[0];
        end = ovector[1];
        return true;
    });
}

}  // namespace wiggle
