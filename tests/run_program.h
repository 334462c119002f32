// Runs a built program (from build/bin) and captures its exit status, stdout and stderr, for the
// tests that check what the ladder programs and the `wiggle` tool print; and reads numbers back out
// of what they printed.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <unistd.h>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace wiggle::testing {

struct ProgramResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs `<env> WIGGLE_BIN_DIR/<program> <args>` through the shell (args are passed as written; env,
// e.g. "NAME=value ", sets variables for the program).
inline ProgramResult run_program(const std::string& program, const std::string& args = "",
                                 const std::string& env = "") {
    std::string err_path = ::testing::TempDir() + "wiggle-test-stderr-XXXXXX";
    const int fd = mkstemp(err_path.data());
    if (fd >= 0) close(fd);
    const std::string cmd =
        env + std::string(WIGGLE_BIN_DIR) + "/" + program + " " + args + " 2>" + err_path;
    ProgramResult r;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.out.append(buffer.data(), n);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    std::remove(err_path.c_str());
    return r;
}

// The number printed right after `label` (searching from the first `from`, if given), or NaN.
inline double number_after(const std::string& out, const std::string& label,
                           const std::string& from = "") {
    const size_t start = from.empty() ? 0 : out.find(from);
    if (start == std::string::npos) return std::nan("");
    const size_t at = out.find(label, start);
    if (at == std::string::npos) return std::nan("");
    return std::strtod(out.c_str() + at + label.size(), nullptr);
}

// The whole file as bytes ("" if it cannot be read).
inline std::string read_text_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Writes bytes to `name` in the test's temp folder and returns the path. Atomically (a file of
// this process, then rename): ctest runs tests in parallel processes, and two tests writing the
// same corpus must never let one read the other's half-written file.
inline std::string write_temp_file(const std::string& name, const std::string& bytes) {
    const std::string path = ::testing::TempDir() + name;
    const std::string tmp = path + ".tmp" + std::to_string(getpid());
    std::ofstream(tmp, std::ios::binary) << bytes;
    std::rename(tmp.c_str(), path.c_str());
    return path;
}

// The lines of a text, without their trailing newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// A bad input: `program args` exits with status 1 and prints one line "error: ..." containing
// `needle` on stderr.
inline void expect_one_error_line(const std::string& program, const std::string& args,
                                  const std::string& needle) {
    const ProgramResult r = run_program(program, args);
    EXPECT_EQ(r.exit_code, 1) << program << " " << args << "\n" << r.out << r.err;
    const std::vector<std::string> lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << program << " " << args << "\n" << r.err;
    EXPECT_EQ(lines[0].rfind("error: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
}

}  // namespace wiggle::testing
