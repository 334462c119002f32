// The regex pre-tokenizer (text/split.h) in the browser build, on the browser's own regular
// expressions: there is no PCRE2 for WebAssembly here, and JavaScript's RegExp in Unicode mode
// has what split patterns need (\p{L}, \p{N}, look-around, and in Chromium 125+ the modifiers
// `(?i:...)`). The PCRE2 pattern is translated (JsPattern below) into a RegExp with PCRE2's
// meaning in UTF mode with Unicode properties: \s, \d, \w, \b are Unicode's (JavaScript's are
// not), `.` and `$` know only \n as a newline, possessive quantifiers and atomic groups become
// `(?=(?<w>X))\k<w>`. What cannot be translated (backreferences, recursion, callouts, verbs,
// POSIX classes, ...) is one line naming it.
//
// The text goes to JavaScript as UTF-16 with each byte of invalid UTF-8 one lone surrogate,
// U+DFFF, which valid UTF-8 cannot produce and which no translated item matches (every negated
// item excludes it), so invalid bytes stay barriers no match crosses, as PCRE2_MATCH_INVALID_UTF
// makes them natively; the matches' UTF-16 offsets come back as byte offsets, and the scan
// around them is the native one (text/split_scan.h).
#include <emscripten.h>
#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <string>

#include "text/split.h"
#include "text/split_scan.h"
#include "util/check.h"

// The RegExp objects of this module instance, by id; the text being split with its offset maps.
// (The bodies are JavaScript that clang-format reads as C++: no `=>` or `===`, which it splits.)
EM_JS(int, web_regex_new, (const char* source, char* error, int error_size), {
    const regexes = Module["wiggleRegexes"] || (Module["wiggleRegexes"] = []);
    try {
        const re = new RegExp(UTF8ToString(source), "gu");
        const id = regexes.indexOf(null);
        if (id >= 0) {
            regexes[id] = re;
            return id;
        }
        return regexes.push(re) - 1;
    } catch (e) {
        const bytes = new TextEncoder().encode(String(e.message)).subarray(0, error_size - 1);
        HEAPU8.set(bytes, error);
        HEAPU8[error + bytes.length] = 0;
        return -1;
    }
});

EM_JS(void, web_regex_free, (int id), { Module["wiggleRegexes"][id] = null; });

// UTF-8 to UTF-16 as PCRE2 validates UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF), each invalid byte U+DFFF; unitAt[byte] is the UTF-16 offset of the character
// starting at that byte (-1 inside one), byteAt[unit] the byte offset of the unit's character.
EM_JS(void, web_split_text, (const uint8_t* text, int size), {
    const b = HEAPU8.subarray(text, text + size);
    const units = new Uint16Array(size);
    const byteAt = new Int32Array(size + 1);
    const unitAt = new Int32Array(size + 1).fill(-1);
    const cont = function(i) { return i < size && (b[i] & 0xC0) == 0x80; };
    let n = 0;
    for (let i = 0; i < size;) {
        const c = b[i];
        let len = 0, cp = 0;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
            len = 2;
            cp = ((c & 0x1F) << 6) | (b[i + 1] & 0x3F);
        } else if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2) &&
                   (c != 0xE0 || b[i + 1] >= 0xA0) && (c != 0xED || b[i + 1] < 0xA0)) {
            len = 3;
            cp = ((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
        } else if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3) &&
                   (c != 0xF0 || b[i + 1] >= 0x90) && (c != 0xF4 || b[i + 1] < 0x90)) {
            len = 4;
            cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) |
                 (b[i + 3] & 0x3F);
        }
        unitAt[i] = n;
        byteAt[n] = i;
        if (len == 0) {
            units[n++] = 0xDFFF;
            i += 1;
        } else if (cp < 0x10000) {
            units[n++] = cp;
            i += len;
        } else {
            units[n] = 0xD800 + ((cp - 0x10000) >> 10);
            byteAt[n + 1] = i;
            units[n + 1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            n += 2;
            i += len;
        }
    }
    unitAt[size] = n;
    byteAt[n] = size;
    let string = "";
    for (let i = 0; i < n; i += 8192) {
        string += String.fromCharCode.apply(null, units.subarray(i, Math.min(n, i + 8192)));
    }
    Module["wiggleSplitText"] = {string, byteAt, unitAt};
});

