// Fused causal attention: finite differences on the double reference (with and without dropout),
// the fused kernel against the reference on awkward shapes, thread invariance, and PyTorch's
// causal attention (nanoGPT's math path).
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fixture.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::all_close;
using testing::randn;

TEST(Attention, NaiveGradientMatchesFiniteDifferences) {
    for (float dropout : {0.0f, 0.3f}) {
        SCOPED_TRACE(::testing::Message() << "dropout=" << dropout);
        const int B = 2, T = 5, C = 6, NH = 2;
        auto qkv = randn<double>(B * T * 3 * C, 1);
        const auto wout = randn<double>(B * T * C, 2);
        std::vector<double> out(B * T * C), att(B * NH * T * T);
        auto loss = [&] {
            attention_forward_naive(out.data(), att.data(), qkv.data(), B, T, C, NH, dropout, 42);
            return testing::dot(wout, out);
        };
        loss();
        auto dqkv = randn<double>(qkv.size(), 3);
        const auto d0 = dqkv;
        attention_backward_naive(dqkv.data(), wout.data(), qkv.data(), att.data(), B, T, C, NH,
                                 dropout, 42);
        for (size_t i = 0; i < dqkv.size(); ++i) dqkv[i] -= d0[i];
        EXPECT_TRUE(testing::grad_check(loss, qkv, dqkv));
    }
}

TEST(Attention, DropoutKeepsTheRightFraction) {
    int kept = 0, total = 0;
    for (int t = 0; t < 200; ++t) {
        for (int t2 = 0; t2 <= t; ++t2)
            kept += attention_dropout_keep(7, 1, 2, t, t2, 0.2f), ++total;
    }
    EXPECT_NEAR(static_cast<double>(kept) / total, 0.8, 0.01);
    EXPECT_TRUE(attention_dropout_keep(7, 1, 2, 3, 1, 0.0f));
}

struct Shape {
    int B, T, C, NH;
};

void compare_with_naive(Shape s, float dropout) {
    SCOPED_TRACE(::testing::Message() << "B=" << s.B << " T=" << s.T << " C=" << s.C
                                      << " NH=" << s.NH << " dropout=" << dropout);
    const int B = s.B, T = s.T, C = s.C, NH = s.NH;
    const auto qkv = randn(B * T * 3 * C, 11, 1.5), dout = randn(B * T * C, 12);
    std::vector<float> out(B * T * C), lse(B * NH * T), out_n(B * T * C), att(B * NH * T * T);
    attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, dropout, 5);
    attention_forward_naive(out_n.data(), att.data(), qkv.data(), B, T, C, NH, dropout, 5);
    EXPECT_TRUE(all_close(out, out_n, 1e-4, 1e-5)) << "out";
    auto dqkv = randn(qkv.size(), 13), dqkv_n = dqkv;
    attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH,
                       dropout, 5);
    attention_backward_naive(dqkv_n.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH,
                             dropout, 5);
    EXPECT_TRUE(all_close(dqkv, dqkv_n, 1e-4, 1e-4)) << "dqkv";
}

// The fused kernel (float, blocked: its own order of summation) against the naive twin in double
// on the same inputs. The bound is derived from the sums' lengths: a score is a sum of hs
// products, an output row a sum of up to T terms, and backward chains both, so the error allowed
// is kC·ε·(hs + T) relative to the largest value of the tensor (ε = 2⁻²⁴, float's unit roundoff).
void compare_with_double(Shape s, float dropout) {
    SCOPED_TRACE(::testing::Message() << "B=" << s.B << " T=" << s.T << " C=" << s.C
                                      << " NH=" << s.NH << " dropout=" << dropout);
    const int B = s.B, T = s.T, C = s.C, NH = s.NH, hs = C / NH;
    const auto qkv = randn(B * T * 3 * C, 31, 1.5), dout = randn(B * T * C, 32);
    const auto dqkv0 = randn(qkv.size(), 33);
    std::vector<float> out(B * T * C), lse(B * NH * T), dqkv = dqkv0;
    attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, dropout, 9);
    attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T, C, NH,
                       dropout, 9);
    const auto qkv_d = testing::cast<double>(qkv), dout_d = testing::cast<double>(dout);
    std::vector<double> out_d(B * T * C), att_d(static_cast<size_t>(B) * NH * T * T);
    auto dqkv_d = testing::cast<double>(dqkv0);
    attention_forward_naive(out_d.data(), att_d.data(), qkv_d.data(), B, T, C, NH, dropout, 9);
    attention_backward_naive(dqkv_d.data(), dout_d.data(), qkv_d.data(), att_d.data(), B, T, C, NH,
                             dropout, 9);
    constexpr double kC = 16.0, kEps = 1.0 / (1 << 24);
    const double bound = kC * kEps * (hs + T);
    auto check = [&](const std::vector<float>& got, const std::vector<double>& want,
                     const char* what) {
        double peak = 0.0;
        for (double w : want) peak = std::max(peak, std::fabs(w));
        EXPECT_TRUE(all_close(got, want, 0.0, bound * std::max(peak, 1.0)))
            << what << ": allowed " << bound << " × " << std::max(peak, 1.0);
    };
    check(out, out_d, "out");
    check(dqkv, dqkv_d, "dqkv");
}

