// The SVG plots: every figure is parsed by a small strict XML reader (balanced tags, quoted
// attributes, valid entities, one <svg> root) and checked for the elements it must contain, and
// for where the data land in pixels. When xmllint is installed it must accept the files too.
#include "util/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "xml_reader.h"

namespace wiggle::plot {
namespace {

using testing::Element;
using testing::parse_xml;
using testing::ParsedXml;
using testing::root_of;
using testing::texts;
using testing::well_formed_svg;

TEST(XmlReader, RejectsWhatItShould) {  // the reader itself, on known good and bad inputs
    EXPECT_TRUE(parse_xml("<a x=\"1\"><b/>t &amp; u</a>").error.empty());
    EXPECT_FALSE(parse_xml("<a><b></a></b>").error.empty());
    EXPECT_FALSE(parse_xml("<a x=1/>").error.empty());
    EXPECT_FALSE(parse_xml("<a>AT&T</a>").error.empty());
    EXPECT_FALSE(parse_xml("<a></a><b/>").error.empty());
    EXPECT_FALSE(parse_xml("<a>").error.empty());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// ---- figures

TEST(Plot, LinePlotHasAxesLabelsOnePathPerSeriesAndALegend) {
    Figure fig("loss <train & val>");
    fig.x_label("step").y_label("loss");
    fig.line("train", {0, 5, 10}, {0.0, 0.5, 1.0}).line("val", {0, 5, 10}, {1.0, 0.8, 0.9});
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const Element& svg = root_of(p);
    EXPECT_EQ(svg.attr("width"), "640");
    const auto series = svg.all("path", "series");
    ASSERT_EQ(series.size(), 2u);
    EXPECT_EQ(series[0]->attr("data-name"), "train");
    const auto t = texts(svg);
    EXPECT_TRUE(contains(t, "loss <train & val>")) << "the title, escaped and read back";
    EXPECT_TRUE(contains(t, "step"));
    EXPECT_TRUE(contains(t, "loss"));
    EXPECT_TRUE(contains(t, "train"));
    EXPECT_TRUE(contains(t, "val"));
    EXPECT_TRUE(contains(t, "0") && contains(t, "10")) << "x tick labels";
    ASSERT_EQ(svg.all("g", "legend").size(), 1u);
    EXPECT_EQ(svg.all("g", "legend")[0]->all("text").size(), 2u);

    // Where the data land: x spans the frame exactly (lines get no x padding), y is padded by 5%
    // of its range on each side.
    const auto frame = svg.all("g", "axes")[0]->all("rect");
    ASSERT_EQ(frame.size(), 1u);
    const double fx = std::stod(frame[0]->attr("x")), fy = std::stod(frame[0]->attr("y"));
    const double fw = std::stod(frame[0]->attr("width")), fh = std::stod(frame[0]->attr("height"));
    double x0, y0, x2, y2;
    const std::string d = series[0]->attr("d");
    ASSERT_EQ(std::sscanf(d.c_str(), "M%lf,%lf L%*f,%*f L%lf,%lf", &x0, &y0, &x2, &y2), 4) << d;
    EXPECT_NEAR(x0, fx, 0.01);
    EXPECT_NEAR(x2, fx + fw, 0.01);
    // y range [0, 1] padded to [-0.05, 1.05]: y = 0 sits 0.05/1.1 of the height above the bottom
    EXPECT_NEAR(y0, fy + fh - fh * 0.05 / 1.1, 0.01);
    EXPECT_NEAR(y2, fy + fh * 0.05 / 1.1, 0.01);
}

TEST(Plot, NonFiniteAndNonPositiveOnLogAxisBreakTheLine) {
    Figure fig("log");
    fig.log_y().line("loss", {0, 1, 2, 3, 4}, {1.0, 0.1, NAN, 0.01, -1.0});
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const auto series = root_of(p).all("path", "series");
    ASSERT_EQ(series.size(), 1u);
    const std::string d = series[0]->attr("d");
    EXPECT_EQ(std::count(d.begin(), d.end(), 'M'), 2) << d;
    EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), 1) << d;
    const auto t = texts(root_of(p));
    EXPECT_TRUE(contains(t, "0.01") && contains(t, "0.1") && contains(t, "1")) << "decade ticks";
}

TEST(Plot, ALossCurveWithinADecadeGetsRoundTicksClearOfTheAxisLabel) {
    // A loss from 4.2 down to 1.9 on the log axis: ticks at round values (2, 2.5, 3, ...), not at
    // 10^0.4 = 2.51189, and the tick labels end before the rotated "loss" label begins.
    Figure fig("training");
    std::vector<double> x, y;
    for (int i = 0; i <= 100; ++i) {
        x.push_back(i);
        y.push_back(1.9 + 2.3 * std::exp(-i / 20.0));
    }
    fig.log_y().y_label("loss").x_label("iteration").line("train", x, y);
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const Element& svg = root_of(p);
    std::vector<double> values;
    double leftmost = 1e9;
    for (const Element* g : svg.all("g", "ticks")) {
        for (const auto& t : g->children) {
            if (t->name != "text" || t->attr("text-anchor") != "end") continue;  // y ticks only
            const double v = std::stod(t->text);
            values.push_back(v);
            // no more than two significant digits after the leading ones: 2, 2.5, 3.5, 4
            EXPECT_LE(t->text.size(), 3u) << t->text;
            EXPECT_NEAR(v * 2, std::round(v * 2), 1e-9) << t->text;
            leftmost = std::min(leftmost, std::stod(t->attr("x")) - 7.0 * t->text.size());
        }
    }
    ASSERT_GE(values.size(), 3u);
    const auto labels = svg.all("text", "y-label");
    ASSERT_EQ(labels.size(), 1u);
    const double label_x = std::stod(labels[0]->attr("x"));
    EXPECT_GT(leftmost, label_x + 8.0) << "tick labels run into the axis label";
}

TEST(Plot, LongTickLabelsWidenTheMargin) {
    Figure fig("small values");
    fig.y_label("value").line("a", {0, 1, 2}, {0.000125, 0.000250, 0.000375});
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const Element& svg = root_of(p);
    const double label_x = std::stod(svg.all("text", "y-label")[0]->attr("x"));
    for (const Element* g : svg.all("g", "ticks")) {
        for (const auto& t : g->children) {
            if (t->name != "text" || t->attr("text-anchor") != "end") continue;
            EXPECT_GT(std::stod(t->attr("x")) - 7.0 * t->text.size(), label_x + 8.0) << t->text;
        }
    }
}

TEST(Plot, ScatterColorsPointsByClassWithNamedClassesInTheLegend) {
    Figure fig("points");
    fig.scatter({0, 1, 2, 3}, {0, 1, 0, 1}, {0, 1, 2, 1}, {"a", "b", "c"});
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const auto groups = root_of(p).all("g", "points");
    ASSERT_EQ(groups.size(), 1u);
    const auto circles = groups[0]->all("circle");
    ASSERT_EQ(circles.size(), 4u);
    EXPECT_EQ(circles[0]->attr("fill"), hex(category_color(0)));
    EXPECT_EQ(circles[1]->attr("fill"), hex(category_color(1)));
    EXPECT_EQ(circles[2]->attr("fill"), hex(category_color(2)));
    EXPECT_EQ(circles[3]->attr("fill"), circles[1]->attr("fill"));
    const auto legend = root_of(p).all("g", "legend");
    ASSERT_EQ(legend.size(), 1u);
    EXPECT_EQ(legend[0]->all("circle").size(), 3u);
}

TEST(Plot, HeatmapWithColorScaleAndTokenLabels) {
    Heatmap h;
    h.rows = 3;
    h.cols = 3;
    h.values = {1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5};  // a causal attention pattern
    h.x_min = 0, h.x_max = 3, h.y_min = 0, h.y_max = 3;
    h.scale_label = "weight";
    h.row_labels = {"a", "b", "&"};
    h.col_labels = {"a", "b", "&"};
    Figure fig("attention");
    fig.heatmap(h);
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const auto cells = root_of(p).all("g", "heatmap");
    ASSERT_EQ(cells.size(), 1u);
    // Runs of equal color merge: row 0 is 1,0,0 -> 2 rects; row 1 -> 2; row 2 -> 3.
    EXPECT_EQ(cells[0]->all("rect").size(), 7u);
    EXPECT_EQ(cells[0]->all("rect")[0]->attr("fill"),
              hex(viridis(1.0)));  // the top-left cell is the max
    EXPECT_EQ(root_of(p).all("g", "colorbar").size(), 1u);
    const auto t = texts(root_of(p));
    EXPECT_TRUE(contains(t, "weight"));
    EXPECT_EQ(std::count(t.begin(), t.end(), "&"), 2) << "the token labels on both axes";
    EXPECT_TRUE(contains(t, "0") && contains(t, "1")) << "the color scale's ends";
}

TEST(Plot, DecisionBoundaryIsACategoricalHeatmapUnderTheData) {
    const std::vector<std::array<double, 2>> x = {{-1, -1}, {1, 1}, {-0.5, 0.5}};
    const std::vector<int> y = {0, 1, 0};
    const Figure fig = decision_boundary(
        "boundary", [](double a, double) { return a > 0 ? 1 : 0; }, x, y, {"left", "right"}, 10);
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const auto heat = root_of(p).all("g", "heatmap");
    ASSERT_EQ(heat.size(), 1u);
    // Each row is 5 cells of class 0 then 5 of class 1: two runs per row.
    EXPECT_EQ(heat[0]->all("rect").size(), 20u);
    EXPECT_EQ(root_of(p).all("g", "colorbar").size(), 0u)
        << "classes need a legend, not a color bar";
    EXPECT_EQ(root_of(p).all("g", "points")[0]->all("circle").size(), 3u);
    const auto t = texts(root_of(p));
    EXPECT_TRUE(contains(t, "left") && contains(t, "right"));
}

TEST(Plot, HeldOutPointsAreRingsWithOneLegendEntry) {
    const std::vector<std::array<double, 2>> x = {{-1, -1}, {1, 1}}, held = {{2, 2}};
    const Figure fig = decision_boundary(
        "b", [](double a, double) { return a > 0 ? 1 : 0; }, x, std::vector<int>{0, 1}, {"l", "r"},
        4, held, std::vector<int>{1});
    ParsedXml p;
    ASSERT_TRUE(well_formed_svg(fig.svg(), p));
    const auto rings = root_of(p).all("g", "rings");
    ASSERT_EQ(rings.size(), 1u);
    ASSERT_EQ(rings[0]->all("circle").size(), 1u);
    EXPECT_EQ(rings[0]->all("circle")[0]->attr("stroke"), hex(category_color(1)));
    EXPECT_TRUE(contains(texts(root_of(p)), "held out"));
    // The held-out point counts for the box: (2, 2) lies inside the heatmap, not beyond it.
    const auto frame = root_of(p).all("g", "axes")[0]->all("rect")[0];
    const double cx = std::stod(rings[0]->all("circle")[0]->attr("cx"));
    EXPECT_LT(cx, std::stod(frame->attr("x")) + std::stod(frame->attr("width")));
}

TEST(Plot, SaveWritesTheSvgAndXmllintAcceptsIt) {
    Figure fig("saved");
    fig.line("a", {0, 1}, {2, 3}).scatter({0.5}, {2.5}, {1});
    const std::string path = ::testing::TempDir() + "wiggle_plot_test.svg";
    fig.save(path);
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), fig.svg());
    if (std::system("command -v xmllint >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "xmllint not installed: only the built-in XML check ran";
    }
    EXPECT_EQ(std::system(("xmllint --noout " + path).c_str()), 0) << "xmllint rejected " << path;
}

TEST(PlotDeath, MismatchedSeriesAreUserErrors) {
    Figure fig("bad");
    EXPECT_EXIT(fig.line("a", {0, 1}, {0}), ::testing::ExitedWithCode(1),
                "plot line 'a': 2 x values but 1 y values");
    Heatmap h;
    h.rows = 2;
    h.cols = 2;
    h.values = {1, 2, 3};
    EXPECT_EXIT(fig.heatmap(h), ::testing::ExitedWithCode(1), "heatmap: 2x2 cells but 3 values");
}

}  // namespace
}  // namespace wiggle::plot
