// GPT-2 checkpoints in Hugging Face's safetensors layout (checkpoint.h): OpenAI's GPT-2 as the
// transformers library stores it (GPT2LMHeadModel, or GPT2Model without lm_head). Its Conv1D
// layers keep their weights (in, out), the transpose of torch.nn.Linear's (out, in) that wiggle's
// GPT and nanoGPT use: the four matrices of each block are transposed on load. Everything is
// checked against the configuration before the model is allocated, and the weights are copied
// once, out of the mapped file, into the model.
// reference: transformers' modeling_gpt2.py; nanoGPT's GPT.from_pretrained (the same transposes).
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "train/checkpoint.h"
#include "util/check.h"
#include "util/io.h"
#include "util/json.h"

namespace wiggle {

namespace {

const char* kNotGpt2 =
    "the file must be a GPT-2 model.safetensors (Hugging Face's layout) or a wiggle checkpoint";

// The tensors of one block, with their shapes in multiples of C ({rows, cols}; cols 0 for a
// vector) as stored, and whether the model's tensor is their transpose (Conv1D's weights).
struct HfTensor {
    const char* name;
    int rows, cols;
    bool conv1d;
};
constexpr HfTensor kBlock[] = {
    {"ln_1.weight", 1, 0, false},       {"ln_1.bias", 1, 0, false},
    {"attn.c_attn.weight", 1, 3, true}, {"attn.c_attn.bias", 3, 0, false},
    {"attn.c_proj.weight", 1, 1, true}, {"attn.c_proj.bias", 1, 0, false},
    {"ln_2.weight", 1, 0, false},       {"ln_2.bias", 1, 0, false},
    {"mlp.c_fc.weight", 1, 4, true},    {"mlp.c_fc.bias", 4, 0, false},
    {"mlp.c_proj.weight", 4, 1, true},  {"mlp.c_proj.bias", 1, 0, false},
};

// "transformer." when the names carry it (GPT2LMHeadModel), "" when not (GPT2Model, the Hub's
// model.safetensors).
std::string prefix_of(const SafetensorsReader& r) {
    return r.find("transformer.wte.weight") != nullptr ? "transformer." : "";
}

// GPT-2's sizes: n_embd → n_head (heads of 64).
int gpt2_heads(int C) {
    switch (C) {
        case 768:
            return 12;  // gpt2 (124M)
        case 1024:
            return 16;  // gpt2-medium (355M)
        case 1280:
            return 20;  // gpt2-large (774M)
        case 1600:
            return 25;  // gpt2-xl (1.5B)
        default:
            return 0;
    }
}

// The configuration from the shapes, and from config.json beside the file when there is one (its
// entries must agree with the shapes; it alone can give n_head for a size GPT-2 does not have).
GptConfig config_of(const SafetensorsReader& r, const std::string& prefix) {
    const std::string& path = r.path();
    const TensorEntry* wte = r.find(prefix + "wte.weight");
    const TensorEntry* wpe = r.find(prefix + "wpe.weight");
    WIGGLE_CHECK(wte != nullptr && wte->shape.size() == 2, kNotGpt2,
                 "GPT-2 checkpoint '{}' has no 2-D tensor '{}wte.weight'", path, prefix);
    WIGGLE_CHECK(wpe != nullptr && wpe->shape.size() == 2 && wpe->shape[1] == wte->shape[1],
                 kNotGpt2, "GPT-2 checkpoint '{}': tensor '{}wpe.weight' is missing or not (T, {})",
                 path, prefix, wte->shape[1]);
    WIGGLE_CHECK(wte->shape[0] > 0 && wte->shape[0] <= (1 << 21) && wte->shape[1] > 0 &&
                     wte->shape[1] <= 65536 && wpe->shape[0] > 0 && wpe->shape[0] <= 65536,
                 kNotGpt2, "GPT-2 checkpoint '{}': sizes out of range", path);
    GptConfig c;
    c.vocab_size = static_cast<int>(wte->shape[0]);
    c.n_embd = static_cast<int>(wte->shape[1]);
    c.block_size = static_cast<int>(wpe->shape[0]);
    c.n_layer = 0;
    while (c.n_layer < 1024 && r.find(fmt::format("{}h.{}.ln_1.weight", prefix, c.n_layer))) {
        ++c.n_layer;
    }
    WIGGLE_CHECK(c.n_layer > 0, kNotGpt2, "GPT-2 checkpoint '{}' has no tensor '{}h.0.ln_1.weight'",
                 path, prefix);
    c.n_head = gpt2_heads(c.n_embd);
    c.bias = true;
    c.dropout = 0.0f;
    c.gelu = kernels::GeluForm::Tanh;  // "gelu_new"

    const std::string json_path = folder_of(path) + "/config.json";
    if (file_exists(json_path)) {
        const std::string text = read_file(json_path, "GPT-2 config");
        const JsonParse parsed = parse_json(text);
        WIGGLE_CHECK(parsed.value && parsed.value->is_object(), "write it as JSON, or remove it",
                     "GPT-2 config '{}' is not a JSON object{}", json_path,
                     parsed.error.empty() ? "" : ": " + parsed.error);
        const Json& j = *parsed.value;
        auto agree = [&](const char* key, int shapes_say) {
            const Json* v = j.find(key);
            if (v == nullptr) return;
            const auto n = v->as_int();
            WIGGLE_CHECK(n && *n == shapes_say, "the config.json must be the checkpoint's own",
                         "GPT-2 config '{}' says {} {}, but the tensors of '{}' say {}", json_path,
                         key, v->text.empty() ? "?" : v->text, path, shapes_say);
        };
        agree("vocab_size", c.vocab_size);
        agree("n_embd", c.n_embd);
        agree("n_layer", c.n_layer);
        agree("n_positions", c.block_size);
        if (const Json* h = j.find("n_head")) {
            const auto n = h->as_int();
            WIGGLE_CHECK(n && *n > 0 && *n <= c.n_embd && c.n_embd % *n == 0,
                         "n_head must divide n_embd",
                         "GPT-2 config '{}': n_head {} does not divide n_embd {}", json_path,
                         h->text, c.n_embd);
            c.n_head = static_cast<int>(*n);
        }
        if (const Json* eps = j.find("layer_norm_epsilon")) {
            const auto e = eps->as_double();
            WIGGLE_CHECK(e && std::fabs(*e - 1e-5) < 1e-12, "wiggle's layer norms use GPT-2's 1e-5",
                         "GPT-2 config '{}': layer_norm_epsilon {} is not 1e-5", json_path,
                         eps->text);
        }
        if (const Json* act = j.find("activation_function")) {
            WIGGLE_CHECK(act->is_string() && (act->text == "gelu_new" || act->text == "gelu" ||
                                              act->text == "gelu_pytorch_tanh"),
                         "GPT-2 uses gelu_new",
                         "GPT-2 config '{}': activation_function '{}' is not a GELU", json_path,
                         act->text);
            c.gelu = act->text == "gelu" ? kernels::GeluForm::Erf : kernels::GeluForm::Tanh;
        }
    }
    WIGGLE_CHECK(c.n_head > 0, "put the model's config.json (with n_head) beside it",
                 "GPT-2 checkpoint '{}': n_embd {} is none of GPT-2's sizes (768, 1024, 1280, "
                 "1600), so its n_head is unknown",
                 path, c.n_embd);
    return c;
}

// The stored shape of a block tensor.
std::vector<int64_t> stored_shape(const HfTensor& t, int C) {
    if (t.cols == 0) return {int64_t(t.rows) * C};
    return {int64_t(t.rows) * C, int64_t(t.cols) * C};
}

}  // namespace

bool is_hf_gpt2(const SafetensorsReader& r) {
    // wiggle's (and nanoGPT's) metadata, or c_attn stored (3C, C): a wiggle checkpoint
    if (r.meta("n_layer") || r.meta("format") == "wiggle-gpt") return false;
    const std::string p = prefix_of(r);
    const TensorEntry* wte = r.find(p + "wte.weight");
    const TensorEntry* c_attn = r.find(p + "h.0.attn.c_attn.weight");
    return wte != nullptr && c_attn != nullptr && wte->shape.size() == 2 &&
           c_attn->shape.size() == 2 && c_attn->shape[0] == wte->shape[1] &&
           c_attn->shape[1] == 3 * wte->shape[1];  // Conv1D: (in, out) = (C, 3C)
}

LoadedModel read_hf_gpt2(const SafetensorsReader& r, bool with_grads) {
    const std::string& path = r.path();
    const std::string p = prefix_of(r);
    const GptConfig c = config_of(r, p);
    const int C = c.n_embd;

    // Every tensor checked (the first missing or misshapen one named) before allocating.
    std::set<std::string> known;
    auto expect = [&](const std::string& name, const std::vector<int64_t>& shape) {
        r.expect_floats(name, shape);
        known.insert(name);
    };
    expect(p + "wte.weight", {c.vocab_size, C});
    expect(p + "wpe.weight", {c.block_size, C});
    for (int l = 0; l < c.n_layer; ++l) {
        for (const HfTensor& t : kBlock)
            expect(fmt::format("{}h.{}.{}", p, l, t.name), stored_shape(t, C));
    }
    expect(p + "ln_f.weight", {C});
    expect(p + "ln_f.bias", {C});
    if (r.find("lm_head.weight") != nullptr) expect("lm_head.weight", {c.vocab_size, C});
    for (const TensorEntry& e : r.tensors()) {
        if (known.count(e.name)) continue;
        // the causal mask and its fill value, buffers that older files carry
        const bool buffer = e.name.ends_with(".attn.bias") || e.name.ends_with(".attn.masked_bias");
        WIGGLE_CHECK(buffer, kNotGpt2,
                     "GPT-2 checkpoint '{}' has tensor '{}' {}, which GPT-2 does not have", path,
                     e.name, shape_string(e.shape));
    }

    LoadedModel out{GptWeights::zeros(c, with_grads), std::nullopt};
    GptWeights& w = out.weights;
    std::vector<float> scratch;  // one Conv1D weight at a time, to transpose
    auto load = [&](const std::string& from, const std::string& to, bool transpose) {
        const std::span<float> dst = w.values(to);
        const TensorEntry* e = r.find(from);
        if (!transpose) {
            r.read_floats(from, e->shape, dst.data());
        } else {
            const int64_t in = e->shape[0], outs = e->shape[1];  // stored (in, out)
            scratch.resize(dst.size());
            r.read_floats(from, e->shape, scratch.data());
            for (int64_t i = 0; i < in; ++i) {
                for (int64_t o = 0; o < outs; ++o) dst[o * in + i] = scratch[i * outs + o];
            }
        }
        for (size_t i = 0; i < dst.size(); ++i) {
            WIGGLE_CHECK(std::isfinite(dst[i]), kNotGpt2,
                         "GPT-2 checkpoint '{}': tensor '{}' has a non-finite value at index {}",
                         path, from, i);
        }
    };
    load(p + "wte.weight", "transformer.wte.weight", false);
    load(p + "wpe.weight", "transformer.wpe.weight", false);
    for (int l = 0; l < c.n_layer; ++l) {
        for (const HfTensor& t : kBlock) {
            load(fmt::format("{}h.{}.{}", p, l, t.name),
                 fmt::format("transformer.h.{}.{}", l, t.name), t.conv1d);
        }
    }
    load(p + "ln_f.weight", "transformer.ln_f.weight", false);
    load(p + "ln_f.bias", "transformer.ln_f.bias", false);
    if (r.find("lm_head.weight") != nullptr) {  // tied: the same values as wte
        const std::vector<float> head =
            r.read_floats("lm_head.weight", std::vector<int64_t>{c.vocab_size, C});
        const std::span<const float> wte = w.values("transformer.wte.weight");
        for (size_t i = 0; i < head.size(); ++i) {
            WIGGLE_CHECK(
                head[i] == wte[i], "GPT-2 ties lm_head to the token embedding",
                "GPT-2 checkpoint '{}': lm_head.weight differs from wte.weight at index {}", path,
                i);
        }
    }
    return out;
}

}  // namespace wiggle