// The first match at or after byte `at` (from the next character when `at` is inside one, whose
// bytes are then invalid UTF-8 to the search, as to PCRE2): its begin, its end in *end; -1 when
// there is none.
EM_JS(int, web_regex_find, (int id, int at, int* end), {
    const t = Module["wiggleSplitText"];
    const re = Module["wiggleRegexes"][id];
    while (t.unitAt[at] < 0) ++at;
    re.lastIndex = t.unitAt[at];
    const m = re.exec(t.string);
    if (m == null) return -1;
    HEAP32[end >> 2] = t.byteAt[m.index + m[0].length];
    return t.byteAt[m.index];
});

EM_JS(void, web_split_done, (), { Module["wiggleSplitText"] = null; });

namespace wiggle {

namespace {

// The lone surrogate invalid bytes become; every negated item of a translated pattern excludes it.
constexpr std::string_view kBarrier = "\\uDFFF";

// PCRE2's \s with PCRE2_UCP (\p{Z}, \h and \v: Unicode's White_Space and U+180E), its \h and \v,
// and its \w with PCRE2_UCP (10.42: letters, numbers, the underscore), as JavaScript class
// contents.
constexpr std::string_view kSpace = "\\p{White_Space}\\u180E";
constexpr std::string_view kHSpace = "\\t \\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000";
constexpr std::string_view kVSpace = "\\n\\x0B\\f\\r\\x85\\u2028\\u2029";
constexpr std::string_view kWord = "\\p{L}\\p{N}_";

// A PCRE2 pattern (UTF, UCP) as the source of a JavaScript RegExp with the flags "gu".
class JsPattern {
  public:
    JsPattern(std::string_view pattern, std::string_view source) : p_(pattern), source_(source) {}

    std::string translate() {
        std::string out = alternation(Flags{});
        if (at_ < p_.size()) fail("an unmatched ')'");
        return out;
    }

  private:
    struct Flags {
        bool caseless = false, multiline = false, dotall = false;
    };

    [[noreturn]] void fail(std::string_view what) const {
        WIGGLE_CHECK(false,
                     "the page translates PCRE2 patterns to JavaScript's RegExp: GPT-2's and "
                     "GPT-4's, and patterns of the same kinds of items",
                     "{} '{}': {} at offset {} has no translation in the page", source_, p_, what,
                     at_);
        __builtin_unreachable();
    }

    bool more() const { return at_ < p_.size(); }
    char peek(size_t ahead = 0) const { return at_ + ahead < p_.size() ? p_[at_ + ahead] : '\0'; }
    bool eat(std::string_view s) {
        if (p_.substr(at_, s.size()) != s) return false;
        at_ += s.size();
        return true;
    }

    // One character of the pattern as it is (a whole UTF-8 sequence), or escaped when it means
    // something to JavaScript there.
    std::string literal(bool in_class = false) {
        const auto lead = static_cast<uint8_t>(p_[at_]);
        size_t n = lead < 0x80                   ? 1
                   : lead >= 0xC2 && lead < 0xE0 ? 2
                   : lead >= 0xE0 && lead < 0xF0 ? 3
                   : lead >= 0xF0 && lead < 0xF5 ? 4
                                                 : 0;
        for (size_t k = 1; k < n; ++k) {
            if (at_ + k >= p_.size() || (static_cast<uint8_t>(p_[at_ + k]) & 0xC0) != 0x80) n = 0;
        }
        if (n == 0) fail("a byte that is not UTF-8");
        std::string c(p_.substr(at_, n));
        at_ += n;
        // (a '-' is escaped in a class only: JavaScript's Unicode mode refuses \- outside one)
        const std::string_view special = in_class ? "^$\\.*+?()[]{}|/-" : "^$\\.*+?()[]{}|/";
        if (n == 1 && special.find(c[0]) != std::string_view::npos) return "\\" + c;
        return c;
    }

