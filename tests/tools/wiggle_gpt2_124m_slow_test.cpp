// GPT-2 at full size through the `wiggle` command: a randomly initialised model of exactly 124M's
// shapes (vocab 50257, 1024 positions, 12 layers, 12 heads, n_embd 768, biases, tied lm_head),
// written here in Hugging Face's layout (transformers' names, Conv1D weights (in, out), no
// config.json: wiggle infers 124M from the shapes), loads, samples, evaluates and takes
// fine-tuning steps, each child within a memory bound far below the machine's.
// The oracles: the same seed gives the same text, with or without the KV cache; a random model's
// loss is near ln(50257), the loss of a uniform guess; fine-tuning lowers the loss of its text.
// Needs GPT-2's tokenizer files (data/gpt2: scripts/fetch-data --gpt2; skipped without them).
// Not here: the numbers of a forward or backward pass (tests/train/hf_checkpoint_test.cpp checks
// those against PyTorch on small GPT-2s), speed (bench/gpt2-vs-pytorch).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "run_program.h"
#include "train/safetensors.h"
#include "util/py_random.h"

namespace wiggle {
namespace {

using wiggle::testing::lines_of;
using wiggle::testing::number_after;
using wiggle::testing::read_text_file;
using wiggle::testing::write_temp_file;

constexpr int64_t kVocab = 50257, kPositions = 1024, kLayers = 12, kEmbd = 768;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// GPT-2 124M at random in Hugging Face's layout: GPT-2's init (normal(0, 0.02), the residual
// projections at 0.02 / sqrt(2 n_layer), LayerNorms 1 and 0, biases 0), the names of
// GPT2LMHeadModel's save_pretrained, the tied lm_head left out, metadata {"format": "pt"}.
void write_random_gpt2_124m(const std::string& path) {
    PyRandom rng(124);
    SafetensorsWriter w;
    const std::string t = "transformer.";
    auto normal = [&](const std::string& name, std::vector<int64_t> shape, double std) {
        const int64_t n = shape[0] * (shape.size() > 1 ? shape[1] : 1);
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = float(rng.gauss(0.0, std));
        w.add(name, v.data(), std::move(shape));
    };
    auto constant = [&](const std::string& name, int64_t n, float value) {
        const std::vector<float> v(size_t(n), value);
        w.add(name, v.data(), {n});
    };
    const int64_t C = kEmbd;
    const double proj_std = 0.02 / std::sqrt(2.0 * double(kLayers));
    normal(t + "wte.weight", {kVocab, C}, 0.02);
    normal(t + "wpe.weight", {kPositions, C}, 0.02);
    for (int l = 0; l < kLayers; ++l) {
        const std::string h = t + "h." + std::to_string(l) + ".";
        constant(h + "ln_1.weight", C, 1.0f);
        constant(h + "ln_1.bias", C, 0.0f);
        normal(h + "attn.c_attn.weight", {C, 3 * C}, 0.02);  // Conv1D: (in, out)
        constant(h + "attn.c_attn.bias", 3 * C, 0.0f);
        normal(h + "attn.c_proj.weight", {C, C}, proj_std);
        constant(h + "attn.c_proj.bias", C, 0.0f);
        constant(h + "ln_2.weight", C, 1.0f);
        constant(h + "ln_2.bias", C, 0.0f);
        normal(h + "mlp.c_fc.weight", {C, 4 * C}, 0.02);
        constant(h + "mlp.c_fc.bias", 4 * C, 0.0f);
        normal(h + "mlp.c_proj.weight", {4 * C, C}, proj_std);
        constant(h + "mlp.c_proj.bias", C, 0.0f);
    }
    constant(t + "ln_f.weight", C, 1.0f);
    constant(t + "ln_f.bias", C, 0.0f);
    w.set_metadata("format", "pt");
    w.write(path);
}

struct Child {
    int exit_code = -1;
    std::string out, err;
    double peak_gib = 0;  // the child's maximum resident set size
};

// `wiggle <args>` through the shell (args as written), run in the source tree as a user runs it
// (GPT-2's tokenizer is data/gpt2 there). run_program's popen cannot say how much memory one
// child used, so this forks and waits with wait4, which gives the child's own peak (the shell
// execs wiggle: one process).
Child wiggle(const std::string& args) {
    // ctest runs this suite's tests as processes side by side: each its own files
    const std::string tag = ::testing::TempDir() + "gpt2-124m-" + std::to_string(getpid());
    const std::string out = tag + ".stdout", err = tag + ".stderr";
    const std::string cmd = "exec '" + std::string(WIGGLE_BIN_DIR) + "/wiggle' " + args + " >'" +
                            out + "' 2>'" + err + "'";
    Child r;
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return r;
    if (pid == 0) {
        if (chdir(WIGGLE_SOURCE_DIR) != 0) _exit(126);
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    if (wait4(pid, &status, 0, &usage) != pid) return r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_text_file(out);
    r.err = read_text_file(err);
    r.peak_gib = double(usage.ru_maxrss) * 1024.0 / kGiB;  // ru_maxrss is in KiB on Linux
    std::remove(out.c_str());
    std::remove(err.c_str());
    std::printf("  wiggle %s: exit %d, peak %.2f GiB\n", args.substr(0, args.find(' ')).c_str(),
                r.exit_code, r.peak_gib);
    return r;
}

// Loss per token of `wiggle eval` ("all loss 10.9 per token ...").
double eval_loss(const std::string& checkpoint, const std::string& data, double max_gib) {
    const Child e = wiggle("eval -c " + checkpoint + " --data " + data + " --split all");
    EXPECT_EQ(e.exit_code, 0) << e.err;
    EXPECT_LT(e.peak_gib, max_gib) << "wiggle eval -c " << checkpoint;
    const double loss = number_after(e.out, "all loss ");
    std::printf("  loss %.4f per token\n", loss);
    return loss;
}

// The metrics CSV's column `name` of the row of iteration `iter` (NaN if absent or empty).
double metric(const std::string& csv, int iter, const std::string& name) {
    const std::vector<std::string> lines = lines_of(csv);
    if (lines.empty()) return std::nan("");
    auto cells = [](const std::string& line) {
        std::vector<std::string> c;
        for (size_t at = 0;;) {
            const size_t comma = line.find(',', at);
            c.push_back(line.substr(at, comma - at));
            if (comma == std::string::npos) return c;
            at = comma + 1;
        }
    };
    const std::vector<std::string> header = cells(lines[0]);
    for (size_t i = 1; i < lines.size(); ++i) {
        const std::vector<std::string> row = cells(lines[i]);
        if (row.empty() || row[0] != std::to_string(iter)) continue;
        for (size_t k = 0; k < header.size() && k < row.size(); ++k) {
            if (header[k] == name && !row[k].empty()) return std::strtod(row[k].c_str(), nullptr);
        }
    }
    return std::nan("");
}

class WiggleGpt2_124M : public ::testing::Test {
  protected:
    // The model is written once per test program (about 500 MB); each test gets its own folder.
    static void SetUpTestSuite() {
        if (read_text_file(std::string(WIGGLE_SOURCE_DIR) + "/data/gpt2/vocab.bpe").empty()) return;
        model_ = new std::string(::testing::TempDir() + "gpt2-124m-random-" +
                                 std::to_string(getpid()) + ".safetensors");
        write_random_gpt2_124m(*model_);
    }
    static void TearDownTestSuite() {
        if (model_ != nullptr) std::remove(model_->c_str());
        delete model_;
        model_ = nullptr;
    }
    void SetUp() override {
        if (model_ == nullptr) {
            GTEST_SKIP() << "no GPT-2 files in " << WIGGLE_SOURCE_DIR
                         << "/data/gpt2 (scripts/fetch-data --gpt2)";
        }
        // Plain English, repeated: 675 GPT-2 tokens, the last tenth of the text (67) validates.
        std::string text;
        const char* lines[] = {
            "First Citizen: Before we proceed any further, hear me speak.\n",
            "All: Speak, speak.\n",
            "First Citizen: You are all resolved rather to die than to famish?\n",
            "All: Resolved. resolved.\n"};
        for (int i = 0; i < 60; ++i) text += lines[i % 4];
        text_ = write_temp_file("gpt2-124m-text.txt", text);
    }

    static std::string* model_;
    std::string text_;
};
std::string* WiggleGpt2_124M::model_ = nullptr;

TEST_F(WiggleGpt2_124M, LoadsAndSamples) {
    const std::string prompt = " --prompt 'Hello, my name is'";
    // A Hugging Face file has no tokenizer: GPT-2's is the default for its 50257 tokens.
    const Child a = wiggle("sample -c " + *model_ + " -n 8 --seed 1" + prompt);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out.rfind("Hello, my name is", 0), 0u) << a.out;  // the prompt's tokens echoed
    EXPECT_GT(a.out.size(), std::string("Hello, my name is\n").size()) << a.out;
    EXPECT_LT(a.peak_gib, 3.0);
    const Child b = wiggle("sample -c " + *model_ + " -n 8 --seed 1 --tokenizer gpt2" + prompt);
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(b.out, a.out) << "the same seed, another text";
    const Child full = wiggle("sample -c " + *model_ + " -n 8 --seed 1 --no-cache" + prompt);
    ASSERT_EQ(full.exit_code, 0) << full.err;
    EXPECT_EQ(full.out, a.out) << "the KV cache and the full recompute disagree";
    const Child other = wiggle("sample -c " + *model_ + " -n 8 --seed 2" + prompt);
    ASSERT_EQ(other.exit_code, 0) << other.err;
    EXPECT_NE(other.out, a.out) << "seeds 1 and 2 drew the same 8 of 50257 tokens";
    // bf16 weights load and sample too
    const Child bf16 = wiggle("sample -c " + *model_ + " -n 8 --seed 1 --dtype bf16" + prompt);
    ASSERT_EQ(bf16.exit_code, 0) << bf16.err;
    EXPECT_EQ(bf16.out.rfind("Hello, my name is", 0), 0u) << bf16.out;
    EXPECT_LT(bf16.peak_gib, 3.0);
}

TEST_F(WiggleGpt2_124M, EvaluatesNearTheUniformLoss) {
    // std 0.02 weights make nearly flat logits: the loss of a uniform guess over 50257 tokens
    const double loss = eval_loss(*model_, text_, 4.0);
    EXPECT_NEAR(loss, std::log(double(kVocab)), 0.5);
}

TEST_F(WiggleGpt2_124M, FineTunes) {
    const std::string out = ::testing::TempDir() + "gpt2-124m-finetune-" + std::to_string(getpid());
    std::system(("rm -rf '" + out + "'").c_str());
    const Child t = wiggle("train --init-from " + *model_ + " --tokenizer gpt2 --data " + text_ +
                           " --batch-size 4 --block-size 64 --iters 3 --lr 1e-4 --min-lr 1e-5"
                           " --warmup 0 --eval-interval 3 --eval-iters 1 --progress lines --out " +
                           out);
    ASSERT_EQ(t.exit_code, 0) << t.out << t.err;
    EXPECT_NE(t.out.find("123702528 parameters"), std::string::npos) << t.out;  // wpe cropped to 64
    // Training holds the weights, their gradients and AdamW's two moments (2 GB) and a batch's
    // activations; a save writes the weights and moments from where they lie (the state's copy
    // of the moments aside: 1 GB).
    EXPECT_LT(t.peak_gib, 4.0);
    const std::string csv = read_text_file(out + "/metrics.csv");
    for (int iter = 1; iter <= 3; ++iter) {
        EXPECT_TRUE(std::isfinite(metric(csv, iter, "loss"))) << "iteration " << iter << "\n"
                                                              << csv;
    }
    const double val0 = metric(csv, 0, "val_loss"), val3 = metric(csv, 3, "val_loss");
    EXPECT_NEAR(val0, std::log(double(kVocab)), 0.5) << csv;
    EXPECT_LT(val3, val0) << csv;

    // The run's checkpoint loads in sample and eval, and predicts its text better than the start.
    const Child s = wiggle("sample -c " + out + " -n 8 --seed 1 --prompt 'Hello, my name is'");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.out.rfind("Hello, my name is", 0), 0u) << s.out;
    EXPECT_LT(s.peak_gib, 3.0);
    const double before = eval_loss(*model_, text_, 4.0);
    const double after = eval_loss(out, text_, 4.0);
    EXPECT_LT(after, before - 0.5) << "3 steps at lr 1e-4 on a repeated text";
    std::system(("rm -rf '" + out + "'").c_str());
}

}  // namespace
}  // namespace wiggle
