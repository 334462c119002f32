// GELU, erf and tanh forms: finite differences, fast vs naive, thread invariance, PyTorch's F.gelu
// (and F.gelu(approximate="tanh")), and the vectorized exp/erf against the C library over a wide
// range.
#include "kernels/gelu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fixture.h"
#include "kernels/bf16.h"
#include "kernels/kernel_testing.h"
#include "kernels/vmath.h"

namespace wiggle {
namespace {

using kernels::GeluForm;
using testing::all_close;
using testing::randn;

constexpr GeluForm kForms[] = {GeluForm::Erf, GeluForm::Tanh};
const char* name(GeluForm f) { return f == GeluForm::Erf ? "erf" : "tanh"; }

TEST(Gelu, NaiveGradientMatchesFiniteDifferences) {
    for (GeluForm form : kForms) {
        SCOPED_TRACE(name(form));
        const int N = 41;
        auto x = randn<double>(N, 1, 3.0);
        const auto wout = randn<double>(N, 2);
        std::vector<double> out(N);
        auto loss = [&] {
            kernels::gelu_forward_naive(out.data(), x.data(), N, form);
            return testing::dot(wout, out);
        };
        auto dx = randn<double>(N, 3);
        const auto dx0 = dx;
        kernels::gelu_backward_naive(dx.data(), x.data(), wout.data(), N, form);
        for (int i = 0; i < N; ++i) dx[i] -= dx0[i];
        EXPECT_TRUE(testing::grad_check(loss, x, dx));
    }
}

TEST(Gelu, FastMatchesNaiveOnAwkwardShapes) {
    for (GeluForm form : kForms) {
        for (int N : {1, 2, 7, 15, 16, 17, 31, 97, 1000, 4099, 65537}) {
            SCOPED_TRACE(::testing::Message() << name(form) << " N=" << N);
            const auto x = randn(N, 5, 4.0), dout = randn(N, 6);
            std::vector<float> out(N), out_n(N);
            kernels::gelu_forward(out.data(), x.data(), N, form);
            kernels::gelu_forward_naive(out_n.data(), x.data(), N, form);
            EXPECT_TRUE(all_close(out, out_n, 2e-6, 1e-6));
            auto dx = randn(N, 7), dx_n = dx;
            kernels::gelu_backward(dx.data(), x.data(), dout.data(), N, form);
            kernels::gelu_backward_naive(dx_n.data(), x.data(), dout.data(), N, form);
            EXPECT_TRUE(all_close(dx, dx_n, 2e-6, 1e-6));
        }
    }
}

TEST(Gelu, ExtremeInputsStayFinite) {
    const std::vector<float> x = {-1e30f, -1000.f, -40.f, -9.f,   -1e-30f, 0.f,
                                  1e-30f, 9.f,     40.f,  1000.f, 1e30f};
    for (GeluForm form : kForms) {
        SCOPED_TRACE(name(form));
        const int N = static_cast<int>(x.size());
        std::vector<float> out(N), dx(N, 0.f), dout(N, 1.f);
        kernels::gelu_forward(out.data(), x.data(), N, form);
        kernels::gelu_backward(dx.data(), x.data(), dout.data(), N, form);
        for (int i = 0; i < N; ++i) {
            EXPECT_TRUE(std::isfinite(out[i]) && std::isfinite(dx[i])) << "x=" << x[i];
        }
        // against the definition in double (in float, the tanh form's own formula rounds
        // tanh(z) to ±1 and loses the tails, or makes 0·inf; in double it does so past |z| = 19,
        // where the fast form's sigmoid still gives the ~1e-28 tail: hence atol 1e-20)
        const std::vector<double> xd(x.begin(), x.end()), doutd(N, 1.0);
        std::vector<double> out_d(N), dx_d(N, 0.0);
        kernels::gelu_forward_naive(out_d.data(), xd.data(), N, form);
        kernels::gelu_backward_naive(dx_d.data(), xd.data(), doutd.data(), N, form);
        EXPECT_TRUE(all_close(out, testing::cast<float>(out_d), 2e-6, 1e-20));
        EXPECT_TRUE(all_close(dx, testing::cast<float>(dx_d), 2e-6, 1e-20));
    }
}

TEST(Gelu, ThreadCountDoesNotChangeBits) {
    const int N = 100003;
    const auto x = randn(N, 8, 3.0), dout = randn(N, 9);
    for (GeluForm form : kForms) {
        testing::expect_thread_invariant([&] {
            std::vector<float> out(N), dx(N);
            kernels::gelu_forward(out.data(), x.data(), N, form);
            kernels::gelu_backward(dx.data(), x.data(), dout.data(), N, form);
            return testing::concat({out, dx});
        });
    }
}

// The bf16 overloads (--dtype bf16's MLP) must be the float kernels on the widened input, with
// the output (and the bf16 gradient) rounded by the scalar to_bf16: bit for bit, tails, NaN,
// infinities and denormals included, and without writing past N.
TEST(Gelu, Bf16OperandsGiveTheFloatKernelsBits) {
    using kernels::bf16;
    const uint32_t specials[] = {0x7FC00000u, 0xFF800001u, 0x7F800000u, 0xFF800000u, 0x00000001u,
                                 0x80000000u, 0x00400000u, 0x807F0000u, 0x7F7F0000u};
    auto bits = [](const auto& v) {  // NaNs compare by their bits
        std::vector<uint32_t> b(v.size());
        for (size_t i = 0; i < v.size(); ++i) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v[i])>, bf16>) {
                b[i] = static_cast<uint16_t>(v[i]);
            } else {
                std::memcpy(&b[i], &v[i], sizeof(float));
            }
        }
        return b;
    };
    for (GeluForm form : kForms) {
        for (int N : {1, 7, 16, 17, 33, 97, 4099, 65537}) {
            SCOPED_TRACE(::testing::Message() << name(form) << " N=" << N);
            const auto x = randn(N, 10, 4.0), dout = randn(N, 11);
            std::vector<bf16> x16(N);
            kernels::to_bf16(x16.data(), x.data(), N);
            for (int i = 0; i < N; i += 5) {
                x16[i] = bf16(specials[i / 5 % std::size(specials)] >> 16);
            }
            std::vector<float> xw(N);  // the widened input
            kernels::to_float(xw.data(), x16.data(), N);

            std::vector<float> out(N);
            kernels::gelu_forward(out.data(), xw.data(), N, form);
            std::vector<bf16> want(N), got(N + 1, bf16(0x1234));
            kernels::to_bf16_naive(want.data(), out.data(), N);
            kernels::gelu_forward(got.data(), x16.data(), N, form);
            EXPECT_EQ(static_cast<uint16_t>(got[N]), 0x1234u) << "wrote past the end";
            got.pop_back();
            EXPECT_EQ(bits(got), bits(want));

            auto dx_want = randn(N, 12), dx_got = dx_want;
            kernels::gelu_backward(dx_want.data(), xw.data(), dout.data(), N, form);
            kernels::gelu_backward(dx_got.data(), x16.data(), dout.data(), N, form);
            EXPECT_EQ(bits(dx_got), bits(dx_want));

            // the gradient rounded straight into bf16: to_bf16 of the float one, set
            std::vector<float> dx_set(N);
            kernels::gelu_backward(dx_set.data(), xw.data(), dout.data(), N, form,
                                   kernels::GradInput::Set);
            std::vector<bf16> dx16_want(N), dx16_got(N + 1, bf16(0x1234));
            kernels::to_bf16_naive(dx16_want.data(), dx_set.data(), N);
            kernels::gelu_backward(dx16_got.data(), x16.data(), dout.data(), N, form);
            EXPECT_EQ(static_cast<uint16_t>(dx16_got[N]), 0x1234u) << "bf16 gradient: past the end";
            dx16_got.pop_back();
            EXPECT_EQ(bits(dx16_got), bits(dx16_want)) << "bf16 gradient";
        }
    }
}

