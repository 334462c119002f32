// Fused causal attention: finite differences on the double reference (with and without dropout),
// the fused kernel against the reference on awkward shapes, thread invariance, and PyTorch's
// causal attention (nanoGPT's math path).
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

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

// ---- bf16 (attention_forward_bf16)
// ----------------------------------------------------------------

std::vector<bf16> round_to_bf16(const std::vector<float>& x) {
    std::vector<bf16> out(x.size());
    to_bf16_naive(out.data(), x.data(), static_cast<long>(x.size()));
    return out;
}

// The paths to compare: the one this CPU runs, and the others it can run.
std::vector<Isa> bf16_isas() { return testing::available_isas(); }

double peak_of(const std::vector<double>& v) {
    double peak = 1.0;
    for (double x : v) peak = std::max(peak, std::fabs(x));
    return peak;
}

// The bf16 kernel on one instruction set: out, lse and dqkv (accumulated onto dqkv0).
struct Bf16Run {
    std::vector<float> out, lse, dqkv;
};
Bf16Run run_bf16(Isa isa, Shape s, const std::vector<bf16>& qkv, const std::vector<float>& dout,
                 const std::vector<float>& dqkv0, float dropout) {
    const int B = s.B, T = s.T, C = s.C, NH = s.NH;
    Bf16Run r{std::vector<float>(B * T * C), std::vector<float>(B * NH * T), dqkv0};
    attention_forward_bf16_isa(isa, r.out.data(), r.lse.data(), qkv.data(), B, T, C, NH, dropout,
                               7);
    attention_backward_bf16_isa(isa, r.dqkv.data(), dout.data(), qkv.data(), r.out.data(),
                                r.lse.data(), B, T, C, NH, dropout, 7);
    return r;
}

// T = 1, 7, 33, 65, 257 (across the 64-query blocks and the 16-lane rows), hs = 16 and 64, one
// head and three.
const Shape kBf16Shapes[] = {{1, 1, 16, 1},  {2, 7, 48, 3},  {1, 33, 64, 1},  {2, 33, 192, 3},
                             {1, 65, 48, 3}, {1, 65, 64, 1}, {1, 257, 48, 3}, {1, 257, 64, 1}};

// Most elements of the fast kernel agree with the twin to float accuracy (1e-5 of the peak): those
// that do not come from the rare roundings to a neighbouring bf16 (measured: under 0.4%). A path
// that rounded one operand less, or more, would move most elements past that.
void expect_rarely_off(const std::vector<float>& got, const std::vector<double>& want,
                       const char* what) {
    const double peak = peak_of(want);
    size_t off = 0;
    for (size_t i = 0; i < got.size(); ++i) off += std::fabs(got[i] - want[i]) > 1e-5 * peak;
    EXPECT_LE(off, got.size() / 50)
        << what << ": " << off << " of " << got.size()
        << " elements differ from the twin by more than 1e-5 × " << peak;
}

// The fast kernel against its double twin on the same rounded operands. The two differ by the
// float sums (≈ 2⁻²⁴ relative per term, as the float kernel) and where a value lies so close to a
// bf16 rounding boundary that float and double round it to neighbours: one bf16 ulp (2⁻⁸
// relative) of that one probability or dS element. Bound: 2⁻⁸ × the largest value of the tensor,
// what a few neighbouring roundings can add; a wrong index, mask or missing rounding is far larger.
TEST(AttentionBf16, FastMatchesNaiveTwin) {
    for (Shape s : kBf16Shapes) {
        for (float dropout : {0.0f, 0.2f}) {
            SCOPED_TRACE(::testing::Message() << "B=" << s.B << " T=" << s.T << " C=" << s.C
                                              << " NH=" << s.NH << " dropout=" << dropout);
            const int B = s.B, T = s.T, C = s.C, NH = s.NH;
            const auto qkv = round_to_bf16(randn(B * T * 3 * C, 41, 1.5));
            const auto dout = randn(B * T * C, 42);
            const auto dqkv0 = randn(qkv.size(), 43);
            std::vector<double> out_n(B * T * C), att(static_cast<size_t>(B) * NH * T * T);
            attention_forward_bf16_naive(out_n.data(), att.data(), qkv.data(), B, T, C, NH, dropout,
                                         7);
            for (Isa isa : bf16_isas()) {
                SCOPED_TRACE(isa_name(isa));
                const Bf16Run r = run_bf16(isa, s, qkv, dout, dqkv0, dropout);
                auto dqkv_n = testing::cast<double>(dqkv0);
                attention_backward_bf16_naive(dqkv_n.data(), dout.data(), qkv.data(), r.out.data(),
                                              B, T, C, NH, dropout, 7);
                constexpr double kBf16Ulp = 1.0 / 256;
                EXPECT_TRUE(all_close(r.out, out_n, 0.0, kBf16Ulp * peak_of(out_n))) << "out";
                EXPECT_TRUE(all_close(r.dqkv, dqkv_n, 0.0, kBf16Ulp * peak_of(dqkv_n))) << "dqkv";
                expect_rarely_off(r.out, out_n, "out");
                expect_rarely_off(r.dqkv, dqkv_n, "dqkv");
            }
        }
    }
}

