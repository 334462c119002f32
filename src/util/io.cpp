// Checked file I/O (io.h).
#include "util/io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "util/check.h"

namespace wiggle {

namespace {

// What to try when a file of this role cannot be read.
std::string hint_for(std::string_view what) {
    if (what == "data file") return "check the path; the corpora come from scripts/fetch-data";
    if (what == "checkpoint") return "pass a .safetensors file or a run's --out folder";
    if (what == "training state") return "pass the --out folder of a run that saved a checkpoint";
    if (what.starts_with("GPT-2")) return "scripts/fetch-data --gpt2 gets GPT-2's files";
    return "check the path";
}

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

// Opens `path` for reading after the checks of check_regular_file, on the opened file itself (no
// window between the check and the open). O_NONBLOCK: opening a FIFO must not wait for a writer.
int open_regular(const std::string& path, std::string_view what, uint64_t max_bytes,
                 uint64_t& size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    WIGGLE_CHECK(fd >= 0, hint_for(what), "cannot open {} '{}': {}", what, path,
                 std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const bool stat_ok = ::fstat(fd, &st) == 0;
        ::close(fd);
        WIGGLE_CHECK(false, hint_for(what), "{} '{}' is {}", what, path,
                     stat_ok ? kind_of(st.st_mode) : "not readable");
    }
    size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes) {
        ::close(fd);
        WIGGLE_CHECK(false, hint_for(what), "{} '{}' has {} bytes, more than the {} a {} may have",
                     what, path, size, max_bytes, what);
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

}  // namespace

uint64_t check_regular_file(const std::string& path, std::string_view what, uint64_t max_bytes) {
    uint64_t size = 0;
    ::close(open_regular(path, what, max_bytes, size));
    return size;
}

std::string read_file(const std::string& path, std::string_view what, uint64_t max_bytes) {
    uint64_t size = 0;
    const int fd = open_regular(path, what, max_bytes, size);
    std::string bytes(static_cast<size_t>(size), '\0');
    size_t done = 0;
    while (done < bytes.size()) {  // a file that shrinks meanwhile ends the read early
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            WIGGLE_CHECK(false, "", "cannot read {} '{}': {}", what, path, std::strerror(err));
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    bytes.resize(done);
    return bytes;
}

MappedFile MappedFile::open(const std::string& path, std::string_view what, uint64_t max_bytes) {
    uint64_t size = 0;
    const int fd = open_regular(path, what, max_bytes, size);
    MappedFile f;
    if (size > 0) {
        void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
        const int err = errno;
        ::close(fd);
        WIGGLE_CHECK(p != MAP_FAILED, "", "cannot map {} '{}': {}", what, path, std::strerror(err));
        f.data_ = static_cast<const char*>(p);
        f.size_ = static_cast<size_t>(size);
    } else {
        ::close(fd);
    }
    return f;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(const_cast<char*>(data_), size_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
}

std::string folder_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

void sync_folder(const std::string& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // nothing to make durable that this process could have written
    const bool ok = ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    WIGGLE_CHECK(ok, "check the disk", "cannot sync folder '{}': {}", folder, std::strerror(err));
}

std::vector<std::string_view> FileParts::parts() const {
    std::vector<std::string_view> out;
    out.reserve(pieces_.size());
    for (const Piece& p : pieces_) {
        out.push_back(p.data ? std::string_view(p.data, p.size) : std::string_view(p.owned));
    }
    return out;
}

uint64_t FileParts::size() const {
    uint64_t n = 0;
    for (std::string_view p : parts()) n += p.size();
    return n;
}

std::string FileParts::join() const {
    std::string out;
    out.reserve(size());
    for (std::string_view p : parts()) out += p;
    return out;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    FileParts file;
    file.append_view(bytes.data(), bytes.size());
    write_file_atomic(path, file);
}

void write_file_atomic(const std::string& path, const FileParts& file) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    WIGGLE_CHECK(fd >= 0, "check that the folder exists and is writable", "cannot create '{}': {}",
                 tmp, std::strerror(errno));
    for (std::string_view bytes : file.parts()) {
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int err = errno;
                ::close(fd);
                ::unlink(tmp.c_str());
                WIGGLE_CHECK(false, "check the free disk space", "cannot write '{}': {}", tmp,
                             std::strerror(err));
            }
            done += static_cast<size_t>(n);
        }
    }
    const bool synced = ::fsync(fd) == 0;
    int err = errno;
    const bool closed = ::close(fd) == 0;
    if (synced && !closed) err = errno;
    if (!synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
        if (synced && closed) err = errno;
        ::unlink(tmp.c_str());
        WIGGLE_CHECK(false, "check the free disk space", "cannot write '{}': {}", path,
                     std::strerror(err));
    }
    sync_folder(folder_of(path));
}

bool file_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace wiggle
