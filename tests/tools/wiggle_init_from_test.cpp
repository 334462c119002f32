// `wiggle train --init-from` end to end: GPT-2 in Hugging Face's layout (the tiny "hub" fixture,
// GPT-2's 50,257-token vocabulary) fine-tuned on a text with its context cropped, the loss going
// down from iteration 0, its checkpoint sampled and evaluated, and resumed bit for bit; `sample`
// and `eval` on the fixture itself, against a greedy decode and a loss computed here by another
// route (a logits-only forward per window, which tests/train/hf_checkpoint_test.cpp compares with
// PyTorch, and −log softmax in double); a character model fine-tuned on its own characters; and
// every bad start (an incompatible flag, a longer block, a missing file, a file without a
// tokenizer, another tokenizer, another vocabulary) as one line. The GPT-2 tests skip without
// data/gpt2 (scripts/fetch-data --gpt2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "nn/gpt_model.h"
#include "run_program.h"
#include "train/checkpoint.h"
#include "train/corpus.h"

namespace wiggle {
namespace {

using wiggle::testing::expect_one_error_line;
using wiggle::testing::lines_of;
using wiggle::testing::number_after;
using wiggle::testing::ProgramResult;
using wiggle::testing::read_text_file;
using wiggle::testing::run_program;
using wiggle::testing::write_temp_file;

const std::string kSource = WIGGLE_SOURCE_DIR;
const std::string kGpt2Dir = kSource + "/data/gpt2";
const std::string kHub = std::string(WIGGLE_FIXTURE_DIR) + "/gpt2_hf/hub/model.safetensors";
const std::string kLmHead = std::string(WIGGLE_FIXTURE_DIR) + "/gpt2_hf/lm_head/model.safetensors";

bool have_gpt2() { return !read_text_file(kGpt2Dir + "/vocab.bpe").empty(); }

const std::string kNoGpt2 = "no GPT-2 files in " + kGpt2Dir + " (scripts/fetch-data --gpt2)";

// Runs wiggle in the source tree, where the default tokenizer "gpt2" finds data/gpt2.
ProgramResult wiggle(const std::string& args) {
    return run_program("wiggle", args, "cd '" + kSource + "' && ");
}

// The validation loss the run printed after iteration `iter` ("step 12 loss ... val 9.87"), or NaN.
double val_after(const std::string& out, int iter) {
    for (const std::string& line : lines_of(out)) {
        if (line.rfind("step", 0) != 0 || line.find(" val ") == std::string::npos) continue;
        if (std::strtol(line.c_str() + 4, nullptr, 10) == iter) return number_after(line, " val ");
    }
    return std::nan("");
}

// −log softmax(row)[target] in double.
double nll(const float* row, size_t V, int target) {
    const double mx = *std::max_element(row, row + V);
    double z = 0.0;
    for (size_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
    return mx + std::log(z) - double(row[target]);
}

// `wiggle eval`'s loss by another route: each window of up to block_size predictions through a
// logits-only forward of its own length, every prediction's loss in double, their mean.
double windowed_loss(const GptWeights& w, const std::vector<int>& seq) {
    const size_t T = w.config().block_size, V = w.config().vocab_size, preds = seq.size() - 1;
    GptActivations acts;
    double sum = 0.0;
    for (size_t start = 0; start < preds; start += T) {
        const size_t len = std::min(T, preds - start);
        gpt_forward(acts, w, seq.data() + start, nullptr, 1, static_cast<int>(len));
        const std::span<const float> logits = acts.last_logits(static_cast<int>(V));
        for (size_t t = 0; t < len; ++t) sum += nll(logits.data() + t * V, V, seq[start + t + 1]);
    }
    return sum / static_cast<double>(preds);
}

// `prompt` and n greedy tokens after it by full forwards, as text (what `sample -t 0` prints
// while the context fits in the block).
std::string greedy_text(const GptWeights& w, const Tokenizer& tok, const std::string& prompt,
                        int n) {
    std::vector<int> ids = tok.encode(prompt);
    GptActivations acts;
    for (int i = 0; i < n; ++i) {
        const std::span<const float> row =
            gpt_next_logits(acts, w, ids.data(), static_cast<int>(ids.size()));
        ids.push_back(static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
    }
    return valid_utf8(tok.decode(ids)) + "\n";
}

// Checks an `eval` line against the loss computed here on the same split of `corpus`.
void expect_eval_matches(const ProgramResult& e, const GptWeights& w, const Tokenizer& tok,
                         const std::string& corpus) {
    ASSERT_EQ(e.exit_code, 0) << e.err;
    const std::vector<int> val =
        tokenize_split(tok, decode_utf8(read_text_file(corpus), "corpus"), "corpus").val;
    const double want = windowed_loss(w, val);
    const double loss = number_after(e.out, "val loss "), bpb = number_after(e.out, "), ");
    const double preds = number_after(e.out, "over "), bytes = number_after(e.out, "predictions (");
    EXPECT_NEAR(loss, want, 1e-4) << e.out;  // printed to 4 decimals
    EXPECT_EQ(preds, double(val.size() - 1)) << e.out;
    EXPECT_EQ(bytes, double(bytes_of(tok, std::span<const int>(val).subspan(1)))) << e.out;
    EXPECT_NEAR(bpb, want * preds / (std::log(2.0) * bytes), 2e-4) << e.out;
}

class WiggleInitFrom : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string text;
        const char* lines[] = {"the quick brown fox jumps over the lazy dog.\n",
                               "a lazy dog sleeps in the sun, the fox runs on.\n",
                               "over the hills the brown fox goes, quick and quiet.\n"};
        for (int i = 0; i < 45; ++i) text += lines[(i * 5) % 3];
        corpus_ = write_temp_file("initfrom-corpus.txt", text);
    }
    // A fine-tuning run of the hub fixture in TempDir()/name, context cropped to 8.
    std::string fine_tune(const std::string& name, const std::string& extra) {
        return "train --init-from " + kHub + " --data " + corpus_ + " --out " + dir(name) +
               " --block-size 8 --batch-size 8 --warmup 0 --lr 1e-2 --min-lr 1e-3 --eval-iters 4"
               " --progress lines --threads 1 " +
               extra;
    }
    static std::string dir(const std::string& name) { return ::testing::TempDir() + name; }

    std::string corpus_;
};

TEST_F(WiggleInitFrom, FineTunesGpt2WithACroppedBlockThenSamplesAndEvaluates) {
    if (!have_gpt2()) GTEST_SKIP() << kNoGpt2;
    const ProgramResult t = wiggle(fine_tune("initfrom-ft", "--iters 12 --eval-interval 6"));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    // The shape is the checkpoint's, not the baby preset's; the tokenizer GPT-2's.
    EXPECT_NE(t.out.find("(n_layer 1, n_head 2, n_embd 8, block 8), vocab 50257"),
              std::string::npos)
        << t.out;
    EXPECT_NE(t.out.find("starting from '" + kHub + "'"), std::string::npos) << t.out;
    const double val0 = val_after(t.out, 0), val12 = val_after(t.out, 12);
    ASSERT_FALSE(std::isnan(val0) || std::isnan(val12)) << t.out;
    EXPECT_GT(val0, 10.0) << t.out;  // about ln 50257 = 10.8: the fixture's weights are random
    EXPECT_LT(val12, val0 - 1.0) << t.out;

    // The checkpoint: GPT-2's GELU and tokenizer in wiggle's format, the cropped block.
    const std::string run = dir("initfrom-ft");
    LoadedModel m = load_checkpoint(run + "/best.safetensors");
    const GptConfig& c = m.weights.config();
    EXPECT_EQ(c.gelu, kernels::GeluForm::Tanh);
    EXPECT_EQ(c.block_size, 8);
    EXPECT_TRUE(c.bias);
    const Tokenizer gpt2 = make_tokenizer("gpt2:" + kGpt2Dir, U"");
    ASSERT_TRUE(m.tokenizer.has_value());
    EXPECT_EQ(tokenizer_identity(*m.tokenizer), tokenizer_identity(gpt2));

    const ProgramResult s = wiggle("sample -c " + run + " -n 5 -t 0 --prompt 'the quick'");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.out, greedy_text(m.weights, gpt2, "the quick", 5));
    expect_eval_matches(wiggle("eval -c " + run + " --data " + corpus_), m.weights, gpt2, corpus_);
}

TEST_F(WiggleInitFrom, SampleAndEvalReadTheGpt2FileItself) {
    if (!have_gpt2()) GTEST_SKIP() << kNoGpt2;
    const LoadedModel m = load_checkpoint(kHub);
    const Tokenizer gpt2 = make_tokenizer("gpt2:" + kGpt2Dir, U"");
    // GPT-2's tokenizer by default (the file has none)
    const ProgramResult s = wiggle("sample -c " + kHub + " -n 6 -t 0 --prompt 'Hello world'");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.out, greedy_text(m.weights, gpt2, "Hello world", 6));
    expect_eval_matches(wiggle("eval -c " + kHub + " --data " + corpus_), m.weights, gpt2, corpus_);

