// The safetensors file format, read and written without the safetensors library, so wiggle's
// checkpoints load in PyTorch (safetensors.torch.load_file, or tests/pytorch_roundtrip.py) and
// PyTorch's load in wiggle.
//
//   [8 bytes: header length n, little-endian u64]
//   [n bytes: JSON {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
//              "__metadata__": {"key": "value", ...}}, padded with spaces]
//   [the tensors' raw little-endian bytes; offsets are relative to the end of the header]
//
// The reader checks everything a damaged or foreign file can get wrong (truncation, a header that
// is not JSON, a key twice, offsets out of range or overlapping, sizes that disagree with shape
// and dtype, bytes left over) and reports it on one line naming the file. Files written here also
// carry an FNV-1a checksum of the whole file in their metadata:
//   "wiggle.checksum": "fnv1a64-file:<16 hex digits>"
// the hash of every byte of the file (length, header, padding and data) with those 16 digits read
// as '0', verified on load: a flipped bit anywhere, in a tensor, an offset, a shape or the
// metadata, is caught. (Files of earlier wiggles carry "fnv1a64:<hex>", the hash of the data
// alone, still verified.) Files without a checksum (from PyTorch) are read unverified.
// The file is mapped, not read: tensors are copied out of the mapping once, where they go.
// Not here: integer or boolean tensors beyond reading their header.
// reference: https://github.com/huggingface/safetensors (format section of its README).
#pragma once

#include "util/io.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

// FNV-1a, 64 bits, continuing from `h` (pass the result of a previous call to hash in parts).
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ULL);

struct TensorEntry {
    std::string name;
    std::string dtype;           // "F32", "F64", "F16", "BF16", "I32", ...
    std::vector<int64_t> shape;  // PyTorch's shape
    size_t begin = 0, end = 0;   // byte range within the data section
    int64_t numel() const;
};

// Bytes per element of a safetensors dtype name, or 0 if the name is not one.
int dtype_size(std::string_view dtype);

// "[4, 128]"
std::string shape_string(std::span<const int64_t> shape);

class SafetensorsReader {
  public:
    // Maps and validates `path`; exits with one line naming the file (`what` is its role:
    // "checkpoint") if it is not a well-formed safetensors file.
    static SafetensorsReader open(const std::string& path, std::string_view what = "checkpoint");
    // The largest file open() takes (GPT-2 XL in float32 is 6.4 GB).
    static constexpr uint64_t kMaxFileBytes = uint64_t{1} << 36;
    // The same from bytes already in memory; `path` only names it in messages.
    static SafetensorsReader parse(std::string bytes, const std::string& path,
                                   std::string_view what = "checkpoint");

    const std::string& path() const { return path_; }
    const std::vector<TensorEntry>& tensors() const { return tensors_; }
    const TensorEntry* find(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    std::optional<std::string> meta(const std::string& key) const;

    // Exits naming the file and the tensor if it is missing, not floating point, or its shape is
    // not `shape` (what read_floats checks, without reading).
    void expect_floats(std::string_view name, std::span<const int64_t> shape) const;
    // Copies tensor `name` into `out` as float (converting F64, F16 and BF16), after the checks of
    // expect_floats.
    void read_floats(std::string_view name, std::span<const int64_t> shape, float* out) const;
    std::vector<float> read_floats(std::string_view name, std::span<const int64_t> shape) const;
    // The raw bytes of a tensor (any dtype).
    std::string_view raw(const TensorEntry& e) const;

  private:
    static SafetensorsReader parse_view(std::shared_ptr<const void> storage, std::string_view bytes,
                                        const std::string& path, std::string_view what);

    std::string path_, what_;
    std::shared_ptr<const void> storage_;  // the mapping or the string that bytes_ views
    std::string_view bytes_;
    size_t data_start_ = 0;
    std::vector<TensorEntry> tensors_;
    std::map<std::string, std::string> metadata_;
};

class SafetensorsWriter {
  public:
    // Adds a float tensor (copied) with PyTorch's `shape`; the product of shape must be its size.
    void add(std::string name, const float* data, std::vector<int64_t> shape);
    // The same without a copy: `data` must stay valid until the file is written (a model's
    // weights, saved without doubling the memory).
    void add_view(std::string name, const float* data, std::vector<int64_t> shape);
    // Adds a tensor of any dtype from its raw little-endian bytes (tests write odd files this way).
    void add_raw(std::string name, std::string dtype, std::vector<int64_t> shape,
                 std::string bytes);
    void set_metadata(const std::string& key, std::string value) {
        metadata_[key] = std::move(value);
    }

    // The file in pieces (its header, then each tensor's bytes where they lie); adds
    // "wiggle.checksum" (of the whole file) to the metadata.
    FileParts parts() const;
    std::string serialize() const { return parts().join(); }
    // The file, written atomically (temporary file, then rename) without a copy of the tensors.
    void write(const std::string& path) const;

  private:
    struct Pending {
        std::string name, dtype;
        std::vector<int64_t> shape;
        std::string owned;           // add_raw's bytes
        const char* data = nullptr;  // add's, not owned
        size_t size = 0;
        std::string_view bytes() const { return data ? std::string_view(data, size) : owned; }
    };
    std::vector<Pending> tensors_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace wiggle
