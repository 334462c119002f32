// Reads the reference fixtures in tests/fixtures/ (safetensors files written by
// scripts/fixtures/*.py with PyTorch) and compares results against them with a readable report.
// Test-only: a small JSON reader good enough for safetensors headers, nothing more.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace wiggle::testing {

inline std::string fixture_path(const std::string& name) {
    return std::string(WIGGLE_FIXTURE_DIR) + "/" + name;
}

class Fixture {
  public:
    struct Entry {
        std::string dtype;
        std::vector<int64_t> shape;
        size_t begin = 0, end = 0;
    };

    explicit Fixture(const std::string& name) {
        std::ifstream f(fixture_path(name), std::ios::binary);
        if (!f) {
            ADD_FAILURE() << "cannot open fixture " << fixture_path(name)
                          << " (regenerate with scripts/make-fixtures)";
            return;
        }
        uint64_t n = 0;
        f.read(reinterpret_cast<char*>(&n), 8);
        std::string header(n, '\0');
        f.read(header.data(), static_cast<std::streamsize>(n));
        std::stringstream rest;
        rest << f.rdbuf();
        data_ = rest.str();
        parse(header);
    }

    bool has(const std::string& name) const { return entries_.count(name) != 0; }
    const Entry& entry(const std::string& name) const {
        auto it = entries_.find(name);
        if (it == entries_.end()) {
            ADD_FAILURE() << "fixture has no tensor named " << name;
            static Entry empty;
            return empty;
        }
        return it->second;
    }
    std::vector<int64_t> shape(const std::string& name) const { return entry(name).shape; }
    std::string meta(const std::string& key) const {
        auto it = metadata_.find(key);
        return it == metadata_.end() ? std::string() : it->second;
    }

    template <typename T>
    std::vector<T> get(const std::string& name) const {
        const Entry& e = entry(name);
        const char* p = data_.data() + e.begin;
        const size_t bytes = e.end - e.begin;
        std::vector<T> out;
        if (e.dtype == "F32") {
            out.resize(bytes / 4);
            for (size_t i = 0; i < out.size(); ++i) {
                float v;
                std::memcpy(&v, p + 4 * i, 4);
                out[i] = static_cast<T>(v);
            }
        } else if (e.dtype == "F64") {
            out.resize(bytes / 8);
            for (size_t i = 0; i < out.size(); ++i) {
                double v;
                std::memcpy(&v, p + 8 * i, 8);
                out[i] = static_cast<T>(v);
            }
        } else if (e.dtype == "I32") {
            out.resize(bytes / 4);
            for (size_t i = 0; i < out.size(); ++i) {
                int32_t v;
                std::memcpy(&v, p + 4 * i, 4);
                out[i] = static_cast<T>(v);
            }
        } else {
            ADD_FAILURE() << "unsupported fixture dtype " << e.dtype;
        }
        return out;
    }

  private:
    // Parses {"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"__metadata__":{...}}.
    void parse(const std::string& s) {
        size_t i = 0;
        auto skip = [&] {
            while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == ':')) ++i;
        };
        auto str = [&] {
            std::string out;
            ++i;  // opening quote
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                out += s[i++];
            }
            ++i;
            return out;
        };
        auto ints = [&] {
            std::vector<int64_t> out;
            ++i;  // [
            while (i < s.size() && s[i] != ']') {
                skip();
                if (s[i] == ']') break;
                size_t used = 0;
                out.push_back(std::stoll(s.substr(i), &used));
                i += used;
            }
            ++i;
            return out;
        };
        ++i;  // {
        while (true) {
            skip();
            if (i >= s.size() || s[i] == '}') break;
            const std::string name = str();
            skip();
            ++i;  // {
            Entry e;
            std::map<std::string, std::string> meta;
            while (true) {
                skip();
                if (s[i] == '}') {
                    ++i;
                    break;
                }
                const std::string key = str();
                skip();
                if (s[i] == '"') {
                    const std::string value = str();
                    if (key == "dtype") e.dtype = value;
                    meta[key] = value;
                } else if (s[i] == '[') {
                    auto v = ints();
                    if (key == "shape") e.shape = v;
                    if (key == "data_offsets" && v.size() == 2) {
                        e.begin = static_cast<size_t>(v[0]);
                        e.end = static_cast<size_t>(v[1]);
                    }
                }
            }
            if (name == "__metadata__") {
                metadata_ = meta;
            } else {
                entries_[name] = e;
            }
        }
    }

    std::string data_;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

// Compares got against want element by element with |got − want| ≤ atol + rtol·|want|; on a
// mismatch reports the first few differing elements and the maximum difference.
template <typename A, typename B>
::testing::AssertionResult all_close(const std::vector<A>& got, const std::vector<B>& want,
                                     double rtol, double atol) {
    if (got.size() != want.size()) {
        return ::testing::AssertionFailure()
               << "size mismatch: got " << got.size() << ", want " << want.size();
    }
    double max_diff = 0.0;
    size_t bad = 0;
    std::ostringstream report;
    for (size_t i = 0; i < got.size(); ++i) {
        const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
        const double diff = std::fabs(g - w);
        if (!(diff <= atol + rtol * std::fabs(w))) {
            if (bad < 5)
                report << "\n  [" << i << "] got " << g << ", want " << w << " (diff " << diff
                       << ")";
            ++bad;
        }
        if (diff > max_diff || std::isnan(diff)) max_diff = diff;
    }
    if (bad == 0) return ::testing::AssertionSuccess() << "max diff " << max_diff;
    return ::testing::AssertionFailure()
           << bad << " of " << got.size() << " elements differ, max diff " << max_diff
           << report.str();
}

}  // namespace wiggle::testing
