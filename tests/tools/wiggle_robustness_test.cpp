// `wiggle` as a hostile or unlucky user meets it: special files (a FIFO, /dev/zero) for every file
// flag, two runs into one folder, a killed save's leftovers, errors with control characters,
// numbers out of range and an evaluation batch far too big for memory. Each exits with one clear
// line, or does the right thing, and never hangs, crashes or eats the memory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using wiggle::testing::lines_of;
using wiggle::testing::number_after;
using wiggle::testing::ProgramResult;
using wiggle::testing::read_text_file;
using wiggle::testing::run_program;
using wiggle::testing::write_temp_file;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
constexpr bool kSanitized = __has_feature(address_sanitizer);
#else
constexpr bool kSanitized = false;
#endif

// A 1-layer GPT that trains in milliseconds per iteration.
const std::string kTiny =
    " --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 4 --eval-iters 2"
    " --eval-interval 4 --progress lines --threads 1";

class WiggleRobustness : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "/wiggle-robust-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        std::string text;
        for (int i = 0; i < 60; ++i) text += "to be or not to be, that is the question.\n";
        corpus_ = dir_ + "/corpus.txt";
        write(corpus_, text);
    }
    void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    static void write(const std::string& path, const std::string& bytes) {
        FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr) << path;
        std::fwrite(bytes.data(), 1, bytes.size(), f);
        std::fclose(f);
    }
    // `timeout` turns a hang into a failure instead of a stuck test run.
    ProgramResult wiggle(const std::string& args) {
        return run_program("wiggle", args, "timeout 60 ");
    }
    std::string train_args(const std::string& out, const std::string& extra = "") {
        return "train --data " + corpus_ + " --out " + dir_ + "/" + out + kTiny + " " + extra;
    }

    std::string dir_, corpus_;
};

void expect_error(const ProgramResult& r, const std::string& what) {
    EXPECT_EQ(r.exit_code, 1) << what << "\n" << r.out << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << "want '" << what << "' in: " << r.err;
}

TEST_F(WiggleRobustness, SpecialFilesAreRefusedNotReadForever) {
    ASSERT_EQ(wiggle(train_args("run", "--iters 4")).exit_code, 0);
    const std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    const std::string ckpt = dir_ + "/run";
    for (const auto& [special, kind] : std::vector<std::pair<std::string, std::string>>{
             {fifo, "is a FIFO"}, {"/dev/zero", "is a character device"}, {dir_, "is a folder"}}) {
        SCOPED_TRACE(special);
        expect_error(wiggle("train --data " + special + " --out " + dir_ + "/x" + kTiny),
                     "data file '" + special + "' " + kind);
        if (special != dir_) {  // a folder as --checkpoint is a run folder
            expect_error(wiggle("sample --checkpoint " + special),
                         "checkpoint '" + special + "' " + kind);
        }
        expect_error(wiggle("sample --checkpoint " + ckpt + " --prompt-file " + special),
                     "prompt file '" + special + "' " + kind);
        expect_error(wiggle("eval --checkpoint " + ckpt + " --data " + special),
                     "data file '" + special + "' " + kind);
    }
}

TEST_F(WiggleRobustness, ErrorsStayOnOneLine) {
    ASSERT_EQ(wiggle(train_args("run", "--iters 4")).exit_code, 0);
    // a tab is not in the vocabulary; the error shows it escaped, on the one line
    const ProgramResult r =
        wiggle("sample --checkpoint " + dir_ + "/run --prompt \"$(printf 'to\\tbe')\"");
    expect_error(r, "the character '\\t' (U+0009) at position 2");
    expect_error(wiggle("sample --checkpoint " + dir_ + "/missing.safetensors"),
                 "hint: pass a .safetensors file or a run's --out folder");
}

TEST_F(WiggleRobustness, NumbersOutOfRangeSaySo) {
    expect_error(wiggle("train --data " + corpus_ + " --out " + dir_ + "/n --threads 100000"),
                 "--threads must be in [0, 1024], got 100000");
    expect_error(wiggle(train_args("n", "--iters 99999999999")),
                 "--iters got '99999999999', out of range (an integer from -2147483648 to "
                 "2147483647)");
    expect_error(wiggle(train_args("n", "--iters 12x")), "--iters got '12x', not a number");
}

TEST_F(WiggleRobustness, SampleStreamsItsOutput) {
    // A hundred million characters: the first thousand arrive at once (the pipe closes after
    // them), not after the whole sample has been drawn and buffered.
    ASSERT_EQ(wiggle(train_args("run", "--iters 4")).exit_code, 0);
    const std::string cmd = "timeout 60 " + std::string(WIGGLE_BIN_DIR) + "/wiggle sample -c " +
                            dir_ + "/run -n 100000000 --seed 1 --threads 1 | head -c 1000 > " +
                            dir_ + "/head.txt";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(read_text_file(dir_ + "/head.txt").size(), 1000u);
}