// GradInput::Set writes dinp over whatever it held (NaNs here), with the bits of zeroing it and
// adding, on float and bf16 inputs, tails included.
TEST(Gelu, SetGradientIsZeroThenAddBitForBit) {
    for (GeluForm form : kForms) {
        for (int N : {1, 7, 16, 17, 33, 4099, 100003}) {
            SCOPED_TRACE(::testing::Message() << name(form) << " N=" << N);
            const auto x = randn(N, 20, 4.0), dout = randn(N, 21);
            std::vector<kernels::bf16> x16(N);
            kernels::to_bf16(x16.data(), x.data(), N);
            for (int half = 0; half < 2; half++) {
                auto run = [&](kernels::GradInput into, float fill) {
                    std::vector<float> dx(N + 1, fill);
                    dx[N] = 7.0f;  // must stay: past the end
                    if (half) {
                        kernels::gelu_backward(dx.data(), x16.data(), dout.data(), N, form, into);
                    } else {
                        kernels::gelu_backward(dx.data(), x.data(), dout.data(), N, form, into);
                    }
                    return dx;
                };
                const std::vector<float> added = run(kernels::GradInput::Add, 0.0f);
                const std::vector<float> set = run(kernels::GradInput::Set, std::nanf(""));
                EXPECT_EQ(0, std::memcmp(added.data(), set.data(), added.size() * sizeof(float)))
                    << (half ? "bf16" : "float") << " input: Set differs from zeroing then adding";
            }
        }
    }
}