// bf16 against the float kernel on the same (rounded) q, k, v: what rounding E, P, dO and dS to
// bf16 costs. Each rounding is at most 2⁻⁹ relative, the errors of a sum's terms are independent
// with mean ≈ 0, so a sum of K terms is off by ≈ 2⁻⁹·√K of its scale; the bound allows 4× that,
// K = T + hs (backward chains a sum over the keys and one over the head), × the tensor's peak.
TEST(AttentionBf16, CloseToFloatAttention) {
    for (Shape s : kBf16Shapes) {
        for (float dropout : {0.0f, 0.2f}) {
            SCOPED_TRACE(::testing::Message() << "B=" << s.B << " T=" << s.T << " C=" << s.C
                                              << " NH=" << s.NH << " dropout=" << dropout);
            const int B = s.B, T = s.T, C = s.C, NH = s.NH, hs = C / NH;
            const auto qkv = round_to_bf16(randn(B * T * 3 * C, 51, 1.5));
            std::vector<float> qkv32(qkv.size());
            to_float(qkv32.data(), qkv.data(), static_cast<long>(qkv.size()));
            const auto dout = randn(B * T * C, 52);
            const Bf16Run r =
                run_bf16(cpu_isa(), s, qkv, dout, std::vector<float>(qkv.size()), dropout);
            std::vector<float> out(B * T * C), lse(B * NH * T), dqkv(qkv.size());
            attention_forward(out.data(), lse.data(), qkv32.data(), B, T, C, NH, dropout, 7);
            attention_backward(dqkv.data(), dout.data(), qkv32.data(), out.data(), lse.data(), B, T,
                               C, NH, dropout, 7);
            const double bound = 4.0 / 512 * std::sqrt(static_cast<double>(T + hs));
            auto check = [&](const std::vector<float>& got, const std::vector<float>& want,
                             const char* what) {
                const double peak = peak_of(testing::cast<double>(want));
                EXPECT_TRUE(all_close(got, want, 0.0, bound * peak))
                    << what << ": allowed " << bound << " × " << peak;
            };
            check(r.out, out, "out");
            check(r.lse, lse, "lse");
            check(r.dqkv, dqkv, "dqkv");
        }
    }
}

// The same bits on 1, 2 and 3 threads (9 (b, h) items split unevenly), and on AVX-512 and AVX2
// (there the portable gemm, bit-equal to vdpbf16ps) on CPUs without AMX.
TEST(AttentionBf16, SameBitsForAnyThreadCountAndBothVectorPaths) {
    const Shape s{3, 70, 48, 3};
    const auto qkv = round_to_bf16(randn(s.B * s.T * 3 * s.C, 61));
    const auto dout = randn(s.B * s.T * s.C, 62);
    const auto dqkv0 = randn(qkv.size(), 63);
    for (float dropout : {0.0f, 0.1f}) {
        SCOPED_TRACE(::testing::Message() << "dropout=" << dropout);
        testing::expect_thread_invariant([&] {
            const Bf16Run r = run_bf16(cpu_isa(), s, qkv, dout, dqkv0, dropout);
            return testing::concat({r.out, r.lse, r.dqkv});
        });
        // With AMX the AVX-512 path sums in the tiles order (matmul_bf16.h), not the pairs order
        // of the portable gemm: equal bits only without it.
        if (cpu_isa() != Isa::Avx512 || amx_instructions()) continue;
        const Bf16Run a = run_bf16(Isa::Avx512, s, qkv, dout, dqkv0, dropout);
        const Bf16Run b = run_bf16(Isa::Avx2, s, qkv, dout, dqkv0, dropout);
        const auto x = testing::concat({a.out, a.lse, a.dqkv}),
                   y = testing::concat({b.out, b.lse, b.dqkv});
        ASSERT_EQ(x.size(), y.size());
        for (size_t i = 0; i < x.size(); ++i) {
            ASSERT_EQ(std::bit_cast<uint32_t>(x[i]), std::bit_cast<uint32_t>(y[i]))
                << "element " << i << ": avx512 " << x[i] << ", avx2 " << y[i];
        }
    }
}

// GradInput::Set writes dqkv over whatever it held (NaNs here) with the bits of zeroing it and
// adding, for both kernels, on awkward shapes (blocks across T), with and without dropout.
TEST(Attention, SetGradientIsZeroThenAddBitForBit) {
    const Shape shapes[] = {{2, 7, 48, 3}, {1, 65, 64, 1}, {1, 257, 48, 3}};
    for (const Shape& s : shapes) {
        const int B = s.B, T = s.T, C = s.C, NH = s.NH;
        const auto qkv = randn(B * T * 3 * C, 71), dout = randn(B * T * C, 72);
        const auto qkv16 = round_to_bf16(qkv);
        for (float dropout : {0.0f, 0.1f}) {
            SCOPED_TRACE(::testing::Message() << "B=" << B << " T=" << T << " C=" << C
                                              << " NH=" << NH << " dropout=" << dropout);
            for (int half = 0; half < 2; half++) {
                std::vector<float> out(B * T * C), lse(B * NH * T);
                if (half) {
                    attention_forward_bf16(out.data(), lse.data(), qkv16.data(), B, T, C, NH,
                                           dropout, 5);
                } else {
                    attention_forward(out.data(), lse.data(), qkv.data(), B, T, C, NH, dropout, 5);
                }
                auto backward = [&](GradInput into, float fill) {
                    std::vector<float> dqkv(qkv.size(), fill);
                    if (half) {
                        attention_backward_bf16(dqkv.data(), dout.data(), qkv16.data(), out.data(),
                                                lse.data(), B, T, C, NH, dropout, 5, into);
                    } else {
                        attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(),
                                           lse.data(), B, T, C, NH, dropout, 5, into);
                    }
                    return dqkv;
                };
                const auto added = backward(GradInput::Add, 0.0f);
                const auto set = backward(GradInput::Set, std::nanf(""));
                ASSERT_EQ(added.size(), set.size());
                EXPECT_EQ(0, std::memcmp(added.data(), set.data(), added.size() * sizeof(float)))
                    << (half ? "bf16" : "float") << " kernel: Set differs from zeroing then adding";
            }
        }
    }
}

}  // namespace
}  // namespace wiggle
