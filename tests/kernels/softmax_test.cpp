// Softmax, log-softmax and fused cross-entropy: finite differences, fast vs naive, thread
// invariance, PyTorch, and stability for logits of ±1000.
#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fixture.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT: the test reads better with the bare kernel names
using testing::all_close;
using testing::randn;

// Runs a kernel pair's gradient check: fwd(out, x) then bwd(dx, x, out, wout).
template <typename Fwd, typename Bwd>
void check_pair(Fwd fwd, Bwd bwd, int N, int V, uint32_t seed) {
    auto x = randn<double>(N * V, seed, 2.0);
    const auto wout = randn<double>(N * V, seed + 1);
    std::vector<double> out(N * V);
    auto loss = [&] {
        fwd(out.data(), x.data());
        return testing::dot(wout, out);
    };
    loss();
    auto dx = randn<double>(N * V, seed + 2);
    const auto dx0 = dx;
    bwd(dx.data(), x.data(), out.data(), wout.data());
    for (size_t i = 0; i < dx.size(); ++i) dx[i] -= dx0[i];
    EXPECT_TRUE(testing::grad_check(loss, x, dx));
}

TEST(Softmax, NaiveGradientsMatchFiniteDifferences) {
    const int N = 3, V = 6;
    {
        SCOPED_TRACE("softmax");
        check_pair([&](double* o, const double* x) { softmax_forward_naive(o, x, N, V); },
                   [&](double* dx, const double*, const double* o, const double* d) {
                       softmax_backward_naive(dx, o, d, N, V);
                   },
                   N, V, 1);
    }
    {
        SCOPED_TRACE("log_softmax");
        check_pair([&](double* o, const double* x) { log_softmax_forward_naive(o, x, N, V); },
                   [&](double* dx, const double*, const double* o, const double* d) {
                       log_softmax_backward_naive(dx, o, d, N, V);
                   },
                   N, V, 11);
    }
}

TEST(CrossEntropy, NaiveGradientMatchesFiniteDifferencesWithIgnoredTargets) {
    const int N = 5, V = 7;
    const std::vector<int> targets = {2, -1, 6, 0, -1};
    auto x = randn<double>(N * V, 21, 2.0);
    const auto wout = randn<double>(N, 22);
    std::vector<double> losses(N);
    auto loss = [&] {
        crossentropy_forward_naive(losses.data(), x.data(), targets.data(), N, V);
        return testing::dot(wout, losses);
    };
    loss();
    EXPECT_EQ(losses[1], 0.0);
    EXPECT_EQ(losses[4], 0.0);
    auto dx = randn<double>(N * V, 23);
    const auto dx0 = dx;
    crossentropy_backward_naive(dx.data(), x.data(), targets.data(), wout.data(), N, V);
    for (size_t i = 0; i < dx.size(); ++i) dx[i] -= dx0[i];
    for (int v = 0; v < V; ++v) EXPECT_EQ(dx[1 * V + v], 0.0) << "ignored row gets no gradient";
    EXPECT_TRUE(testing::grad_check(loss, x, dx));
}

struct Shape {
    int N, V;
};
const Shape kShapes[] = {{1, 1},   {1, 2},  {3, 7},    {5, 16}, {4, 17},
                         {13, 65}, {2, 97}, {9, 1031}, {64, 65}};

TEST(Softmax, FastMatchesNaiveOnAwkwardShapes) {
    for (Shape s : kShapes) {
        SCOPED_TRACE(::testing::Message() << "N=" << s.N << " V=" << s.V);
        const int N = s.N, V = s.V;
        const auto x = randn(N * V, 31, 5.0), d = randn(N * V, 32);
        std::vector<float> p(N * V), p_n(N * V);
        softmax_forward(p.data(), x.data(), N, V);
        softmax_forward_naive(p_n.data(), x.data(), N, V);
        EXPECT_TRUE(all_close(p, p_n, 1e-5, 1e-7)) << "softmax";
        auto dx = randn(N * V, 33), dx_n = dx;
        softmax_backward(dx.data(), p_n.data(), d.data(), N, V);
        softmax_backward_naive(dx_n.data(), p_n.data(), d.data(), N, V);
        EXPECT_TRUE(all_close(dx, dx_n, 1e-5, 1e-6)) << "softmax backward";

        std::vector<float> l(N * V), l_n(N * V);
        log_softmax_forward(l.data(), x.data(), N, V);
        log_softmax_forward_naive(l_n.data(), x.data(), N, V);
        EXPECT_TRUE(all_close(l, l_n, 1e-5, 1e-5)) << "log_softmax";
        dx = randn(N * V, 34), dx_n = dx;
        log_softmax_backward(dx.data(), l_n.data(), d.data(), N, V);
        log_softmax_backward_naive(dx_n.data(), l_n.data(), d.data(), N, V);
        EXPECT_TRUE(all_close(dx, dx_n, 1e-5, 1e-5)) << "log_softmax backward";
    }
}

