// The `wiggle` command end to end, on a tiny model and a small generated corpus: train, sample
// and eval work together; a run stopped (by --stop-after or Ctrl-C) and resumed gives the same
// losses and the same final weights, bit for bit, as one that never stopped; KV-cached and
// recomputed sampling print the same text; and every bad input exits with one clear line.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using wiggle::testing::lines_of;
using wiggle::testing::ProgramResult;
using wiggle::testing::run_program;

// A 1-layer GPT that trains in milliseconds per iteration.
const std::string kTiny =
    " --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 4 --eval-iters 2"
    " --eval-interval 4 --progress lines --threads 1";

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spit(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}

class WiggleTool : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "/wiggle-tool-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        corpus_ = dir_ + "/corpus.txt";
        std::string text;
        const char* lines[] = {"to be or not to be, that is the question.\n",
                               "the rest is silence; we know what we are.\n",
                               "all the world's a stage, and all the men players.\n"};
        for (int i = 0; i < 40; ++i) text += lines[(i * 7) % 3];
        spit(corpus_, text);
    }
    void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    ProgramResult wiggle(const std::string& args, const std::string& env = "") {
        return run_program("wiggle", args, env);
    }
    std::string train_args(const std::string& out, const std::string& extra = "") {
        return "train --data " + corpus_ + " --out " + dir_ + "/" + out + kTiny + " " + extra;
    }

    std::string dir_, corpus_;
};

// The loss and validation columns of a metrics CSV (the timing columns differ run to run).
std::vector<std::string> loss_columns(const std::string& csv) {
    std::vector<std::string> out;
    for (const std::string& line : lines_of(csv)) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
        if (cells.size() < 5) continue;
        out.push_back(cells[0] + "," + cells[1] + "," + cells[2] + "," + cells[3] + "," + cells[4]);
    }
    return out;
}

TEST_F(WiggleTool, HelpOnEverySubcommand) {
    for (const char* sub : {"", "train", "sample", "eval", "tokenizer", "tokenizer train",
                            "tokenizer encode", "tokenizer decode"}) {
        const ProgramResult r = wiggle(std::string(sub) + " --help");
        EXPECT_EQ(r.exit_code, 0) << sub;
        EXPECT_NE(r.out.find("Usage:"), std::string::npos) << sub;
    }
    const std::string train = wiggle("train --help").out;
    for (const char* flag : {"--preset", "--data", "--resume", "--n-embd", "--metrics", "--out"})
        EXPECT_NE(train.find(flag), std::string::npos) << flag;
    const std::string sample = wiggle("sample --help").out;
    for (const char* flag :
         {"--checkpoint", "--prompt", "--num-chars", "--temperature", "--top-k", "--top-p",
          "--seed", "--cache-keep", "--exact", "--no-cache", "--dtype", "--num-samples"})
        EXPECT_NE(sample.find(flag), std::string::npos) << flag;
}

// The release is the project's (CMakeLists.txt), and the kernels line follows the environment.
TEST_F(WiggleTool, VersionNamesTheReleaseAndTheKernels) {
    const std::string cmake = slurp(std::string(WIGGLE_SOURCE_DIR) + "/CMakeLists.txt");
    const size_t at = cmake.find("project(wiggle VERSION ");
    ASSERT_NE(at, std::string::npos);
    const std::string release = cmake.substr(at + 23, cmake.find(' ', at + 23) - (at + 23));
    const ProgramResult r = wiggle("--version");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("wiggle " + release + " (", 0), 0u) << r.out;
    EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
    const ProgramResult generic = wiggle("--version", "WIGGLE_ISA=generic WIGGLE_NUM_THREADS=3 ");
    EXPECT_NE(generic.out.find("this CPU: generic kernels"), std::string::npos) << generic.out;
    EXPECT_NE(generic.out.find(", 3 threads"), std::string::npos) << generic.out;
    const ProgramResult no_amx = wiggle("--version", "WIGGLE_AMX=0 ");
    EXPECT_EQ(no_amx.out.find("AMX"), std::string::npos) << no_amx.out;
}

