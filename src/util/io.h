// Checked file I/O: whole-file reads that fail with a clear error, read-only mappings of large
// files, and atomic writes (a temporary file in the same folder, flushed, then renamed over the
// target), so a crash or a Ctrl-C never leaves a half-written file behind.
//
// Reads accept regular files only: a FIFO would block forever and /dev/zero never ends, so both
// are refused with one line, as is a file larger than the limit its role allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wiggle {

// The largest file a read takes unless the caller says otherwise: far more than any text or
// tokenizer file wiggle reads (tinyshakespeare is 1.1 MB), far less than the memory.
inline constexpr uint64_t kMaxReadBytes = uint64_t{1} << 31;  // 2 GiB

// Returns the bytes of the file at `path`; exits with a clear error if it cannot be read, is not
// a regular file or has more than max_bytes. `what` names the file's role in the message ("data
// file", "checkpoint"), and picks the hint.
std::string read_file(const std::string& path, std::string_view what = "file",
                      uint64_t max_bytes = kMaxReadBytes);

// Exits with the errors of read_file when `path` cannot be opened, is not a regular file or is
// larger than max_bytes; returns its size.
uint64_t check_regular_file(const std::string& path, std::string_view what,
                            uint64_t max_bytes = kMaxReadBytes);

// A file mapped read-only into memory (the pages come in as they are read and cost no copy);
// the same checks as read_file. Empty files map to an empty view.
class MappedFile {
  public:
    static MappedFile open(const std::string& path, std::string_view what,
                           uint64_t max_bytes = kMaxReadBytes);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::string_view bytes() const { return {data_, size_}; }

  private:
    MappedFile() = default;
    const char* data_ = nullptr;
    size_t size_ = 0;
};

// A file to write as a sequence of pieces, never joined in memory: text it owns, and views of
// big buffers (a model's weights, an optimizer's moments) that must outlive the write.
class FileParts {
  public:
    void append(std::string text) { pieces_.push_back({std::move(text), nullptr, 0}); }
    void append_view(const void* data, size_t n) {
        pieces_.push_back({{}, static_cast<const char*>(data), n});
    }
    void append(FileParts&& more) {
        for (Piece& p : more.pieces_) pieces_.push_back(std::move(p));
    }
    // The pieces in order (valid until this changes).
    std::vector<std::string_view> parts() const;
    uint64_t size() const;
    std::string join() const;  // the whole file in one string (tests, a broadcast)

  private:
    struct Piece {
        std::string owned;
        const char* data;  // a view when not null
        size_t size;
    };
    std::vector<Piece> pieces_;
};

// Writes `bytes` to `path` atomically: `path.tmp.<pid>`, fsync, rename, fsync of the folder (so
// the rename survives a power cut). Exits with a clear error (and removes the temporary file) if
// any step fails.
void write_file_atomic(const std::string& path, std::string_view bytes);
// The same for a file given in pieces, written one after another.
void write_file_atomic(const std::string& path, const FileParts& file);

// Makes the folder's entries (renames, links, removals) durable.
void sync_folder(const std::string& folder);

// The folder part of a path ("." when it has none).
std::string folder_of(const std::string& path);

bool file_exists(const std::string& path);

}  // namespace wiggle