TEST(CrossEntropy, FastMatchesNaiveOnAwkwardShapes) {
    for (Shape s : kShapes) {
        SCOPED_TRACE(::testing::Message() << "N=" << s.N << " V=" << s.V);
        const int N = s.N, V = s.V;
        const auto x = randn(N * V, 41, 5.0), dl = randn(N, 42);
        std::vector<int> targets(N);
        for (int n = 0; n < N; ++n) targets[n] = (n % 5 == 3) ? -1 : (n * 31 + 7) % V;
        std::vector<float> l(N), l_n(N);
        crossentropy_forward(l.data(), x.data(), targets.data(), N, V);
        crossentropy_forward_naive(l_n.data(), x.data(), targets.data(), N, V);
        EXPECT_TRUE(all_close(l, l_n, 1e-5, 1e-5)) << "losses";
        auto dx = randn(N * V, 43), dx_n = dx;
        crossentropy_backward(dx.data(), x.data(), targets.data(), dl.data(), N, V);
        crossentropy_backward_naive(dx_n.data(), x.data(), targets.data(), dl.data(), N, V);
        EXPECT_TRUE(all_close(dx, dx_n, 1e-5, 1e-6)) << "dlogits";
    }
}

TEST(Softmax, ThreadCountDoesNotChangeBits) {
    const int N = 1001, V = 65;
    const auto x = randn(N * V, 51, 3.0), d = randn(N * V, 52), dl = randn(N, 53);
    std::vector<int> targets(N);
    for (int n = 0; n < N; ++n) targets[n] = n % 11 == 0 ? -1 : n % V;
    testing::expect_thread_invariant([&] {
        std::vector<float> p(N * V), l(N * V), ce(N), dp(N * V), dl_(N * V), dce(N * V);
        softmax_forward(p.data(), x.data(), N, V);
        softmax_backward(dp.data(), p.data(), d.data(), N, V);
        log_softmax_forward(l.data(), x.data(), N, V);
        log_softmax_backward(dl_.data(), l.data(), d.data(), N, V);
        crossentropy_forward(ce.data(), x.data(), targets.data(), N, V);
        crossentropy_backward(dce.data(), x.data(), targets.data(), dl.data(), N, V);
        return testing::concat({p, l, ce, dp, dl_, dce});
    });
}

TEST(Softmax, MatchesPyTorch) {
    testing::Fixture f("kernels.safetensors");
    const int N = 6, V = 65;
    for (const char* name : {"softmax", "log_softmax"}) {
        SCOPED_TRACE(name);
        const bool log = std::string(name) == "log_softmax";
        const std::string p = name;
        const auto x = f.get<double>(p + "_x"), d = f.get<double>(p + "_dout");
        const auto want = f.get<double>(p + "_out"), want_dx = f.get<double>(p + "_dx");
        std::vector<double> out(N * V), dx(N * V);
        if (log) {
            log_softmax_forward_naive(out.data(), x.data(), N, V);
            log_softmax_backward_naive(dx.data(), out.data(), d.data(), N, V);
        } else {
            softmax_forward_naive(out.data(), x.data(), N, V);
            softmax_backward_naive(dx.data(), out.data(), d.data(), N, V);
        }
        EXPECT_TRUE(all_close(out, want, 1e-12, 1e-14));
        EXPECT_TRUE(all_close(dx, want_dx, 1e-12, 1e-14));
        const auto xf = testing::cast<float>(x), df = testing::cast<float>(d);
        std::vector<float> outf(N * V), dxf(N * V);
        if (log) {
            log_softmax_forward(outf.data(), xf.data(), N, V);
            log_softmax_backward(dxf.data(), outf.data(), df.data(), N, V);
        } else {
            softmax_forward(outf.data(), xf.data(), N, V);
            softmax_backward(dxf.data(), outf.data(), df.data(), N, V);
        }
        EXPECT_TRUE(all_close(outf, want, 1e-5, 1e-6));
        EXPECT_TRUE(all_close(dxf, want_dx, 1e-4, 1e-5));
    }
}

