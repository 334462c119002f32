// Metrics log formats, durations and the progress line, against hand-written expected text.
#include "train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/json.h"

namespace wiggle {
namespace {

std::vector<MetricRow> rows() {
    MetricRow a;
    a.iter = 0;
    a.loss = a.lr = a.ms = a.tokens_per_s = NAN;
    a.val_loss = 4.25;
    a.train_eval = 4.5;
    MetricRow b;
    b.iter = 1;
    b.loss = 4.125;
    b.lr = 1e-05;
    b.ms = 20.5;
    b.tokens_per_s = 37463.5;
    return {a, b};
}

TEST(Metrics, Csv) {
    EXPECT_EQ(metrics_csv(rows()),
              "iter,loss,val_loss,train_eval,lr,ms,tokens_per_s\n"
              "0,,4.25,4.5,,,\n"
              "1,4.125,,,1e-05,20.5,37463.5\n");
}

TEST(Metrics, JsonLinesParseBack) {
    const std::string text = metrics_jsonl(rows());
    EXPECT_EQ(text,
              "{\"iter\":0,\"val_loss\":4.25,\"train_eval\":4.5}\n"
              "{\"iter\":1,\"loss\":4.125,\"lr\":1e-05,\"ms\":20.5,\"tokens_per_s\":37463.5}\n");
    const auto first = parse_json(text.substr(0, text.find('\n')));
    ASSERT_TRUE(first.value.has_value()) << first.error;
    EXPECT_EQ(first.value->find("val_loss")->as_double(), 4.25);
}

TEST(Metrics, Durations) {
    EXPECT_EQ(format_duration(0.4), "0s");
    EXPECT_EQ(format_duration(45), "45s");
    EXPECT_EQ(format_duration(185), "3m05s");
    EXPECT_EQ(format_duration(3725), "1h02m");
    EXPECT_EQ(format_duration(NAN), "?");
}

TEST(Metrics, ProgressLine) {
    EXPECT_EQ(progress_line(450, 2000, 2.13451, 37512.3, 41.2, 80),
              "[######........................]  450/2000  loss 2.1345  37,512 tok/s  ETA 41s");
    EXPECT_LE(progress_line(450, 2000, 2.13451, 37512.3, 41.2, 80).size(), 80u);
    // Too narrow for a bar: the numbers alone.
    EXPECT_EQ(progress_line(2000, 2000, 1.5, 999, 0, 20),
              " 2000/2000  loss 1.5000  999 tok/s  ETA 0s");
}

}  // namespace
}  // namespace wiggle