    // alternation := sequence ('|' sequence)*, up to a ')' or the end. A flag setting such as
    // `(?i)` holds to the end of its group, in the alternatives after it too.
    std::string alternation(Flags flags) {
        std::string out;
        std::string reopen;  // the modifier group every later alternative starts with
        int open = 0;        // modifier groups opened in this alternative
        while (more() && peek() != ')') {
            if (peek() == '|') {
                ++at_;
                out += std::string(open, ')') + "|" + reopen;
                open = reopen.empty() ? 0 : 1;
                continue;
            }
            if (p_.substr(at_, 2) == "(?" && setting(flags, out, reopen)) {
                ++open;
                continue;
            }
            out += quantified(flags);
        }
        return out + std::string(open, ')');
    }

    // A flag setting `(?flags)` at at_: applies it, opens its modifier group; false for any other
    // group.
    bool setting(Flags& flags, std::string& out, std::string& reopen) {
        size_t end = at_ + 2;
        while (end < p_.size() &&
               (std::isalpha(static_cast<unsigned char>(p_[end])) || p_[end] == '-')) {
            ++end;
        }
        if (end == at_ + 2 || end >= p_.size() || p_[end] != ')') return false;
        at_ += 2;
        flags = with_flags(flags, p_.substr(at_, end - at_));
        at_ = end + 1;
        reopen = flags.caseless ? "(?i:" : "(?-i:";
        out += reopen;
        return true;
    }

    // The flags after `letters` (e.g. "i", "i-s"): i, m and s as PCRE2 means them.
    Flags with_flags(Flags flags, std::string_view letters) {
        bool on = true;
        for (char c : letters) {
            if (c == '-' && on) {
                on = false;
            } else if (c == 'i') {
                flags.caseless = on;
            } else if (c == 'm') {
                flags.multiline = on;
            } else if (c == 's') {
                flags.dotall = on;
            } else {
                fail(fmt::format("the flag '{}'", c));
            }
        }
        return flags;
    }

    // An atom and its quantifier.
    std::string quantified(const Flags& flags) {
        bool repeatable = true;
        std::string atom = this->atom(flags, repeatable);
        const size_t q = at_;
        if (!eat_quantifier()) return atom;
        if (!repeatable) {
            at_ = q;
            fail("a repeated assertion");
        }
        std::string quantifier(p_.substr(q, at_ - q));
        if (eat("+")) return atomic("(?:" + atom + ")" + quantifier);
        if (eat("?")) quantifier += "?";
        return "(?:" + atom + ")" + quantifier;
    }

    // * + ? {n} {n,} {n,m}; false (nothing eaten) at anything else.
    bool eat_quantifier() {
        if (peek() == '*' || peek() == '+' || peek() == '?') {
            ++at_;
            return true;
        }
        const size_t end = braces_quantifier();
        if (end == 0) return false;
        at_ = end;
        return true;
    }

