// The safetensors reader and writer: against a file written by Python's json/struct with
// PyTorch's dtype conversions (scripts/fixtures/safetensors_dtypes.py), by round trip, and on
// every kind of damage a file can have (each must exit with one line naming the problem).
#include "train/safetensors.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fixture.h"
#include "util/io.h"

namespace wiggle {
namespace {

using ::testing::ExitedWithCode;
using wiggle::testing::all_close;
using wiggle::testing::fixture_path;

std::string sample_file() {
    SafetensorsWriter w;
    const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, -7.0f};
    const std::vector<float> b = {42.0f};
    w.add("layer.weight", a.data(), {2, 3});
    w.add("layer.bias", b.data(), {1});
    w.set_metadata("vocab", "\n!\"\\é");
    return w.serialize();
}

TEST(Safetensors, ReadsAFileWrittenByPython) {
    const SafetensorsReader r =
        SafetensorsReader::open(fixture_path("safetensors_dtypes.safetensors"));
    EXPECT_EQ(r.meta("vocab"), "\n !\"\\\xC3\xA9");
    EXPECT_EQ(r.meta("note"), "written by PyTorch");
    const std::vector<int64_t> shape = {2, 3};
    for (const char* name : {"f32", "f64", "f16", "bf16"}) {
        const std::vector<float> got = r.read_floats(name, shape);
        const std::vector<float> want = r.read_floats(std::string(name) + ".as_f32", shape);
        // PyTorch's .float() of each dtype, bit for bit.
        EXPECT_TRUE(all_close(got, want, 0.0, 0.0)) << name;
    }
    EXPECT_EQ(r.find("i32")->dtype, "I32");
    EXPECT_EQ(r.find("i32")->shape, std::vector<int64_t>{3});
}

TEST(Safetensors, RoundTrip) {
    const SafetensorsReader r = SafetensorsReader::parse(sample_file(), "mem.safetensors");
    EXPECT_EQ(r.tensors().size(), 2u);
    EXPECT_EQ(r.meta("vocab"), "\n!\"\\é");
    EXPECT_TRUE(r.meta("wiggle.checksum").has_value());
    const std::vector<int64_t> shape = {2, 3};
    const std::vector<float> got = r.read_floats("layer.weight", shape);
    EXPECT_EQ(got, (std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, -7.0f}));
    // The header is padded so the data starts 8-byte aligned, as the safetensors library does.
    const std::string bytes = sample_file();
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
}

TEST(Safetensors, WritesAtomically) {
    const std::string path = ::testing::TempDir() + "/wiggle_st_roundtrip.safetensors";
    SafetensorsWriter w;
    const float v[2] = {1.0f, 2.0f};
    w.add("x", v, {2});
    w.write(path);
    EXPECT_EQ(read_file(path), w.serialize());
    std::remove(path.c_str());
}

TEST(SafetensorsDeath, Truncated) {
    const std::string bytes = sample_file();
    EXPECT_EXIT(SafetensorsReader::parse(bytes.substr(0, 5), "t.safetensors"), ExitedWithCode(1),
                "checkpoint 't.safetensors' is truncated: 5 bytes");
    EXPECT_EXIT(SafetensorsReader::parse(bytes.substr(0, 40), "t.safetensors"), ExitedWithCode(1),
                "checkpoint 't.safetensors' is truncated: the header needs");
    EXPECT_EXIT(SafetensorsReader::parse(bytes.substr(0, bytes.size() - 3), "t.safetensors"),
                ExitedWithCode(1), "is truncated: tensor '.*' ends at byte");
}

TEST(SafetensorsDeath, EveryTruncationIsCaught) {
    // Cutting the file anywhere must give an error, never a crash or a silent partial read.
    const std::string bytes = sample_file();
    for (size_t cut : {size_t(0), size_t(8), size_t(9), bytes.size() / 2, bytes.size() - 1}) {
        EXPECT_EXIT(SafetensorsReader::parse(bytes.substr(0, cut), "t.safetensors"),
                    ExitedWithCode(1),
                    "^error: checkpoint 't.safetensors' is (truncated|corrupted)")
            << "cut at " << cut;
    }
}

TEST(SafetensorsDeath, NotSafetensors) {
    std::string junk = "PK\x03\x04 this is a zip file, not a checkpoint";
    EXPECT_EXIT(SafetensorsReader::parse(junk, "x.zip"), ExitedWithCode(1),
                "is not a safetensors file");
    std::string bad_json = sample_file();
    bad_json[8] = '[';  // the header's opening brace
    EXPECT_EXIT(SafetensorsReader::parse(bad_json, "b.safetensors"), ExitedWithCode(1),
                "corrupted: its safetensors header is not (valid JSON|a JSON object)");
}

std::string with_header(const std::string& header, size_t data_bytes) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + std::string(data_bytes, '\0');
}

TEST(SafetensorsDeath, BadOffsetsAndSizes) {
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", 12),
                    "s.safetensors"),
                ExitedWithCode(1), "tensor 'a' \\(F32 \\[2\\]\\) should take 8 bytes");
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                12),
                    "s.safetensors"),
                ExitedWithCode(1), "overlaps");
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 20),
                    "s.safetensors"),
                ExitedWithCode(1), "12 bytes after the last tensor");
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8),
                    "s.safetensors"),
                ExitedWithCode(1), "unknown dtype 'Q7'");
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                    "s.safetensors"),
                ExitedWithCode(1), "bad shape");
}

