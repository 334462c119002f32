// Presets, validation and the text form of TrainConfig (config.h).
#include "train/config.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "train/corpus.h"
#include "util/check.h"
#include "util/schedule.h"

namespace wiggle {

GptConfig TrainConfig::gpt(int vocab_size) const {
    GptConfig g;
    g.vocab_size = vocab_size;
    g.block_size = block_size;
    g.n_layer = n_layer;
    g.n_head = n_head;
    g.n_embd = n_embd;
    g.bias = bias;
    g.dropout = static_cast<float>(dropout);
    g.gelu = gelu;
    return g;
}

AdamWConfig TrainConfig::adamw() const {
    AdamWConfig o;
    o.beta1 = static_cast<float>(beta1);
    o.beta2 = static_cast<float>(beta2);
    o.eps = 1e-8f;
    o.weight_decay = static_cast<float>(weight_decay);
    return o;
}

double TrainConfig::lr_at(int iter) const {
    Schedule s;
    s.kind = ScheduleKind::Cosine;
    s.lr = lr;
    s.min_lr = min_lr;
    s.warmup = warmup_iters;
    s.total = decay_iters();
    return s.at(iter);
}

std::string TrainConfig::metrics_path() const {
    return metrics.empty() ? out + "/metrics.csv" : metrics;
}

std::vector<std::string> train_preset_names() { return {"baby", "shakespeare-char"}; }

TrainConfig train_preset(std::string_view name) {
    TrainConfig c;  // the defaults are the baby config
    if (name == "baby") return c;
    if (name == "shakespeare-char") {
        // nanoGPT config/train_shakespeare_char.py
        c.n_layer = 6;
        c.n_head = 6;
        c.n_embd = 384;
        c.block_size = 256;
        c.batch_size = 64;
        c.dropout = 0.2;
        c.max_iters = 5000;
        c.lr = 1e-3;
        c.min_lr = 1e-4;
        c.warmup_iters = 100;
        c.beta2 = 0.99;
        return c;
    }
    WIGGLE_CHECK(false, "use --preset baby or --preset shakespeare-char", "unknown preset '{}'",
                 name);
    return c;
}

void check_train_config(const TrainConfig& c) {
    auto positive = [](int v, const char* flag) {
        WIGGLE_CHECK(v > 0, "pass a positive integer", "--{} must be positive, got {}", flag, v);
    };
    positive(c.n_layer, "n-layer");
    positive(c.n_head, "n-head");
    positive(c.n_embd, "n-embd");
    positive(c.block_size, "block-size");
    positive(c.batch_size, "batch-size");
    WIGGLE_CHECK(c.grad_accum > 0 && c.grad_accum <= 65536, "1 sums no micro-batches",
                 "--grad-accum must be in [1, 65536], got {}", c.grad_accum);
    WIGGLE_CHECK(c.zero == 0 || c.zero == 1, "0 (off) or 1 (AdamW's moments sharded)",
                 "--zero must be 0 or 1, got {}", c.zero);
    positive(c.max_iters, "iters");
    positive(c.eval_interval, "eval-interval");
    positive(c.eval_iters, "eval-iters");
    positive(c.log_interval, "log-interval");
    WIGGLE_CHECK(c.n_embd % c.n_head == 0, "each head gets n_embd / n_head channels",
                 "--n-embd {} is not divisible by --n-head {}", c.n_embd, c.n_head);
    WIGGLE_CHECK(
        c.n_embd <= 65536 && c.n_layer <= 1024 && c.block_size <= 65536 && c.batch_size <= 65536,
        "", "model or batch size out of range (n_embd {}, n_layer {}, block {}, batch {})",
        c.n_embd, c.n_layer, c.block_size, c.batch_size);
    WIGGLE_CHECK(int64_t(c.batch_size) * c.block_size <= (int64_t(1) << 24),
                 "lower --batch-size or --block-size",
                 "--batch-size {} × --block-size {} is too many tokens per step", c.batch_size,
                 c.block_size);
    WIGGLE_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "0 turns dropout off",
                 "--dropout must be in [0, 1), got {}", c.dropout);
    WIGGLE_CHECK(std::isfinite(c.lr) && c.lr > 0.0, "nanoGPT's configs use 1e-3",
                 "--lr must be a positive number, got {}", c.lr);
    WIGGLE_CHECK(std::isfinite(c.min_lr) && c.min_lr >= 0.0 && c.min_lr <= c.lr,
                 "it is where the cosine ends, usually --lr / 10",
                 "--min-lr must be in [0, --lr], got {}", c.min_lr);
    WIGGLE_CHECK(c.warmup_iters >= 0, "", "--warmup must be 0 or more, got {}", c.warmup_iters);
    WIGGLE_CHECK(c.lr_decay_iters >= 0, "0 means the same as --iters",
                 "--lr-decay-iters must be 0 or more, got {}", c.lr_decay_iters);
    WIGGLE_CHECK(c.beta1 >= 0.0 && c.beta1 < 1.0, "", "--beta1 must be in [0, 1), got {}", c.beta1);
    WIGGLE_CHECK(c.beta2 >= 0.0 && c.beta2 < 1.0, "", "--beta2 must be in [0, 1), got {}", c.beta2);
    WIGGLE_CHECK(std::isfinite(c.weight_decay) && c.weight_decay >= 0.0, "",
                 "--weight-decay must be 0 or more, got {}", c.weight_decay);
    WIGGLE_CHECK(std::isfinite(c.grad_clip) && c.grad_clip >= 0.0, "0 turns clipping off",
                 "--grad-clip must be 0 or more, got {}", c.grad_clip);
    WIGGLE_CHECK(c.seed >= 0, "", "--seed must be 0 or more, got {}", c.seed);
    WIGGLE_CHECK(!c.out.empty(), "", "--out must name a folder");
    WIGGLE_CHECK(!c.data.empty(), "", "--data must name a file");
    if (c.tokenizer == "checkpoint") {
        WIGGLE_CHECK(!c.init_from.empty(), "pass --init-from CHECKPOINT, or another --tokenizer",
                     "--tokenizer checkpoint names the tokenizer of --init-from's checkpoint, and "
                     "there is no --init-from");
    } else {
        check_tokenizer_name(c.tokenizer);
    }
    const std::string m = c.metrics_path();
    const bool csv = m.size() >= 4 && m.substr(m.size() - 4) == ".csv";
    const bool jsonl = m.size() >= 6 && m.substr(m.size() - 6) == ".jsonl";
    WIGGLE_CHECK(csv || jsonl, "name it *.csv or *.jsonl",
                 "--metrics '{}' must end in .csv (CSV) or .jsonl (JSON lines)", m);
}

namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) {
    if constexpr (std::is_floating_point_v<T>) {
        const std::string s(text);
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) return false;
        out = static_cast<T>(v);
        return true;
    } else {
        T v{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return false;
        out = v;
        return true;
    }
}

template <typename T>
TrainField number_field(std::string flag, std::string help, bool resumable, T TrainConfig::*m) {
    TrainField f{std::move(flag),
                 std::move(help),
                 resumable,
                 std::is_floating_point_v<T> ? "FLOAT" : "INT",
                 {},
                 {}};
    f.get = [m](const TrainConfig& c) {
        if constexpr (std::is_floating_point_v<T>) {
            return fmt::format("{}", c.*m);  // shortest round-trip form
        } else {
            return std::to_string(c.*m);
        }
    };
    f.set = [m](TrainConfig& c, std::string_view text) { return parse_number(text, c.*m); };
    return f;
}

TrainField string_field(std::string flag, std::string help, bool resumable,
                        std::string TrainConfig::*m) {
    TrainField f{std::move(flag), std::move(help), resumable, "PATH", {}, {}};
    f.get = [m](const TrainConfig& c) { return c.*m; };
    f.set = [m](TrainConfig& c, std::string_view text) {
        if (text.find('\n') != std::string_view::npos) return false;
        c.*m = std::string(text);
        return true;
    };
    return f;
}

TrainField bool_field(std::string flag, std::string help, bool resumable, bool TrainConfig::*m) {
    TrainField f{std::move(flag), std::move(help), resumable, "BOOL", {}, {}};
    f.get = [m](const TrainConfig& c) { return std::string(c.*m ? "true" : "false"); };
    f.set = [m](TrainConfig& c, std::string_view text) {
        if (text == "true" || text == "1") {
            c.*m = true;
        } else if (text == "false" || text == "0") {
            c.*m = false;
        } else {
            return false;
        }
        return true;
    };
    return f;
}

// A setting with named values, e.g. {{"erf", Erf}, {"tanh", Tanh}}.
template <typename E>
TrainField choice_field(std::string flag, std::string help, bool resumable, E TrainConfig::*m,
                        std::vector<std::pair<std::string, E>> choices) {
    std::string type;
    for (const auto& [name, value] : choices) type += (type.empty() ? "" : "|") + name;
    TrainField f{std::move(flag), std::move(help), resumable, type, {}, {}};
    f.get = [m, choices](const TrainConfig& c) {
        for (const auto& [name, value] : choices) {
            if (c.*m == value) return name;
        }
        return std::string("?");
    };
    f.set = [m, choices](TrainConfig& c, std::string_view text) {
        for (const auto& [name, value] : choices) {
            if (text != name) continue;
            c.*m = value;
            return true;
        }
        return false;
    };
    return f;
}

}  // namespace