TEST(Gelu, Bf16OperandsGiveTheFloatKernelsBitsOnEveryBf16) {
    // The bf16 forward looks every input up in a table (kernels/gelu_impl.h): all 65,536 inputs,
    // NaNs and infinities among them, against the float kernels on the widened values.
    using kernels::bf16;
    const int N = 1 << 16;
    std::vector<bf16> x16(N);
    std::vector<float> xw(N), dout(N), dx_want(N), dx_got(N);
    for (int i = 0; i < N; ++i) {
        x16[i] = bf16(i);
        xw[i] = kernels::to_float(x16[i]);
        dout[i] = 1.0f + static_cast<float>(i % 7) / 8.0f;
        dx_want[i] = dx_got[i] = static_cast<float>(i % 5) - 2.0f;
    }
    for (GeluForm form : kForms) {
        SCOPED_TRACE(name(form));
        std::vector<float> out(N);
        kernels::gelu_forward(out.data(), xw.data(), N, form);
        std::vector<bf16> want(N), got(N);
        kernels::to_bf16_naive(want.data(), out.data(), N);
        kernels::gelu_forward(got.data(), x16.data(), N, form);
        for (int i = 0; i < N; ++i) {
            ASSERT_EQ(static_cast<uint16_t>(got[i]), static_cast<uint16_t>(want[i]))
                << "forward, input bits 0x" << std::hex << i << " (" << xw[i] << ")";
        }
        auto dx_w = dx_want, dx_g = dx_got;
        kernels::gelu_backward(dx_w.data(), xw.data(), dout.data(), N, form);
        kernels::gelu_backward(dx_g.data(), x16.data(), dout.data(), N, form);
        for (int i = 0; i < N; ++i) {
            uint32_t w, g;
            std::memcpy(&w, &dx_w[i], sizeof w);
            std::memcpy(&g, &dx_g[i], sizeof g);
            ASSERT_EQ(g, w) << "backward, input bits 0x" << std::hex << i << " (" << xw[i]
                            << "): expected " << dx_w[i] << ", got " << dx_g[i];
        }
    }
}

