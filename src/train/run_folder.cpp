// A run's folder as one consistent unit on disk (run_folder.h).
#include "train/run_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "train/checkpoint.h"
#include "train/safetensors.h"
#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

std::string generation_name(int iter) { return fmt::format("model.{}.safetensors", iter); }

bool is_generation(const std::string& name) {
    constexpr std::string_view prefix = "model.", suffix = ".safetensors";
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
    const std::string_view digits =
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    return !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
}

std::vector<std::string> entries(const std::string& folder) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(folder.c_str())) {
        while (const dirent* e = ::readdir(d)) out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

// mkdir -p: each missing folder on the way made; one that another process makes meanwhile is
// fine (EEXIST).
void make_folder(const std::string& path) {
    for (size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
        const std::string prefix = path.substr(0, at);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
            WIGGLE_CHECK(false, "check the path and its permissions",
                         "cannot create --out folder '{}': {}", prefix, std::strerror(errno));
        }
        if (at == std::string::npos) break;
    }
    struct stat st;
    WIGGLE_CHECK(::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "pick another --out",
                 "--out '{}' is not a folder", path);
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

}  // namespace

std::string model_path(const std::string& out) { return out + "/model.safetensors"; }
std::string state_path(const std::string& out) { return out + "/model.state"; }
std::string best_path(const std::string& out) { return out + "/best.safetensors"; }
std::string curve_path(const std::string& out) { return out + "/loss.svg"; }

std::string weights_path(const std::string& out, const TrainState& state) {
    return state.weights_file.empty() ? model_path(out) : out + "/" + state.weights_file;
}

RunFolder RunFolder::open(const std::string& out) {
    make_folder(out);
    const std::string lock = out + "/.lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    WIGGLE_CHECK(fd >= 0, "check the folder's permissions", "cannot create '{}': {}", lock,
                 std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        const std::string who =
            n > 0 ? fmt::format("process {}", std::string(pid, n)) : "a process";
        WIGGLE_CHECK(false, "wait for it to finish, or pass another --out",
                     "another wiggle ({}) is training into '{}'", who, out);
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
        // the pid is only for the message another run prints; the lock itself holds
    }
    RunFolder folder(out, fd);
    folder.recover();
    return folder;
}

RunFolder::RunFolder(RunFolder&& other) noexcept
    : out_(std::move(other.out_)), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

RunFolder::~RunFolder() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

void RunFolder::recover() const {
    // What a killed save leaves: temporary files (no process but this one writes here now).
    for (const std::string& name : entries(out_)) {
        if (name.find(".tmp.") != std::string::npos) ::unlink((out_ + "/" + name).c_str());
    }
    // The committed generation: keep it, link model.safetensors to it, drop the others (an
    // uncommitted newer one, or an older one whose removal was cut short).
    if (!file_exists(state_path(out_))) return;
    const TrainState state = load_train_state(state_path(out_));
    if (state.weights_file.empty() || !file_exists(weights_path(out_, state))) return;
    publish(state.weights_file);
}

void RunFolder::publish(const std::string& generation) const {
    const std::string target = out_ + "/" + generation, link = model_path(out_);
    if (!same_file(target, link)) {
        const std::string tmp = link + ".tmp." + std::to_string(::getpid());
        ::unlink(tmp.c_str());
        if (::link(target.c_str(), tmp.c_str()) != 0) {
            // a file system without hard links: a copy, written atomically
            write_file_atomic(link,
                              read_file(target, "checkpoint", SafetensorsReader::kMaxFileBytes));
        } else if (std::rename(tmp.c_str(), link.c_str()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            WIGGLE_CHECK(false, "check the free disk space", "cannot write '{}': {}", link,
                         std::strerror(err));
        }
    }
    for (const std::string& name : entries(out_)) {
        if (is_generation(name) && name != generation) ::unlink((out_ + "/" + name).c_str());
    }
    sync_folder(out_);
}

void RunFolder::save(const GptWeights& weights, const Tokenizer& tokenizer,
                     TrainState& state) const {
    const std::string generation = generation_name(state.iter);
    save_checkpoint(out_ + "/" + generation, weights, tokenizer);
    state.weights_file = generation;
    save_train_state(state_path(out_), state);  // the commit
    publish(generation);
}

}  // namespace wiggle
