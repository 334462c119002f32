// Helpers shared by the kernel tests: seeded random inputs, a central-difference gradient check in
// double precision, a "same bits" comparison and a "same bits whatever the thread count" check.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu.h"

namespace wiggle::testing {

// The instruction sets this CPU can run (each is tested; a missing one is simply skipped).
inline std::vector<kernels::Isa> available_isas() {
    using kernels::Isa;
    std::vector<Isa> isas = {Isa::Generic};
    if (kernels::cpu_isa() != Isa::Generic) isas.push_back(Isa::Avx2);
    if (kernels::cpu_isa() == Isa::Avx512) isas.push_back(Isa::Avx512);
    return isas;
}

// n floats uniform in [−1, 1) from a seed (the gemm tests' operands).
inline std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

template <typename T = float>
std::vector<T> randn(size_t n, uint32_t seed, double scale = 1.0, double shift = 0.0) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> dist(0.0, 1.0);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(shift + scale * dist(rng));
    return v;
}

template <typename To, typename From>
std::vector<To> cast(const std::vector<From>& v) {
    return std::vector<To>(v.begin(), v.end());
}

// Checks d(loss)/dx against central differences, where loss(x) = Σ_i w_i·f(x)_i is what the
// caller's `loss` computes and `analytic` is the backward's gradient for x. x is restored after.
inline ::testing::AssertionResult grad_check(const std::function<double()>& loss,
                                             std::vector<double>& x,
                                             const std::vector<double>& analytic, double tol = 1e-6,
                                             double h = 1e-5) {
    if (x.size() != analytic.size()) {
        return ::testing::AssertionFailure()
               << "size mismatch " << x.size() << " vs " << analytic.size();
    }
    double max_err = 0.0;
    std::ostringstream report;
    int bad = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double x0 = x[i];
        x[i] = x0 + h;
        const double lp = loss();
        x[i] = x0 - h;
        const double lm = loss();
        x[i] = x0;
        const double numeric = (lp - lm) / (2 * h);
        const double err = std::fabs(numeric - analytic[i]) / std::max(1.0, std::fabs(numeric));
        max_err = std::max(max_err, err);
        if (!(err <= tol)) {
            if (bad < 5)
                report << "\n  [" << i << "] numeric " << numeric << ", analytic " << analytic[i];
            ++bad;
        }
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " of " << x.size() << " gradients differ from finite differences, max error "
           << max_err << report.str();
}

// Σ w_i·y_i: the scalar that turns a vector output into a loss for grad_check.
inline double dot(const std::vector<double>& w, const std::vector<double>& y) {
    double s = 0.0;
    for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
    return s;
}

// Runs `run` (which returns its outputs flattened) with 1, 2 and 3 threads and expects the same
// bits each time.
inline void expect_thread_invariant(const std::function<std::vector<float>()>& run) {
    const int saved = kernels::num_threads();
    kernels::set_num_threads(1);
    const std::vector<float> one = run();
    for (int threads : {2, 3}) {
        kernels::set_num_threads(threads);
        const std::vector<float> many = run();
        ASSERT_EQ(one.size(), many.size());
        EXPECT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float)))
            << "results differ between 1 and " << threads << " threads";
    }
    kernels::set_num_threads(saved);
}

// Expects the same bits (NaN-free data), reporting the first difference.
inline void expect_bits(const std::vector<float>& got, const std::vector<float>& want,
                        const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); i++) {
        if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) {
            FAIL() << what << ": element " << i << " expected " << want[i] << ", got " << got[i]
                   << " (difference " << got[i] - want[i] << ")";
        }
    }
}

// Concatenates vectors (to compare several outputs at once).
inline std::vector<float> concat(std::initializer_list<std::vector<float>> parts) {
    std::vector<float> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace wiggle::testing
