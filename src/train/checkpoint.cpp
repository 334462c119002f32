// GPT checkpoints in safetensors (checkpoint.h).
#include "train/checkpoint.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "train/corpus.h"
#include "train/safetensors.h"
#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

const char* kWrongModel =
    "the file may come from another model; write it with `wiggle train` or "
    "tests/pytorch_roundtrip.py";

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int meta_int(const SafetensorsReader& r, const std::string& key) {
    const auto v = r.meta(key);
    WIGGLE_CHECK(v.has_value(), kWrongModel, "checkpoint '{}' has no '{}' in its metadata",
                 r.path(), key);
    int out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    WIGGLE_CHECK(ec == std::errc() && end == v->data() + v->size() && out > 0, kWrongModel,
                 "checkpoint '{}': metadata '{}' is '{}', not a positive integer", r.path(), key,
                 *v);
    return out;
}

const std::set<std::string> kMetadataKeys = {
    "format",  "n_layer", "n_head", "n_embd",    "block_size",      "vocab_size",     "bias",
    "dropout", "gelu",    "vocab",  "tokenizer", "tokenizer.model", "wiggle.checksum"};

// PyTorch's shape of a parameter.
std::vector<int64_t> torch_shape(const Params<float>::Spec& s) {
    return std::vector<int64_t>(s.shape.dims.begin(), s.shape.dims.begin() + s.shape.rank);
}

// The tokenizer in a checkpoint's metadata (checkpoint.h), checked against its vocab_size.
Tokenizer read_tokenizer(const SafetensorsReader& r, int vocab_size) {
    const std::string& path = r.path();
    const std::string kind = r.meta("tokenizer").value_or("char");
    if (kind == "bpe") {
        const auto model = r.meta("tokenizer.model");
        WIGGLE_CHECK(model.has_value(), kWrongModel,
                     "checkpoint '{}' has a BPE tokenizer but no 'tokenizer.model' in its metadata",
                     path);
        Tokenizer t =
            Tokenizer::parse_model(*model, fmt::format("checkpoint '{}' tokenizer", path));
        WIGGLE_CHECK(t.vocab_size() == vocab_size, kWrongModel,
                     "checkpoint '{}': its tokenizer has {} tokens but vocab_size is {}", path,
                     t.vocab_size(), vocab_size);
        return t;
    }
    WIGGLE_CHECK(kind == "char", kWrongModel,
                 "checkpoint '{}' has tokenizer '{}', not 'char' or 'bpe'", path, kind);
    // The vocabulary: distinct characters in increasing order, one per token.
    const auto vocab_text = r.meta("vocab");
    WIGGLE_CHECK(vocab_text.has_value(), kWrongModel,
                 "checkpoint '{}' has no 'vocab' in its metadata", path);
    const std::u32string chars =
        decode_utf8(*vocab_text, fmt::format("checkpoint '{}' metadata 'vocab'", path));
    for (size_t i = 1; i < chars.size(); ++i) {
        WIGGLE_CHECK(chars[i - 1] < chars[i], kWrongModel,
                     "checkpoint '{}': the 'vocab' metadata is not sorted distinct characters",
                     path);
    }
    WIGGLE_CHECK(static_cast<int>(chars.size()) == vocab_size, kWrongModel,
                 "checkpoint '{}': 'vocab' has {} characters but vocab_size is {}", path,
                 chars.size(), vocab_size);
    return Tokenizer::chars(CharVocab::of_text(chars));
}

}  // namespace

std::string vocab_to_string(const CharVocab& vocab) {
    std::u32string chars;
    for (int i = 0; i < vocab.size(); ++i) chars += vocab.char_of(i);
    return encode_utf8(chars);
}

uint64_t params_hash(const GptWeights& weights) {
    const auto p = weights.params().values();
    return fnv1a64(p.data(), p.size() * sizeof(float));
}

