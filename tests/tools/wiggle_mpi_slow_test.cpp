// Data-parallel training over MPI (mpirun): N ranks give byte-identical checkpoints and the same
// metrics and optimizer state as one process with --grad-accum N, for N = 2 and 3 (3 ranks on this
// machine's cores, oversubscribed), with dropout on, with and without --zero 1, over shared memory
// and over TCP; a stopped run resumes exactly on as many ranks and refuses another count; a killed
// rank ends the job at once and leaves the last checkpoint resumable. Skipped when wiggle was
// built without MPI.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "run_program.h"
#include "train/train_state.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using testing::lines_of;
using testing::ProgramResult;
using testing::read_text_file;

#ifdef WIGGLE_MPIRUN
constexpr const char* kMpirun = WIGGLE_MPIRUN;
#else
constexpr const char* kMpirun = "";
#endif

// 60,000 characters of a toy language.
std::string corpus() {
    PyRandom rng(11);
    const std::string letters = "abcdefghijklmnop";
    std::string text;
    while (text.size() < 60000) {
        const int n = static_cast<int>(rng.randint(1, 8));
        for (int i = 0; i < n; ++i) text += letters[rng.randbelow(letters.size())];
        text += rng.randbelow(6) == 0 ? ".\n" : " ";
    }
    return testing::write_temp_file("wiggle_mpi_corpus.txt", text);
}

