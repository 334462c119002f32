// Runs that start from a checkpoint (init_from.h).
#include "train/init_from.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <iterator>
#include <optional>

#include "train/corpus.h"
#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

const char* gelu_name(kernels::GeluForm g) { return g == kernels::GeluForm::Tanh ? "tanh" : "erf"; }

bool is_gpt2_name(const std::string& name) { return name == "gpt2" || name.starts_with("gpt2:"); }

// The first character one vocabulary has and the other lacks, said in words.
std::string vocab_difference(const CharVocab& text, const CharVocab& model) {
    auto chars = [](const CharVocab& v) {
        std::u32string s;
        for (int i = 0; i < v.size(); ++i) s += v.char_of(i);
        return s;  // sorted: the vocabulary's order
    };
    const std::u32string a = chars(text), b = chars(model);
    std::u32string only_text, only_model;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_text));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_model));
    const std::string counts =
        fmt::format("the text has {} characters, the model {}", a.size(), b.size());
    if (!only_text.empty()) {
        return fmt::format("{}; '{}' is in the text, not in the model", counts,
                           encode_utf8(only_text.substr(0, 1)));
    }
    return fmt::format("{}; '{}' is in the model, not in the text", counts,
                       encode_utf8(only_model.substr(0, 1)));
}

}  // namespace

void check_init_config(const TrainConfig& cfg, const GptConfig& from) {
    const std::string& path = cfg.init_from;
    auto same = [&](const char* flag, const char* key, const std::string& theirs,
                    const std::string& ours) {
        WIGGLE_CHECK(theirs == ours, fmt::format("leave --{} out to take the checkpoint's", flag),
                     "--init-from with an incompatible --{}: '{}' has {} {}, got --{} {}", flag,
                     path, key, theirs, flag, ours);
    };
    same("n-layer", "n_layer", std::to_string(from.n_layer), std::to_string(cfg.n_layer));
    same("n-head", "n_head", std::to_string(from.n_head), std::to_string(cfg.n_head));
    same("n-embd", "n_embd", std::to_string(from.n_embd), std::to_string(cfg.n_embd));
    same("bias", "bias", from.bias ? "true" : "false", cfg.bias ? "true" : "false");
    same("gelu", "gelu", gelu_name(from.gelu), gelu_name(cfg.gelu));
    // Positions past the checkpoint's block were never trained: a context can only shrink.
    WIGGLE_CHECK(cfg.block_size <= from.block_size,
                 fmt::format("pass --block-size {} or less (the position embeddings are cropped), "
                             "or leave it out",
                             from.block_size),
                 "--init-from with a longer --block-size: '{}' has block_size {}, got --block-size "
                 "{}",
                 path, from.block_size, cfg.block_size);
}

LoadedModel init_from_checkpoint(TrainConfig& cfg,
                                 const std::function<bool(std::string_view flag)>& given) {
    WIGGLE_CHECK(file_exists(cfg.init_from),
                 "pass a wiggle checkpoint or run folder, or a GPT-2 model.safetensors",
                 "--init-from '{}' does not exist", cfg.init_from);
    LoadedModel m = load_checkpoint(cfg.init_from, /*with_grads=*/false);
    const GptConfig& c = m.weights.config();
    // Only the flags the user gave are compared: a preset's sizes give way to the checkpoint's.
    if (!given("n-layer")) cfg.n_layer = c.n_layer;
    if (!given("n-head")) cfg.n_head = c.n_head;
    if (!given("n-embd")) cfg.n_embd = c.n_embd;
    if (!given("block-size")) cfg.block_size = c.block_size;
    if (!given("bias")) cfg.bias = c.bias;
    if (!given("gelu")) cfg.gelu = c.gelu;
    if (!given("tokenizer")) {
        if (m.tokenizer) {
            cfg.tokenizer = m.tokenizer->kind() == Tokenizer::Kind::Char ? "char" : "checkpoint";
        } else {
            WIGGLE_CHECK(c.vocab_size == Tokenizer::kGpt2VocabSize,
                         fmt::format("pass the --tokenizer of its {} tokens", c.vocab_size),
                         "--init-from '{}' has no tokenizer, and its {} tokens are not GPT-2's {}",
                         cfg.init_from, c.vocab_size, Tokenizer::kGpt2VocabSize);
            cfg.tokenizer = "gpt2";
        }
    }
    check_init_config(cfg, c);
    return m;
}

