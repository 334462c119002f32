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
    g_handler(hint.empty()
                  ? fmt::format("error: {} [{}:{}]\n", what, where, line)
                  : fmt::format("error: {} (hint: {}) [{}:{}]\n", what, hint, where, line));
    std::abort();  // a handler that returns breaks its contract
}

}  // namespace wiggle