    // Fine-tuning keeps iteration 0's model: its first validation loss is the file's (the same
    // split, estimated on batches), near the loss eval gives on every token.
    const ProgramResult t = wiggle(fine_tune("initfrom-same", "--iters 1 --block-size 16"));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    const double val0 = val_after(t.out, 0);
    const std::vector<int> val =
        tokenize_split(gpt2, decode_utf8(read_text_file(corpus_), "corpus"), "corpus").val;
    EXPECT_NEAR(val0, windowed_loss(m.weights, val), 0.3) << t.out;
}

TEST_F(WiggleInitFrom, AFineTuneResumesBitForBit) {
    if (!have_gpt2()) GTEST_SKIP() << kNoGpt2;
    // From the GPT-2 file (tokenizer gpt2), then from a wiggle checkpoint of GPT-2's BPE (the
    // tokenizer inside it): dropout on, stopped at 4 of 8 and resumed.
    ASSERT_EQ(wiggle(fine_tune("initfrom-base", "--iters 2")).exit_code, 0);
    for (const std::string& from : {kHub, dir("initfrom-base")}) {
        SCOPED_TRACE(from);
        const std::string common = "train --init-from " + from + " --data " + corpus_ +
                                   " --batch-size 4 --dropout 0.1 --iters 8 --eval-interval 4"
                                   " --eval-iters 2 --warmup 2 --progress quiet --threads 1 --out ";
        const std::string whole = dir("initfrom-whole"), split = dir("initfrom-split");
        ASSERT_EQ(wiggle(common + whole).exit_code, 0);
        const ProgramResult stop = wiggle(common + split + " --stop-after 4");
        ASSERT_EQ(stop.exit_code, 0) << stop.err;
        const ProgramResult resume = wiggle("train --resume --progress lines --out " + split);
        ASSERT_EQ(resume.exit_code, 0) << resume.err;
        EXPECT_NE(resume.out.find("resuming at iteration 4"), std::string::npos) << resume.out;
        const std::vector<std::string> a = lines_of(read_text_file(whole + "/metrics.csv")),
                                       b = lines_of(read_text_file(split + "/metrics.csv"));
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {  // iter, loss, val_loss, train_eval, lr
            size_t cut = 0;
            for (int commas = 0; cut < a[i].size() && commas < 5; ++cut) commas += a[i][cut] == ',';
            EXPECT_EQ(b[i].substr(0, cut), a[i].substr(0, cut)) << "metrics row " << i;
        }
        EXPECT_TRUE(read_text_file(split + "/model.safetensors") ==
                    read_text_file(whole + "/model.safetensors"))
            << "final weights differ";
        EXPECT_EQ(load_checkpoint(split).weights.config().gelu, kernels::GeluForm::Tanh);
        std::system(("rm -rf '" + whole + "' '" + split + "'").c_str());
    }
    // A resumed run keeps where it started from.
    expect_one_error_line(
        "wiggle", "train --resume --out " + dir("initfrom-base") + " --init-from " + kLmHead,
        "--init-from cannot change when resuming");
}