TEST(Attention, FastMatchesNaiveInDouble) {
    // T = 1, T not a multiple of the 4-row block or the 16-lane vector, hs not a multiple of 16
    // (1, 5, 20, 34, 40), and the shakespeare-char head (T = 256, hs = 64).
    for (Shape s : {Shape{1, 1, 4, 1}, Shape{2, 1, 40, 1}, Shape{1, 5, 3, 3}, Shape{2, 7, 12, 3},
                    Shape{1, 17, 20, 4}, Shape{2, 33, 96, 3}, Shape{1, 19, 34, 1},
                    Shape{1, 47, 80, 2}, Shape{1, 130, 384, 6}, Shape{1, 256, 128, 2}}) {
        compare_with_double(s, 0.0f);
        compare_with_double(s, 0.2f);
    }
}

TEST(Attention, FastMatchesNaiveOnAwkwardShapes) {
    for (Shape s : {Shape{1, 1, 4, 1}, Shape{1, 1, 32, 1}, Shape{1, 5, 3, 3}, Shape{2, 7, 12, 3},
                    Shape{1, 17, 20, 4}, Shape{2, 33, 96, 3}, Shape{1, 65, 48, 2},
                    Shape{3, 64, 128, 4}, Shape{1, 19, 34, 1}, Shape{1, 130, 384, 6}}) {
        compare_with_naive(s, 0.0f);
        compare_with_naive(s, 0.2f);
    }
}

TEST(Attention, ThreadCountDoesNotChangeBits) {
    // 9 (b, h) items: split 9, 5+4 and 3+3+3 over 1, 2, 3 threads; T = 37 crosses the prefetch
    // distance and the row blocks unevenly.
    const int B = 3, T = 37, C = 48, NH = 3;
    const auto qkv = randn(B * T * 3 * C, 21), dout = randn(B * T * C, 22);
    for (float dropout : {0.0f, 0.1f}) {
        testing::expect_thread_invariant([&] {
            std::vector<float> out(B * T * C), lse(B * NH * T), dqkv(qkv.size());
            attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, dropout, 3);
            attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), lse.data(), B, T,
                               C, NH, dropout, 3);
            return testing::concat({out, lse, dqkv});
        });
    }
}

TEST(Attention, MatchesPyTorch) {
    testing::Fixture f("kernels.safetensors");
    const int B = 2, T = 9, C = 12, NH = 3;
    ASSERT_EQ(f.meta("attn_shape"), "2,9,12,3");
    const auto qkv = f.get<double>("attn_qkv"), dout = f.get<double>("attn_dout");
    const auto want = f.get<double>("attn_out"), want_d = f.get<double>("attn_dqkv");
    std::vector<double> out(B * T * C), att(B * NH * T * T), dqkv(qkv.size());
    attention_forward_naive(out.data(), att.data(), qkv.data(), B, T, C, NH);
    attention_backward_naive(dqkv.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
    EXPECT_TRUE(all_close(out, want, 1e-12, 1e-13));
    EXPECT_TRUE(all_close(dqkv, want_d, 1e-12, 1e-13));
    const auto qkvf = testing::cast<float>(qkv), doutf = testing::cast<float>(dout);
    std::vector<float> outf(B * T * C), lse(B * NH * T), dqkvf(qkv.size());
    attention_forward(outf.data(), lse.data(), qkvf.data(), B, T, C, NH);
    attention_backward(dqkvf.data(), doutf.data(), qkvf.data(), outf.data(), lse.data(), B, T, C,
                       NH);
    EXPECT_TRUE(all_close(outf, want, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(dqkvf, want_d, 1e-4, 1e-5));
}

}  // namespace
}  // namespace wiggle
