// The safetensors reader and writer of safetensors.h.
#include "train/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>

#include "util/check.h"
#include "util/io.h"
#include "util/json.h"

namespace wiggle {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; wiggle reads and writes it as stored in memory");

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the safetensors library's own limit
constexpr const char* kChecksumKey = "wiggle.checksum";
constexpr std::string_view kFileSum = "fnv1a64-file:";  // of the whole file (safetensors.h)
constexpr std::string_view kDataSum = "fnv1a64:";       // of the data only: earlier wiggles
// The checksum's entry as the writer writes it, up to its 16 digits.
const std::string kFileSumEntry = "\"wiggle.checksum\":\"" + std::string(kFileSum);

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1F;
    const uint32_t mant = h & 0x3FF;
    float f;
    if (exp == 0) {
        f = std::ldexp(float(mant), -24);  // zero or subnormal
        return sign ? -f : f;
    }
    uint32_t bits;
    if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);  // inf or nan
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    std::memcpy(&f, &bits, 4);
    return f;
}

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

// The whole-file checksum of `file`, whose 16 digits start at byte `digits`: the hash of the bytes
// with those digits read as '0'.
uint64_t file_checksum(std::string_view file, size_t digits) {
    const char zeros[16] = {'0', '0', '0', '0', '0', '0', '0', '0',
                            '0', '0', '0', '0', '0', '0', '0', '0'};
    uint64_t h = fnv1a64(file.data(), digits);
    h = fnv1a64(zeros, 16, h);
    return fnv1a64(file.data() + digits + 16, file.size() - digits - 16, h);
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t n, uint64_t h) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int64_t TensorEntry::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

int dtype_size(std::string_view dtype) {
    if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
    if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
    if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
        dtype == "F8_E5M2")
        return 1;
    return 0;
}

