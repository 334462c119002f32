// SVG plots; see plot.h. The SVG is built as text: a header, the layers in drawing order, the
// axes and the legend. Coordinates are rounded to 0.01 px. Over 500 lines because Figure::svg()
// writes the whole document top to bottom, in the order a reader of the SVG sees it; nothing here
// is on a hot path.
// reference: the SVG 1.1 specification (path, rect, circle, text, clipPath, linearGradient);
// matplotlib's tab10 and viridis color maps.
#include "util/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "util/check.h"
#include "util/io.h"

namespace wiggle::plot {

namespace {

constexpr std::array<Rgb, 10> kTab10 = {{{31, 119, 180},
                                         {255, 127, 14},
                                         {44, 160, 44},
                                         {214, 39, 40},
                                         {148, 103, 189},
                                         {140, 86, 75},
                                         {227, 119, 194},
                                         {127, 127, 127},
                                         {188, 189, 34},
                                         {23, 190, 207}}};

// viridis sampled at 9 evenly spaced points; linear in between.
constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {71, 44, 122},
                                          {59, 81, 139},
                                          {44, 113, 142},
                                          {33, 144, 141},
                                          {39, 173, 129},
                                          {92, 200, 99},
                                          {170, 220, 50},
                                          {253, 231, 37}}};

Rgb tint(Rgb c, double keep) {  // blend toward white, keeping `keep` of the color
    auto mix = [&](uint8_t v) {
        return static_cast<uint8_t>(std::lround(v * keep + 255.0 * (1.0 - keep)));
    };
    return {mix(c.r), mix(c.g), mix(c.b)};
}

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                // Control characters are not allowed in XML 1.0 text.
                if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
        }
    }
    return out;
}

std::string tick_text(double v) {
    if (std::fabs(v) < 1e-12) v = 0.0;  // no "-0"
    return fmt::format("{:.6g}", v);
}

// Round steps of 1, 2 or 5 times a power of ten, about `target` of them across [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
    std::vector<double> ticks;
    const double range = hi - lo;
    if (!(range > 0.0) || !std::isfinite(range)) return ticks;
    const double raw = range / target;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        step = m * mag;
        if (raw <= step) break;
    }
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
        ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    }
    return ticks;
}

// Ticks for a log10 axis over [lo, hi] (in log10 units): powers of ten, and 2 and 5 times them
// when the range spans few decades; within a decade or so (a loss from 4.2 down to 1.9), round
// values like 2, 2.5, 3, 4. Returns the log10 positions.
std::vector<double> log_ticks(double lo, double hi) {
    std::vector<double> ticks;
    const int d0 = static_cast<int>(std::floor(lo)), d1 = static_cast<int>(std::ceil(hi));
    const bool fine = d1 - d0 <= 3;
    for (int d = d0; d <= d1; ++d) {
        for (double m : {1.0, 2.0, 5.0}) {
            if (m != 1.0 && !fine) continue;
            const double t = d + std::log10(m);
            if (t >= lo - 1e-9 && t <= hi + 1e-9) ticks.push_back(t);
        }
    }
    if (ticks.size() >= 3) return ticks;
    ticks.clear();  // round values between the ends, placed on the log axis
    for (double v : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), 5)) {
        if (v > 0.0) ticks.push_back(std::log10(v));
    }
    return ticks;
}

struct Range {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    bool empty() const { return !(lo <= hi); }
    void pad(double fraction) {
        if (empty()) {
            lo = 0.0;
            hi = 1.0;
        } else if (hi - lo <= 0.0) {
            const double d = std::fabs(lo) > 0 ? std::fabs(lo) * 0.1 : 0.5;
            lo -= d;
            hi += d;
        } else {
            const double d = (hi - lo) * fraction;
            lo -= d;
            hi += d;
        }
    }
};

}  // namespace

Rgb category_color(int i) {
    const int n = static_cast<int>(kTab10.size());
    return kTab10[static_cast<size_t>(((i % n) + n) % n)];
}

Rgb viridis(double t) {
    if (!(t >= 0.0)) t = 0.0;  // also NaN
    if (t > 1.0) t = 1.0;
    const double pos = t * double(kViridis.size() - 1);
    const size_t i = std::min(static_cast<size_t>(pos), kViridis.size() - 2);
    const double f = pos - double(i);
    auto mix = [&](uint8_t a, uint8_t b) {
        return static_cast<uint8_t>(std::lround(a + (b - a) * f));
    };
    const Rgb a = kViridis[i], b = kViridis[i + 1];
    return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

std::string hex(Rgb c) { return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b); }