TEST(CrossEntropy, MatchesPyTorch) {
    testing::Fixture f("kernels.safetensors");
    const int N = 6, V = 65;
    const auto x = f.get<double>("ce_x"), dl = f.get<double>("ce_dlosses");
    const auto targets = f.get<int>("ce_targets");
    const auto want = f.get<double>("ce_losses"), want_dx = f.get<double>("ce_dx");
    std::vector<double> l(N), dx(N * V);
    crossentropy_forward_naive(l.data(), x.data(), targets.data(), N, V);
    crossentropy_backward_naive(dx.data(), x.data(), targets.data(), dl.data(), N, V);
    EXPECT_TRUE(all_close(l, want, 1e-12, 1e-14));
    EXPECT_TRUE(all_close(dx, want_dx, 1e-12, 1e-14));
    const auto xf = testing::cast<float>(x), dlf = testing::cast<float>(dl);
    std::vector<float> lf(N), dxf(N * V);
    crossentropy_forward(lf.data(), xf.data(), targets.data(), N, V);
    crossentropy_backward(dxf.data(), xf.data(), targets.data(), dlf.data(), N, V);
    EXPECT_TRUE(all_close(lf, want, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(dxf, want_dx, 1e-5, 1e-6));
}

TEST(Softmax, LogitsOfPlusMinus1000GiveFiniteLossesAndGradients) {
    const int N = 4, V = 65;
    std::vector<float> x(N * V);
    for (int i = 0; i < N * V; ++i) x[i] = (i * 7919 % 3 == 0) ? 1000.0f : -1000.0f;
    for (int v = 0; v < V; ++v) x[2 * V + v] = -1000.0f;
    x[2 * V + 5] = 1000.0f + 0.5f;                        // a row with one clear winner
    for (int v = 0; v < V; ++v) x[3 * V + v] = -1000.0f;  // a row entirely at −1000
    const std::vector<int> targets = {0, 1, 4, 64};
    const std::vector<float> dl(N, 1.0f), d = randn(N * V, 61);
    std::vector<float> ce(N), p(N * V), l(N * V), dce(N * V, 0.f), dp(N * V, 0.f), dlog(N * V, 0.f);
    crossentropy_forward(ce.data(), x.data(), targets.data(), N, V);
    crossentropy_backward(dce.data(), x.data(), targets.data(), dl.data(), N, V);
    softmax_forward(p.data(), x.data(), N, V);
    softmax_backward(dp.data(), p.data(), d.data(), N, V);
    log_softmax_forward(l.data(), x.data(), N, V);
    log_softmax_backward(dlog.data(), l.data(), d.data(), N, V);
    for (const auto* v : {&ce, &p, &l, &dce, &dp, &dlog}) {
        for (float e : *v) ASSERT_TRUE(std::isfinite(e));
    }
    // Row 0 has target 0 at +1000 (with others tied at +1000); row 3 is uniform: loss log V.
    EXPECT_NEAR(ce[3], std::log(static_cast<float>(V)), 1e-4);
    // Row 2's target (5) sits at −1000 against a winner at +1000.5: a loss of about 2000.5.
    EXPECT_NEAR(ce[2], 2000.5f, 0.1f);
    // The double reference agrees.
    std::vector<double> ce_d(N), dce_d(N * V, 0.0);
    const auto xd = testing::cast<double>(x), dld = testing::cast<double>(dl);
    crossentropy_forward_naive(ce_d.data(), xd.data(), targets.data(), N, V);
    crossentropy_backward_naive(dce_d.data(), xd.data(), targets.data(), dld.data(), N, V);
    EXPECT_TRUE(all_close(ce, ce_d, 1e-5, 1e-4));
    EXPECT_TRUE(all_close(dce, dce_d, 1e-5, 1e-6));
}

}  // namespace
}  // namespace wiggle
