// Metrics log, loss curve and progress line (metrics.h).
#include "train/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "util/check.h"
#include "util/io.h"
#include "util/plot.h"

namespace wiggle {

namespace {

std::string cell(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); }

bool ends_with(const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// 37512.3 -> "37,512"
std::string thousands(double v) {
    std::string digits = fmt::format("{:.0f}", std::max(0.0, v));
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace

std::string metrics_csv(const std::vector<MetricRow>& rows) {
    std::string out = "iter,loss,val_loss,train_eval,lr,ms,tokens_per_s\n";
    for (const MetricRow& r : rows) {
        out += fmt::format("{},{},{},{},{},{},{}\n", r.iter, cell(r.loss), cell(r.val_loss),
                           cell(r.train_eval), cell(r.lr), cell(r.ms), cell(r.tokens_per_s));
    }
    return out;
}

std::string metrics_jsonl(const std::vector<MetricRow>& rows) {
    std::string out;
    for (const MetricRow& r : rows) {
        out += fmt::format("{{\"iter\":{}", r.iter);
        auto field = [&](const char* name, double v) {
            if (std::isfinite(v)) out += fmt::format(",\"{}\":{}", name, v);
        };
        field("loss", r.loss);
        field("val_loss", r.val_loss);
        field("train_eval", r.train_eval);
        field("lr", r.lr);
        field("ms", r.ms);
        field("tokens_per_s", r.tokens_per_s);
        out += "}\n";
    }
    return out;
}

void write_metrics(const std::string& path, const std::vector<MetricRow>& rows) {
    if (ends_with(path, ".jsonl")) {
        write_file_atomic(path, metrics_jsonl(rows));
    } else {
        WIGGLE_CHECK(ends_with(path, ".csv"), "name it *.csv or *.jsonl",
                     "metrics file '{}' must end in .csv or .jsonl", path);
        write_file_atomic(path, metrics_csv(rows));
    }
}

void write_loss_curve(const std::string& path, const std::vector<MetricRow>& rows) {
    std::vector<double> it, loss, eval_it, val, train_eval;
    for (const MetricRow& r : rows) {
        if (std::isfinite(r.loss)) {
            it.push_back(r.iter);
            loss.push_back(r.loss);
        }
        if (std::isfinite(r.val_loss)) {
            eval_it.push_back(r.iter);
            val.push_back(r.val_loss);
            train_eval.push_back(r.train_eval);
        }
    }
    plot::Figure fig("wiggle train: loss");
    fig.x_label("iteration").y_label("cross-entropy loss").log_y();
    fig.line("train (batch)", it, loss);
    if (!eval_it.empty()) {
        fig.line("train (eval)", eval_it, train_eval);
        fig.line("validation", eval_it, val);
    }
    fig.save(path);
}

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    const auto total = static_cast<long long>(std::llround(s));
    if (total < 60) return fmt::format("{}s", total);
    if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
    return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

std::string progress_line(int done, int total, double loss, double tokens_per_s, double eta_s,
                          int width) {
    const int w = static_cast<int>(fmt::formatted_size("{}", total));
    const std::string tail =
        fmt::format(" {:>{}}/{}  loss {:.4f}  {} tok/s  ETA {}", done, w, total, loss,
                    thousands(tokens_per_s), format_duration(eta_s));
    const int bar = std::max(0, std::min(30, width - static_cast<int>(tail.size()) - 2));
    const int filled = total > 0 ? static_cast<int>(int64_t(bar) * done / total) : 0;
    std::string line;
    if (bar > 0) {
        line.reserve(size_t(bar) + 2 + tail.size());
        line.push_back('[');
        line.append(size_t(filled), '#');
        line.append(size_t(bar - filled), '.');
        line.push_back(']');
    }
    line.append(tail);
    return line;
}

}  // namespace wiggle