Figure::Figure(std::string title, int width, int height)
    : title_(std::move(title)), width_(width), height_(height) {
    WIGGLE_CHECK(width >= 100 && height >= 100, "",
                 "a figure needs at least 100x100 pixels, got {}x{}", width, height);
}

Figure& Figure::x_label(std::string label) {
    x_label_ = std::move(label);
    return *this;
}
Figure& Figure::y_label(std::string label) {
    y_label_ = std::move(label);
    return *this;
}
Figure& Figure::log_y(bool on) {
    log_y_ = on;
    return *this;
}
Figure& Figure::line(std::string name, std::vector<double> x, std::vector<double> y) {
    WIGGLE_CHECK(x.size() == y.size(), "", "plot line '{}': {} x values but {} y values", name,
                 x.size(), y.size());
    lines_.push_back({std::move(name), std::move(x), std::move(y)});
    return *this;
}
Figure& Figure::scatter(std::vector<double> x, std::vector<double> y, std::vector<int> cls,
                        std::vector<std::string> class_names) {
    WIGGLE_CHECK(x.size() == y.size() && (cls.empty() || cls.size() == x.size()), "",
                 "scatter: {} x values, {} y values and {} classes", x.size(), y.size(),
                 cls.size());
    points_.push_back(
        {std::move(x), std::move(y), std::move(cls), std::move(class_names), false, {}});
    return *this;
}
Figure& Figure::scatter_rings(std::vector<double> x, std::vector<double> y, std::vector<int> cls,
                              std::string name) {
    scatter(std::move(x), std::move(y), std::move(cls));
    points_.back().rings = true;
    points_.back().ring_name = std::move(name);
    return *this;
}
Figure& Figure::heatmap(Heatmap h) {
    WIGGLE_CHECK(h.rows >= 1 && h.cols >= 1 && h.values.size() == size_t(h.rows) * size_t(h.cols),
                 "", "heatmap: {}x{} cells but {} values", h.rows, h.cols, h.values.size());
    WIGGLE_CHECK(h.x_max > h.x_min && h.y_max > h.y_min, "", "heatmap: empty extent");
    heatmaps_.push_back(std::move(h));
    return *this;
}