const std::vector<TrainField>& train_fields() {
    using C = TrainConfig;
    static const std::vector<TrainField> fields = {
        string_field("data", "training text (UTF-8); 90% trains, 10% validates", true, &C::data),
        string_field("out", "folder for checkpoints, metrics and the loss curve", true, &C::out),
        string_field("metrics", "metrics log, *.csv or *.jsonl (default <out>/metrics.csv)", true,
                     &C::metrics),
        string_field("tokenizer",
                     "char (the text's characters), bpe:FILE.model (wiggle tokenizer train) or "
                     "gpt2 (data/gpt2: scripts/fetch-data --gpt2; gpt2:DIR elsewhere); with "
                     "--init-from the checkpoint's is the default (checkpoint: the BPE inside it)",
                     false, &C::tokenizer),
        string_field("init-from",
                     "start from this checkpoint's weights instead of a random init (fine-tuning, "
                     "nanoGPT's init_from): a wiggle checkpoint or run folder, or a GPT-2 "
                     "model.safetensors in Hugging Face's layout. The model's shape, GELU and "
                     "tokenizer come from it (flags given must agree); --block-size may be smaller "
                     "(the position embeddings are cropped), --dropout anything",
                     false, &C::init_from),
        number_field("n-layer", "transformer blocks", false, &C::n_layer),
        number_field("n-head", "attention heads (must divide --n-embd)", false, &C::n_head),
        number_field("n-embd", "embedding width", false, &C::n_embd),
        number_field("block-size", "context length in characters", false, &C::block_size),
        bool_field("bias", "biases in the Linears and LayerNorms", false, &C::bias),
        number_field("dropout", "dropout probability in [0, 1)", false, &C::dropout),
        choice_field("gelu", "the MLP's GELU: erf (nanoGPT's nn.GELU) or tanh (GPT-2's gelu_new)",
                     false, &C::gelu,
                     {{"erf", kernels::GeluForm::Erf}, {"tanh", kernels::GeluForm::Tanh}}),
        choice_field("dtype",
                     "the matmuls' arithmetic: fp32, or bf16 mixed precision (bf16 copies of "
                     "weights, inputs and output gradients, and attention's products on bf16, "
                     "float sums; float master weights, gradients, AdamW, layer norms, softmax "
                     "and loss; checkpoints stay fp32)",
                     false, &C::precision, {{"fp32", Precision::Fp32}, {"bf16", Precision::Bf16}}),
        number_field("batch-size", "sequences per micro-batch", false, &C::batch_size),
        number_field("grad-accum",
                     "micro-batches per rank per iteration, their gradients summed (the global "
                     "batch is ranks × grad-accum × batch-size)",
                     false, &C::grad_accum),
        number_field("zero", "1: shard AdamW's moments across the ranks (ZeRO stage 1)", true,
                     &C::zero),
        number_field("iters", "training iterations", true, &C::max_iters),
        number_field("lr", "peak learning rate", false, &C::lr),
        number_field("min-lr", "learning rate at the end of the cosine decay", false, &C::min_lr),
        number_field("warmup", "linear warmup iterations", false, &C::warmup_iters),
        number_field("lr-decay-iters", "iterations of cosine decay (0: --iters)", false,
                     &C::lr_decay_iters),
        number_field("beta1", "AdamW beta1", false, &C::beta1),
        number_field("beta2", "AdamW beta2", false, &C::beta2),
        number_field("weight-decay", "AdamW weight decay (2-D weights only)", false,
                     &C::weight_decay),
        number_field("grad-clip", "clip the global gradient norm to this (0: off)", false,
                     &C::grad_clip),
        number_field("eval-interval", "evaluate every this many iterations", true,
                     &C::eval_interval),
        number_field("eval-iters", "batches per split in each evaluation", true, &C::eval_iters),
        number_field("log-interval", "log a line every this many iterations (no TTY)", true,
                     &C::log_interval),
        number_field("seed", "seed of the initialization and the batches", false, &C::seed),
    };
    return fields;
}

std::string config_to_text(const TrainConfig& c) {
    std::string out;
    for (const TrainField& f : train_fields()) out += f.flag + "=" + f.get(c) + "\n";
    return out;
}

TrainConfig config_from_text(std::string_view text, std::string_view source) {
    TrainConfig c;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        const size_t eq = line.find('=');
        WIGGLE_CHECK(eq != std::string_view::npos, "", "{}: bad setting line '{}'", source, line);
        const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
        bool known = false;
        for (const TrainField& f : train_fields()) {
            if (f.flag != key) continue;
            known = true;
            WIGGLE_CHECK(f.set(c, value), "", "{}: bad value '{}' for setting '{}'", source, value,
                         key);
        }
        WIGGLE_CHECK(known, "it may come from a newer wiggle", "{}: unknown setting '{}'", source,
                     key);
    }
    return c;
}

}  // namespace wiggle