TEST(Gelu, MatchesPyTorch) {
    testing::Fixture f("kernels.safetensors");
    for (GeluForm form : kForms) {
        SCOPED_TRACE(name(form));
        const std::string p = form == GeluForm::Erf ? "gelu_" : "gelu_tanh_";
        const auto x = f.get<double>(p + "x"), dout = f.get<double>(p + "dout");
        const int N = static_cast<int>(x.size());
        std::vector<double> out(N), dx(N);
        kernels::gelu_forward_naive(out.data(), x.data(), N, form);
        kernels::gelu_backward_naive(dx.data(), x.data(), dout.data(), N, form);
        EXPECT_TRUE(all_close(out, f.get<double>(p + "out"), 1e-12, 1e-14));
        EXPECT_TRUE(all_close(dx, f.get<double>(p + "dx"), 1e-12, 1e-14));
        const auto xf = testing::cast<float>(x), doutf = testing::cast<float>(dout);
        std::vector<float> outf(N), dxf(N);
        kernels::gelu_forward(outf.data(), xf.data(), N, form);
        kernels::gelu_backward(dxf.data(), xf.data(), doutf.data(), N, form);
        EXPECT_TRUE(all_close(outf, f.get<double>(p + "out"), 1e-5, 1e-6));
        EXPECT_TRUE(all_close(dxf, f.get<double>(p + "dx"), 1e-5, 1e-6));
    }
}

// Distance in units in the last place between two finite floats.
int64_t ulp_distance(float a, float b) {
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    return std::llabs(static_cast<int64_t>(ia) - ib);
}

// Every float on a fine grid of [lo, hi], plus the edges.
std::vector<float> grid(float lo, float hi, int n) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i)
        x[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
    return x;
}

TEST(VectorMath, ExpIsWithinFewUlpOfLibm) {
    auto x = grid(-87.0f, 88.0f, 400001);
    const int N = static_cast<int>(x.size());
    std::vector<float> y(N);
    kernels::vexp(y.data(), x.data(), N);
    int64_t worst = 0;
    float worst_x = 0;
    for (int i = 0; i < N; ++i) {
        const float want = static_cast<float>(std::exp(static_cast<double>(x[i])));
        const int64_t d = ulp_distance(y[i], want);
        if (d > worst) worst = d, worst_x = x[i];
    }
    EXPECT_LE(worst, 2) << "worst at x=" << worst_x;
    // Subnormal results, underflow to zero and overflow to inf, never NaN.
    const std::vector<float> edge = {-1e30f, -104.f, -87.f, 88.7f, 89.f, 1e30f, -INFINITY, -88.f};
    std::vector<float> ye(edge.size());
    kernels::vexp(ye.data(), edge.data(), static_cast<int>(edge.size()));
    EXPECT_EQ(ye[0], 0.0f);
    EXPECT_EQ(ye[1], 0.0f);
    EXPECT_GT(ye[2], 0.0f);
    EXPECT_TRUE(std::isinf(ye[4]) && std::isinf(ye[5]));
    EXPECT_EQ(ye[6], 0.0f);
    EXPECT_NEAR(ye[7], std::exp(-88.0f), 1e-44f);  // subnormal
    EXPECT_GT(ye[7], 0.0f);
    const float nan = std::nanf("");
    float y_nan = 0.0f;
    kernels::vexp(&y_nan, &nan, 1);
    EXPECT_TRUE(std::isnan(y_nan));
}

TEST(VectorMath, ErfIsWithinFewUlpOfLibm) {
    auto x = grid(-10.0f, 10.0f, 400001);
    for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, 3.9f, 4.0f, 100.f, -100.f, 1e30f, -1e30f})
        x.push_back(v);
    const int N = static_cast<int>(x.size());
    std::vector<float> y(N);
    kernels::verf(y.data(), x.data(), N);
    int64_t worst = 0;
    float worst_x = 0;
    for (int i = 0; i < N; ++i) {
        const float want = static_cast<float>(std::erf(static_cast<double>(x[i])));
        const int64_t d = ulp_distance(y[i], want);
        if (d > worst) worst = d, worst_x = x[i];
    }
    EXPECT_LE(worst, 4) << "worst at x=" << worst_x;
}

}  // namespace
}  // namespace wiggle
