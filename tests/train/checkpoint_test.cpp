// GPT checkpoints: a checkpoint written by PyTorch (scripts/fixtures/gpt_checkpoint.py) loads and
// gives PyTorch's logits and loss; wiggle's own files round-trip bit for bit; and every way a
// checkpoint can be wrong (shapes, another config, dtype, metadata, untied head, NaN, damage)
// exits with one line naming it.
#include "train/checkpoint.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "fixture.h"
#include "nn/gpt_model.h"
#include "train/safetensors.h"
#include "util/io.h"

namespace wiggle {
namespace {

using ::testing::ExitedWithCode;
using wiggle::testing::all_close;
using wiggle::testing::Fixture;
using wiggle::testing::fixture_path;

const std::string kTorchCheckpoint = "gpt_checkpoint_torch.safetensors";

std::string temp(const std::string& name) { return ::testing::TempDir() + "/wiggle_ckpt_" + name; }

TEST(Checkpoint, LoadsAPyTorchCheckpointAndMatchesItsLogits) {
    LoadedModel m = load_checkpoint(fixture_path(kTorchCheckpoint));
    const GptConfig& c = m.weights.config();
    EXPECT_EQ(c.n_layer, 2);
    EXPECT_EQ(c.n_head, 2);
    EXPECT_EQ(c.n_embd, 16);
    EXPECT_EQ(c.block_size, 8);
    EXPECT_TRUE(c.bias);
    EXPECT_EQ(m.tokenizer->vocab_size(), c.vocab_size);
    EXPECT_EQ(m.tokenizer->char_vocab().char_of(c.vocab_size - 1), U'\u00e9');  // sorted: é is last

    Fixture f("gpt_checkpoint_torch_io.safetensors");
    const std::vector<int> tokens = f.get<int>("tokens"), targets = f.get<int>("targets");
    GptActivations acts;
    const float loss = gpt_forward(acts, m.weights, tokens.data(), targets.data(), 2, 8);
    const auto logits = acts.last_logits(c.vocab_size);
    EXPECT_TRUE(all_close(std::vector<float>(logits.begin(), logits.end()), f.get<float>("logits"),
                          1e-4, 1e-5));
    EXPECT_NEAR(loss, f.get<float>("loss")[0], 1e-5);
}

TEST(Checkpoint, RoundTripIsBitExact) {
    GptConfig c;
    c.vocab_size = 5;
    c.block_size = 8;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 8;
    c.bias = true;
    c.dropout = 0.125f;
    const GptWeights model(c, 7);
    const CharVocab vocab = CharVocab::of_text(U"\nab\"c");
    const std::string path = temp("roundtrip.safetensors");
    save_checkpoint(path, model, Tokenizer::chars(vocab));
    LoadedModel m = load_checkpoint(path);
    EXPECT_EQ(m.weights.config().dropout, 0.125f);
    EXPECT_TRUE(m.weights.config().bias);
    EXPECT_EQ(vocab_to_string(m.tokenizer->char_vocab()), "\n\"abc");
    ASSERT_EQ(m.weights.num_parameters(), model.num_parameters());
    EXPECT_EQ(0, std::memcmp(m.weights.params().values().data(), model.params().values().data(),
                             model.num_parameters() * sizeof(float)));
    EXPECT_EQ(params_hash(m.weights), params_hash(model));
    // nanoGPT's state_dict has lm_head.weight too.
    const SafetensorsReader r = SafetensorsReader::open(path);
    ASSERT_NE(r.find("lm_head.weight"), nullptr);
    EXPECT_EQ(r.find("lm_head.weight")->shape, (std::vector<int64_t>{5, 8}));
    EXPECT_EQ(r.find("transformer.h.1.attn.c_attn.weight")->shape, (std::vector<int64_t>{24, 8}));
    std::remove(path.c_str());
}

TEST(Checkpoint, CarriesABpeTokenizer) {
    // A BPE's checkpoint holds its .model text: the loaded tokenizer encodes as the saved one.
    const std::string text = "to be or not to be, that is the question; to be, to be.";
    const Tokenizer bpe = Tokenizer::train(text, 256 + 20, std::string(kGpt4Pattern));
    GptConfig c;
    c.vocab_size = bpe.vocab_size();
    c.block_size = 4;
    c.n_layer = 1;
    c.n_head = 1;
    c.n_embd = 4;
    const std::string path = temp("bpe.safetensors");
    save_checkpoint(path, GptWeights(c, 1), bpe);
    const LoadedModel m = load_checkpoint(path);
    EXPECT_EQ(m.tokenizer->kind(), Tokenizer::Kind::Bpe);
    EXPECT_EQ(m.tokenizer->model_text(), bpe.model_text());
    EXPECT_EQ(m.tokenizer->encode("not the question"), bpe.encode("not the question"));
    EXPECT_EQ(tokenizer_identity(*m.tokenizer), tokenizer_identity(bpe));
    EXPECT_NE(tokenizer_identity(*m.tokenizer),
              tokenizer_identity(Tokenizer::train(text, 256 + 19, std::string(kGpt4Pattern))));
    std::remove(path.c_str());
}

// Rewrites the PyTorch checkpoint with an edit, to `name` in the temp folder.
std::string edited(const std::string& name,
                   const std::function<void(std::map<std::string, std::string>& meta,
                                            std::vector<TensorEntry>& tensors,
                                            std::map<std::string, std::string>& bytes)>& edit) {
    const SafetensorsReader r = SafetensorsReader::open(fixture_path(kTorchCheckpoint));
    std::map<std::string, std::string> meta = r.metadata(), bytes;
    std::vector<TensorEntry> tensors = r.tensors();
    for (const TensorEntry& e : tensors) bytes[e.name] = std::string(r.raw(e));
    edit(meta, tensors, bytes);
    SafetensorsWriter w;
    for (const auto& [k, v] : meta) w.set_metadata(k, v);
    for (const TensorEntry& e : tensors) w.add_raw(e.name, e.dtype, e.shape, bytes[e.name]);
    const std::string path = temp(name);
    w.write(path);
    return path;
}

TEST(CheckpointDeath, ShapesFromAnotherConfig) {
    // std::string(...): GCC 12 warns falsely (-Wrestrict) when a literal is assigned here.
    const std::string wide = edited(
        "wide.safetensors", [](auto& meta, auto&, auto&) { meta["n_embd"] = std::string("32"); });
    EXPECT_EXIT(load_checkpoint(wide), ExitedWithCode(1),
                "tensor 'transformer.wte.weight' has shape \\[36, 16\\], the model needs \\[36, "
                "32\\]");
    const std::string shallow = edited("shallow.safetensors", [](auto& meta, auto&, auto&) {
        meta["n_layer"] = std::string("1");
    });
    EXPECT_EXIT(load_checkpoint(shallow), ExitedWithCode(1),
                "has tensor 'transformer.h.1.*which a GPT with n_layer 1");
    const std::string heads = edited(
        "heads.safetensors", [](auto& meta, auto&, auto&) { meta["n_head"] = std::string("3"); });
    EXPECT_EXIT(load_checkpoint(heads), ExitedWithCode(1),
                "n_embd 16 is not divisible by n_head 3");
}

TEST(CheckpointDeath, BadTokenizerMetadata) {
    const std::string no_model = edited("nomodel.safetensors", [](auto& meta, auto&, auto&) {
        meta["tokenizer"] = std::string("bpe");
    });
    EXPECT_EXIT(load_checkpoint(no_model), ExitedWithCode(1),
                "has a BPE tokenizer but no 'tokenizer.model' in its metadata");
    const std::string small = edited("smallbpe.safetensors", [](auto& meta, auto&, auto&) {
        meta["tokenizer"] = std::string("bpe");
        meta["tokenizer.model"] = std::string("minbpe v1\n\n0\n");  // 256 tokens, not 36
    });
    EXPECT_EXIT(load_checkpoint(small), ExitedWithCode(1),
                "its tokenizer has 256 tokens but vocab_size is 36");
    const std::string broken = edited("brokenbpe.safetensors", [](auto& meta, auto&, auto&) {
        meta["tokenizer"] = std::string("bpe");
        meta["tokenizer.model"] = std::string("minbpe v7\n\n0\n");
    });
    EXPECT_EXIT(load_checkpoint(broken), ExitedWithCode(1), "tokenizer.*minbpe v7");
    const std::string other = edited("wordpiece.safetensors", [](auto& meta, auto&, auto&) {
        meta["tokenizer"] = std::string("wordpiece");
    });
    EXPECT_EXIT(load_checkpoint(other), ExitedWithCode(1),
                "has tokenizer 'wordpiece', not 'char' or 'bpe'");
}

// A wiggle checkpoint of a tiny model, as bytes.
std::string tiny_checkpoint_bytes() {
    GptConfig c;
    c.vocab_size = 5;
    c.block_size = 4;
    c.n_layer = 1;
    c.n_head = 4;
    c.n_embd = 8;
    const std::string path = temp("tiny.safetensors");
    save_checkpoint(path, GptWeights(c, 3), Tokenizer::chars(CharVocab::of_text(U"!abcd")));
    return read_file(path, "checkpoint");
}

std::string written(const std::string& name, const std::string& bytes) {
    const std::string path = temp(name);
    write_file_atomic(path, bytes);
    return path;
}

TEST(CheckpointDeath, AnEditedHeaderIsCaught) {
    const std::string good = tiny_checkpoint_bytes();
    ASSERT_EQ(load_checkpoint(written("good.safetensors", good)).weights.config().n_head, 4);
    auto edit = [&](const std::string& from, const std::string& to) {
        std::string bytes = good;
        const size_t at = bytes.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return bytes.replace(at, from.size(), to);
    };
    // n_head 4 -> 8: the shapes do not tell, the checksum does
    EXPECT_EXIT(
        load_checkpoint(written("heads.safetensors", edit("\"n_head\":\"4\"", "\"n_head\":\"8\""))),
        ExitedWithCode(1), "does not match the checksum");
    // one bit of the vocabulary: '!' becomes '#'
    EXPECT_EXIT(
        load_checkpoint(written("vocab.safetensors", edit("\"vocab\":\"!", "\"vocab\":\"#"))),
        ExitedWithCode(1), "does not match the checksum");
    // renaming the checksum's key does not turn verification off
    EXPECT_EXIT(load_checkpoint(written("renamed.safetensors",
                                        edit("\"wiggle.checksum\"", "\"wiggle.checksuX\""))),
                ExitedWithCode(1),
                "has metadata 'wiggle.checksuX', which a wiggle checkpoint does not have");
}

// load_checkpoint with 1 GiB of address space (not under the sanitizers, which reserve more).
void load_in_1_gib(const std::string& path) {
#if defined(__SANITIZE_ADDRESS__)
    constexpr bool sanitized = true;
#elif defined(__has_feature)
    constexpr bool sanitized = __has_feature(address_sanitizer);
#else
    constexpr bool sanitized = false;
#endif
    if (!sanitized) {
        const rlimit limit{size_t(1) << 30, size_t(1) << 30};
        setrlimit(RLIMIT_AS, &limit);
    }
    load_checkpoint(path);
}

TEST(CheckpointDeath, AHeaderClaimingABigModelFailsBeforeAllocatingIt) {
    // 168 bytes that describe a model of billions of parameters: the tensors are checked against
    // the configuration before the model is allocated, so this fails at once, in little memory.
    const std::string header =
        R"({"__metadata__":{"n_layer":"1000","n_head":"16","n_embd":"16384","block_size":"1024",)"
        R"("vocab_size":"50257"}})";
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    const std::string path = written("claims.safetensors", bytes + header);
    EXPECT_EXIT(load_in_1_gib(path), ExitedWithCode(1), "has no tensor 'transformer.wte.weight'");
}

TEST(CheckpointDeath, WrongDtype) {
    const std::string path = edited("dtype.safetensors", [](auto&, auto& tensors, auto&) {
        for (TensorEntry& e : tensors)
            if (e.name == "transformer.wpe.weight") e.dtype = "I32";
    });
    EXPECT_EXIT(load_checkpoint(path), ExitedWithCode(1),
                "tensor 'transformer.wpe.weight' has dtype I32, not a floating-point type");
}

TEST(CheckpointDeath, Metadata) {
    const std::string no_vocab =
        edited("novocab.safetensors", [](auto& meta, auto&, auto&) { meta.erase("vocab"); });
    EXPECT_EXIT(load_checkpoint(no_vocab), ExitedWithCode(1), "has no 'vocab' in its metadata");
    const std::string short_vocab =
        edited("shortvocab.safetensors", [](auto& meta, auto&, auto&) { meta["vocab"] = "abc"; });
    EXPECT_EXIT(load_checkpoint(short_vocab), ExitedWithCode(1),
                "'vocab' has 3 characters but vocab_size is 36");
    const std::string no_layers =
        edited("nolayers.safetensors", [](auto& meta, auto&, auto&) { meta.erase("n_layer"); });
    EXPECT_EXIT(load_checkpoint(no_layers), ExitedWithCode(1), "has no 'n_layer' in its metadata");
    const std::string other =
        edited("format.safetensors", [](auto& meta, auto&, auto&) { meta["format"] = "llama"; });
    EXPECT_EXIT(load_checkpoint(other), ExitedWithCode(1), "has format 'llama'");
}

TEST(CheckpointDeath, UntiedHeadAndNonFiniteWeights) {
    const std::string untied = edited("untied.safetensors", [](auto&, auto&, auto& bytes) {
        bytes["lm_head.weight"][4] ^= 0x01;
    });
    EXPECT_EXIT(load_checkpoint(untied), ExitedWithCode(1),
                "lm_head.weight differs from transformer.wte.weight");
    const std::string nan = edited("nan.safetensors", [](auto&, auto&, auto& bytes) {
        const float v = NAN;
        std::memcpy(bytes["transformer.h.0.mlp.c_fc.weight"].data() + 8, &v, 4);
    });
    EXPECT_EXIT(load_checkpoint(nan), ExitedWithCode(1),
                "tensor 'transformer.h.0.mlp.c_fc.weight' has a non-finite value at index 2");
}

TEST(CheckpointDeath, TruncatedOrCorruptedFile) {
    const std::string bytes = read_file(fixture_path(kTorchCheckpoint));
    const std::string cut = temp("cut.safetensors");
    write_file_atomic(cut, bytes.substr(0, bytes.size() - 100));
    EXPECT_EXIT(load_checkpoint(cut), ExitedWithCode(1),
                "checkpoint '.*cut.safetensors' is truncated");
    std::string flipped = read_file(fixture_path(kTorchCheckpoint));
    flipped[20] = '\x01';  // inside the JSON header
    const std::string bad = temp("bad.safetensors");
    write_file_atomic(bad, flipped);
    EXPECT_EXIT(load_checkpoint(bad), ExitedWithCode(1),
                "checkpoint '.*bad.safetensors' is corrupted");
}

TEST(CheckpointDeath, FolderWithoutCheckpoint) {
    // A folder of its own: the temp folder itself may hold anyone's best.safetensors.
    const std::filesystem::path empty =
        std::filesystem::path(::testing::TempDir()) / "wiggle_ckpt_empty_folder";
    std::filesystem::remove_all(empty);
    std::filesystem::create_directories(empty);
    EXPECT_EXIT(load_checkpoint(empty.string()), ExitedWithCode(1),
                "has no best.safetensors or model.safetensors");
}

}  // namespace
}  // namespace wiggle
