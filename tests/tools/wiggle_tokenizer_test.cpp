// `wiggle tokenizer` and `wiggle train --tokenizer` end to end: a BPE trained from the command
// line encodes and decodes back to the text; split prints a pattern's pieces; a GPT trains on it,
// its checkpoint carries it, sample and eval use it, and eval's bits per byte agree with its loss
// per token; every bad tokenizer input (a missing or corrupt file, another format, an id out of
// range, a resumed run with another tokenizer) exits with one clear line.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "run_program.h"

namespace wiggle {
namespace {

using wiggle::testing::expect_one_error_line;
using wiggle::testing::number_after;
using wiggle::testing::ProgramResult;
using wiggle::testing::read_text_file;
using wiggle::testing::run_program;
using wiggle::testing::write_temp_file;

// A program's one line of output without its newline.
std::string line(const ProgramResult& r) { return r.out.substr(0, r.out.find('\n')); }

// A 1-layer GPT that trains in milliseconds per iteration.
const std::string kTiny =
    " --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 4 --eval-iters 2"
    " --eval-interval 4 --progress lines --threads 1";

class WiggleTokenizer : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string text;
        const char* lines[] = {"to be or not to be, that is the question.\n",
                               "the rest is silence; we know what we are.\n",
                               "all the world's a stage, and all the men players.\n"};
        for (int i = 0; i < 60; ++i) text += lines[(i * 7) % 3];
        corpus_ = write_temp_file("tok-corpus.txt", text);
        prefix_ = ::testing::TempDir() + "tok300";
        const ProgramResult r =
            wiggle("tokenizer train --data " + corpus_ +
                   " --vocab-size 300 --special '<|endoftext|>' --out " + prefix_);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        model_ = prefix_ + ".model";
    }

    ProgramResult wiggle(const std::string& args) { return run_program("wiggle", args); }
    std::string train_args(const std::string& out, const std::string& extra) {
        return "train --data " + corpus_ + " --out " + ::testing::TempDir() + out + kTiny + " " +
               extra;
    }

    std::string corpus_, prefix_, model_;
};

TEST_F(WiggleTokenizer, TrainEncodeDecodeRoundTrip) {
    // The .model file is minbpe's format and the .vocab is readable.
    const std::string model = read_text_file(model_);
    EXPECT_EQ(model.rfind("minbpe v1\n", 0), 0u) << model.substr(0, 40);
    EXPECT_NE(read_text_file(prefix_ + ".vocab").find("[<|endoftext|>] 300"), std::string::npos);

    const std::string text = "to be or not to be, that is the rest.";
    const ProgramResult e = wiggle("tokenizer encode -t bpe:" + model_ + " '" + text + "'");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    std::vector<std::string> ids;
    for (size_t at = 0, next; at < e.out.size(); at = next + 1) {
        next = e.out.find_first_of(" \n", at);
        ids.push_back(e.out.substr(at, next - at));
    }
    EXPECT_LT(ids.size(), text.size());  // the merges compress
    const ProgramResult d = wiggle("tokenizer decode -t bpe:" + model_ + " " + line(e));
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(d.out, text + "\n");
    // The same through stdin, and a whole file through --file.
    EXPECT_EQ(
        run_program("wiggle", "tokenizer decode -t bpe:" + model_, "echo '" + line(e) + "' | ").out,
        d.out);
    const ProgramResult whole = wiggle("tokenizer encode -t bpe:" + model_ + " --file " + corpus_);
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    const std::string ids_path = write_temp_file("tok-ids.txt", whole.out);
    const ProgramResult back =
        run_program("wiggle", "tokenizer decode -t bpe:" + model_ + " < " + ids_path);
    EXPECT_EQ(back.out, read_text_file(corpus_) + "\n");

    // Special tokens in the text: refused by default, else ordinary text or the token.
    expect_one_error_line("wiggle", "tokenizer encode -t bpe:" + model_ + " 'a<|endoftext|>b'",
                          "special token '<|endoftext|>'");
    const ProgramResult as_token =
        wiggle("tokenizer encode -t bpe:" + model_ + " --special tokens '<|endoftext|>'");
    EXPECT_EQ(as_token.out, "300\n");
    const ProgramResult as_text =
        wiggle("tokenizer encode -t bpe:" + model_ + " --special text '<|endoftext|>'");
    EXPECT_NE(as_text.out, "300\n");
    EXPECT_EQ(wiggle("tokenizer decode -t bpe:" + model_ + " " + line(as_text)).out,
              "<|endoftext|>\n");
}