std::string Figure::svg() const {
    // ---- which decorations are needed, and the plot area they leave
    const Heatmap* scale = nullptr;  // the heatmap whose color bar is drawn
    const Heatmap* labeled = nullptr;
    for (const Heatmap& h : heatmaps_) {
        if (!h.categorical && scale == nullptr) scale = &h;
        if ((!h.row_labels.empty() || !h.col_labels.empty()) && labeled == nullptr) labeled = &h;
    }
    const double top = title_.empty() ? 20 : 40, bottom = 56;
    const double right = scale != nullptr ? 100 : 24;
    const double ph = height_ - top - bottom;

    // ---- data ranges
    Range xr, yr;
    auto ty = [&](double y) { return log_y_ ? (y > 0.0 ? std::log10(y) : NAN) : y; };
    for (const Line& l : lines_) {
        for (size_t i = 0; i < l.x.size(); ++i) {
            if (std::isfinite(l.x[i]) && std::isfinite(ty(l.y[i]))) {
                xr.add(l.x[i]);
                yr.add(ty(l.y[i]));
            }
        }
    }
    for (const Points& p : points_) {
        for (size_t i = 0; i < p.x.size(); ++i) {
            if (std::isfinite(p.x[i]) && std::isfinite(ty(p.y[i]))) {
                xr.add(p.x[i]);
                yr.add(ty(p.y[i]));
            }
        }
    }
    if (heatmaps_.empty()) {
        xr.pad(lines_.empty() ? 0.05 : 0.0);
        yr.pad(0.05);
    } else {  // the heatmaps fill the area exactly
        for (const Heatmap& h : heatmaps_) {
            xr.add(h.x_min);
            xr.add(h.x_max);
            yr.add(ty(h.y_min));
            yr.add(ty(h.y_max));
        }
        xr.pad(0.0);
        yr.pad(0.0);
    }
    // the y ticks' labels decide the left margin: they must clear the rotated axis label
    const std::vector<double> y_ticks = log_y_ ? log_ticks(yr.lo, yr.hi) : nice_ticks(yr.lo, yr.hi);
    size_t widest = 0;
    for (double t : y_ticks)
        widest = std::max(widest, tick_text(log_y_ ? std::pow(10.0, t) : t).size());
    constexpr double kCharWidth = 7.0;  // a digit of the 12 px sans-serif, rounded up
    const double left = std::max(72.0, 18.0 + 8.0 + 6.0 + kCharWidth * double(widest) + 8.0);
    const double pw = width_ - left - right;
    auto px = [&](double x) { return left + (x - xr.lo) / (xr.hi - xr.lo) * pw; };
    auto py = [&](double y_t) { return top + ph - (y_t - yr.lo) / (yr.hi - yr.lo) * ph; };

    std::string s;
    s += fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
        "{1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n",
        width_, height_);
    s += fmt::format("<title>{}</title>\n", escape(title_));
    s += fmt::format(
        "<defs><clipPath id=\"plot-area\"><rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" "
        "height=\"{:.2f}\"/></clipPath></defs>\n",
        left, top, pw, ph);
    s += fmt::format("<rect class=\"background\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
                     width_, height_);

    // ---- heatmaps: one rect per run of equal color along a row
    for (const Heatmap& h : heatmaps_) {
        double lo = h.v_min, hi = h.v_max;
        if (!h.categorical && (std::isnan(lo) || std::isnan(hi))) {
            Range vr;
            for (double v : h.values) vr.add(v);
            if (vr.empty()) vr = Range{0.0, 1.0};
            if (std::isnan(lo)) lo = vr.lo;
            if (std::isnan(hi)) hi = vr.hi;
        }
        auto color = [&](double v) {
            if (!std::isfinite(v)) return Rgb{255, 255, 255};
            if (h.categorical) return tint(category_color(static_cast<int>(std::lround(v))), 0.35);
            return viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        };
        const double x0 = px(h.x_min), x1 = px(h.x_max);
        const double y0 = py(ty(h.y_max)), y1 = py(ty(h.y_min));
        const double cw = (x1 - x0) / h.cols, ch = (y1 - y0) / h.rows;
        s += fmt::format(
            "<g class=\"heatmap\" shape-rendering=\"crispEdges\" clip-path=\"url(#plot-area)\">\n");
        for (int r = 0; r < h.rows; ++r) {
            int c = 0;
            while (c < h.cols) {
                const Rgb col = color(h.values[size_t(r) * size_t(h.cols) + size_t(c)]);
                int end = c + 1;
                while (end < h.cols) {
                    const Rgb next = color(h.values[size_t(r) * size_t(h.cols) + size_t(end)]);
                    if (next.r != col.r || next.g != col.g || next.b != col.b) break;
                    ++end;
                }
                // Half a pixel of overlap hides the seams some renderers leave between cells.
                s += fmt::format(
                    "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                    "fill=\"{}\"/>\n",
                    x0 + c * cw, y0 + r * ch, (end - c) * cw + 0.5, ch + 0.5, hex(col));
                c = end;
            }
        }
        s += "</g>\n";
        if (&h == scale) {  // the color bar, right of the plot area
            const double bx = left + pw + 16, bw = 16;
            s += "<g class=\"colorbar\">\n";
            constexpr int kSteps = 64;
            for (int i = 0; i < kSteps; ++i) {
                const double t = (i + 0.5) / kSteps;
                s += fmt::format(
                    "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                    "fill=\"{}\"/>\n",
                    bx, top + ph * (1.0 - double(i + 1) / kSteps), bw, ph / kSteps + 0.5,
                    hex(viridis(t)));
            }
            s += fmt::format(
                "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
                "stroke=\"#333333\"/>\n",
                bx, top, bw, ph);
            for (int i = 0; i <= 4; ++i) {
                const double v = lo + (hi - lo) * i / 4.0;
                const double y = top + ph * (1.0 - i / 4.0);
                s += fmt::format(
                    "<text x=\"{:.2f}\" y=\"{:.2f}\" dominant-baseline=\"middle\">{}</text>\n",
                    bx + bw + 4, y, tick_text(v));
            }
            if (!h.scale_label.empty()) {
                s += fmt::format(
                    "<text x=\"{0:.2f}\" y=\"{1:.2f}\" text-anchor=\"middle\" "
                    "transform=\"rotate(90 {0:.2f} {1:.2f})\">{2}</text>\n",
                    bx + bw + 44, top + ph / 2, escape(h.scale_label));
            }
            s += "</g>\n";
        }
    }

    // ---- axes: frame, ticks, tick labels, axis labels
    s += "<g class=\"axes\" stroke=\"#333333\" fill=\"none\">\n";
    s += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\"/>\n", left,
                     top, pw, ph);
    s += "</g>\n<g class=\"ticks\" fill=\"#333333\">\n";
    auto label_stride = [](size_t n, double space) {  // show every k-th label, >= 14 px apart
        const double per = space / double(std::max<size_t>(n, 1));
        return std::max<size_t>(1, static_cast<size_t>(std::ceil(14.0 / std::max(per, 1e-9))));
    };
    if (labeled != nullptr && !labeled->col_labels.empty()) {
        const Heatmap& h = *labeled;
        const size_t k = label_stride(h.col_labels.size(), px(h.x_max) - px(h.x_min));
        for (size_t c = 0; c < h.col_labels.size(); c += k) {
            const double x =
                px(h.x_min + (h.x_max - h.x_min) * (c + 0.5) / double(h.col_labels.size()));
            s += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                             x, top + ph + 16, escape(h.col_labels[c]));
        }
    } else {
        for (double t : nice_ticks(xr.lo, xr.hi)) {
            const double x = px(t);
            s += fmt::format(
                "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" "
                "stroke=\"#333333\"/>\n",
                x, top + ph, top + ph + 5);
            s += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                             x, top + ph + 18, tick_text(t));
        }
    }
    if (labeled != nullptr && !labeled->row_labels.empty()) {
        const Heatmap& h = *labeled;
        const size_t k = label_stride(h.row_labels.size(), py(ty(h.y_min)) - py(ty(h.y_max)));
        for (size_t r = 0; r < h.row_labels.size(); r += k) {
            const double y = py(ty(h.y_max)) + (py(ty(h.y_min)) - py(ty(h.y_max))) * (r + 0.5) /
                                                   double(h.row_labels.size());
            s += fmt::format(
                "<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">{}</text>\n",
                left - 6, y, escape(h.row_labels[r]));
        }
    } else {
        for (double t : y_ticks) {
            const double y = py(t);
            s += fmt::format(
                "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" "
                "stroke=\"#333333\"/>\n",
                left - 5, y, left);
            s += fmt::format(
                "<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">{}</text>\n",
                left - 8, y, tick_text(log_y_ ? std::pow(10.0, t) : t));
        }
    }
    s += "</g>\n";
    if (!x_label_.empty()) {
        s += fmt::format(
            "<text class=\"x-label\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
            left + pw / 2, height_ - 14.0, escape(x_label_));
    }
    if (!y_label_.empty()) {
        s += fmt::format(
            "<text class=\"y-label\" x=\"{0:.2f}\" y=\"{1:.2f}\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 {0:.2f} {1:.2f})\">{2}</text>\n",
            18.0, top + ph / 2, escape(y_label_));
    }
    if (!title_.empty()) {
        s += fmt::format(
            "<text class=\"title\" x=\"{:.2f}\" y=\"24\" text-anchor=\"middle\" "
            "font-size=\"15\">{}</text>\n",
            width_ / 2.0, escape(title_));
    }

    // ---- lines: one path per series; a non-finite point starts a new piece
    for (size_t li = 0; li < lines_.size(); ++li) {
        const Line& l = lines_[li];
        std::string d;
        bool pen_down = false;
        for (size_t i = 0; i < l.x.size(); ++i) {
            const double yt = ty(l.y[i]);
            if (!std::isfinite(l.x[i]) || !std::isfinite(yt)) {
                pen_down = false;
                continue;
            }
            d += fmt::format("{}{:.2f},{:.2f}", pen_down ? " L" : (d.empty() ? "M" : " M"),
                             px(l.x[i]), py(yt));
            pen_down = true;
        }
        s += fmt::format(
            "<path class=\"series\" data-name=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" "
            "stroke-width=\"1.8\" "
            "clip-path=\"url(#plot-area)\"/>\n",
            escape(l.name), d.empty() ? "M0,0" : d, hex(category_color(static_cast<int>(li))));
    }

    // ---- points
    for (const Points& p : points_) {
        s += p.rings ? "<g class=\"rings\" fill=\"#ffffff\" stroke-width=\"1.8\">\n"
                     : "<g class=\"points\" stroke=\"#222222\" stroke-width=\"0.6\">\n";
        for (size_t i = 0; i < p.x.size(); ++i) {
            const double yt = ty(p.y[i]);
            if (!std::isfinite(p.x[i]) || !std::isfinite(yt)) continue;
            const std::string color = hex(category_color(p.cls.empty() ? 0 : p.cls[i]));
            s += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3.5\" {}=\"{}\"/>\n",
                             px(p.x[i]), py(yt), p.rings ? "stroke" : "fill", color);
        }
        s += "</g>\n";
    }

    // ---- legend: the named lines, then the named classes
    std::vector<std::pair<std::string, int>> entries;  // name, color index (+1000: a point)
    for (size_t li = 0; li < lines_.size(); ++li) {
        if (!lines_[li].name.empty()) entries.emplace_back(lines_[li].name, static_cast<int>(li));
    }
    for (const Points& p : points_) {
        for (size_t c = 0; c < p.class_names.size(); ++c)
            entries.emplace_back(p.class_names[c], 1000 + int(c));
        if (p.rings && !p.ring_name.empty()) entries.emplace_back(p.ring_name, 2000);
    }
    if (!entries.empty()) {
        size_t longest = 0;
        for (const auto& e : entries) longest = std::max(longest, e.first.size());
        const double w = 34 + 7.0 * double(longest), h = 8 + 18.0 * double(entries.size());
        const double x = left + pw - w - 8, y = top + 8;
        s += "<g class=\"legend\">\n";
        s += fmt::format(
            "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"#ffffff\" "
            "fill-opacity=\"0.85\" stroke=\"#999999\"/>\n",
            x, y, w, h);
        for (size_t i = 0; i < entries.size(); ++i) {
            const double cy = y + 13 + 18.0 * double(i);
            const int c = entries[i].second;
            if (c == 2000) {  // a ring: held-out points
                s += fmt::format(
                    "<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"#ffffff\" "
                    "stroke=\"#555555\" "
                    "stroke-width=\"1.8\"/>\n",
                    x + 15, cy);
            } else if (c >= 1000) {
                s += fmt::format(
                    "<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"{}\" stroke=\"#222222\" "
                    "stroke-width=\"0.6\"/>\n",
                    x + 15, cy, hex(category_color(c - 1000)));
            } else {
                s += fmt::format(
                    "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"{}\" "
                    "stroke-width=\"2\"/>\n",
                    x + 6, cy, x + 24, cy, hex(category_color(c)));
            }
            s += fmt::format(
                "<text x=\"{:.2f}\" y=\"{:.2f}\" dominant-baseline=\"middle\">{}</text>\n", x + 30,
                cy, escape(entries[i].first));
        }
        s += "</g>\n";
    }
    s += "</svg>\n";
    return s;
}