    // The end of a {n}, {n,} or {n,m} at at_, 0 when there is none (PCRE2 10.42 reads any other
    // brace as itself).
    size_t braces_quantifier() const {
        if (peek() != '{') return 0;
        size_t i = at_ + 1, digits = 0;
        while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i]))) ++i, ++digits;
        if (digits == 0) return 0;
        if (i < p_.size() && p_[i] == ',') {
            ++i;
            while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i]))) ++i;
        }
        return i < p_.size() && p_[i] == '}' ? i + 1 : 0;
    }

    // X without backtracking into it, as PCRE2's (?>X) and X*+: a look-ahead captures what X
    // matches first, and the backreference consumes exactly that.
    std::string atomic(const std::string& x) {
        if (lookbehind_ > 0) fail("an atomic group or possessive quantifier in a look-behind");
        const std::string name = fmt::format("w{}", atomics_++);
        return "(?=(?<" + name + ">" + x + "))\\k<" + name + ">";
    }

    std::string group_body(const Flags& flags) {
        std::string body = alternation(flags);
        if (!eat(")")) fail("a '(' without its ')'");
        return body;
    }

    std::string atom(const Flags& flags, bool& repeatable) {
        const char c = peek();
        if (c == '(') return group(flags, repeatable);
        if (c == '[') return char_class(flags);
        if (c == '\\') return escape(flags, repeatable);
        if (c == '.') {
            ++at_;
            return flags.dotall ? "[^" + std::string(kBarrier) + "]"
                                : "[^\\n" + std::string(kBarrier) + "]";
        }
        if (c == '^' || c == '$') {
            ++at_;
            repeatable = false;
            if (c == '^')
                return flags.multiline ? "(?:(?<![\\s\\S])|(?<=\\n)(?=[\\s\\S]))" : "(?<![\\s\\S])";
            return flags.multiline ? "(?=\\n|(?![\\s\\S]))" : "(?=\\n?(?![\\s\\S]))";
        }
        if (c == '*' || c == '+' || c == '?' || braces_quantifier() != 0) {
            fail("a quantifier that follows nothing");
        }
        return literal();
    }

    std::string group(const Flags& flags, bool& repeatable) {
        ++at_;
        if (peek() != '?') {
            if (peek() == '*') fail("a verb '(*'");
            return "(?:" + group_body(flags) + ")";
        }
        ++at_;
        if (eat(":")) return "(?:" + group_body(flags) + ")";
        if (eat(">")) return atomic(group_body(flags));
        if (eat("=") || eat("!")) {
            repeatable = false;
            const char kind = p_[at_ - 1];
            return std::string("(?") + kind + group_body(flags) + ")";
        }
        if (eat("<=") || eat("<!")) {
            repeatable = false;
            const char kind = p_[at_ - 1];
            ++lookbehind_;
            std::string body = group_body(flags);
            --lookbehind_;
            return std::string("(?<") + kind + body + ")";
        }
        if (eat("#")) {
            while (more() && peek() != ')') ++at_;
            if (!eat(")")) fail("a comment without its ')'");
            repeatable = false;
            return "";
        }
        if (eat("P<") || eat("<") || eat("'")) {  // a named group: its name is not needed
            const char close = p_[at_ - 1] == '\'' ? '\'' : '>';
            while (more() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) {
                ++at_;
            }
            if (!eat(std::string(1, close))) fail("a group");
            return "(?:" + group_body(flags) + ")";
        }
        // (?flags:X)
        size_t end = at_;
        while (end < p_.size() &&
               (std::isalpha(static_cast<unsigned char>(p_[end])) || p_[end] == '-')) {
            ++end;
        }
        if (end > at_ && end < p_.size() && p_[end] == ':') {
            const Flags inner = with_flags(flags, p_.substr(at_, end - at_));
            at_ = end + 1;
            const std::string body = group_body(inner);
            return std::string(inner.caseless ? "(?i:" : "(?-i:") + body + ")";
        }
        at_ -= 2;
        fail("a group of this kind");
    }

    // \p{...} and \P{...} (also \pL): the property as JavaScript class contents; `negated`
    // says which way round. PCRE2's general categories, Any, L& and its X* properties.
    std::string property(const Flags& flags, bool in_class, bool& negated, bool& surrogates) {
        const size_t start = at_;
        negated = p_[at_ + 1] == 'P';
        at_ += 2;
        std::string name;
        if (eat("{")) {
            if (eat("^")) negated = !negated;
            while (more() && peek() != '}') name += p_[at_++];
            if (!eat("}")) fail("a \\p{ without its '}'");
        } else if (more()) {
            name = std::string(1, p_[at_++]);
        }
        std::string clean;
        for (char c : name) {
            if (c != ' ' && c != '_' && c != '-') clean += c;
        }
        static const std::string_view categories[] = {
            "C",  "Cc", "Cf", "Cn", "Co", "Cs", "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",
            "Mc", "Me", "Mn", "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf", "Pi",
            "Po", "Ps", "S",  "Sc", "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs"};
        surrogates = clean == "C" || clean == "Cs" || clean == "Any";
        if (clean == "Any") return "\\p{Any}";
        if (clean == "L&" || clean == "LC") return "\\p{LC}";
        if (clean == "Xan") return "\\p{L}\\p{N}";
        if (clean == "Xsp" || clean == "Xps") return std::string(kSpace);  // \s, as PCRE2 10.42
        if (clean == "Xwd") return std::string(kWord);
        for (std::string_view category : categories) {
            if (clean != category) continue;
            if (flags.caseless && (clean == "Lu" || clean == "Ll" || clean == "Lt") && in_class) {
                at_ = start;
                fail("\\p{Lu}, \\p{Ll} or \\p{Lt} in a class under (?i)");
            }
            return "\\p{" + clean + "}";
        }
        at_ = start;
        fail(fmt::format("\\p{{{}}} (only general categories, Any, L&, Xan, Xsp and Xwd translate)",
                         name));
    }

    // The character an escape such as \n, \x{263A} or \0 stands for, as JavaScript source;
    // empty when the escape is not one of those.
    std::string char_escape() {
        const char c = peek(1);
        static const std::string_view simple = "ntrf";
        if (simple.find(c) != std::string_view::npos) {
            at_ += 2;
            return std::string("\\") + c;
        }
        if (c == 'a' || c == 'e') {
            at_ += 2;
            return c == 'a' ? "\\x07" : "\\x1B";
        }
        if (c == 'c') {
            if (!std::isalpha(static_cast<unsigned char>(peek(2)))) fail("a \\c escape");
            at_ += 3;
            return std::string("\\c") + p_[at_ - 1];
        }
        uint32_t code = 0;
        if (c == 'x' || c == 'o' || c == '0') {
            at_ += 2;
            const int base = c == 'x' ? 16 : 8;
            auto digit = [&](char d) -> int {
                if (d >= '0' && d <= '7') return d - '0';
                if (base == 16 && std::isxdigit(static_cast<unsigned char>(d))) {
                    return std::isdigit(static_cast<unsigned char>(d)) ? d - '0'
                                                                       : (d | 0x20) - 'a' + 10;
                }
                return -1;
            };
            if (c != '0' && eat("{")) {
                int n = 0;
                while (more() && digit(peek()) >= 0 && n < 8)
                    code = code * base + digit(p_[at_++]), ++n;
                if (n == 0 || !eat("}")) fail("a \\x{...} or \\o{...} escape");
            } else if (c == 'o') {
                fail("a \\o escape without braces");
            } else {
                for (int n = 0; n < 2 && digit(peek()) >= 0; ++n)
                    code = code * base + digit(p_[at_++]);
            }
            if (code > 0x10FFFF || (code >= 0xD800 && code < 0xE000)) {
                fail("a character code that is not a Unicode scalar value");
            }
            return fmt::format("\\u{{{:X}}}", code);
        }
        return "";
    }

    std::string escape(const Flags& flags, bool& repeatable) {
        if (at_ + 1 >= p_.size()) fail("a '\\' at the end");
        const char c = peek(1);
        const std::string barrier(kBarrier);
        switch (c) {
            case 'd':
                at_ += 2;
                return "\\p{Nd}";
            case 'D':
                at_ += 2;
                return "[^\\p{Nd}" + barrier + "]";
            case 's':
                at_ += 2;
                return "[" + std::string(kSpace) + "]";
            case 'S':
                at_ += 2;
                return "[^" + std::string(kSpace) + barrier + "]";
            case 'w':
                at_ += 2;
                return "[" + std::string(kWord) + "]";
            case 'W':
                at_ += 2;
                return "[^" + std::string(kWord) + barrier + "]";
            case 'h':
                at_ += 2;
                return "[" + std::string(kHSpace) + "]";
            case 'H':
                at_ += 2;
                return "[^" + std::string(kHSpace) + barrier + "]";
            case 'v':
                at_ += 2;
                return "[" + std::string(kVSpace) + "]";
            case 'V':
                at_ += 2;
                return "[^" + std::string(kVSpace) + barrier + "]";
            case 'N':
                at_ += 2;
                return "[^\\n" + barrier + "]";
            case 'R':
                at_ += 2;
                return atomic("\\r\\n|[" + std::string(kVSpace) + "]");
            case 'b':
            case 'B': {
                at_ += 2;
                repeatable = false;
                const std::string w = "[" + std::string(kWord) + "]";
                const std::string boundary =
                    "(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + ")";
                return c == 'b' ? "(?:" + boundary + ")" : "(?!" + boundary + ")";
            }
            case 'A':
                at_ += 2;
                repeatable = false;
                return "(?<![\\s\\S])";
            case 'z':
                at_ += 2;
                repeatable = false;
                return "(?![\\s\\S])";
            case 'Z':
                at_ += 2;
                repeatable = false;
                return "(?=\\n?(?![\\s\\S]))";
            case 'p':
            case 'P': {
                bool negated = false, surrogates = false;
                const std::string set = property(flags, false, negated, surrogates);
                const std::string item = negated      ? "[^" + set + barrier + "]"
                                         : surrogates ? "(?:(?!" + barrier + ")[" + set + "])"
                                                      : "[" + set + "]";
                // PCRE2's caseless matching leaves \p{Lu} to upper case letters; JavaScript's not
                return flags.caseless ? "(?-i:" + item + ")" : item;
            }
            case 'Q': {
                at_ += 2;
                std::string out;
                while (more() && !eat("\\E")) out += literal();
                return "(?:" + out + ")";
            }
            default:
                break;
        }
        std::string character = char_escape();
        if (!character.empty()) return character;
        if (std::isalnum(static_cast<unsigned char>(c))) {
            fail(std::isdigit(static_cast<unsigned char>(c)) || c == 'g' || c == 'k'
                     ? std::string("a backreference")
                     : fmt::format("the escape '\\{}'", c));
        }
        ++at_;  // \ and any other character: that character
        return literal();
    }

    // [...] as a JavaScript class: a negated one also excludes the barrier; a positive one that
    // holds a negated item is guarded by a look-ahead.
    std::string char_class(const Flags& flags) {
        ++at_;
        const bool negated = eat("^");
        std::string items;
        bool guard = false, first = true;
        const std::string barrier(kBarrier);
        while (true) {
            if (!more()) fail("a '[' without its ']'");
            if (peek() == ']' && !first) break;
            first = false;
            if (eat("[:") || eat("[.") || eat("[=")) {
                at_ -= 2;
                fail("a POSIX class");
            }
            // a single character (range end point) or a set
            std::string single;
            if (peek() == '\\') {
                const char c = peek(1);
                if (std::string_view("dDswhvpP").find(c) != std::string_view::npos) {
                    at_ += 2;
                    if (c == 'd') items += "\\p{Nd}";
                    if (c == 'D') items += "\\P{Nd}", guard = true;
                    if (c == 's') items += kSpace;
                    if (c == 'w') items += kWord;
                    if (c == 'h') items += kHSpace;
                    if (c == 'v') items += kVSpace;
                    if (c == 'p' || c == 'P') {
                        at_ -= 2;
                        bool neg = false, surrogates = false;
                        const std::string set = property(flags, true, neg, surrogates);
                        if (neg && set.find('}') != set.size() - 1) {
                            fail("a negated \\P{Xan}, \\P{Xsp} or \\P{Xwd} in a class");
                        }
                        items += neg ? "\\P" + set.substr(2) : set;
                        guard = guard || neg || surrogates;
                    }
                    if (peek() == '-' && peek(1) != ']') fail("a range from a class escape");
                    continue;
                }
                // (\S: \P{White_Space} would hold U+180E)
                if (c == 'S' || c == 'W' || c == 'H' || c == 'V' || c == 'N' || c == 'R') {
                    fail(fmt::format("\\{} in a class", c));
                }
                if (c == 'b') {
                    at_ += 2;
                    single = "\\x08";
                } else if (c == 'Q' || c == 'E') {
                    fail("\\Q...\\E in a class");
                } else {
                    single = char_escape();
                    if (single.empty()) {
                        if (std::isalnum(static_cast<unsigned char>(c))) {
                            fail(fmt::format("the escape '\\{}' in a class", c));
                        }
                        ++at_;
                        single = literal(true);
                    }
                }
            } else {
                single = literal(true);
            }
            items += single;
            if (peek() == '-' && peek(1) != ']' && more()) {
                ++at_;
                if (peek() == '\\' &&
                    std::string_view("dDsSwWhHvVpPN").find(peek(1)) != std::string_view::npos) {
                    fail("a range to a class escape");
                }
                items += "-";
                continue;  // the end point is the next single character
            }
        }
        ++at_;
        if (negated) return "[^" + items + barrier + "]";
        if (guard) return "(?:(?!" + barrier + ")[" + items + "])";
        return "[" + items + "]";
    }

    std::string_view p_, source_;
    size_t at_ = 0;
    int lookbehind_ = 0;  // look-behinds the parser is in
    int atomics_ = 0;     // names for the atomic groups' captures
};

}  // namespace

