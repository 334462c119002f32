// Crash consistency of a run's folder (src/train/run_folder.h), with real faults in the real
// system calls: strace kills `wiggle train` (SIGKILL) at the k-th rename, fsync, link or unlink
// of its saves, or makes the k-th fsync or rename fail with ENOSPC (a full disk), for every
// k until the run no longer reaches a k-th call. After each fault, `wiggle train --resume`
// continues (a fresh start when the fault came before the first checkpoint was committed), and
// the final checkpoints equal an uninterrupted run's byte for byte, with no temporary file or
// stale generation left behind. The test prints the table of faults injected and runs resumed.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using wiggle::testing::lines_of;
using wiggle::testing::ProgramResult;
using wiggle::testing::read_text_file;
using wiggle::testing::run_program;
using wiggle::testing::write_temp_file;

// 8 iterations, a checkpoint every 4: two commits, and best.safetensors saved along the way.
const std::string kRun =
    " --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 4 --eval-iters 2"
    " --eval-interval 4 --progress lines --threads 1 --iters 8 --dropout 0.1";

bool strace_works() { return std::system("strace -f -o /dev/null true >/dev/null 2>&1") == 0; }

std::vector<std::string> folder_entries(const std::string& folder) {
    std::vector<std::string> out;
    if (DIR* d = opendir(folder.c_str())) {
        while (const dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name != "." && name != "..") out.push_back(name);
        }
        closedir(d);
    }
    return out;
}

struct Fault {
    std::string syscall;  // rename, fsync, link, unlink
    std::string action;   // "signal=KILL" or "error=ENOSPC"
};

TEST(WiggleCrash, AFaultAtAnySyscallOfASaveLosesNothing) {
    if (!strace_works()) GTEST_SKIP() << "strace is missing or cannot trace here";
    std::string text;
    for (int i = 0; i < 80; ++i) text += "to be or not to be, that is the question.\n";
    const std::string corpus = write_temp_file("crash_corpus.txt", text);
    const std::string root = ::testing::TempDir() + "crash/";
    std::system(("rm -rf '" + root + "' && mkdir -p '" + root + "'").c_str());
    auto train = [&](const std::string& out, const std::string& extra, const std::string& prefix) {
        return run_program("wiggle",
                           "train --data " + corpus + " --out " + root + out + kRun + extra,
                           prefix + "timeout 120 ");
    };

    ASSERT_EQ(train("reference", "", "").exit_code, 0);
    const std::string want_model = read_text_file(root + "reference/model.safetensors");
    const std::string want_best = read_text_file(root + "reference/best.safetensors");
    ASSERT_FALSE(want_model.empty());

    const std::vector<Fault> faults = {{"rename", "signal=KILL"}, {"fsync", "signal=KILL"},
                                       {"link", "signal=KILL"},   {"unlink", "signal=KILL"},
                                       {"fsync", "error=ENOSPC"}, {"rename", "error=ENOSPC"}};
    std::string table = "fault                      injected  resumed  fresh  identical\n";
    int total_injected = 0;
    for (const Fault& f : faults) {
        int injected = 0, resumed = 0, fresh = 0, identical = 0;
        for (int k = 1; k < 200; ++k) {
            const std::string out =
                f.syscall + "-" + f.action.substr(0, 5) + "-" + std::to_string(k);
            const std::string strace = "strace -f -o /dev/null -e trace=" + f.syscall +
                                       " -e inject=" + f.syscall + ":" + f.action +
                                       ":when=" + std::to_string(k) + " ";
            const ProgramResult faulty = train(out, "", strace);
            if (faulty.exit_code == 0) break;  // the run never reached a k-th call
            ++injected;
            SCOPED_TRACE(out);
            if (f.action == "error=ENOSPC") {  // a clean error, on one line
                EXPECT_EQ(faulty.exit_code, 1) << faulty.err;
                EXPECT_EQ(lines_of(faulty.err).size(), 1u) << faulty.err;
            }
            ProgramResult after =
                run_program("wiggle", "train --resume --out " + root + out + " --progress lines",
                            "timeout 120 ");
            if (after.exit_code != 0 && after.err.find("cannot resume") != std::string::npos) {
                ++fresh;  // killed before the first commit: nothing to resume, start again
                after = train(out, "", "");
            } else {
                ++resumed;
            }
            ASSERT_EQ(after.exit_code, 0) << after.err;
            const bool same = read_text_file(root + out + "/model.safetensors") == want_model &&
                              read_text_file(root + out + "/best.safetensors") == want_best;
            EXPECT_TRUE(same) << "the final checkpoint differs from the uninterrupted run's";
            identical += same;
            for (const std::string& name : folder_entries(root + out)) {
                EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
                if (name.starts_with("model.") && name.ends_with(".safetensors")) {
                    EXPECT_TRUE(name == "model.safetensors" || name == "model.8.safetensors")
                        << name;
                }
            }
            std::system(("rm -rf '" + root + out + "'").c_str());
        }
        EXPECT_GT(injected, 0) << f.syscall << " " << f.action << " never fired";
        total_injected += injected;
        char row[128];
        std::snprintf(row, sizeof row, "%-26s %8d %8d %6d %10d\n",
                      (f.syscall + " " + f.action).c_str(), injected, resumed, fresh, identical);
        table += row;
    }
    std::printf("%s", table.c_str());
    EXPECT_GT(total_injected, 40);
}

}  // namespace
}  // namespace wiggle
