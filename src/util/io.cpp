#include "util/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/check.h"

namespace wiggle {

std::string read_file(const std::string& path, std::string_view what) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    WIGGLE_CHECK(f != nullptr, "check the path; data files come from scripts/fetch-data",
                 "cannot open {} '{}': {}", what, path, std::strerror(errno));
    std::string bytes;
    char buffer[1 << 16];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    WIGGLE_CHECK(!failed, "", "cannot read {} '{}'", what, path);
    return bytes;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    WIGGLE_CHECK(fd >= 0, "check that the folder exists and is writable", "cannot create '{}': {}",
                 tmp, std::strerror(errno));
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
    const bool synced = ::fsync(fd) == 0;
    const bool closed = ::close(fd) == 0;
    if (!synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WIGGLE_CHECK(false, "", "cannot write '{}': {}", path, std::strerror(err));
    }
}

bool file_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace wiggle