TEST_F(WiggleInitFrom, ACharacterModelFineTunesOnItsOwnCharacters) {
    const std::string base = dir("initfrom-char");
    const std::string tiny =
        " --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 4"
        " --eval-iters 2 --progress lines --threads 1";
    ASSERT_EQ(wiggle("train --iters 2 --data " + corpus_ + " --out " + base + tiny).exit_code, 0);
    // No shape flags: the checkpoint's (not the baby preset's 4 layers of 128), its characters.
    const ProgramResult t = wiggle(
        "train --iters 2 --progress lines --threads 1 --batch-size 4 --eval-iters 2"
        " --init-from " +
        base + " --data " + corpus_ + " --out " + dir("initfrom-char2"));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("(n_layer 1, n_head 2, n_embd 16, block 8)"), std::string::npos) << t.out;
    const LoadedModel m = load_checkpoint(dir("initfrom-char2"));
    EXPECT_EQ(m.weights.config().gelu, kernels::GeluForm::Erf);
    ASSERT_TRUE(m.tokenizer.has_value());
    EXPECT_EQ(m.tokenizer->kind(), Tokenizer::Kind::Char);

    // Text with a character the model lacks; another tokenizer; a shape flag that disagrees.
    const std::string other = write_temp_file("initfrom-other.txt", read_text_file(corpus_) + "Z");
    expect_one_error_line("wiggle", "train --init-from " + base + " --data " + other,
                          "has another vocabulary than --init-from '" + base +
                              "': the text has 31 characters, the model 30; 'Z' is in the text");
    expect_one_error_line("wiggle",
                          "train --init-from " + base + " --data " + corpus_ +
                              " --tokenizer bpe:" + kSource + "/nonexistent.model",
                          "nonexistent.model");
    expect_one_error_line("wiggle", "train --init-from " + base + " --n-layer 4",
                          "--init-from with an incompatible --n-layer: '" + base +
                              "' has n_layer 1, got --n-layer 4");
    expect_one_error_line("wiggle", "train --init-from " + base + " --gelu tanh",
                          "incompatible --gelu: '" + base + "' has gelu erf, got --gelu tanh");
}

