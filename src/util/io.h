// Checked file I/O: whole-file reads that fail with a clear error, and atomic writes
// (a temporary file in the same folder, flushed, then renamed over the target), so a crash or a
// Ctrl-C never leaves a half-written file behind.
#pragma once

#include <string>
#include <string_view>

namespace wiggle {

// Returns the bytes of the file at `path`; exits with a clear error if it cannot be read.
// `what` names the file's role in the message ("data file", "checkpoint").
std::string read_file(const std::string& path, std::string_view what = "file");

// Writes `bytes` to `path` atomically: `path.tmp.<pid>`, fsync, rename. Exits with a clear error
// (and removes the temporary file) if any step fails.
void write_file_atomic(const std::string& path, std::string_view bytes);

bool file_exists(const std::string& path);

}  // namespace wiggle
