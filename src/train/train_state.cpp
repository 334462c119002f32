// The training-state file of train_state.h: a bounds-checked byte writer and reader.
#include "train/train_state.h"

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "train/safetensors.h"
#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

constexpr char kMagic[8] = {'W', 'I', 'G', 'G', 'L', 'E', 'S', 'T'};
constexpr size_t kPrefix = 8 + 4 + 4 + 8;  // magic, version, reserved, payload size

// The payload as pieces: small fields gathered in text, big vectors (the moments) as views of
// their buffers, so a save never copies them.
class Writer {
  public:
    template <typename T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        text_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        text_ += s;
    }
    template <typename T>
    void put_vector(const std::vector<T>& v) {
        put<uint64_t>(v.size());
        if (v.empty()) return;
        flush();
        file_.append_view(v.data(), v.size() * sizeof(T));
    }
    FileParts take() {
        flush();
        return std::move(file_);
    }

  private:
    void flush() {
        if (!text_.empty()) file_.append(std::move(text_));
        text_.clear();
    }
    std::string text_;
    FileParts file_;
};

class Reader {
  public:
    explicit Reader(std::string_view b) : b_(b) {}
    template <typename T>
    bool get(T& v) {
        if (b_.size() - i_ < sizeof v) return false;
        std::memcpy(&v, b_.data() + i_, sizeof v);
        i_ += sizeof v;
        return true;
    }
    bool get_string(std::string& s) {
        uint64_t n = 0;
        if (!get(n) || n > b_.size() - i_) return false;
        s.assign(b_.data() + i_, n);
        i_ += n;
        return true;
    }
    template <typename T>
    bool get_vector(std::vector<T>& v) {
        uint64_t n = 0;
        if (!get(n) || n > (b_.size() - i_) / sizeof(T)) return false;
        v.resize(n);
        if (n) std::memcpy(v.data(), b_.data() + i_, n * sizeof(T));
        i_ += n * sizeof(T);
        return true;
    }
    bool done() const { return i_ == b_.size(); }

  private:
    std::string_view b_;
    size_t i_ = 0;
};

}  // namespace

FileParts train_state_parts(const TrainState& s) {
    Writer w;
    w.put_string(s.config_text);
    w.put<int32_t>(s.iter);
    w.put<int32_t>(s.adam_t);
    w.put<uint64_t>(s.dropout_counter);
    w.put(s.batch_rng.mt);
    w.put<int32_t>(s.batch_rng.index);
    w.put<uint8_t>(s.batch_rng.has_gauss_next ? 1 : 0);
    w.put<double>(s.batch_rng.gauss_next);
    w.put<uint64_t>(s.batches_drawn);
    w.put<double>(s.best_val);
    w.put<int32_t>(s.best_iter);
    w.put<double>(s.elapsed_s);
    w.put<uint64_t>(s.params_hash);
    w.put<uint64_t>(s.data_hash);
    w.put_vector(s.adam_m);
    w.put_vector(s.adam_v);
    w.put<uint64_t>(s.history.size());
    for (const MetricRow& r : s.history) {
        w.put<int32_t>(r.iter);
        w.put(r.loss);
        w.put(r.val_loss);
        w.put(r.train_eval);
        w.put(r.lr);
        w.put(r.ms);
        w.put(r.tokens_per_s);
    }
    w.put<int32_t>(s.ranks);
    w.put_string(s.weights_file);
    FileParts payload = w.take();
    uint64_t h = fnv1a64(nullptr, 0);
    for (std::string_view p : payload.parts()) h = fnv1a64(p.data(), p.size(), h);

    Writer head;  // magic, version, 0, the payload's size; then the payload and its checksum
    for (char c : kMagic) head.put(c);
    head.put<uint32_t>(kTrainStateVersion);
    head.put<uint32_t>(0);
    head.put<uint64_t>(payload.size());
    FileParts file = head.take();
    file.append(std::move(payload));
    Writer tail;
    tail.put(h);
    file.append(tail.take());
    return file;
}