Tokenizer run_tokenizer(const TrainConfig& cfg, std::u32string_view text, LoadedModel* init) {
    const std::string& path = cfg.init_from;
    if (cfg.tokenizer == "checkpoint") {
        std::optional<Tokenizer> own =
            init != nullptr ? std::move(init->tokenizer) : checkpoint_tokenizer(path);
        WIGGLE_CHECK(own.has_value(), "pass --tokenizer gpt2, or the tokenizer it was trained with",
                     "--tokenizer checkpoint: '{}' has no tokenizer (a GPT-2 file in Hugging "
                     "Face's layout)",
                     path);
        return std::move(*own);
    }
    Tokenizer t = make_tokenizer(cfg.tokenizer, text);
    if (init == nullptr) return t;
    const int V = init->weights.config().vocab_size;
    if (init->tokenizer) {
        const Tokenizer& own = *init->tokenizer;
        const bool same = tokenizer_identity(own) == tokenizer_identity(t);
        if (own.kind() == Tokenizer::Kind::Char && t.kind() == Tokenizer::Kind::Char) {
            WIGGLE_CHECK(same, "a character model fine-tunes on text of exactly its characters",
                         "data file '{}' has another vocabulary than --init-from '{}': {}",
                         cfg.data, path, vocab_difference(t.char_vocab(), own.char_vocab()));
        }
        WIGGLE_CHECK(same, "leave --tokenizer out to use the checkpoint's",
                     "--tokenizer '{}' is not the tokenizer of --init-from '{}' ({})",
                     cfg.tokenizer, path, own.describe());
        return t;
    }
    // A Hugging Face GPT-2 file: GPT-2's tokenizer, if its vocabulary is GPT-2's.
    WIGGLE_CHECK(V != Tokenizer::kGpt2VocabSize || is_gpt2_name(cfg.tokenizer),
                 "leave --tokenizer out (gpt2), or pass gpt2:DIR",
                 "--tokenizer '{}' is not GPT-2's, the tokenizer of --init-from '{}' (a GPT-2 "
                 "checkpoint in Hugging Face's layout)",
                 cfg.tokenizer, path);
    WIGGLE_CHECK(t.vocab_size() == V, "pass the tokenizer the model was trained with",
                 "--tokenizer '{}' has {} tokens, the model in --init-from '{}' has {}",
                 cfg.tokenizer, t.vocab_size(), path, V);
    return t;
}

GptWeights initial_weights(const GptConfig& run, const GptWeights& from) {
    const GptConfig& f = from.config();
    assert(run.vocab_size == f.vocab_size && run.n_layer == f.n_layer && run.n_embd == f.n_embd &&
           run.n_head == f.n_head && run.bias == f.bias && run.block_size <= f.block_size);
    (void)f;
    GptWeights w = GptWeights::zeros(run, /*with_grads=*/true);
    const std::span<const float> src = from.params().values();
    const std::span<float> dst = w.params().values();
    for (const auto& s : w.params().specs()) {
        // the same tensor, but for wpe (T, C): its first block_size rows are its first values
        const auto& t = from.spec(s.name);
        assert(s.numel == t.numel || s.name == "transformer.wpe.weight");
        std::copy_n(src.begin() + static_cast<long>(t.offset), s.numel,
                    dst.begin() + static_cast<long>(s.offset));
    }
    return w;
}

}  // namespace wiggle
