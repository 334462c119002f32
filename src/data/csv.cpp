// The CSV loader; see csv.h. Numbers are parsed with std::from_chars (locale-independent, exact
// round trip) and must be finite.
#include "data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "util/check.h"
#include "util/io.h"

namespace wiggle {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t comma = line.find(',', start);
        out.push_back(trim(line.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

bool parse_double(std::string_view s, double& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
#if defined(__cpp_lib_to_chars)
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
#else
    // A standard library without floating-point from_chars (libc++ 14: the browser build): strtod
    // (the "C" locale there), refusing what from_chars refuses and strtod takes (spaces, hex).
    if (std::isspace(static_cast<unsigned char>(s.front())) ||
        s.find_first_of("xX") != std::string_view::npos) {
        return false;
    }
    const std::string copy(s);
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return end == copy.c_str() + copy.size() && std::isfinite(out);
#endif
}

bool parse_int(std::string_view s, long long& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

CsvData parse_csv(std::string_view text, std::string_view source, const std::string& label_column) {
    constexpr const char* kHint =
        "each row needs one number per feature column and an integer label";
    CsvData d;
    std::vector<std::string> names;
    size_t label_col = 0;
    std::vector<long long> raw_labels;
    std::vector<int> label_lines;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        const std::vector<std::string_view> fields = split_fields(line);
        if (names.empty()) {  // the header
            for (std::string_view f : fields) {
                if (f.size() >= 2 && f.front() == '"' && f.back() == '"')
                    f = f.substr(1, f.size() - 2);
                WIGGLE_CHECK(!f.empty(), "give every column a name",
                             "{}:{}: the header has an empty column name", source, line_no);
                names.emplace_back(f);
            }
            WIGGLE_CHECK(names.size() >= 2, "the header needs feature columns and a label column",
                         "{}:{}: the header has {} column, need at least 2", source, line_no,
                         names.size());
            std::set<std::string> seen;
            for (const std::string& n : names) {
                WIGGLE_CHECK(seen.insert(n).second, "rename one of them",
                             "{}:{}: column name '{}' appears twice", source, line_no, n);
            }
            if (label_column.empty()) {
                label_col = names.size() - 1;
            } else {
                const auto it = std::find(names.begin(), names.end(), label_column);
                std::string all;
                for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
                WIGGLE_CHECK(it != names.end(), "the columns are: " + all,
                             "{}: no column named '{}'", source, label_column);
                label_col = static_cast<size_t>(it - names.begin());
            }
            for (size_t c = 0; c < names.size(); ++c) {
                if (c == label_col) {
                    d.label_name = names[c];
                } else {
                    d.feature_names.push_back(names[c]);
                }
            }
            d.cols = d.feature_names.size();
            continue;
        }
        WIGGLE_CHECK(fields.size() == names.size(), kHint, "{}:{}: expected {} columns, found {}",
                     source, line_no, names.size(), fields.size());
        for (size_t c = 0; c < fields.size(); ++c) {
            if (c == label_col) {
                long long label = 0;
                WIGGLE_CHECK(parse_int(fields[c], label), kHint,
                             "{}:{}: column {} ('{}'): label '{}' is not an integer", source,
                             line_no, c + 1, names[c], fields[c]);
                WIGGLE_CHECK(label >= -1 && label < 1000000, "use class indices 0..K-1, or -1/+1",
                             "{}:{}: column {} ('{}'): label {} is out of range", source, line_no,
                             c + 1, names[c], label);
                raw_labels.push_back(label);
                label_lines.push_back(line_no);
            } else {
                double v = 0.0;
                WIGGLE_CHECK(parse_double(fields[c], v), kHint,
                             "{}:{}: column {} ('{}'): '{}' is not a number", source, line_no,
                             c + 1, names[c], fields[c]);
                d.x.push_back(v);
            }
        }
        ++d.rows;
    }
    WIGGLE_CHECK(!names.empty(), "the first line must name the columns", "{}: the file is empty",
                 source);
    WIGGLE_CHECK(d.rows > 0, "add rows below the header", "{}: no data rows after the header",
                 source);

    // -1 means a ±1 file: then only -1 and +1 may appear.
    const bool has_minus = std::find(raw_labels.begin(), raw_labels.end(), -1) != raw_labels.end();
    d.plus_minus_one = has_minus;
    for (size_t i = 0; i < raw_labels.size(); ++i) {
        const long long l = raw_labels[i];
        if (has_minus) {
            WIGGLE_CHECK(l == -1 || l == 1, "use either -1/+1 or class indices 0..K-1, not both",
                         "{}:{}: column {} ('{}'): label {} in a file of -1/+1 labels", source,
                         label_lines[i], label_col + 1, d.label_name, l);
            d.y.push_back(l == 1 ? 1 : 0);
        } else {
            d.y.push_back(static_cast<int>(l));
        }
    }
    d.num_classes = has_minus ? 2 : *std::max_element(d.y.begin(), d.y.end()) + 1;
    if (d.num_classes < 2) d.num_classes = 2;  // a file of one class is still a binary problem
    return d;
}

CsvData load_csv(const std::string& path, const std::string& label_column) {
    return parse_csv(read_file(path, "CSV file"), path, label_column);
}

}  // namespace wiggle