TEST(SafetensorsDeath, AFlippedBitAnywhereFailsTheChecksum) {
    // The checksum covers every byte: the tensor data, the metadata, the shapes, the offsets, the
    // padding. Each flip below leaves a well-formed file that would load with wrong contents.
    const std::string good = sample_file();
    const std::string header = good.substr(8, good.find("}}") + 2 - 8);
    auto flipped = [&](size_t at, char bit) {
        std::string bytes = good;
        bytes[at] ^= bit;
        return bytes;
    };
    const std::string corrupted = "corrupted: it does not match the checksum in its header";
    EXPECT_EXIT(SafetensorsReader::parse(flipped(good.size() - 2, 0x10), "c.safetensors"),
                ExitedWithCode(1), corrupted);
    // '!' (0x21) becomes '#' (0x23) in the vocabulary
    EXPECT_EXIT(SafetensorsReader::parse(flipped(8 + header.find('!'), 0x02), "c.safetensors"),
                ExitedWithCode(1), corrupted);
    // a shape [2,3] becomes [2,1]: then the offsets disagree; [3,2] keeps them agreeing
    std::string swapped = good;
    const size_t shape = swapped.find("[2,3]");
    ASSERT_NE(shape, std::string::npos);
    swapped.replace(shape, 5, "[3,2]");
    EXPECT_EXIT(SafetensorsReader::parse(swapped, "c.safetensors"), ExitedWithCode(1), corrupted);
    // the padding after the JSON: a space that becomes a newline is still valid JSON
    uint64_t n = 0;
    std::memcpy(&n, good.data(), 8);
    ASSERT_GT(n, header.size()) << "no padding to flip";
    EXPECT_EXIT(SafetensorsReader::parse(flipped(8 + header.size(), 0x2A), "c.safetensors"),
                ExitedWithCode(1), corrupted);
}

TEST(SafetensorsDeath, SwappedOffsetsOfTwoSameShapedTensorsFailTheChecksum) {
    SafetensorsWriter w;
    const std::vector<float> a = {1, 2}, b = {3, 4};
    w.add("a", a.data(), {2});
    w.add("b", b.data(), {2});
    std::string bytes = w.serialize();
    const std::string fa = "\"data_offsets\":[0,8]", fb = "\"data_offsets\":[8,16]";
    const size_t pa = bytes.find(fa), pb = bytes.find(fb);
    ASSERT_NE(pa, std::string::npos);
    ASSERT_NE(pb, std::string::npos);
    ASSERT_LT(pa, pb);
    // a well-formed file of the same length in which a and b trade their bytes
    bytes = bytes.substr(0, pa) + fb + bytes.substr(pa + fa.size(), pb - pa - fa.size()) + fa +
            bytes.substr(pb + fb.size());
    EXPECT_EXIT(SafetensorsReader::parse(bytes, "c.safetensors"), ExitedWithCode(1),
                "corrupted: it does not match the checksum");
}

TEST(SafetensorsDeath, DuplicateKeysAreRefused) {
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                8),
                    "s.safetensors"),
                ExitedWithCode(1), "its header has 'a' twice");
    EXPECT_EXIT(SafetensorsReader::parse(
                    with_header(R"({"__metadata__":{"vocab":"ab","vocab":"cd"},)"
                                R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                4),
                    "s.safetensors"),
                ExitedWithCode(1), "its metadata has 'vocab' twice");
}

TEST(Safetensors, EarlierWigglesDataChecksumStillVerifies) {
    // Files written before the whole-file checksum carry "fnv1a64:<hash of the data>".
    const std::vector<float> a = {1.5f, -2.0f};
    std::string data(8, '\0');
    std::memcpy(data.data(), a.data(), 8);
    const std::string sum = fmt::format("{:016x}", fnv1a64(data.data(), data.size()));
    const std::string header = R"({"__metadata__":{"wiggle.checksum":"fnv1a64:)" + sum +
                               R"("},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const SafetensorsReader r = SafetensorsReader::parse(with_header(header, 0) + data, "old");
    EXPECT_EQ(r.read_floats("a", std::vector<int64_t>{2}), a);
    std::string bad = data;
    bad[3] ^= 1;
    EXPECT_EXIT(SafetensorsReader::parse(with_header(header, 0) + bad, "old"), ExitedWithCode(1),
                "corrupted");
}

TEST(SafetensorsDeath, WrongDtypeOrShapeOrName) {
    const SafetensorsReader r =
        SafetensorsReader::open(fixture_path("safetensors_dtypes.safetensors"));
    const std::vector<int64_t> three = {3}, wrong = {3, 2};
    EXPECT_EXIT(r.read_floats("i32", three), ExitedWithCode(1),
                "tensor 'i32' has dtype I32, not a floating-point type");
    EXPECT_EXIT(r.read_floats("f32", wrong), ExitedWithCode(1),
                "tensor 'f32' has shape \\[2, 3\\], the model needs \\[3, 2\\]");
    EXPECT_EXIT(r.read_floats("missing", three), ExitedWithCode(1), "has no tensor 'missing'");
}

TEST(SafetensorsDeath, MissingFile) {
    EXPECT_EXIT(SafetensorsReader::open("/nonexistent/m.safetensors"), ExitedWithCode(1),
                "cannot open checkpoint '/nonexistent/m.safetensors'");
}

}  // namespace
}  // namespace wiggle
