// Runs a built program (from build/bin) and captures its exit status, stdout and stderr, for the
// tests that check what the ladder programs and the `wiggle` tool print.
#pragma once

#include <sys/wait.h>

#include <unistd.h>
#include <array>
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

// Runs `WIGGLE_BIN_DIR/<program> <args>` through the shell (args are passed as written).
inline ProgramResult run_program(const std::string& program, const std::string& args = "") {
    char err_path[] = "/tmp/wiggle-test-stderr-XXXXXX";
    const int fd = mkstemp(err_path);
    if (fd >= 0) close(fd);
    const std::string cmd =
        std::string(WIGGLE_BIN_DIR) + "/" + program + " " + args + " 2>" + err_path;
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
    std::remove(err_path);
    return r;
}

// The lines of a text, without their trailing newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace wiggle::testing