std::string serialize_train_state(const TrainState& s) { return train_state_parts(s).join(); }

TrainState parse_train_state(std::string_view b, const std::string& path) {
    const char* hint = "resume from another checkpoint, or train again without --resume";
    WIGGLE_CHECK(b.size() >= 8 && std::memcmp(b.data(), kMagic, 8) == 0, hint,
                 "training state '{}' is not a wiggle training-state file (wrong magic)", path);
    WIGGLE_CHECK(b.size() >= kPrefix + 8, hint, "training state '{}' is truncated ({} bytes)", path,
                 b.size());
    uint32_t version = 0;
    uint64_t n = 0;
    std::memcpy(&version, b.data() + 8, 4);
    std::memcpy(&n, b.data() + 16, 8);
    WIGGLE_CHECK(version >= 1 && version <= kTrainStateVersion, hint,
                 "training state '{}' has format version {}; this wiggle reads versions 1 to {}",
                 path, version, kTrainStateVersion);
    WIGGLE_CHECK(n <= b.size() - kPrefix - 8, hint,
                 "training state '{}' is truncated: {} payload bytes announced, {} present", path,
                 n, b.size() - kPrefix - 8);
    WIGGLE_CHECK(n == b.size() - kPrefix - 8, hint,
                 "training state '{}' is corrupted: {} bytes after its end", path,
                 b.size() - kPrefix - 8 - n);
    const std::string_view payload = b.substr(kPrefix, n);
    uint64_t h = 0;
    std::memcpy(&h, b.data() + kPrefix + n, 8);
    WIGGLE_CHECK(h == fnv1a64(payload.data(), payload.size()), hint,
                 "training state '{}' is corrupted: its checksum does not match", path);

    TrainState s;
    Reader r(payload);
    int32_t i32 = 0;
    uint8_t u8 = 0;
    uint64_t rows = 0;
    bool ok = r.get_string(s.config_text) && r.get(i32);
    s.iter = i32;
    ok = ok && r.get(i32);
    s.adam_t = i32;
    ok = ok && r.get(s.dropout_counter) && r.get(s.batch_rng.mt) && r.get(i32);
    s.batch_rng.index = i32;
    ok = ok && r.get(u8) && r.get(s.batch_rng.gauss_next);
    s.batch_rng.has_gauss_next = u8 != 0;
    ok = ok && r.get(s.batches_drawn) && r.get(s.best_val) && r.get(i32);
    s.best_iter = i32;
    ok = ok && r.get(s.elapsed_s) && r.get(s.params_hash) && r.get(s.data_hash) &&
         r.get_vector(s.adam_m) && r.get_vector(s.adam_v) && r.get(rows);
    ok = ok && rows <= n / 52;
    for (uint64_t k = 0; ok && k < rows; ++k) {
        MetricRow row;
        ok = r.get(i32) && r.get(row.loss) && r.get(row.val_loss) && r.get(row.train_eval) &&
             r.get(row.lr) && r.get(row.ms) && r.get(row.tokens_per_s);
        row.iter = i32;
        s.history.push_back(row);
    }
    if (version >= 2) {
        ok = ok && r.get(i32);
        s.ranks = i32;
    }
    if (version >= 3) ok = ok && r.get_string(s.weights_file);
    WIGGLE_CHECK(ok && r.done(), hint, "training state '{}' is corrupted: bad field layout", path);
    WIGGLE_CHECK(s.iter >= 0 && s.adam_t >= 0 && s.batch_rng.index >= 0 &&
                     s.batch_rng.index <= 625 && s.adam_m.size() == s.adam_v.size() &&
                     s.ranks >= 1 && s.weights_file.find('/') == std::string::npos &&
                     s.weights_file != "." && s.weights_file != "..",
                 hint, "training state '{}' is corrupted: values out of range", path);
    return s;
}

void save_train_state(const std::string& path, const TrainState& s) {
    write_file_atomic(path, train_state_parts(s));
}

TrainState load_train_state(const std::string& path) {
    return parse_train_state(read_file(path, "training state"), path);
}

}  // namespace wiggle
