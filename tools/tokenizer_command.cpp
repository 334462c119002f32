// `wiggle tokenizer train|encode|decode|split`: byte-level BPE tokenizers from the command line
// (text/tokenizer.h does the work).
//
//   wiggle tokenizer train --data data/tinyshakespeare.txt --vocab-size 512 --out shakespeare512
//   wiggle tokenizer encode --tokenizer bpe:shakespeare512.model "To be, or not to be"
//   wiggle tokenizer encode --tokenizer gpt2 --file data/tinyshakespeare.txt --stats > ids.txt
//   wiggle tokenizer decode --tokenizer gpt2 15496 995
//   wiggle tokenizer split --pattern gpt2 "Hello world's 123"
#include "tools/tokenizer_command.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "text/split.h"
#include "train/checkpoint.h"
#include "train/corpus.h"
#include "util/check.h"
#include "util/io.h"
#include "util/json.h"

namespace wiggle {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The split pattern a --pattern names.
std::string pattern_of(const std::string& name) {
    if (name == "gpt4") return std::string(kGpt4Pattern);
    if (name == "gpt2") return std::string(kGpt2Pattern);
    if (name == "none") return "";
    return name;  // a pattern of one's own (Splitter checks it compiles)
}

SpecialTokens special_policy(const std::string& name) {
    WIGGLE_CHECK(name == "refuse" || name == "text" || name == "tokens", "refuse, text or tokens",
                 "unknown --special '{}'", name);
    return name == "refuse" ? SpecialTokens::Refuse
           : name == "text" ? SpecialTokens::Text
                            : SpecialTokens::Tokens;
}

// The tokenizer --tokenizer names: those of train/corpus.h (char:FILE: a file's characters), or a
// checkpoint (a .safetensors file or a run folder) whose tokenizer it is.
Tokenizer tokenizer_of(const std::string& name) {
    WIGGLE_CHECK(!name.empty(), "gpt2, bpe:FILE.model, char:FILE or a checkpoint",
                 "pass --tokenizer");
    if (name.starts_with("char:")) {
        const std::string path = name.substr(5);
        return Tokenizer::chars(CharVocab::of_text(load_text(path)));
    }
    if (name == "gpt2" || name.starts_with("gpt2:") || name.starts_with("bpe:")) {
        return make_tokenizer(name, U"");
    }
    WIGGLE_CHECK(file_exists(name), "gpt2, bpe:FILE.model, char:FILE or a checkpoint",
                 "--tokenizer '{}' is neither a tokenizer name nor a checkpoint", name);
    LoadedModel m = load_checkpoint(name);
    return tokenizer_for(m, "", name);
}

int run_train(const TokenizerArgs& a) {
    WIGGLE_CHECK(a.vocab_size >= 256 && a.vocab_size <= (1 << 20),
                 "a byte-level BPE has the 256 bytes and the merges on top",
                 "--vocab-size must be in [256, 1048576], got {}", a.vocab_size);
    WIGGLE_CHECK(!a.out.empty(), "e.g. --out shakespeare512 writes shakespeare512.model and .vocab",
                 "pass --out PREFIX");
    const std::string pattern = pattern_of(a.pattern);
    if (!pattern.empty()) Splitter(pattern, "--pattern");  // a bad one fails before the reading
    const std::string text = encode_utf8(load_text(a.data));
    const auto t0 = Clock::now();
    int shown = 0;
    auto progress = [&](int index, const Bpe::Merge& m, int64_t count) {
        if (!a.verbose && shown >= 10) return;
        ++shown;
        fmt::print("merge {:>5}: {:>5} + {:<5} -> {:>5}, {} times\n", index + 1, m.left, m.right,
                   m.result, count);
    };
    Tokenizer t = Tokenizer::train(text, a.vocab_size, pattern, progress);
    const double s = seconds_since(t0);
    std::vector<Tokenizer::Special> specials = t.specials();
    for (const std::string& special : a.specials) {
        specials.push_back({special, t.vocab_size() + static_cast<int>(specials.size())});
    }
    if (!specials.empty()) {
        t = Tokenizer::bpe(t.byte_pairs(), t.pattern(), std::move(specials), "--special");
    }
    t.save(a.out);
    const size_t tokens = t.encode(text, SpecialTokens::Text).size();
    fmt::print(
        "trained {} in {:.3f} s on '{}' ({} bytes): {} tokens, {:.2f} bytes per token; wrote "
        "{}.model and {}.vocab\n",
        t.describe(), s, a.data, text.size(), tokens, double(text.size()) / double(tokens), a.out,
        a.out);
    return 0;
}

// The text of encode and split: --file's bytes, or the words joined by spaces.
std::string text_of(const TokenizerArgs& a) {
    WIGGLE_CHECK(a.file.empty() || a.words.empty(), "give the text or --file, not both",
                 "both --file and text");
    if (!a.file.empty()) return read_file(a.file, "text file");
    std::string text;
    for (size_t i = 0; i < a.words.size(); ++i) text += (i ? " " : "") + a.words[i];
    return text;
}

int run_encode(const TokenizerArgs& a) {
    const Tokenizer t = tokenizer_of(a.tokenizer);
    const std::string text = text_of(a);
    const auto t0 = Clock::now();
    const std::vector<int> ids =
        t.encode(text, special_policy(a.special), a.file.empty() ? "the text" : a.file);
    const double s = seconds_since(t0);
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? " " : "", ids[i]);
    std::fputs((out + "\n").c_str(), stdout);
    if (a.stats) {
        fmt::print(stderr, "encoded {} bytes into {} tokens in {:.3f} s: {:.1f} MB/s ({})\n",
                   text.size(), ids.size(), s, s > 0 ? text.size() / s / 1e6 : 0.0, t.describe());
    }
    return 0;
}

