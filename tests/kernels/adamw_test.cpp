// Optimizer kernels: AdamW and SGD against torch.optim (three steps), the fast AdamW against the
// naive one, a thread-count independent sum of squares, and thread invariance.
#include "kernels/adamw.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fixture.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::all_close;
using testing::randn;

std::vector<double> row(const std::vector<double>& m, int r, int n) {
    return std::vector<double>(m.begin() + static_cast<long>(r) * n,
                               m.begin() + static_cast<long>(r + 1) * n);
}

TEST(AdamW, MatchesTorchOptim) {
    testing::Fixture f("kernels.safetensors");
    const int N = 37;
    const auto p0 = f.get<double>("opt_p0"), grads = f.get<double>("opt_grads");
    const auto want = f.get<double>("adamw_params");
    std::vector<double> p = p0, m(N, 0.0), v(N, 0.0);
    std::vector<float> pf = testing::cast<float>(p0), mf(N, 0.f), vf(N, 0.f);
    for (int t = 1; t <= 3; ++t) {
        SCOPED_TRACE(::testing::Message() << "step " << t);
        const auto g = row(grads, t - 1, N);
        const auto gf = testing::cast<float>(g);
        adamw_update_naive(p.data(), m.data(), v.data(), g.data(), N, 1e-2f, 0.9f, 0.99f, 1e-8f,
                           0.1f, t);
        adamw_update(pf.data(), mf.data(), vf.data(), gf.data(), N, 1e-2f, 0.9f, 0.99f, 1e-8f, 0.1f,
                     t);
        // The hyper-parameters are floats (as the kernels take them): 1e-7 relative is float's
        // share.
        EXPECT_TRUE(all_close(p, row(want, t - 1, N), 1e-7, 1e-8)) << "naive";
        EXPECT_TRUE(all_close(pf, row(want, t - 1, N), 1e-6, 1e-6)) << "fast";
    }
}

TEST(Sgd, MatchesTorchOptim) {
    testing::Fixture f("kernels.safetensors");
    const int N = 37;
    const auto p0 = f.get<double>("opt_p0"), grads = f.get<double>("opt_grads");
    const auto want = f.get<double>("sgd_params");
    std::vector<float> p = testing::cast<float>(p0), buf(N, 0.f);
    for (int t = 1; t <= 3; ++t) {
        const auto g = testing::cast<float>(row(grads, t - 1, N));
        sgd_update(p.data(), buf.data(), g.data(), N, 1e-2f, 0.9f, 0.1f);
        EXPECT_TRUE(all_close(p, row(want, t - 1, N), 1e-6, 1e-6)) << "step " << t;
    }
}

TEST(AdamW, FastMatchesNaiveOnAwkwardSizes) {
    for (int N : {1, 7, 16, 17, 1000, 65537}) {
        SCOPED_TRACE(::testing::Message() << "N=" << N);
        auto p = randn(N, 1), m = randn(N, 2, 0.1), v = randn(N, 3, 0.1);
        for (auto& x : v) x = x * x;
        auto pn = p, mn = m, vn = v;
        const auto g = randn(N, 4);
        for (int t : {1, 2, 10}) {
            adamw_update(p.data(), m.data(), v.data(), g.data(), N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f,
                         t);
            adamw_update_naive(pn.data(), mn.data(), vn.data(), g.data(), N, 1e-3f, 0.9f, 0.95f,
                               1e-8f, 0.1f, t);
        }
        EXPECT_TRUE(all_close(p, pn, 1e-6, 1e-7));
        EXPECT_TRUE(all_close(m, mn, 1e-6, 1e-7));
        EXPECT_TRUE(all_close(v, vn, 1e-6, 1e-7));
    }
}

TEST(SumSquares, MatchesDoubleSumAndScaleScales) {
    for (int N : {0, 1, 15, 17, 4097, 1000003}) {
        SCOPED_TRACE(::testing::Message() << "N=" << N);
        const auto x = randn(N, 5);
        double want = 0.0;
        for (float e : x) want += static_cast<double>(e) * e;
        EXPECT_NEAR(sum_squares(x.data(), N), want, 1e-6 * (want + 1));
        auto y = x;
        scale(y.data(), 0.5f, N);
        for (int i = 0; i < N; ++i) ASSERT_EQ(y[i], x[i] * 0.5f);
    }
}

TEST(Optimizers, ThreadCountDoesNotChangeBits) {
    const int N = 800003;
    const auto g = randn(N, 6);
    testing::expect_thread_invariant([&] {
        auto p = randn(N, 7), m = randn(N, 8, 0.1), v = randn(N, 9, 0.1), buf = randn(N, 10);
        for (auto& x : v) x = x * x;
        auto q = p;
        adamw_update(p.data(), m.data(), v.data(), g.data(), N, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.1f, 3);
        sgd_update(q.data(), buf.data(), g.data(), N, 1e-2f, 0.9f, 0.0f);
        const double s = sum_squares(g.data(), N);
        const float parts[2] = {static_cast<float>(s),
                                static_cast<float>(s - static_cast<float>(s))};
        scale(q.data(), 0.7f, N);
        return testing::concat({p, m, v, q, buf, std::vector<float>(parts, parts + 2)});
    });
}

}  // namespace
}  // namespace wiggle