TEST_F(WiggleTokenizer, GptTrainsSamplesAndEvaluatesOnABpe) {
    const std::string run = ::testing::TempDir() + "bpe-run";
    const ProgramResult t = wiggle(train_args("bpe-run", "--iters 8 --tokenizer bpe:" + model_));
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("vocab 301"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("BPE of 301 tokens"), std::string::npos) << t.out;

    // The checkpoint carries the tokenizer: sample and eval need nothing else, and the encoder
    // reads it from the checkpoint as from the .model file.
    const ProgramResult s = wiggle("sample -c " + run + " -n 20 --seed 3 --prompt 'to be'");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.out.rfind("to be", 0), 0u) << s.out;
    EXPECT_EQ(s.out,
              wiggle("sample -c " + run + " -n 20 --seed 3 --prompt 'to be' --no-cache").out);
    EXPECT_EQ(wiggle("tokenizer encode -t " + run + "/best.safetensors 'the world'").out,
              wiggle("tokenizer encode -t bpe:" + model_ + " 'the world'").out);

    const ProgramResult e = wiggle("eval -c " + run + " --data " + corpus_ + " --batch-size 3");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    // bits per byte = loss per token × predictions / (ln 2 × bytes predicted)
    const double loss = number_after(e.out, "val loss "), bpb = number_after(e.out, "), ");
    const double preds = number_after(e.out, "over "), bytes = number_after(e.out, "predictions (");
    ASSERT_FALSE(std::isnan(loss) || std::isnan(bpb) || std::isnan(preds) || std::isnan(bytes))
        << e.out;
    EXPECT_GT(bytes, preds);  // tokens of more than one byte
    EXPECT_NEAR(bpb, loss * preds / (std::log(2.0) * bytes), 1e-3) << e.out;
    // The validation text is the last tenth of the file's characters, whatever the tokenizer.
    const double val_bytes = double(read_text_file(corpus_).size()) -
                             std::floor(0.9 * double(read_text_file(corpus_).size()));
    EXPECT_LE(bytes, val_bytes);
    EXPECT_GT(bytes, val_bytes - 8);  // all but the first token's bytes
}

TEST_F(WiggleTokenizer, CharacterModelsBitsPerByteIsBitsPerCharacterOnAscii) {
    const std::string run = ::testing::TempDir() + "char-run";
    ASSERT_EQ(wiggle(train_args("char-run", "--iters 4")).exit_code, 0);
    const ProgramResult e = wiggle("eval -c " + run + " --data " + corpus_);
    ASSERT_EQ(e.exit_code, 0) << e.err;
    const double loss = number_after(e.out, "val loss "), bpb = number_after(e.out, "), ");
    EXPECT_EQ(number_after(e.out, "over "), number_after(e.out, "predictions ("));
    EXPECT_NEAR(bpb, loss / std::log(2.0), 1e-4) << e.out;
}

TEST_F(WiggleTokenizer, Gpt2FromTheCommandLine) {
    const std::string dir = std::string(WIGGLE_SOURCE_DIR) + "/data/gpt2";
    if (read_text_file(dir + "/vocab.bpe").empty()) {
        GTEST_SKIP() << "no GPT-2 files in " << dir << " (scripts/fetch-data --gpt2)";
    }
    const ProgramResult e = wiggle("tokenizer encode -t gpt2:" + dir + " 'Hello world'");
    EXPECT_EQ(e.out, "15496 995\n") << e.err;
    EXPECT_EQ(wiggle("tokenizer decode -t gpt2:" + dir + " 15496 995 50256").out,
              "Hello world<|endoftext|>\n");
}

// `tokenizer split`: the pieces of GPT-2's and GPT-4's patterns (their regexes worked by hand:
// a space before a word or number, contractions apart, GPT-4's case-insensitive ones and numbers
// in threes, a run of spaces leaving its last to the word after it), as JSON strings and as byte
// offsets; each byte of invalid UTF-8 a piece of its own.
TEST_F(WiggleTokenizer, SplitPrintsThePatternsPieces) {
    const ProgramResult gpt2 = wiggle("tokenizer split --pattern gpt2 \"Hello world's  123!\"");
    ASSERT_EQ(gpt2.exit_code, 0) << gpt2.err;
    EXPECT_EQ(gpt2.out, "\"Hello\"\n\" world\"\n\"'s\"\n\" \"\n\" 123\"\n\"!\"\n");
    EXPECT_EQ(wiggle("tokenizer split --offsets --pattern gpt2 \"Hello world's  123!\"").out,
              "5 11 13 14 18 19\n");
    EXPECT_EQ(wiggle("tokenizer split --offsets \"I'M 12345\"").out, "1 3 4 7 9\n");  // gpt4
    const std::string invalid = write_temp_file("invalid.txt", "a\xff b");
    EXPECT_EQ(wiggle("tokenizer split --offsets --pattern gpt2 --file " + invalid).out, "1 2 4\n");
    expect_one_error_line("wiggle", "tokenizer split --pattern none x", "splits nothing");
    expect_one_error_line("wiggle", "tokenizer split --pattern '(' x",
                          "--pattern '(' does not compile");
}