TEST_F(WiggleInitFrom, BadStartsAreOneLine) {
    const std::string data = " --data " + corpus_ + " --out " + dir("initfrom-bad");
    expect_one_error_line(
        "wiggle", "train --init-from " + kHub + " --n-embd 16" + data,
        "--init-from with an incompatible --n-embd: '" + kHub + "' has n_embd 8, got --n-embd 16");
    expect_one_error_line("wiggle", "train --init-from " + kHub + " --no-bias" + data,
                          "has bias true, got --bias false");
    expect_one_error_line("wiggle", "train --init-from " + kHub + " --block-size 32" + data,
                          "has block_size 16, got --block-size 32");
    expect_one_error_line("wiggle", "train --init-from /nonexistent/model.safetensors" + data,
                          "--init-from '/nonexistent/model.safetensors' does not exist");
    expect_one_error_line("wiggle", "train --init-from " + kLmHead + data,
                          "has no tokenizer, and its 97 tokens are not GPT-2's 50257");
    expect_one_error_line(
        "wiggle", "train --init-from " + kHub + " --tokenizer char" + data,
        "--tokenizer 'char' is not GPT-2's, the tokenizer of --init-from '" + kHub + "'");
    expect_one_error_line("wiggle", "train --init-from " + kLmHead + " --tokenizer char" + data,
                          "--tokenizer 'char' has 30 tokens, the model in --init-from");
    expect_one_error_line("wiggle", "train --init-from " + corpus_ + data, corpus_);
    expect_one_error_line("wiggle", "train --tokenizer checkpoint" + data,
                          "there is no --init-from");
    expect_one_error_line("wiggle", "train --gelu relu" + data,
                          "--gelu got 'relu', not erf or tanh");
    // sample and eval: GPT-2's file with a tokenizer of another vocabulary
    expect_one_error_line("wiggle", "sample --tokenizer char -c " + kHub, "--tokenizer 'char'");
    expect_one_error_line("wiggle", "eval --tokenizer char -c " + kHub + " --data " + corpus_,
                          "--tokenizer 'char'");

    const ProgramResult help = wiggle("train --help");
    EXPECT_NE(help.out.find("--init-from PATH"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("Hugging Face"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace wiggle
