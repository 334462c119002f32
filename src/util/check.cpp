#include "util/check.h"

#include <cstdio>
#include <cstdlib>

namespace wiggle {

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
    if (hint.empty()) {
        fmt::print(stderr, "error: {} [{}:{}]\n", what, where, line);
    } else {
        fmt::print(stderr, "error: {} (hint: {}) [{}:{}]\n", what, hint, where, line);
    }
    std::exit(EXIT_FAILURE);
}

}  // namespace wiggle