std::string shape_string(std::span<const int64_t> shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

SafetensorsReader SafetensorsReader::open(const std::string& path, std::string_view what) {
    auto file = std::make_shared<const MappedFile>(MappedFile::open(path, what, kMaxFileBytes));
    const std::string_view bytes = file->bytes();
    return parse_view(std::move(file), bytes, path, what);
}

SafetensorsReader SafetensorsReader::parse(std::string bytes, const std::string& path,
                                           std::string_view what) {
    auto owned = std::make_shared<const std::string>(std::move(bytes));
    const std::string_view view = *owned;
    return parse_view(std::move(owned), view, path, what);
}

SafetensorsReader SafetensorsReader::parse_view(std::shared_ptr<const void> storage,
                                                std::string_view b, const std::string& path,
                                                std::string_view what) {
    SafetensorsReader r;
    r.path_ = path;
    r.what_ = std::string(what);
    r.storage_ = std::move(storage);
    r.bytes_ = b;
    const char* rewrite = "write it again, or check that it is a safetensors file";

    WIGGLE_CHECK(b.size() >= 8, rewrite,
                 "{} '{}' is truncated: {} bytes, less than the 8-byte header length of a "
                 "safetensors file",
                 what, path, b.size());
    uint64_t n = 0;
    std::memcpy(&n, b.data(), 8);
    WIGGLE_CHECK(n <= kMaxHeader, rewrite,
                 "{} '{}' is not a safetensors file: its first 8 bytes give a header length of {}",
                 what, path, n);
    WIGGLE_CHECK(n <= b.size() - 8, rewrite,
                 "{} '{}' is truncated: the header needs {} bytes, the file has {} after the "
                 "length",
                 what, path, n, b.size() - 8);
    r.data_start_ = 8 + static_cast<size_t>(n);
    const size_t data_size = b.size() - r.data_start_;

    const std::string_view header_text = b.substr(8, static_cast<size_t>(n));
    const JsonParse parsed = parse_json(header_text);
    WIGGLE_CHECK(parsed.value.has_value(), rewrite,
                 "{} '{}' is corrupted: its safetensors header is not valid JSON ({})", what, path,
                 parsed.error);
    const Json& header = *parsed.value;
    WIGGLE_CHECK(header.is_object(), rewrite,
                 "{} '{}' is corrupted: its safetensors header is not a JSON object", what, path);

    std::set<std::string_view> names;  // JSON allows a key twice; a file that does is ambiguous
    for (const auto& [name, entry] : header.members) {
        WIGGLE_CHECK(names.insert(name).second, rewrite,
                     "{} '{}' is corrupted: its header has '{}' twice", what, path, name);
        if (name == "__metadata__") {
            WIGGLE_CHECK(entry.is_object(), rewrite,
                         "{} '{}' is corrupted: __metadata__ is not an object", what, path);
            for (const auto& [key, value] : entry.members) {
                WIGGLE_CHECK(value.is_string(), rewrite,
                             "{} '{}' is corrupted: metadata '{}' is not a string", what, path,
                             key);
                WIGGLE_CHECK(r.metadata_.emplace(key, value.text).second, rewrite,
                             "{} '{}' is corrupted: its metadata has '{}' twice", what, path, key);
            }
            continue;
        }
        WIGGLE_CHECK(entry.is_object(), rewrite,
                     "{} '{}' is corrupted: the header entry of tensor '{}' is not an object", what,
                     path, name);
        TensorEntry t;
        t.name = name;
        const Json* dtype = entry.find("dtype");
        const Json* shape = entry.find("shape");
        const Json* offsets = entry.find("data_offsets");
        WIGGLE_CHECK(dtype && dtype->is_string() && shape && shape->is_array() && offsets &&
                         offsets->is_array() && offsets->items.size() == 2,
                     rewrite,
                     "{} '{}' is corrupted: tensor '{}' lacks a dtype, shape or data_offsets", what,
                     path, name);
        t.dtype = dtype->text;
        const int size = dtype_size(t.dtype);
        WIGGLE_CHECK(size > 0, rewrite, "{} '{}': tensor '{}' has unknown dtype '{}'", what, path,
                     name, t.dtype);
        int64_t numel = 1;
        for (const Json& d : shape->items) {
            const auto v = d.as_int();
            WIGGLE_CHECK(v && *v >= 0 && *v < (int64_t(1) << 40), rewrite,
                         "{} '{}' is corrupted: tensor '{}' has a bad shape", what, path, name);
            t.shape.push_back(*v);
            numel *= *v;
            WIGGLE_CHECK(numel < (int64_t(1) << 40), rewrite,
                         "{} '{}' is corrupted: tensor '{}' has a bad shape", what, path, name);
        }
        const auto begin = offsets->items[0].as_int();
        const auto end = offsets->items[1].as_int();
        WIGGLE_CHECK(begin && end && *begin >= 0 && *begin <= *end, rewrite,
                     "{} '{}' is corrupted: tensor '{}' has bad data_offsets", what, path, name);
        t.begin = static_cast<size_t>(*begin);
        t.end = static_cast<size_t>(*end);
        WIGGLE_CHECK(t.end - t.begin == static_cast<size_t>(numel) * size, rewrite,
                     "{} '{}' is corrupted: tensor '{}' ({} {}) should take {} bytes, its "
                     "data_offsets [{}, {}] give {}",
                     what, path, name, t.dtype, shape_string(t.shape), numel * size, t.begin, t.end,
                     t.end - t.begin);
        WIGGLE_CHECK(t.end <= data_size, rewrite,
                     "{} '{}' is truncated: tensor '{}' ends at byte {} of the data, which has "
                     "only {} bytes",
                     what, path, name, t.end, data_size);
        r.tensors_.push_back(std::move(t));
    }

    // The tensors must tile the data exactly: no overlap, no gap, nothing left over.
    std::vector<const TensorEntry*> by_offset;
    for (const auto& t : r.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    size_t covered = 0;
    for (size_t i = 0; i < by_offset.size(); ++i) {
        const TensorEntry* t = by_offset[i];
        WIGGLE_CHECK(t->begin >= covered, rewrite,
                     "{} '{}' is corrupted: tensor '{}' overlaps tensor '{}'", what, path, t->name,
                     by_offset[i - 1]->name);
        WIGGLE_CHECK(t->begin == covered, rewrite,
                     "{} '{}' is corrupted: {} unused bytes before tensor '{}'", what, path,
                     t->begin - covered, t->name);
        covered = t->end;
    }
    WIGGLE_CHECK(covered == data_size, rewrite,
                 "{} '{}' is corrupted: {} bytes after the last tensor", what, path,
                 data_size - covered);

    if (auto sum = r.meta(kChecksumKey)) {
        const std::string corrupted = fmt::format(
            "{} '{}' is corrupted: it does not match the checksum in its header", what, path);
        if (sum->starts_with(kFileSum)) {
            // the entry's digits in the header text (the writer writes it exactly so, once)
            const size_t at = header_text.find(kFileSumEntry);
            const bool once = at != std::string_view::npos &&
                              header_text.find(kFileSumEntry, at + 1) == std::string_view::npos &&
                              at + kFileSumEntry.size() + 16 <= header_text.size();
            WIGGLE_CHECK(once, rewrite, "{}", corrupted);
            const size_t digits = 8 + at + kFileSumEntry.size();
            WIGGLE_CHECK(*sum == std::string(kFileSum) + hex64(file_checksum(b, digits)), rewrite,
                         "{}", corrupted);
        } else {
            WIGGLE_CHECK(sum->starts_with(kDataSum), rewrite,
                         "{} '{}' is corrupted: its checksum '{}' is of no known kind", what, path,
                         *sum);
            const uint64_t h = fnv1a64(b.data() + r.data_start_, data_size);
            WIGGLE_CHECK(*sum == std::string(kDataSum) + hex64(h), rewrite, "{}", corrupted);
        }
    }
    return r;
}

const TensorEntry* SafetensorsReader::find(std::string_view name) const {
    for (const auto& t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

std::optional<std::string> SafetensorsReader::meta(const std::string& key) const {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) return std::nullopt;
    return it->second;
}

std::string_view SafetensorsReader::raw(const TensorEntry& e) const {
    return bytes_.substr(data_start_ + e.begin, e.end - e.begin);
}

void SafetensorsReader::expect_floats(std::string_view name, std::span<const int64_t> shape) const {
    const TensorEntry* e = find(name);
    WIGGLE_CHECK(e != nullptr, "the file may come from another model; check its tensor names",
                 "{} '{}' has no tensor '{}'", what_, path_, name);
    WIGGLE_CHECK(std::equal(shape.begin(), shape.end(), e->shape.begin(), e->shape.end()),
                 "the file may come from another model configuration",
                 "{} '{}': tensor '{}' has shape {}, the model needs {}", what_, path_, name,
                 shape_string(e->shape), shape_string(shape));
    WIGGLE_CHECK(e->dtype == "F32" || e->dtype == "F64" || e->dtype == "F16" || e->dtype == "BF16",
                 "save the weights as float32 (F32), F64, F16 or BF16",
                 "{} '{}': tensor '{}' has dtype {}, not a floating-point type", what_, path_, name,
                 e->dtype);
}

void SafetensorsReader::read_floats(std::string_view name, std::span<const int64_t> shape,
                                    float* out) const {
    expect_floats(name, shape);
    const TensorEntry* e = find(name);
    const char* p = bytes_.data() + data_start_ + e->begin;
    const size_t n = static_cast<size_t>(e->numel());
    if (e->dtype == "F32") {
        std::memcpy(out, p, n * 4);
    } else if (e->dtype == "F64") {
        for (size_t i = 0; i < n; ++i) {
            double v;
            std::memcpy(&v, p + 8 * i, 8);
            out[i] = static_cast<float>(v);
        }
    } else if (e->dtype == "F16") {
        for (size_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            out[i] = half_to_float(h);
        }
    } else if (e->dtype == "BF16") {
        for (size_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            const uint32_t bits = uint32_t(h) << 16;
            std::memcpy(&out[i], &bits, 4);
        }
    }
}

std::vector<float> SafetensorsReader::read_floats(std::string_view name,
                                                  std::span<const int64_t> shape) const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> out(static_cast<size_t>(n));
    read_floats(name, shape, out.data());
    return out;
}

void SafetensorsWriter::add(std::string name, const float* data, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::string bytes(static_cast<size_t>(n) * sizeof(float), '\0');
    if (n > 0) std::memcpy(bytes.data(), data, bytes.size());
    add_raw(std::move(name), "F32", std::move(shape), std::move(bytes));
}

void SafetensorsWriter::add_view(std::string name, const float* data, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    Pending t{std::move(name),
              "F32",
              std::move(shape),
              {},
              reinterpret_cast<const char*>(data),
              static_cast<size_t>(n) * sizeof(float)};
    if (t.size == 0) t.data = "";
    tensors_.push_back(std::move(t));
}

void SafetensorsWriter::add_raw(std::string name, std::string dtype, std::vector<int64_t> shape,
                                std::string bytes) {
    tensors_.push_back({std::move(name), std::move(dtype), std::move(shape), std::move(bytes)});
}

FileParts SafetensorsWriter::parts() const {
    std::map<std::string, std::string> metadata = metadata_;
    metadata[kChecksumKey] = std::string(kFileSum) + hex64(0);  // the digits, filled in below

    std::string header = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
        if (!first) header += ',';
        first = false;
        header += json_quote(k) + ":" + json_quote(v);
    }
    header += '}';
    size_t offset = 0;
    for (const auto& t : tensors_) {
        header += fmt::format(",{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                              json_quote(t.name), t.dtype, fmt::join(t.shape, ","), offset,
                              offset + t.bytes().size());
        offset += t.bytes().size();
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

    std::string head(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(head.data(), &n, 8);
    head += header;
    // file_checksum of the whole file, summed piece by piece: the head with the digits zero,
    // then every tensor's bytes
    const size_t digits = 8 + header.find(kFileSumEntry) + kFileSumEntry.size();
    uint64_t h = file_checksum(head, digits);
    for (const auto& t : tensors_) h = fnv1a64(t.bytes().data(), t.bytes().size(), h);
    head.replace(digits, 16, hex64(h));
    FileParts file;
    file.append(std::move(head));
    for (const auto& t : tensors_) file.append_view(t.bytes().data(), t.bytes().size());
    return file;
}

void SafetensorsWriter::write(const std::string& path) const { write_file_atomic(path, parts()); }

}  // namespace wiggle