Tokenizer tokenizer_for(LoadedModel& m, const std::string& flag, const std::string& checkpoint) {
    const int V = m.weights.config().vocab_size;
    if (flag.empty()) {
        if (m.tokenizer) return std::move(*m.tokenizer);
        WIGGLE_CHECK(V == Tokenizer::kGpt2VocabSize, "pass --tokenizer (gpt2, bpe:FILE.model, ...)",
                     "checkpoint '{}' has no tokenizer, and its {} tokens are not GPT-2's 50257",
                     checkpoint, V);
        return make_tokenizer("gpt2", U"");
    }
    Tokenizer t = make_tokenizer(flag, U"");
    WIGGLE_CHECK(t.vocab_size() == V, "pass the tokenizer the model was trained with",
                 "--tokenizer '{}' has {} tokens, the model in '{}' has {}", flag, t.vocab_size(),
                 checkpoint, V);
    WIGGLE_CHECK(!m.tokenizer || tokenizer_identity(*m.tokenizer) == tokenizer_identity(t),
                 "leave --tokenizer out to use the checkpoint's",
                 "--tokenizer '{}' is not the tokenizer checkpoint '{}' was trained with ({})",
                 flag, checkpoint, m.tokenizer ? m.tokenizer->describe() : "");
    return t;
}

std::optional<Tokenizer> checkpoint_tokenizer(const std::string& given) {
    const SafetensorsReader r =
        SafetensorsReader::open(resolve_checkpoint_path(given), "checkpoint");
    if (is_hf_gpt2(r)) return std::nullopt;
    return read_tokenizer(r, meta_int(r, "vocab_size"));
}

std::string tokenizer_identity(const Tokenizer& t) {
    return t.kind() == Tokenizer::Kind::Char ? "char:" + vocab_to_string(t.char_vocab())
                                             : "bpe:" + t.model_text();
}

void save_checkpoint(const std::string& path, const GptWeights& weights,
                     const Tokenizer& tokenizer) {
    const GptConfig& c = weights.config();
    SafetensorsWriter w;
    w.set_metadata("format", "wiggle-gpt");
    w.set_metadata("n_layer", std::to_string(c.n_layer));
    w.set_metadata("n_head", std::to_string(c.n_head));
    w.set_metadata("n_embd", std::to_string(c.n_embd));
    w.set_metadata("block_size", std::to_string(c.block_size));
    w.set_metadata("vocab_size", std::to_string(c.vocab_size));
    w.set_metadata("bias", c.bias ? "true" : "false");
    w.set_metadata("dropout", fmt::format("{}", c.dropout));
    if (c.gelu == kernels::GeluForm::Tanh) w.set_metadata("gelu", "tanh");
    if (tokenizer.kind() == Tokenizer::Kind::Char) {
        w.set_metadata("vocab", vocab_to_string(tokenizer.char_vocab()));
    } else {
        w.set_metadata("tokenizer", "bpe");
        w.set_metadata("tokenizer.model", tokenizer.model_text());
    }
    const Params<float>& params = weights.params();
    for (const auto& t : params.specs()) {
        w.add_view(t.name, params.values().data() + t.offset, torch_shape(t));
    }
    const auto& wte = weights.spec("transformer.wte.weight");
    w.add_view("lm_head.weight", params.values().data() + wte.offset, torch_shape(wte));
    w.write(path);
}

std::string resolve_checkpoint_path(const std::string& path) {
    if (!is_directory(path)) return path;
    for (const char* name : {"best.safetensors", "model.safetensors"}) {
        const std::string p = path + "/" + name;
        if (file_exists(p)) return p;
    }
    WIGGLE_CHECK(false, "train one with `wiggle train --out DIR`",
                 "folder '{}' has no best.safetensors or model.safetensors", path);
    return path;
}

LoadedModel load_checkpoint(const std::string& given, bool with_grads) {
    return read_checkpoint(SafetensorsReader::open(resolve_checkpoint_path(given), "checkpoint"),
                           with_grads);
}