void Figure::save(const std::string& path) const { write_file_atomic(path, svg()); }

Figure decision_boundary(std::string title, const std::function<int(double, double)>& classify,
                         std::span<const std::array<double, 2>> x, std::span<const int> y,
                         std::vector<std::string> class_names, int resolution,
                         std::span<const std::array<double, 2>> held_out_x,
                         std::span<const int> held_out_y) {
    WIGGLE_CHECK(resolution >= 2, "", "decision boundary: resolution must be at least 2, got {}",
                 resolution);
    Range xr, yr;
    WIGGLE_CHECK(x.size() == y.size() && held_out_x.size() == held_out_y.size(), "",
                 "decision boundary: {} points but {} labels, {} held-out points but {} labels",
                 x.size(), y.size(), held_out_x.size(), held_out_y.size());
    for (const auto& p : x) {
        xr.add(p[0]);
        yr.add(p[1]);
    }
    for (const auto& p : held_out_x) {
        xr.add(p[0]);
        yr.add(p[1]);
    }
    xr.pad(0.1);
    yr.pad(0.1);
    Heatmap h;
    h.rows = h.cols = resolution;
    h.x_min = xr.lo;
    h.x_max = xr.hi;
    h.y_min = yr.lo;
    h.y_max = yr.hi;
    h.categorical = true;
    h.values.resize(size_t(resolution) * size_t(resolution));
    for (int r = 0; r < resolution; ++r) {  // row 0 at the top: the largest y
        const double cy = yr.hi - (yr.hi - yr.lo) * (r + 0.5) / resolution;
        for (int c = 0; c < resolution; ++c) {
            const double cx = xr.lo + (xr.hi - xr.lo) * (c + 0.5) / resolution;
            h.values[size_t(r) * size_t(resolution) + size_t(c)] = classify(cx, cy);
        }
    }
    std::vector<double> px, py;
    std::vector<int> cls(y.begin(), y.end());
    for (const auto& p : x) {
        px.push_back(p[0]);
        py.push_back(p[1]);
    }
    Figure fig(std::move(title), 560, 520);
    fig.x_label("x1")
        .y_label("x2")
        .heatmap(std::move(h))
        .scatter(std::move(px), std::move(py), std::move(cls), std::move(class_names));
    if (!held_out_x.empty()) {
        std::vector<double> hx, hy;
        for (const auto& p : held_out_x) {
            hx.push_back(p[0]);
            hy.push_back(p[1]);
        }
        fig.scatter_rings(std::move(hx), std::move(hy),
                          std::vector<int>(held_out_y.begin(), held_out_y.end()), "held out");
    }
    return fig;
}

}  // namespace wiggle::plot