int run_decode(const TokenizerArgs& a) {
    const Tokenizer t = tokenizer_of(a.tokenizer);
    std::vector<std::string> words = a.words;
    if (words.empty()) {  // the ids from stdin
        words.assign(std::istream_iterator<std::string>(std::cin), {});
    }
    std::vector<int> ids;
    for (const std::string& w : words) {
        int id = 0;
        const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
        WIGGLE_CHECK(ec == std::errc() && end == w.data() + w.size(), "ids are integers",
                     "'{}' is not a token id", w);
        ids.push_back(id);
    }
    std::fputs((valid_utf8(t.decode(ids)) + "\n").c_str(), stdout);
    return 0;
}

// The pieces a split pattern cuts the text into: what a BPE with that pattern merges within.
int run_split(const TokenizerArgs& a) {
    const std::string pattern = pattern_of(a.pattern);
    WIGGLE_CHECK(!pattern.empty(), "gpt4, gpt2 or a regex", "--pattern none splits nothing");
    const std::string text = text_of(a);
    const std::vector<std::string_view> pieces = Splitter(pattern, "--pattern").pieces(text);
    std::string out;
    for (std::string_view piece : pieces) {
        out += a.offsets ? fmt::format("{}{}", out.empty() ? "" : " ",
                                       piece.data() + piece.size() - text.data())
                         : json_quote(piece) + "\n";
    }
    std::fputs((a.offsets ? out + "\n" : out).c_str(), stdout);
    return 0;
}

}  // namespace

CLI::App* add_tokenizer_command(CLI::App& app, TokenizerArgs& a) {
    CLI::App* cmd = app.add_subcommand(
        "tokenizer", "train, encode, decode byte-level BPE tokenizers; split text by a pattern");
    cmd->require_subcommand(1);
    CLI::App* train = cmd->add_subcommand("train", "minbpe's training on a text file");
    train->add_option("--data", a.data, "UTF-8 text to learn the merges on")->required();
    train->add_option("--vocab-size", a.vocab_size, "tokens: the 256 bytes and the merges")
        ->capture_default_str();
    train
        ->add_option("--pattern", a.pattern,
                     "split the text first (merges never cross pieces): gpt4, gpt2, none or a "
                     "regex of one's own")
        ->capture_default_str();
    train->add_option("--special", a.specials,
                      "special tokens to add after the merges (e.g. '<|endoftext|>')");
    train->add_option("--out", a.out, "writes OUT.model and OUT.vocab")->required();
    train->add_flag("--verbose", a.verbose, "print every merge (default: the first 10)");
    for (const char* name : {"encode", "decode"}) {
        const bool encode = std::string(name) == "encode";
        CLI::App* sub =
            cmd->add_subcommand(name, encode ? "text to token ids (on stdout, separated by spaces)"
                                             : "token ids (the arguments, or stdin) to text");
        sub->add_option("--tokenizer,-t", a.tokenizer,
                        "gpt2 (data/gpt2, or gpt2:DIR), bpe:FILE.model, char:TEXTFILE, or a "
                        "checkpoint (its tokenizer)")
            ->required();
        sub->add_option("words", a.words, encode ? "the text" : "the ids");
        if (encode) {
            sub->add_option("--file", a.file, "encode this file instead");
            sub->add_option("--special", a.special,
                            "special tokens in the text: refuse (an error), text (ordinary "
                            "text) or tokens")
                ->capture_default_str();
            sub->add_flag("--stats", a.stats, "print bytes, tokens and MB/s to stderr");
        }
    }
    CLI::App* split = cmd->add_subcommand(
        "split", "the pieces a split pattern cuts text into, one per line as a JSON string");
    split->add_option("--pattern", a.pattern, "gpt4, gpt2 or a regex of one's own")
        ->capture_default_str();
    split->add_option("words", a.words, "the text");
    split->add_option("--file", a.file, "split this file instead");
    split->add_flag("--offsets", a.offsets,
                    "print the byte offset where each piece ends instead, on one line");
    return cmd;
}

int run_tokenizer(CLI::App* cmd, const TokenizerArgs& a) {
    if (cmd->got_subcommand("train")) return run_train(a);
    if (cmd->got_subcommand("encode")) return run_encode(a);
    if (cmd->got_subcommand("split")) return run_split(a);
    return run_decode(a);
}

}  // namespace wiggle
