// Reads the log lines of util/log.h back into numbers, for the ladder tests (no std::regex: GCC 12
// warns inside <regex> at -O1 with the sanitizers, and the asan build treats warnings as errors).
//
//   "step  40 loss 0.0110 acc 100.0 lr 0.640"  ->  step 40, fields {loss 0.0110, acc 100.0, lr
//   0.640}
#pragma once

#include <cmath>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace wiggle::testing {

struct StepLine {
    int step = 0;
    std::vector<std::pair<std::string, std::string>> fields;  // name, the number as printed

    double get(const std::string& name) const {
        for (const auto& [n, v] : fields) {
            if (n == name) return std::strtod(v.c_str(), nullptr);
        }
        return std::nan("");
    }
    int precision(const std::string& name) const {  // digits after the point, as printed
        for (const auto& [n, v] : fields) {
            if (n == name) {
                const size_t dot = v.find('.');
                return dot == std::string::npos ? 0 : static_cast<int>(v.size() - dot - 1);
            }
        }
        return -1;
    }
};

// A line "step <int> <name> <number> ..." or nothing if the line is not one.
inline std::optional<StepLine> parse_step_line(const std::string& line) {
    std::istringstream in(line);
    std::string word;
    if (!(in >> word) || word != "step") return std::nullopt;
    std::string step;
    if (!(in >> step) || step.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    StepLine s;
    s.step = std::atoi(step.c_str());
    std::string name, value;
    while (in >> name) {
        if (!(in >> value)) return std::nullopt;
        char* end = nullptr;
        std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') return std::nullopt;
        s.fields.emplace_back(name, value);
    }
    return s;
}

// The (train, val) losses of the lines "step <n> loss <x.xxxx> val <y.yyyy>" (util/log.h's format:
// exactly those two fields, four decimals each), in order.
struct LossLog {
    std::vector<double> train, val;
};
inline LossLog loss_val_lines(const std::vector<std::string>& lines) {
    LossLog log;
    for (const std::string& line : lines) {
        const auto s = parse_step_line(line);
        if (!s || s->fields.size() != 2 || s->precision("loss") != 4 || s->precision("val") != 4)
            continue;
        log.train.push_back(s->get("loss"));
        log.val.push_back(s->get("val"));
    }
    return log;
}

}  // namespace wiggle::testing