class WiggleMpi : public ::testing::Test {
  protected:
    void SetUp() override {
#ifndef WIGGLE_WITH_MPI
        GTEST_SKIP() << "wiggle was built without MPI";
#endif
        std::string tmpl = ::testing::TempDir() + "/wiggle-mpi-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        data_ = corpus();
    }
    void TearDown() override {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    // A small GPT, dropout on, 8 iterations with evaluations (and checkpoints) every 4.
    std::string args(const std::string& out, const std::string& more = "") const {
        return "train --data " + data_ +
               " --n-layer 2 --n-head 2 --n-embd 32 --block-size 16 --batch-size 4 --dropout 0.1"
               " --iters 8 --eval-interval 4 --eval-iters 2 --threads 1 --progress lines --out " +
               dir_ + "/" + out + " " + more;
    }
    // mpirun -np N wiggle ... (as root too; more ranks than cores; Open MPI's own output dropped
    // from stdout, stderr kept)
    ProgramResult mpirun(int ranks, const std::string& wiggle_args,
                         const std::string& mpi_flags = "") const {
        const std::string cmd = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " +
                                std::string(kMpirun) + " --oversubscribe " + mpi_flags + " -np " +
                                std::to_string(ranks) + " " + WIGGLE_BIN_DIR + "/wiggle " +
                                wiggle_args;
        return shell(cmd);
    }
    static ProgramResult shell(const std::string& cmd) {
        ProgramResult r;
        FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
        char buffer[4096];
        for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
        const int status = pclose(pipe);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
    }
    std::string file(const std::string& run, const std::string& name) const {
        return read_text_file(dir_ + "/" + run + "/" + name);
    }
    // The loss columns of the metrics (iter, loss, val_loss, train_eval, lr).
    std::vector<std::string> losses(const std::string& run) const {
        std::vector<std::string> out;
        for (const std::string& line : lines_of(file(run, "metrics.csv"))) {
            size_t cut = 0;
            for (int commas = 0; cut < line.size() && commas < 5; ++cut) commas += line[cut] == ',';
            out.push_back(line.substr(0, cut));
        }
        return out;
    }
    void expect_same_run(const std::string& want, const std::string& got) const {
        SCOPED_TRACE(got + " against " + want);
        EXPECT_FALSE(file(want, "model.safetensors").empty());
        EXPECT_EQ(file(got, "model.safetensors"), file(want, "model.safetensors"));
        EXPECT_EQ(file(got, "best.safetensors"), file(want, "best.safetensors"));
        EXPECT_EQ(losses(got), losses(want));
        const TrainState a = load_train_state(dir_ + "/" + want + "/model.state");
        const TrainState b = load_train_state(dir_ + "/" + got + "/model.state");
        EXPECT_EQ(b.adam_m, a.adam_m);
        EXPECT_EQ(b.adam_v, a.adam_v);
        EXPECT_EQ(b.adam_t, a.adam_t);
        EXPECT_EQ(b.dropout_counter, a.dropout_counter);
        EXPECT_EQ(b.batches_drawn, a.batches_drawn);
        EXPECT_EQ(b.batch_rng.mt, a.batch_rng.mt);
        EXPECT_EQ(b.batch_rng.index, a.batch_rng.index);
    }

    std::string dir_, data_;
};

TEST_F(WiggleMpi, RanksGiveTheBitsOfGradientAccumulation) {
    for (int n : {2, 3}) {
        const std::string one = "accum" + std::to_string(n);
        const ProgramResult single =
            testing::run_program("wiggle", args(one, "--grad-accum " + std::to_string(n)));
        ASSERT_EQ(single.exit_code, 0) << single.err;
        for (const std::string zero : {"0", "1"}) {
            const std::string run = "ranks" + std::to_string(n) + "_zero" + zero;
            const ProgramResult r = mpirun(n, args(run, "--zero " + zero));
            ASSERT_EQ(r.exit_code, 0) << r.out;
            EXPECT_NE(r.out.find(std::to_string(n) + " micro-batches"), std::string::npos) << r.out;
            expect_same_run(one, run);
            const TrainState s = load_train_state(dir_ + "/" + run + "/model.state");
            EXPECT_EQ(s.ranks, n);
        }
    }
}

TEST_F(WiggleMpi, OverTcpTheSameBits) {
    ASSERT_EQ(mpirun(2, args("shm")).exit_code, 0);
    const ProgramResult tcp = mpirun(2, args("tcp"), "--mca btl tcp,self");
    ASSERT_EQ(tcp.exit_code, 0) << tcp.out;
    expect_same_run("shm", "tcp");
}

TEST_F(WiggleMpi, ResumesExactlyOnAsManyRanks) {
    ASSERT_EQ(mpirun(2, args("whole", "--zero 1")).exit_code, 0);
    const ProgramResult stop = mpirun(2, args("split", "--zero 1 --stop-after 3"));
    ASSERT_EQ(stop.exit_code, 0) << stop.out;
    EXPECT_NE(stop.out.find("stopped (--stop-after) after iteration 3"), std::string::npos)
        << stop.out;
    // another number of ranks: one clear line, nothing changed
    const ProgramResult three = mpirun(3, "train --resume --out " + dir_ + "/split");
    EXPECT_NE(three.exit_code, 0);
    EXPECT_NE(three.out.find("error: the run in '" + dir_ +
                             "/split' was trained on 2 ranks, "
                             "this is 3"),
              std::string::npos)
        << three.out;
    const ProgramResult one =
        testing::run_program("wiggle", "train --resume --out " + dir_ + "/split");
    EXPECT_EQ(one.exit_code, 1);
    EXPECT_EQ(lines_of(one.err).size(), 1u) << one.err;
    EXPECT_NE(one.err.find("was trained on 2 ranks, this is 1"), std::string::npos) << one.err;
    // the same number: the run continues as if it had never stopped (ZeRO's moments included)
    const ProgramResult resume =
        mpirun(2, "train --resume --progress lines --out " + dir_ + "/split");
    ASSERT_EQ(resume.exit_code, 0) << resume.out;
    EXPECT_NE(resume.out.find("resuming at iteration 3"), std::string::npos) << resume.out;
    expect_same_run("whole", "split");
}

TEST_F(WiggleMpi, AKilledRankEndsTheJobAndTheCheckpointResumes) {
    // A long run: wait for its first checkpoint (iteration 4), then kill -9 one rank.
    const std::string log = dir_ + "/killed.log";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);  // a group of its own, to clean up after a hang
        const std::string cmd = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 exec " +
                                std::string(kMpirun) + " --oversubscribe -np 2 " + WIGGLE_BIN_DIR +
                                "/wiggle " + args("killed", "--iters 1000000") + " >" + log +
                                " 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const std::string state = dir_ + "/killed/model.state";
    for (int i = 0; i < 1200 && !std::filesystem::exists(state); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::filesystem::exists(state)) << read_text_file(log);
    // a rank: a child of mpirun running wiggle
    const ProgramResult ranks = shell("pgrep -P " + std::to_string(pid) + " -f 'bin/wiggle train'");
    const std::vector<std::string> pids = lines_of(ranks.out);
    ASSERT_FALSE(pids.empty()) << ranks.out;
    kill(static_cast<pid_t>(std::stoi(pids.back())), SIGKILL);
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (done == 0) {  // a hang: clean up, then fail
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        FAIL() << "the job went on after a rank was killed\n" << read_text_file(log);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_TRUE(!WIFEXITED(status) || WEXITSTATUS(status) != 0) << read_text_file(log);
    // the last checkpoint is whole: it resumes
    const ProgramResult resume =
        mpirun(2, "train --resume --iters " + std::to_string(load_train_state(state).iter + 2) +
                      " --progress lines --out " + dir_ + "/killed");
    ASSERT_EQ(resume.exit_code, 0) << resume.out;
    EXPECT_NE(resume.out.find("done: 2 iterations"), std::string::npos) << resume.out;
}

}  // namespace
}  // namespace wiggle
