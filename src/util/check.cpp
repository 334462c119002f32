#include "util/check.h"

#include <cstdio>
#include <cstdlib>

namespace wiggle {

namespace {

[[noreturn]] void print_and_exit(const std::string& line) {
    std::fputs(line.c_str(), stderr);
    std::exit(EXIT_FAILURE);
}

FailureHandler g_handler = print_and_exit;

// The text on one line: control characters (a newline in a prompt, a tab in a file name) as
// escapes, so an error is always exactly one line.
std::string one_line(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7F) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

void set_failure_handler(FailureHandler handler) {
    g_handler = handler != nullptr ? handler : print_and_exit;
}

void fail(std::string_view what, std::string_view hint, const char* file, int line) {
    // Show the path from src/ (or the project root) rather than the build machine's full path.
    std::string_view where = file;
    for (std::string_view root : {"/src/", "/tools/", "/ladder/", "/tests/", "/bench/"}) {
        if (auto at = where.rfind(root); at != std::string_view::npos) {
            where.remove_prefix(at + 1);
            break;
        }
    }
    std::fflush(stdout);
    g_handler(hint.empty() ? fmt::format("error: {} [{}:{}]\n", one_line(what), where, line)
                           : fmt::format("error: {} (hint: {}) [{}:{}]\n", one_line(what),
                                         one_line(hint), where, line));
    std::abort();  // a handler that returns breaks its contract
}

}  // namespace wiggle