LoadedModel read_checkpoint(const SafetensorsReader& r, bool with_grads) {
    if (is_hf_gpt2(r)) return read_hf_gpt2(r, with_grads);
    const std::string& path = r.path();
    if (auto format = r.meta("format")) {
        WIGGLE_CHECK(*format == "wiggle-gpt", kWrongModel,
                     "checkpoint '{}' has format '{}', expected 'wiggle-gpt'", path, *format);
    }
    // Only the keys wiggle writes: a renamed key (the checksum's, say) is damage, not news.
    for (const auto& [key, value] : r.metadata()) {
        WIGGLE_CHECK(kMetadataKeys.count(key) > 0, kWrongModel,
                     "checkpoint '{}' has metadata '{}', which a wiggle checkpoint does not have",
                     path, key);
    }
    GptConfig c;
    c.n_layer = meta_int(r, "n_layer");
    c.n_head = meta_int(r, "n_head");
    c.n_embd = meta_int(r, "n_embd");
    c.block_size = meta_int(r, "block_size");
    c.vocab_size = meta_int(r, "vocab_size");
    WIGGLE_CHECK(c.n_embd % c.n_head == 0, kWrongModel,
                 "checkpoint '{}': n_embd {} is not divisible by n_head {}", path, c.n_embd,
                 c.n_head);
    WIGGLE_CHECK(c.n_layer <= 1024 && c.n_embd <= 65536 && c.block_size <= 65536 &&
                     c.vocab_size <= (1 << 21),
                 kWrongModel, "checkpoint '{}': configuration out of range", path);
    if (auto bias = r.meta("bias")) {
        WIGGLE_CHECK(*bias == "true" || *bias == "false", kWrongModel,
                     "checkpoint '{}': metadata 'bias' is '{}', not true or false", path, *bias);
        c.bias = *bias == "true";
    } else {
        c.bias = r.find("transformer.ln_f.bias") != nullptr;
    }
    if (auto gelu = r.meta("gelu")) {
        WIGGLE_CHECK(*gelu == "tanh" || *gelu == "erf", kWrongModel,
                     "checkpoint '{}': metadata 'gelu' is '{}', not tanh or erf", path, *gelu);
        c.gelu = *gelu == "tanh" ? kernels::GeluForm::Tanh : kernels::GeluForm::Erf;
    }
    if (auto dropout = r.meta("dropout")) {
        char* end = nullptr;
        const double d = std::strtod(dropout->c_str(), &end);
        WIGGLE_CHECK(end == dropout->c_str() + dropout->size() && d >= 0.0 && d < 1.0, kWrongModel,
                     "checkpoint '{}': metadata 'dropout' is '{}'", path, *dropout);
        c.dropout = static_cast<float>(d);
    }

    // The file's tensors against the model's table, before anything is allocated: a small file
    // whose header claims a big model fails here, not after allocating it.
    std::set<std::string> known;
    for (const GptWeights::TensorInfo& t : GptWeights::tensor_table(c)) {
        r.expect_floats(t.name, t.shape);
        known.insert(t.name);
    }
    const std::vector<int64_t> wte_shape{c.vocab_size, c.n_embd};
    if (r.find("lm_head.weight") != nullptr) {
        r.expect_floats("lm_head.weight", wte_shape);
        known.insert("lm_head.weight");
    }
    for (const TensorEntry& e : r.tensors()) {
        if (known.count(e.name)) continue;
        // nanoGPT's causal-mask buffer (without flash attention) is not a parameter.
        const bool mask =
            e.name.size() > 10 && e.name.ends_with(".attn.bias") && e.shape.size() == 4;
        WIGGLE_CHECK(mask, kWrongModel,
                     "checkpoint '{}' has tensor '{}' {}, which a GPT with n_layer {}, n_embd {}, "
                     "bias {} does not have",
                     path, e.name, shape_string(e.shape), c.n_layer, c.n_embd, c.bias);
    }
    Tokenizer tokenizer = read_tokenizer(r, c.vocab_size);

    LoadedModel out{GptWeights::zeros(c, with_grads), std::move(tokenizer)};
    const std::span<float> params = out.weights.params().values();
    for (const auto& t : out.weights.params().specs()) {
        r.read_floats(t.name, torch_shape(t), params.data() + t.offset);
        for (size_t i = 0; i < t.numel; ++i) {
            WIGGLE_CHECK(std::isfinite(params[t.offset + i]), kWrongModel,
                         "checkpoint '{}': tensor '{}' has a non-finite value at index {}", path,
                         t.name, i);
        }
    }
    const auto& wte = out.weights.spec("transformer.wte.weight");
    if (r.find("lm_head.weight") != nullptr) {
        const std::vector<float> head = r.read_floats("lm_head.weight", wte_shape);
        for (size_t i = 0; i < head.size(); ++i) {
            WIGGLE_CHECK(head[i] == params[wte.offset + i],
                         "wiggle's GPT ties lm_head to the token embedding",
                         "checkpoint '{}': lm_head.weight differs from transformer.wte.weight at "
                         "index {}",
                         path, i);
        }
    }
    return out;
}

}  // namespace wiggle
