// Small SVG plots written directly, no plotting library: line plots (loss curves), scatter plots
// with one color per class, heatmaps with a color scale (attention maps, a classifier's regions),
// and any of these layered on one pair of axes (a decision boundary is a heatmap of the predicted
// class under a scatter of the data).
//
//   Figure fig("loss");
//   fig.x_label("step").y_label("loss").log_y();
//   fig.line("train", steps, train_loss).line("val", steps, val_loss);
//   fig.save("out/loss.svg");                       // atomic write; exits with an error on failure
//
// Layers are drawn in a fixed order whatever the call order: heatmap, lines, points, then axes,
// legend and color scale on top. Every element carries a class ("series", "points", "heatmap",
// "legend", "colorbar", "axes") so tests and stylesheets can find it.
// Not a general plotting library: one panel per file, no subplots, no text layout beyond the
// labels' lengths.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace wiggle::plot {

struct Rgb {
    uint8_t r, g, b;
};
// The i-th of 10 distinct category colors (matplotlib's tab10), cycling.
Rgb category_color(int i);
// viridis, t in [0, 1] (clamped): dark blue -> green -> yellow.
Rgb viridis(double t);
// "#rrggbb"
std::string hex(Rgb c);

// A matrix of values drawn as colored cells over the rectangle [x_min, x_max] × [y_min, y_max].
// Row 0 is the top row (as in an image or an attention matrix), column 0 the left column.
struct Heatmap {
    int rows = 0, cols = 0;
    std::vector<double> values;  // rows·cols, row-major
    double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
    // Categorical: each value is a class index, drawn as a light tint of category_color(index)
    // (the background of a decision boundary). Otherwise values map through viridis between
    // v_min and v_max (both NaN: the data's range), with a color bar labeled scale_label.
    bool categorical = false;
    double v_min = std::numeric_limits<double>::quiet_NaN();
    double v_max = std::numeric_limits<double>::quiet_NaN();
    std::string scale_label;
    // Optional tick labels at the cell centers (attention maps: the tokens), replacing the
    // numeric ticks of that axis; row_labels run top to bottom.
    std::vector<std::string> row_labels, col_labels;
};

class Figure {
  public:
    explicit Figure(std::string title, int width = 640, int height = 480);

    Figure& x_label(std::string label);
    Figure& y_label(std::string label);
    Figure& log_y(bool on = true);  // for loss curves; non-positive y values are skipped
    // A line through (x[i], y[i]) named in the legend; non-finite points break the line.
    Figure& line(std::string name, std::vector<double> x, std::vector<double> y);
    // Points colored by class (cls[i] in 0..K-1), with class_names in the legend if given.
    Figure& scatter(std::vector<double> x, std::vector<double> y, std::vector<int> cls,
                    std::vector<std::string> class_names = {});
    // The same, drawn as rings (e.g. held-out points), with one legend entry `name` if not empty.
    Figure& scatter_rings(std::vector<double> x, std::vector<double> y, std::vector<int> cls,
                          std::string name = "");
    Figure& heatmap(Heatmap h);

    std::string svg() const;
    void save(const std::string& path) const;  // write_file_atomic(path, svg())

  private:
    struct Line {
        std::string name;
        std::vector<double> x, y;
    };
    struct Points {
        std::vector<double> x, y;
        std::vector<int> cls;
        std::vector<std::string> class_names;
        bool rings = false;
        std::string ring_name;
    };
    std::string title_, x_label_, y_label_;
    int width_, height_;
    bool log_y_ = false;
    std::vector<Line> lines_;
    std::vector<Points> points_;
    std::vector<Heatmap> heatmaps_;
};

// The regions a classifier assigns over the data's bounding box (padded by 10%), as a
// categorical heatmap of resolution×resolution cells, with the data on top.
// classify(x, y) returns a class in 0..num_classes-1. Held-out points, if given, are drawn as
// rings (legend "held out") and count for the bounding box.
Figure decision_boundary(std::string title, const std::function<int(double, double)>& classify,
                         std::span<const std::array<double, 2>> x, std::span<const int> y,
                         std::vector<std::string> class_names, int resolution = 80,
                         std::span<const std::array<double, 2>> held_out_x = {},
                         std::span<const int> held_out_y = {});

}  // namespace wiggle::plot
