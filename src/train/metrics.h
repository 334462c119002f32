// What a training run reports: the metrics log (CSV or JSON lines, one row per iteration, the
// evaluation columns filled on evaluation rows), the SVG loss curve, and the progress line shown
// on a terminal (iteration, loss, tokens/s, ETA) in place of log lines.
// Not a logging framework: files are rewritten whole and atomically from the in-memory history.
#pragma once

#include <string>
#include <vector>

#include "train/train_state.h"

namespace wiggle {

// iter,loss,val_loss,train_eval,lr,ms,tokens_per_s (empty cells where a value is NaN).
std::string metrics_csv(const std::vector<MetricRow>& rows);
// {"iter":1,"loss":4.17,"lr":1e-05,"ms":21.3,"tokens_per_s":36000} per line; NaN fields left out.
std::string metrics_jsonl(const std::vector<MetricRow>& rows);
// Writes the CSV or JSON-lines form, chosen by the path's extension (.csv / .jsonl).
void write_metrics(const std::string& path, const std::vector<MetricRow>& rows);
// The training loss per iteration and the evaluation losses, on a log-scaled y axis.
void write_loss_curve(const std::string& path, const std::vector<MetricRow>& rows);

// "45s", "3m05s", "1h02m"
std::string format_duration(double seconds);

// One progress line of `width` columns at most, e.g.
//   [#########.........]  450/2000  loss 2.1345  37,512 tok/s  ETA 41s
std::string progress_line(int done, int total, double loss, double tokens_per_s, double eta_s,
                          int width = 80);

}  // namespace wiggle
