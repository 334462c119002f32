// Dropout: finite differences (the mask is fixed by the seed), fast vs naive, the keep rate, and
// thread invariance.
#include "kernels/dropout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::randn;

TEST(Dropout, NaiveGradientMatchesFiniteDifferences) {
    const int N = 40;
    auto x = randn<double>(N, 1);
    const auto wout = randn<double>(N, 2);
    std::vector<double> out(N);
    auto loss = [&] {
        dropout_forward_naive(out.data(), x.data(), 0.3f, 77, N);
        return testing::dot(wout, out);
    };
    auto dx = randn<double>(N, 3);
    const auto dx0 = dx;
    dropout_backward_naive(dx.data(), wout.data(), 0.3f, 77, N);
    for (int i = 0; i < N; ++i) dx[i] -= dx0[i];
    EXPECT_TRUE(testing::grad_check(loss, x, dx));
}

TEST(Dropout, FastMatchesNaiveAndKeepsTheRightFraction) {
    for (int N : {1, 3, 16, 17, 1000, 100003}) {
        for (float p : {0.0f, 0.1f, 0.5f}) {
            SCOPED_TRACE(::testing::Message() << "N=" << N << " p=" << p);
            const auto x = randn(N, 4), d = randn(N, 5);
            std::vector<float> out(N), out_n(N);
            dropout_forward(out.data(), x.data(), p, 1234, N);
            dropout_forward_naive(out_n.data(), x.data(), p, 1234, N);
            EXPECT_EQ(out, out_n);
            auto dx = randn(N, 6), dx_n = dx;
            dropout_backward(dx.data(), d.data(), p, 1234, N);
            dropout_backward_naive(dx_n.data(), d.data(), p, 1234, N);
            EXPECT_EQ(dx, dx_n);
            if (N >= 1000) {
                int kept = 0;
                for (int i = 0; i < N; ++i) kept += out[i] != 0.0f;
                const double rate = static_cast<double>(kept) / N;
                EXPECT_NEAR(rate, 1.0 - p, 4.0 * std::sqrt(p * (1 - p) / N) + 1e-9);
            }
        }
    }
}

TEST(Dropout, DifferentSeedsGiveDifferentMasks) {
    const int N = 1000;
    const std::vector<float> x(N, 1.0f);
    std::vector<float> a(N), b(N);
    dropout_forward(a.data(), x.data(), 0.5f, 1, N);
    dropout_forward(b.data(), x.data(), 0.5f, 2, N);
    int same = 0;
    for (int i = 0; i < N; ++i) same += a[i] == b[i];
    EXPECT_LT(same, 600);
    EXPECT_GT(same, 400);
}

// GradInput::Set writes dinp over whatever it held (NaNs here), with the bits of zeroing it and
// adding: dropped elements +0, kept −0 gradients +0 (as +0 + −0), NaN and infinity kept.
TEST(Dropout, SetGradientIsZeroThenAddBitForBit) {
    for (int N : {1, 5, 4097, 100003}) {
        SCOPED_TRACE(::testing::Message() << "N=" << N);
        auto dout = randn(N, 30);
        for (int i = 0; i < N; i += 7) dout[i] = i % 3 == 0 ? -0.0f : std::nanf("");
        if (N > 2) dout[2] = -INFINITY;
        auto run = [&](GradInput into, float fill) {
            std::vector<float> dx(N + 1, fill);
            dx[N] = 7.0f;  // past the end: must stay
            dropout_backward(dx.data(), dout.data(), 0.3f, 42, N, into);
            return dx;
        };
        const std::vector<float> added = run(GradInput::Add, 0.0f);
        const std::vector<float> set = run(GradInput::Set, std::nanf(""));
        EXPECT_EQ(0, std::memcmp(added.data(), set.data(), added.size() * sizeof(float)));
    }
}

TEST(Dropout, ThreadCountDoesNotChangeBits) {
    const int N = 300007;
    const auto x = randn(N, 7), d = randn(N, 8);
    testing::expect_thread_invariant([&] {
        std::vector<float> out(N), dx(N);
        dropout_forward(out.data(), x.data(), 0.2f, 99, N);
        dropout_backward(dx.data(), d.data(), 0.2f, 99, N);
        return testing::concat({out, dx});
    });
}

}  // namespace
}  // namespace wiggle