TEST_F(WiggleTool, TrainSampleEval) {
    const ProgramResult t = wiggle(train_args("run", "--iters 8"));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("done: 8 iterations"), std::string::npos) << t.out;
    for (const char* f :
         {"model.safetensors", "model.state", "best.safetensors", "metrics.csv", "loss.svg"})
        EXPECT_TRUE(std::ifstream(dir_ + "/run/" + f).good()) << f;
    const auto rows = lines_of(slurp(dir_ + "/run/metrics.csv"));
    ASSERT_EQ(rows.size(), 1u + 1u + 8u);  // header, the evaluation before training, 8 iterations
    EXPECT_EQ(rows[0], "iter,loss,val_loss,train_eval,lr,ms,tokens_per_s");
    EXPECT_NE(slurp(dir_ + "/run/loss.svg").find("<svg"), std::string::npos);

    const std::string ckpt = " --checkpoint " + dir_ + "/run";
    const ProgramResult s1 = wiggle("sample" + ckpt + " -n 40 --seed 3 --prompt 'to be'");
    ASSERT_EQ(s1.exit_code, 0) << s1.err;
    EXPECT_EQ(s1.out.rfind("to be", 0), 0u);
    EXPECT_EQ(s1.out.size(), 5u + 40u + 1u);  // prompt, 40 ASCII characters, newline
    // Same seed, same text; the KV cache and the full recompute agree.
    EXPECT_EQ(wiggle("sample" + ckpt + " -n 40 --seed 3 --prompt 'to be'").out, s1.out);
    EXPECT_EQ(wiggle("sample" + ckpt + " -n 40 --seed 3 --prompt 'to be' --no-cache").out, s1.out);
    // Longer than the block (8): the window slides the same way with and without the cache, in
    // every mode (the default keeps half the block; --exact is nanoGPT's crop); a prompt longer
    // than the block too.
    for (const char* mode : {"", " --exact", " --cache-keep 8", " --cache-keep 3",
                             " --cache-keep 1", " --prompt 'to be or not to be'"}) {
        const std::string args = " -n 30 --seed 5 --top-k 5 --temperature 0.8" + std::string(mode);
        const ProgramResult cached = wiggle("sample" + ckpt + args);
        ASSERT_EQ(cached.exit_code, 0) << mode << cached.err;
        EXPECT_EQ(cached.out, wiggle("sample" + ckpt + args + " --no-cache").out) << mode;
    }
    EXPECT_EQ(wiggle("sample" + ckpt + " -n 30 --seed 5 --exact").out,
              wiggle("sample" + ckpt + " -n 30 --seed 5 --cache-keep 8").out);
    EXPECT_EQ(wiggle("sample" + ckpt + " -n 30 --seed 5").out,
              wiggle("sample" + ckpt + " -n 30 --seed 5 --cache-keep 4").out);
    // bf16 weights: the cache and the full recompute still agree, in every window mode.
    for (const char* mode : {"", " --exact", " --cache-keep 3"}) {
        const std::string args = " -n 30 --seed 5 --dtype bf16" + std::string(mode);
        const ProgramResult cached = wiggle("sample" + ckpt + args);
        ASSERT_EQ(cached.exit_code, 0) << mode << cached.err;
        EXPECT_EQ(cached.out, wiggle("sample" + ckpt + args + " --no-cache").out) << mode;
    }
    // --num-samples: sample i, decoded in the batch, is the text of a single sample with seed
    // --seed + i, each followed by a line of dashes, through slides, in every dtype, cached or not.
    for (const char* mode : {"", " --dtype bf16", " --dtype int8", " --no-cache", " --exact"}) {
        const std::string args = " -n 30 --top-k 5 --prompt 'to be'" + std::string(mode);
        const ProgramResult many = wiggle("sample" + ckpt + args + " --seed 7 --num-samples 3");
        ASSERT_EQ(many.exit_code, 0) << mode << many.err;
        std::string want;
        for (int seed : {7, 8, 9}) {
            want += wiggle("sample" + ckpt + args + " --seed " + std::to_string(seed)).out +
                    "---------------\n";
        }
        EXPECT_EQ(many.out, want) << mode;
    }
    const ProgramResult stats = wiggle("sample" + ckpt + " -n 30 --stats");
    EXPECT_NE(stats.err.find("characters/s (KV cache, window keeps 4 of 8, "), std::string::npos)
        << stats.err;

    const ProgramResult e1 = wiggle("eval" + ckpt + " --data " + corpus_ + " --batch-size 1");
    ASSERT_EQ(e1.exit_code, 0) << e1.err;
    EXPECT_EQ(e1.out.rfind("val loss ", 0), 0u) << e1.out;
    // Batching and the padded last window do not change the loss.
    const ProgramResult e7 = wiggle("eval" + ckpt + " --data " + corpus_ + " --batch-size 7");
    const double l1 = std::stod(e1.out.substr(9)), l7 = std::stod(e7.out.substr(9));
    EXPECT_NEAR(l1, l7, 1e-5);
    EXPECT_EQ(wiggle("eval" + ckpt + " --data " + corpus_ + " --split all").exit_code, 0);
    // Weights rounded to bf16: a loss close to the float one (each weight moves by at most 2^-9
    // of itself).
    const ProgramResult eb =
        wiggle("eval" + ckpt + " --data " + corpus_ + " --batch-size 1 --dtype bf16");
    ASSERT_EQ(eb.exit_code, 0) << eb.err;
    EXPECT_NEAR(std::stod(eb.out.substr(9)), l1, 0.05);
    // int8 weights: the loss through the decoder's int8 arithmetic within 1% of the float one,
    // every matrix's quantization error reported; sampling is reproducible and any thread count
    // gives the same text.
    const ProgramResult e8 = wiggle("eval" + ckpt + " --data " + corpus_ + " --dtype int8");
    ASSERT_EQ(e8.exit_code, 0) << e8.err;
    EXPECT_NEAR(std::stod(e8.out.substr(9)), l1, 0.01 * l1);
    EXPECT_NE(e8.out.find("int8 weights"), std::string::npos) << e8.out;
    EXPECT_NE(e8.err.find("transformer.h.0.mlp.c_fc.weight"), std::string::npos) << e8.err;
    EXPECT_NE(e8.err.find("transformer.wte.weight"), std::string::npos) << e8.err;
    const std::string q8 = "sample" + ckpt + " -n 40 --seed 3 --dtype int8 --prompt 'to be'";
    const ProgramResult s8 = wiggle(q8 + " --threads 1");
    ASSERT_EQ(s8.exit_code, 0) << s8.err;
    EXPECT_EQ(s8.out.size(), 5u + 40u + 1u);
    EXPECT_EQ(wiggle(q8 + " --threads 2").out, s8.out);
    EXPECT_EQ(wiggle(q8 + " --threads 3").out, s8.out);
}

