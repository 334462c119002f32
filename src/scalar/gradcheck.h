// Numerical gradients: the "wiggle it and watch" check of part 1, for any function of Values.
//
//   auto f = [](std::span<const Value> x) { return (x[0] * x[1]).tanh(); };
//   GradCheck r = grad_check(f, std::vector<double>{0.5, -1.5});
//   // r.analytic: from one backward(); r.numerical: (f(x+h) - f(x-h)) / 2h per coordinate
//   // r.max_rel_error: the worst coordinate's disagreement, relative (see below)
//
// Central differences in double have error ~h^2 (truncation) + eps*|f|/h (rounding), so with the
// default h = 1e-6 (scaled by |x_i| when that is above 1) a correct gradient typically agrees to
// 1e-8 or better; where f is large and its slope tiny (saturated tanh), raise `floor`. This is a
// test oracle, not a way to train: it evaluates f 2n+1 times.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "scalar/value.h"

namespace wiggle {

struct GradCheck {
    std::vector<double> analytic;   // d f / d x_i from backward()
    std::vector<double> numerical;  // (f(x + h e_i) - f(x - h e_i)) / 2h
    double max_rel_error = 0.0;     // max_i |a_i - n_i| / max(|a_i|, |n_i|, floor)
    size_t worst = 0;               // the coordinate with that error
};

// The error of one coordinate: relative where the gradient is large, absolute (divided by
// `floor`) where both gradients are tiny, so that 1e-17 vs 0 is not reported as 100% wrong.
inline double grad_rel_error(double analytic, double numerical, double floor = 1e-8) {
    const double scale = std::max({std::fabs(analytic), std::fabs(numerical), floor});
    return std::fabs(analytic - numerical) / scale;
}

// F: callable as `Value f(std::span<const Value> x)`. Every Value it makes is discarded again;
// the tape is left as it was.
template <typename F>
GradCheck grad_check(F&& f, std::span<const double> point, double h = 1e-6, double floor = 1e-8) {
    const size_t n = point.size();
    GradCheck r;
    r.analytic.resize(n);
    r.numerical.resize(n);
    std::vector<Value> x;
    x.reserve(n);

    auto eval = [&](size_t i, double xi) {  // f(point with x_i replaced by xi), value only
        GraphScope scope;
        x.clear();
        for (size_t j = 0; j < n; ++j) x.emplace_back(j == i ? xi : point[j]);
        return f(std::span<const Value>(x)).data();
    };

    {
        GraphScope scope;
        x.clear();
        for (size_t j = 0; j < n; ++j) x.emplace_back(point[j]);
        Value out = f(std::span<const Value>(x));
        out.backward();
        for (size_t j = 0; j < n; ++j) r.analytic[j] = x[j].grad();
    }
    for (size_t i = 0; i < n; ++i) {
        // The step grows with |x_i| (a fixed 1e-6 would vanish next to 1e8), and we divide by the
        // step actually taken after rounding, not by 2h.
        const double step = h * std::max(1.0, std::fabs(point[i]));
        const double up = point[i] + step, down = point[i] - step;
        r.numerical[i] = (eval(i, up) - eval(i, down)) / (up - down);
        const double e = grad_rel_error(r.analytic[i], r.numerical[i], floor);
        if (e > r.max_rel_error || i == 0) {
            r.max_rel_error = e;
            r.worst = i;
        }
    }
    return r;
}

template <typename F>
GradCheck grad_check(F&& f, const std::vector<double>& point, double h = 1e-6,
                     double floor = 1e-8) {
    return grad_check(f, std::span<const double>(point), h, floor);
}

}  // namespace wiggle
