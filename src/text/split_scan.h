// The scan both Splitters share (split.cpp on PCRE2, web/split_web.cpp on the browser's RegExp):
// the pieces are the successive matches, each searched for from where the last ended; bytes no
// match covers (invalid UTF-8, or text no alternative matches) are pieces of one byte each; an
// empty match (GPT's patterns have none) keeps the character after it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wiggle::detail {

// Appends the pieces of text to out. find(at, begin, end): the first match at or after byte `at`
// into [begin, end); false when there is none.
template <class Find>
void scan_pieces(std::string_view text, std::vector<std::string_view>& out, const Find& find) {
    size_t at = 0;
    auto gap = [&](size_t to) {
        for (; at < to; ++at) out.push_back(text.substr(at, 1));
    };
    while (at < text.size()) {
        size_t begin = 0, end = 0;
        if (!find(at, begin, end)) break;
        gap(begin);
        if (end == begin) {  // the character's length by its lead byte
            const auto lead = static_cast<uint8_t>(text[begin]);
            const size_t n = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            end = begin + std::min(n, text.size() - begin);
        }
        out.push_back(text.substr(begin, end - begin));
        at = end;
    }
    gap(text.size());
}

}  // namespace wiggle::detail