TEST_F(WiggleTool, ResumeIsBitExact) {
    // Dropout on, so the dropout stream must resume exactly too.
    const std::string common = "--iters 12 --dropout 0.1";
    ASSERT_EQ(wiggle(train_args("whole", common)).exit_code, 0);
    const ProgramResult first = wiggle(train_args("split", common + " --stop-after 5"));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("stopped (--stop-after) after iteration 5"), std::string::npos)
        << first.out;
    const ProgramResult second =
        wiggle("train --resume --out " + dir_ + "/split --progress lines --threads 1");
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.out.find("resuming at iteration 5"), std::string::npos) << second.out;

    const auto whole = loss_columns(slurp(dir_ + "/whole/metrics.csv"));
    const auto split = loss_columns(slurp(dir_ + "/split/metrics.csv"));
    ASSERT_EQ(whole.size(), 14u);
    EXPECT_EQ(split, whole);
    EXPECT_EQ(slurp(dir_ + "/split/model.safetensors"), slurp(dir_ + "/whole/model.safetensors"));
    EXPECT_EQ(slurp(dir_ + "/split/best.safetensors"), slurp(dir_ + "/whole/best.safetensors"));
}

TEST_F(WiggleTool, CtrlCSavesAndResumes) {
    const std::string out = dir_ + "/sig", log = dir_ + "/sig.log";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const std::string cmd = "exec " + std::string(WIGGLE_BIN_DIR) + "/wiggle " +
                                train_args("sig", "--iters 100000 --log-interval 1") + " >" + log +
                                " 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    // Wait until it is training (a few iteration lines), then press Ctrl-C.
    for (int i = 0; i < 600 && lines_of(slurp(log)).size() < 6; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_GE(lines_of(slurp(log)).size(), 6u) << slurp(log);
    kill(pid, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed instead of exiting cleanly";
    EXPECT_EQ(WEXITSTATUS(status), 130);  // as shells expect after Ctrl-C, once it has saved
    const std::string text = slurp(log);
    const auto at = text.find("interrupted after iteration ");
    ASSERT_NE(at, std::string::npos) << text;
    const int stopped = std::atoi(text.c_str() + at + 28);
    EXPECT_GT(stopped, 0);
    const ProgramResult resumed = wiggle("train --resume --out " + out + " --iters " +
                                         std::to_string(stopped + 3) + " --progress lines");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resuming at iteration " + std::to_string(stopped)),
              std::string::npos);
    EXPECT_NE(resumed.out.find("done: 3 iterations"), std::string::npos) << resumed.out;
}

TEST_F(WiggleTool, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
    const std::string cmd = std::string(WIGGLE_BIN_DIR) + "/wiggle " +
                            train_args("nan2", "--iters 12 --debug-nan-at 6") + " >" + dir_ +
                            "/nan.out 2>" + dir_ + "/nan.err";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    const std::string err = slurp(dir_ + "/nan.err");
    EXPECT_EQ(lines_of(err).size(), 1u) << err;
    EXPECT_NE(err.find("error: training loss is nan at iteration 6"), std::string::npos) << err;
    EXPECT_NE(err.find("the last good checkpoint is"), std::string::npos) << err;
    EXPECT_NE(err.find("(iteration 4)"), std::string::npos) << err;
    // The checkpoint of iteration 4 is intact and resumable.
    const ProgramResult resumed =
        wiggle("train --resume --out " + dir_ + "/nan2 --progress lines --stop-after 5");
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resuming at iteration 4"), std::string::npos) << resumed.out;
}

// One line on stderr, starting with "error: " and containing `what`; exit status non-zero.
void expect_error(const ProgramResult& r, const std::string& what) {
    EXPECT_NE(r.exit_code, 0) << what;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << "want '" << what << "' in: " << r.err;
}

TEST_F(WiggleTool, BadDataFiles) {
    const std::string empty = dir_ + "/empty.txt", binary = dir_ + "/bin.dat",
                      short_file = dir_ + "/short.txt", latin1 = dir_ + "/latin1.txt";
    spit(empty, "");
    spit(binary, std::string("\x7f"
                             "ELF\x02\x01\x01\0\0\0",
                             10));
    spit(short_file, "to be or not to be");  // 18 characters: splits of 16 and 2
    spit(latin1, "caf\xe9 au lait, caf\xe9 noir, caf\xe9 cr\xe8me et caf\xe9 glac\xe9\n");
    const std::string base = "train --out " + dir_ + "/bad" + kTiny + " --data ";
    expect_error(wiggle(base + empty), "data file '" + empty + "' is empty");
    expect_error(wiggle(base + binary), "looks binary");
    expect_error(wiggle(base + short_file), "too short");
    expect_error(wiggle(base + short_file), "block");
    expect_error(wiggle(base + latin1), latin1);
    expect_error(wiggle(base + dir_ + "/missing.txt"), "cannot open data file");
}

TEST_F(WiggleTool, Bf16MixedPrecisionTrainsResumesAndSavesFp32) {
    // --dtype bf16: the losses follow fp32's closely; a stopped run resumes bit for bit; the
    // checkpoint is fp32 (it samples like any other); the dtype cannot change on resume.
    const std::string common = "--iters 12 --dropout 0.1";
    ASSERT_EQ(wiggle(train_args("fp32", common)).exit_code, 0);
    const ProgramResult whole = wiggle(train_args("bf16", common + " --dtype bf16"));
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    EXPECT_NE(whole.out.find("bf16 mixed precision"), std::string::npos) << whole.out;
    const auto fp32 = loss_columns(slurp(dir_ + "/fp32/metrics.csv"));
    const auto bf16 = loss_columns(slurp(dir_ + "/bf16/metrics.csv"));
    ASSERT_EQ(bf16.size(), fp32.size());
    EXPECT_NE(bf16, fp32);                      // it does round
    for (size_t i = 1; i < fp32.size(); ++i) {  // the losses and validation losses logged
        std::stringstream fs(fp32[i]), bs(bf16[i]);
        for (std::string f, b; std::getline(fs, f, ',') && std::getline(bs, b, ',');) {
            if (f.empty() || b.empty()) {
                EXPECT_EQ(f.empty(), b.empty()) << fp32[i] << " vs " << bf16[i];
                continue;
            }
            EXPECT_NEAR(std::stod(b), std::stod(f), 0.02 * std::fabs(std::stod(f)))
                << fp32[i] << " vs " << bf16[i];
        }
    }
    ASSERT_EQ(wiggle(train_args("split", common + " --dtype bf16 --stop-after 5")).exit_code, 0);
    const ProgramResult resumed =
        wiggle("train --resume --out " + dir_ + "/split --progress lines --threads 2");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(loss_columns(slurp(dir_ + "/split/metrics.csv")), bf16);
    EXPECT_EQ(slurp(dir_ + "/split/model.safetensors"), slurp(dir_ + "/bf16/model.safetensors"));
    const ProgramResult s = wiggle("sample --checkpoint " + dir_ + "/bf16 -n 20 --seed 1");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    expect_error(wiggle("train --resume --out " + dir_ + "/fp32 --iters 16 --dtype bf16"),
                 "--dtype cannot change when resuming (the run was started with fp32, got bf16)");
    expect_error(wiggle(train_args("bad", "--dtype fp16")), "--dtype got 'fp16', not fp32 or bf16");
    // Without AVX512_BF16 (here: AVX-512 turned off) the portable bf16 products run, and say so.
    const ProgramResult portable =
        wiggle(train_args("portable", "--iters 2 --dtype bf16"), "WIGGLE_ISA=avx2 ");
    ASSERT_EQ(portable.exit_code, 0) << portable.err;
    EXPECT_NE(portable.out.find("no AVX512_BF16, so the bf16 products run on portable code"),
              std::string::npos)
        << portable.out;
}

TEST_F(WiggleTool, BadFlags) {
    const std::string base = train_args("flags");
    expect_error(wiggle(base + " --n-embd 30 --n-head 4"),
                 "--n-embd 30 is not divisible by --n-head 4");
    expect_error(wiggle(base + " --batch-size 0"), "--batch-size must be positive, got 0");
    expect_error(wiggle(base + " --n-layer abc"), "--n-layer got 'abc', not a number");
    expect_error(wiggle(base + " --preset huge"), "unknown preset 'huge'");
    expect_error(wiggle(base + " --grad-accum 0"), "--grad-accum must be in [1, 65536], got 0");
    expect_error(wiggle(base + " --zero 2"), "--zero must be 0 or 1, got 2");
    expect_error(wiggle(base + " --colour red"), "colour");
    expect_error(wiggle("frobnicate"), "frobnicate");
    ASSERT_EQ(wiggle(train_args("ok", "--iters 4")).exit_code, 0);
    const std::string ckpt = " --checkpoint " + dir_ + "/ok";
    expect_error(wiggle("sample" + ckpt + " --temperature -1"),
                 "--temperature must not be negative, got -1");
    expect_error(wiggle("sample" + ckpt + " --top-p 0"), "--top-p must be in (0, 1]");
    expect_error(wiggle("sample" + ckpt + " --top-k -3"), "--top-k must be 0 or more");
    expect_error(wiggle("sample" + ckpt + " -n -5"), "--num-chars must be 0 or more");
    expect_error(wiggle("sample" + ckpt + " --num-samples 0"),
                 "--num-samples must be in [1, 1024], got 0");
    expect_error(wiggle("sample" + ckpt + " --cache-keep 9"),
                 "--cache-keep must be in [0, 8] (the checkpoint's block_size), got 9");
    expect_error(wiggle("sample" + ckpt + " --exact --cache-keep 3"),
                 "--exact and --cache-keep 3 contradict each other");
    expect_error(wiggle("eval" + ckpt + " --split test"), "unknown --split 'test'");
    expect_error(wiggle("sample" + ckpt + " --dtype fp16"), "unknown --dtype 'fp16'");
    expect_error(wiggle("eval --checkpoint missing --dtype int4"), "unknown --dtype 'int4'");
    expect_error(wiggle("sample" + ckpt + " --dtype int8 --no-cache"),
                 "--no-cache and --dtype int8 cannot be combined");
    // A resumed run keeps its settings.
    expect_error(wiggle("train --resume --out " + dir_ + "/ok --lr 0.5"),
                 "--lr cannot change when resuming");
    expect_error(wiggle("train --resume --out " + dir_ + "/ok --grad-accum 2"),
                 "--grad-accum cannot change when resuming");
    expect_error(wiggle("train --resume --out " + dir_ + "/nothing-here"), "cannot resume");
    const std::string other = dir_ + "/other.txt";
    spit(other, slurp(corpus_) + "one more line of text.\n");
    expect_error(wiggle("train --resume --out " + dir_ + "/ok --iters 8 --data " + other),
                 "is not the file this run was trained on");
}

#ifndef WIGGLE_WITH_MPI
// A wiggle built without MPI, started by mpirun (as its environment says): one clear line, not N
// processes each training alone on a world of one.
TEST_F(WiggleTool, UnderMpirunWithoutMpiIsOneClearLine) {
    const ProgramResult r = wiggle(train_args("mpi"), "OMPI_COMM_WORLD_SIZE=2 ");
    expect_error(r, "started by mpirun with 2 ranks, but this wiggle was built without MPI");
}
#endif

TEST_F(WiggleTool, PromptOutsideTheVocabulary) {
    ASSERT_EQ(wiggle(train_args("v", "--iters 4")).exit_code, 0);
    expect_error(wiggle("sample --checkpoint " + dir_ + "/v --prompt 'to Be'"),
                 "the prompt has the character 'B' (U+0042) at position 3, which is not in the "
                 "vocabulary");
    expect_error(wiggle("eval --checkpoint " + dir_ + "/v --data " +
                        std::string(WIGGLE_SOURCE_DIR) + "/CONTRIBUTING.md"),
                 "not in the vocabulary");
}

TEST_F(WiggleTool, BadCheckpoints) {
    ASSERT_EQ(wiggle(train_args("a", "--iters 4")).exit_code, 0);
    ASSERT_EQ(wiggle(train_args("b", "--iters 4 --seed 7")).exit_code, 0);
    const std::string model = slurp(dir_ + "/a/model.safetensors");
    spit(dir_ + "/cut.safetensors", model.substr(0, model.size() / 2));
    expect_error(wiggle("sample --checkpoint " + dir_ + "/cut.safetensors"), "is truncated");
    std::string flipped = model;
    flipped[flipped.size() - 10] ^= 0x40;
    spit(dir_ + "/flip.safetensors", flipped);
    expect_error(wiggle("eval --checkpoint " + dir_ + "/flip.safetensors --data " + corpus_),
                 "is corrupted");
    spit(dir_ + "/text.safetensors", "hello, I am not a checkpoint at all");
    expect_error(wiggle("sample --checkpoint " + dir_ + "/text.safetensors"),
                 "not a safetensors file");

    // Training states: wrong magic, truncated, and one that belongs to another run.
    const std::string state = slurp(dir_ + "/a/model.state");
    spit(dir_ + "/a/model.state", "NOTWIGGLE" + state.substr(9));
    expect_error(wiggle("train --resume --out " + dir_ + "/a --iters 8"), "wrong magic");
    spit(dir_ + "/a/model.state", state.substr(0, state.size() - 20));
    expect_error(wiggle("train --resume --out " + dir_ + "/a --iters 8"), "is truncated");
    spit(dir_ + "/a/model.state", slurp(dir_ + "/b/model.state"));
    expect_error(wiggle("train --resume --out " + dir_ + "/a --iters 8"), "does not belong to");

    // A checkpoint of another configuration under the run's name.
    ASSERT_EQ(wiggle(train_args("wide", "--iters 4 --n-embd 32")).exit_code, 0);
    spit(dir_ + "/a/model.state", state);
    spit(dir_ + "/a/model.safetensors", slurp(dir_ + "/wide/model.safetensors"));
    expect_error(wiggle("train --resume --out " + dir_ + "/a --iters 8"),
                 "comes from another configuration (n_layer 1, n_head 2, n_embd 32");
}

}  // namespace
}  // namespace wiggle