TEST_F(WiggleRobustness, EvalBatchIsBoundedByMemoryNotByTheFlag) {
    // 65,536 windows of a GPT with a wide vocabulary would be gigabytes of activations; the
    // evaluation takes what fits (and no more windows than the text has), the mean unchanged.
    ASSERT_EQ(wiggle(train_args("run", "--iters 4")).exit_code, 0);
    const std::string ckpt = " --checkpoint " + dir_ + "/run --data " + corpus_ + " --split all";
    const ProgramResult one = wiggle("eval" + ckpt + " --batch-size 1");
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const std::string limit = kSanitized ? "" : "ulimit -v 2000000; ";  // 2 GB of address space
    const ProgramResult huge =
        run_program("wiggle", "eval" + ckpt + " --batch-size 65536", limit + "timeout 60 ");
    ASSERT_EQ(huge.exit_code, 0) << huge.err;
    EXPECT_NEAR(number_after(huge.out, "all loss "), number_after(one.out, "all loss "), 1e-5);
}

TEST_F(WiggleRobustness, ASecondRunIntoTheSameFolderIsRefused) {
    const std::string log = dir_ + "/first.log";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const std::string cmd = "exec " + std::string(WIGGLE_BIN_DIR) + "/wiggle " +
                                train_args("shared", "--iters 100000 --log-interval 1") + " >" +
                                log + " 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    for (int i = 0; i < 600 && lines_of(read_text_file(log)).size() < 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const ProgramResult second = wiggle(train_args("shared", "--iters 8"));
    const ProgramResult resumed = wiggle("train --resume --out " + dir_ + "/shared --iters 8");
    kill(pid, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << read_text_file(log);
    expect_error(second, "another wiggle (process " + std::to_string(pid) + ") is training into '" +
                             dir_ + "/shared'");
    expect_error(resumed, "another wiggle (process " + std::to_string(pid) + ")");
    // once it has stopped, the folder is free again
    const ProgramResult after = wiggle("train --resume --out " + dir_ + "/shared --stop-after 1");
    EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST_F(WiggleRobustness, SimultaneousStartsDoNotRaceOnTheFolder) {
    // Four runs into one new folder at once: none fails to create it; one trains, and any that
    // overlap it are refused by the lock (never "File exists", never a mixed folder).
    std::vector<pid_t> pids;
    for (int i = 0; i < 4; ++i) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            const std::string cmd = "exec " + std::string(WIGGLE_BIN_DIR) + "/wiggle " +
                                    train_args("race/deeper", "--iters 6") + " >" + dir_ + "/race" +
                                    std::to_string(i) + ".log 2>&1";
            execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        pids.push_back(pid);
    }
    int ok = 0;
    for (size_t i = 0; i < pids.size(); ++i) {
        int status = 0;
        ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
        const std::string log = read_text_file(dir_ + "/race" + std::to_string(i) + ".log");
        EXPECT_EQ(log.find("cannot create"), std::string::npos) << log;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            ++ok;
        } else {
            EXPECT_NE(log.find("is training into"), std::string::npos) << log;
        }
    }
    EXPECT_GE(ok, 1);
    EXPECT_EQ(wiggle("train --resume --out " + dir_ + "/race/deeper --iters 8").exit_code, 0);
}

TEST_F(WiggleRobustness, AKilledSavesLeftoversAreCleanedUp) {
    ASSERT_EQ(wiggle(train_args("run", "--iters 4")).exit_code, 0);
    const std::string run = dir_ + "/run";
    // the checkpoint is one generation, named by the state, with model.safetensors its link
    struct stat gen, link;
    ASSERT_EQ(stat((run + "/model.4.safetensors").c_str(), &gen), 0);
    ASSERT_EQ(stat((run + "/model.safetensors").c_str(), &link), 0);
    EXPECT_EQ(gen.st_ino, link.st_ino);
    // what a save killed at various points leaves: temporary files, a newer generation that
    // model.state never named
    write(run + "/model.safetensors.tmp.99999", "half a file");
    write(run + "/model.state.tmp.99999", "half a state");
    write(run + "/model.6.safetensors", read_text_file(run + "/model.4.safetensors"));
    const ProgramResult r = wiggle("train --resume --out " + run + " --iters 6 --stop-after 5");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("resuming at iteration 4"), std::string::npos) << r.out;
    for (const char* gone : {"model.safetensors.tmp.99999", "model.state.tmp.99999",
                             "model.4.safetensors", "model.6.safetensors"}) {
        EXPECT_NE(access((run + "/" + gone).c_str(), F_OK), 0) << gone;
    }
    ASSERT_EQ(stat((run + "/model.5.safetensors").c_str(), &gen), 0);
    ASSERT_EQ(stat((run + "/model.safetensors").c_str(), &link), 0);
    EXPECT_EQ(gen.st_ino, link.st_ino);
}

}  // namespace
}  // namespace wiggle