struct Splitter::Compiled {
    int id = -1;  // of the RegExp, in the module's registry
    ~Compiled() {
        if (id >= 0) web_regex_free(id);
    }
};

Splitter::Splitter(std::string_view pattern, std::string_view source)
    : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
    const std::string js = JsPattern(pattern_, source).translate();
    char error[256];
    compiled_->id = web_regex_new(js.c_str(), error, sizeof error);
    WIGGLE_CHECK(compiled_->id >= 0, "check the pattern's syntax (PCRE2, as Python's regex module)",
                 "{} '{}' does not compile as JavaScript's RegExp /{}/u: {}", source, pattern_, js,
                 error);
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
    web_split_text(reinterpret_cast<const uint8_t*>(text.data()), static_cast<int>(text.size()));
    detail::scan_pieces(text, out, [&](size_t at, size_t& begin, size_t& end) {
        int match_end = 0;
        const int match_begin = web_regex_find(compiled_->id, static_cast<int>(at), &match_end);
        if (match_begin < 0) return false;
        begin = static_cast<size_t>(match_begin);
        end = static_cast<size_t>(match_end);
        return true;
    });
    web_split_done();
}

}  // namespace wiggle

// For the page's test (web/test/page_test.js): the byte offsets where the pieces of text end,
// as `wiggle tokenizer split --offsets --pattern PATTERN` prints them natively (gpt2 and gpt4
// name GPT-2's and GPT-4's patterns there too).
extern "C" EMSCRIPTEN_KEEPALIVE const char* split_offsets(const char* pattern, const uint8_t* text,
                                                          int size) {
    static std::string out;
    const std::string_view name(pattern);
    const wiggle::Splitter split(name == "gpt2"   ? wiggle::kGpt2Pattern
                                 : name == "gpt4" ? wiggle::kGpt4Pattern
                                                  : name,
                                 "--pattern");
    const std::string_view all(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
    out.clear();
    for (std::string_view piece : split.pieces(all)) {
        out +=
            fmt::format("{}{}", out.empty() ? "" : " ", piece.data() + piece.size() - all.data());
    }
    return out.c_str();
}