TEST_F(WiggleTokenizer, BadInput) {
    const std::string tk = "tokenizer encode -t ";
    // Missing, corrupt, another format or version, another kind of file.
    expect_one_error_line("wiggle", tk + "bpe:/nonexistent/x.model hi", "/nonexistent/x.model");
    const std::string model = read_text_file(model_);
    const std::string cut = write_temp_file("cut.model", model.substr(0, model.size() - 7));
    expect_one_error_line("wiggle", tk + "bpe:" + cut + " hi", cut);
    const std::string other_version =
        write_temp_file("v9.model", "minbpe v9" + model.substr(model.find('\n')));
    expect_one_error_line("wiggle", tk + "bpe:" + other_version + " hi", "minbpe v9");
    const std::string json = write_temp_file("x.model", "{\"model\": {\"type\": \"BPE\"}}\n");
    expect_one_error_line("wiggle", tk + "bpe:" + json + " hi", json);
    const std::string bad_merge = write_temp_file(
        "badmerge.model", model.substr(0, model.rfind('\n', model.size() - 2) + 1) + "1 x\n");
    expect_one_error_line("wiggle", tk + "bpe:" + bad_merge + " hi", bad_merge);
    expect_one_error_line("wiggle", tk + "gpt2:/nonexistent hi", "/nonexistent/encoder.json");
    expect_one_error_line("wiggle", tk + "nonsense hi", "--tokenizer 'nonsense'");
    const std::string bad_json = ::testing::TempDir() + "badgpt2";
    std::system(("mkdir -p " + bad_json).c_str());
    write_temp_file("badgpt2/encoder.json", "{\"!\": 0, \"\\\"\": ");
    write_temp_file("badgpt2/vocab.bpe", "#version: 0.2\n");
    expect_one_error_line("wiggle", tk + "gpt2:" + bad_json + " hi", "encoder.json");

    // Ids that are not tokens.
    expect_one_error_line("wiggle", "tokenizer decode -t bpe:" + model_ + " 72 301",
                          "token id 301 at position 1 is not in the vocabulary");
    expect_one_error_line("wiggle", "tokenizer decode -t bpe:" + model_ + " 72 -1", "token id -1");
    expect_one_error_line("wiggle", "tokenizer decode -t bpe:" + model_ + " 72 x7",
                          "'x7' is not a token id");
    // Training flags.
    expect_one_error_line("wiggle",
                          "tokenizer train --data " + corpus_ + " --vocab-size 100 --out x",
                          "--vocab-size must be in [256");
    expect_one_error_line(
        "wiggle",
        "tokenizer train --data " + corpus_ + " --pattern '(' --out " + ::testing::TempDir() + "x",
        "--pattern '(' does not compile");

    // wiggle train: a tokenizer that is not one, and a resumed run given another tokenizer or a
    // .model file that changed under it.
    expect_one_error_line("wiggle", train_args("t", "--tokenizer bpe"), "--tokenizer 'bpe'");
    expect_one_error_line("wiggle", train_args("t", "--tokenizer bpe:/nonexistent.model"),
                          "/nonexistent.model");
    const std::string copy = write_temp_file("copy.model", model);
    ASSERT_EQ(wiggle(train_args("r", "--iters 4 --tokenizer bpe:" + copy)).exit_code, 0);
    const std::string out = ::testing::TempDir() + "r";
    expect_one_error_line("wiggle", "train --resume --out " + out + " --tokenizer char",
                          "--tokenizer cannot change when resuming");
    const ProgramResult retrained =
        wiggle("tokenizer train --data " + corpus_ + " --vocab-size 290 --out " +
               copy.substr(0, copy.size() - 6));
    ASSERT_EQ(retrained.exit_code, 0) << retrained.err;
    expect_one_error_line("wiggle", "train --resume --iters 8 --out " + out,
                          "has another tokenizer than the run");
}

}  // namespace
}  // namespace wiggle
