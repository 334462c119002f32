// The one way wiggle reports a user error: bad input, a bad flag, a missing or corrupt file.
//
//   WIGGLE_CHECK(batch_size > 0, "pass --batch 1 or more", "--batch must be positive, got {}",
//   batch_size);
//
// prints one line to stderr and exits with status 1:
//
//   error: --batch must be positive, got 0 (hint: pass --batch 1 or more) [tools/wiggle.cpp:88]
//
// The hint may be "" when there is nothing useful to add. The message is formatted (fmt syntax)
// only when the check fails; control characters in it (a newline from a prompt) are printed as
// escapes (\n), so the error is always one line. Internal invariants, which no input can break, use
// assert instead.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace wiggle {

// Prints "error: <what> (hint: <hint>) [file:line]" and exits with status 1.
[[noreturn]] void fail(std::string_view what, std::string_view hint, const char* file, int line);

// What fail() does with its line (newline included): by default, write it to stderr and exit with
// status 1. A data-parallel run replaces it (dist/world.cpp) so that a failing rank ends them all.
// The handler must not return.
using FailureHandler = void (*)(const std::string& line);
void set_failure_handler(FailureHandler handler);

}  // namespace wiggle

#define WIGGLE_CHECK(cond, hint, ...)                                               \
    do {                                                                            \
        if (!(cond)) [[unlikely]]                                                   \
            ::wiggle::fail(::fmt::format(__VA_ARGS__), (hint), __FILE__, __LINE__); \
    } while (0)
