// GPT-2 checkpoints in Hugging Face's layout against PyTorch (scripts/fixtures/gpt2_hf.py: tiny
// random models stored exactly as transformers stores GPT-2, and that script's own GPT-2 forward
// in float64): the same logits to 1e-4, the same greedy continuation token for token (through
// the KV-cached decoder and the full recompute), and for one fine-tuning step the same loss and
// every gradient. And every way such a file can be wrong gives one line naming the first problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fixture.h"
#include "nn/gpt_decoder.h"
#include "nn/gpt_model.h"
#include "train/checkpoint.h"
#include "train/estimate_loss.h"
#include "util/io.h"

namespace wiggle {
namespace {

using testing::all_close;
using ::testing::ExitedWithCode;
using testing::Fixture;
using testing::fixture_path;

struct Expect {
    const char* name;
    int n_layer, n_head, n_embd, block, vocab;
};
constexpr Expect kModels[] = {
    {"lm_head", 2, 2, 16, 12, 97},
    {"hub", 1, 2, 8, 16, 50257},
    {"four_heads", 3, 4, 32, 20, 61},
};

std::string model_path(const std::string& name) {
    return fixture_path("gpt2_hf/" + name + "/model.safetensors");
}

int argmax(std::span<const float> row) {
    return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}

TEST(HfGpt2, ConfigurationFromTheShapesAndConfigJson) {
    for (const Expect& e : kModels) {
        SCOPED_TRACE(e.name);
        const LoadedModel m = load_checkpoint(model_path(e.name));
        const GptConfig& c = m.weights.config();
        EXPECT_EQ(c.n_layer, e.n_layer);
        EXPECT_EQ(c.n_head, e.n_head);
        EXPECT_EQ(c.n_embd, e.n_embd);
        EXPECT_EQ(c.block_size, e.block);
        EXPECT_EQ(c.vocab_size, e.vocab);
        EXPECT_TRUE(c.bias);
        EXPECT_EQ(c.gelu, kernels::GeluForm::Tanh);
        EXPECT_FALSE(m.tokenizer.has_value());
    }
}

// The loss of the fixture's token sequences with the weights in fp32, bf16 and int8, as `wiggle
// eval --dtype` computes it: the decoder's loss equals the training forward's on the same weights
// (fp32; bf16 rounded), and int8 stays within 1% of fp32. The stated tolerance for int8.
constexpr double kInt8LossTolerance = 0.01;
TEST(HfGpt2, LossInEveryPrecision) {
    for (const Expect& e : kModels) {
        SCOPED_TRACE(e.name);
        LoadedModel m = load_checkpoint(model_path(e.name));
        Fixture f("gpt2_hf/" + std::string(e.name) + "/expected.safetensors");
        const std::vector<int> tokens = f.get<int>("tokens");  // S sequences, one text
        GptActivations acts;
        const ContextWindow window(e.block, e.block);
        const double fp32 = estimate_loss(acts, m.weights, tokens, 4, e.block, 0);
        GptDecoder f32(m.weights, window, DecodeWeights::Fp32);
        EXPECT_NEAR(decoder_loss(f32, tokens), fp32, 1e-5 * fp32);
        GptDecoder int8(m.weights, window, DecodeWeights::Int8);
        const double q8 = decoder_loss(int8, tokens);
        EXPECT_NEAR(q8, fp32, kInt8LossTolerance * fp32);
        EXPECT_NE(q8, fp32);
        m.weights.round_to_bf16();
        const double bf16 = estimate_loss(acts, m.weights, tokens, 4, e.block, 0);
        GptDecoder b16(m.weights, window);
        EXPECT_NEAR(decoder_loss(b16, tokens), bf16, 1e-5 * bf16);
        std::printf("%s: loss fp32 %.6f, bf16 %.6f, int8 %.6f\n", e.name, fp32, bf16, q8);
    }
}

TEST(HfGpt2, LogitsMatchPyTorch) {
    for (const Expect& e : kModels) {
        SCOPED_TRACE(e.name);
        const LoadedModel m = load_checkpoint(model_path(e.name));
        Fixture f("gpt2_hf/" + std::string(e.name) + "/expected.safetensors");
        const std::vector<int> tokens = f.get<int>("tokens");
        const int S = static_cast<int>(f.shape("tokens")[0]),
                  T = static_cast<int>(f.shape("tokens")[1]);
        GptActivations acts;
        gpt_forward(acts, m.weights, tokens.data(), nullptr, S, T);
        const auto logits = acts.last_logits(e.vocab);
        if (f.has("logits")) {
            EXPECT_TRUE(all_close(std::vector<float>(logits.begin(), logits.end()),
                                  f.get<double>("logits"), 1e-4, 1e-5));
        } else {  // the last position of each sequence
            std::vector<float> last;
            for (int s = 0; s < S; ++s) {
                const auto row =
                    logits.subspan((static_cast<size_t>(s) * T + T - 1) * e.vocab, e.vocab);
                last.insert(last.end(), row.begin(), row.end());
            }
            EXPECT_TRUE(all_close(last, f.get<float>("last_logits"), 1e-4, 1e-5));
        }
    }
}

TEST(HfGpt2, GreedyContinuationMatchesPyTorchTokenForToken) {
    for (const Expect& e : kModels) {
        SCOPED_TRACE(e.name);
        const LoadedModel m = load_checkpoint(model_path(e.name));
        Fixture f("gpt2_hf/" + std::string(e.name) + "/expected.safetensors");
        const std::vector<int> want = f.get<int>("greedy");
        std::vector<int> context = f.get<int>("prompt");
        GptDecoder decoder(m.weights, ContextWindow(e.block, e.block));
        GptActivations acts;
        std::span<const float> row = decoder.append(context);
        for (size_t i = 0; i < want.size(); ++i) {
            const int next = argmax(row);
            // the full recompute picks the same token
            EXPECT_EQ(argmax(gpt_next_logits(acts, m.weights, context.data(),
                                             static_cast<int>(context.size()))),
                      next)
                << "step " << i;
            EXPECT_EQ(next, want[i]) << "step " << i;
            context.push_back(next);
            row = decoder.append(std::span(&next, 1));
        }
    }
}

// The model's name and layout of an HF tensor: "transformer." dropped or not, Conv1D transposed.
bool is_conv1d(const std::string& name) {
    return name.ends_with("c_attn.weight") || name.ends_with("c_proj.weight") ||
           name.ends_with("c_fc.weight");
}

TEST(HfGpt2, OneFineTuningStepHasPyTorchsLossAndGradients) {
    for (const Expect& e : kModels) {
        Fixture f("gpt2_hf/" + std::string(e.name) + "/expected.safetensors");
        if (!f.has("loss")) continue;  // GPT-2's vocabulary: a logits check only
        SCOPED_TRACE(e.name);
        LoadedModel m = load_checkpoint(model_path(e.name), /*with_grads=*/true);
        const std::vector<int> x = f.get<int>("x"), y = f.get<int>("y");
        const int B = static_cast<int>(f.shape("x")[0]), T = static_cast<int>(f.shape("x")[1]);
        GptActivations acts;
        m.weights.params().zero_grad();
        const float loss = gpt_forward(acts, m.weights, x.data(), y.data(), B, T);
        gpt_backward(m.weights.grads(), m.weights, acts);
        EXPECT_NEAR(loss, f.get<double>("loss")[0], 1e-5 * std::fabs(f.get<double>("loss")[0]));
        int compared = 0;
        for (const auto& s : m.weights.params().specs()) {
            const std::string hf = s.name.substr(std::string("transformer.").size());
            const std::vector<double> want_stored = f.get<double>("grad." + hf);
            std::vector<double> want = want_stored;
            if (is_conv1d(hf)) {  // stored (in, out); the model's (out, in)
                const int out = s.shape[0], in = s.shape[1];
                for (int o = 0; o < out; ++o)
                    for (int i = 0; i < in; ++i) want[o * in + i] = want_stored[i * out + o];
            }
            const auto got = m.weights.params().grads().subspan(s.offset, s.numel);
            double scale = 0;
            for (double v : want) scale = std::max(scale, std::fabs(v));
            EXPECT_TRUE(all_close(std::vector<float>(got.begin(), got.end()), want, 1e-4,
                                  1e-5 * std::max(scale, 1e-3)))
                << s.name;
            ++compared;
        }
        EXPECT_EQ(compared, 2 + 12 * e.n_layer + 2);
    }
}

// ---- bad files ----------------------------------------------------------------------------------

// The lm_head fixture rewritten with an edit (tensors and config.json), in a temp folder.
std::string edited(
    const std::string& name,
    const std::function<void(std::map<std::string, std::string>& bytes,
                             std::vector<TensorEntry>& tensors, std::string& config)>& edit) {
    const SafetensorsReader r = SafetensorsReader::open(model_path("lm_head"));
    std::map<std::string, std::string> bytes;
    std::vector<TensorEntry> tensors = r.tensors();
    for (const TensorEntry& e : tensors) bytes[e.name] = std::string(r.raw(e));
    std::string config = read_file(fixture_path("gpt2_hf/lm_head/config.json"));
    edit(bytes, tensors, config);
    const std::string folder = ::testing::TempDir() + "hf_" + name;
    std::filesystem::create_directories(folder);
    SafetensorsWriter w;
    for (const TensorEntry& e : tensors) w.add_raw(e.name, e.dtype, e.shape, bytes[e.name]);
    w.set_metadata("format", "pt");
    w.write(folder + "/model.safetensors");
    std::filesystem::remove(folder + "/config.json");
    if (!config.empty()) write_file_atomic(folder + "/config.json", config);
    return folder + "/model.safetensors";
}

void replace(std::string& s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
}

TEST(HfGpt2Death, MissingOrMisshapenTensorsAreNamed) {
    const std::string missing = edited("missing", [](auto&, auto& tensors, auto&) {
        std::erase_if(tensors, [](const TensorEntry& e) {
            return e.name == "transformer.h.1.mlp.c_fc.bias";
        });
    });
    EXPECT_EXIT(load_checkpoint(missing), ExitedWithCode(1),
                "has no tensor 'transformer.h.1.mlp.c_fc.bias'");
    // c_fc's weight as nanoGPT's (out, in) instead of Conv1D's (in, out)
    const std::string transposed = edited("transposed", [](auto&, auto& tensors, auto&) {
        for (TensorEntry& e : tensors) {
            if (e.name == "transformer.h.0.mlp.c_fc.weight") e.shape = {64, 16};
        }
    });
    EXPECT_EXIT(load_checkpoint(transposed), ExitedWithCode(1),
                "tensor 'transformer.h.0.mlp.c_fc.weight' has shape \\[64, 16\\], the model needs "
                "\\[16, 64\\]");
    const std::string extra = edited("extra", [](auto& bytes, auto& tensors, auto&) {
        tensors.push_back({"transformer.h.0.attn.rotary", "F32", {2}, 0, 0});
        bytes["transformer.h.0.attn.rotary"] = std::string(8, '\0');
    });
    EXPECT_EXIT(load_checkpoint(extra), ExitedWithCode(1),
                "has tensor 'transformer.h.0.attn.rotary' \\[2\\], which GPT-2 does not have");
    const std::string untied =
        edited("untied", [](auto& bytes, auto&, auto&) { bytes["lm_head.weight"][5] ^= 0x10; });
    EXPECT_EXIT(load_checkpoint(untied), ExitedWithCode(1),
                "lm_head.weight differs from wte.weight");
}

TEST(HfGpt2Death, AConfigJsonThatDisagreesWithTheShapes) {
    const std::string wide = edited("wide", [](auto&, auto&, auto& config) {
        replace(config, "\"n_embd\": 16", "\"n_embd\": 32");
    });
    EXPECT_EXIT(load_checkpoint(wide), ExitedWithCode(1),
                "config.json' says n_embd 32, but the tensors of .* say 16");
    const std::string heads = edited("heads", [](auto&, auto&, auto& config) {
        replace(config, "\"n_head\": 2", "\"n_head\": 3");
    });
    EXPECT_EXIT(load_checkpoint(heads), ExitedWithCode(1), "n_head 3 does not divide n_embd 16");
    const std::string relu =
        edited("relu", [](auto&, auto&, auto& config) { replace(config, "gelu_new", "relu"); });
    EXPECT_EXIT(load_checkpoint(relu), ExitedWithCode(1),
                "activation_function 'relu' is not a GELU");
    // without config.json, n_embd 16 is none of GPT-2's sizes: n_head cannot be known
    const std::string bare = edited("bare", [](auto&, auto&, auto& config) { config.clear(); });
    EXPECT_EXIT(load_checkpoint(bare), ExitedWithCode(1),
                "n_embd 16 is none of GPT-2's sizes \\(768, 1024, 1280, 1600\\)");
}

}  // namespace
}  // namespace wiggle
