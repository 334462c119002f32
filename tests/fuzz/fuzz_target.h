// What every fuzz target shares (tests/fuzz/*.cpp, built by the `fuzz` preset, run by
// scripts/fuzz): a user error (WIGGLE_CHECK) is the parser doing its job, so instead of exiting it
// throws, and the target returns; anything else (a crash, a sanitizer report, a hang, runaway
// memory) is a bug libFuzzer reports. A crash it finds becomes a test in tests/<layer>/ and its
// input a file of tests/fuzz/corpus/<target>/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/check.h"

namespace wiggle::fuzz {

struct Rejected {};

[[noreturn]] inline void throw_rejected(const std::string&) { throw Rejected{}; }

// Runs parse(bytes) with user errors turned into a return.
template <typename Parse>
int run(const uint8_t* data, size_t size, Parse parse) {
    static const bool installed = (set_failure_handler(throw_rejected), true);
    (void)installed;
    try {
        parse(std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const Rejected&) {
    }
    return 0;
}

}  // namespace wiggle::fuzz
