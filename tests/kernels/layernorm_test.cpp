// LayerNorm: finite differences on the double reference, the fast kernel against the reference on
// awkward shapes, thread-count invariance, and PyTorch's F.layer_norm.
#include "kernels/layernorm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "fixture.h"
#include "kernels/bf16.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using kernels::layernorm_backward;
using kernels::layernorm_backward_naive;
using kernels::layernorm_forward;
using kernels::layernorm_forward_naive;
using testing::all_close;
using testing::randn;

TEST(LayerNorm, NaiveGradientMatchesFiniteDifferences) {
    for (bool with_bias : {true, false}) {
        const int N = 3, C = 7;
        auto x = randn<double>(N * C, 1, 2.0, 0.5);
        auto w = randn<double>(C, 2, 0.5, 1.0);
        auto b = randn<double>(C, 3);
        const auto wout = randn<double>(N * C, 4);
        std::vector<double> out(N * C), mean(N), rstd(N);
        auto loss = [&] {
            layernorm_forward_naive(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                                    with_bias ? b.data() : nullptr, N, C);
            return testing::dot(wout, out);
        };
        loss();
        // Backward accumulates: start from non-zero gradients and subtract them afterwards.
        auto dx = randn<double>(N * C, 5), dw = randn<double>(C, 6), db = randn<double>(C, 7);
        const auto dx0 = dx, dw0 = dw, db0 = db;
        layernorm_backward_naive(dx.data(), dw.data(), with_bias ? db.data() : nullptr, wout.data(),
                                 x.data(), w.data(), mean.data(), rstd.data(), N, C);
        for (int i = 0; i < N * C; ++i) dx[i] -= dx0[i];
        for (int i = 0; i < C; ++i) dw[i] -= dw0[i];
        EXPECT_TRUE(testing::grad_check(loss, x, dx)) << "dinp";
        EXPECT_TRUE(testing::grad_check(loss, w, dw)) << "dweight";
        if (with_bias) {
            for (int i = 0; i < C; ++i) db[i] -= db0[i];
            EXPECT_TRUE(testing::grad_check(loss, b, db)) << "dbias";
        } else {
            EXPECT_EQ(db, db0) << "dbias must be untouched when null";
        }
    }
}

struct Shape {
    int N, C;
};

TEST(LayerNorm, FastMatchesNaiveOnAwkwardShapes) {
    for (Shape s : {Shape{1, 1}, Shape{1, 5}, Shape{3, 7}, Shape{5, 17}, Shape{13, 128},
                    Shape{7, 384}, Shape{67, 33}, Shape{2, 1031}, Shape{129, 24}}) {
        SCOPED_TRACE(::testing::Message() << "N=" << s.N << " C=" << s.C);
        const int N = s.N, C = s.C;
        const auto x = randn(N * C, 11, 3.0, 1.0), w = randn(C, 12, 0.5, 1.0), b = randn(C, 13);
        const auto dout = randn(N * C, 14);
        for (bool with_bias : {true, false}) {
            const float* bias = with_bias ? b.data() : nullptr;
            std::vector<float> out(N * C), mean(N), rstd(N), out_n(N * C), mean_n(N), rstd_n(N);
            layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), bias, N, C);
            layernorm_forward_naive(out_n.data(), mean_n.data(), rstd_n.data(), x.data(), w.data(),
                                    bias, N, C);
            EXPECT_TRUE(all_close(out, out_n, 1e-5, 1e-5)) << "out";
            EXPECT_TRUE(all_close(mean, mean_n, 1e-5, 1e-5)) << "mean";
            EXPECT_TRUE(all_close(rstd, rstd_n, 1e-5, 1e-5)) << "rstd";
            auto dx = randn(N * C, 15), dw = randn(C, 16), db = randn(C, 17);
            auto dx_n = dx, dw_n = dw, db_n = db;
            layernorm_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, dout.data(),
                               x.data(), w.data(), mean_n.data(), rstd_n.data(), N, C);
            layernorm_backward_naive(dx_n.data(), dw_n.data(), with_bias ? db_n.data() : nullptr,
                                     dout.data(), x.data(), w.data(), mean_n.data(), rstd_n.data(),
                                     N, C);
            EXPECT_TRUE(all_close(dx, dx_n, 1e-4, 1e-5)) << "dinp";
            EXPECT_TRUE(all_close(dw, dw_n, 1e-4, 1e-4)) << "dweight";
            EXPECT_TRUE(all_close(db, db_n, 1e-4, 1e-4)) << "dbias";
        }
    }
}

TEST(ResidualLayerNorm, NaiveIsTheResidualThenTheLayerNorm) {
    const int N = 4, C = 9;
    const auto a = randn<double>(N * C, 31), b = randn<double>(N * C, 32);
    const auto w = randn<double>(C, 33, 0.5, 1.0), bias = randn<double>(C, 34);
    std::vector<double> res(N * C), out(N * C), mean(N), rstd(N), sum(N * C), out2(N * C), mean2(N),
        rstd2(N);
    kernels::residual_layernorm_forward_naive(res.data(), out.data(), mean.data(), rstd.data(),
                                              a.data(), b.data(), w.data(), bias.data(), N, C);
    for (int i = 0; i < N * C; ++i) sum[i] = a[i] + b[i];
    layernorm_forward_naive(out2.data(), mean2.data(), rstd2.data(), sum.data(), w.data(),
                            bias.data(), N, C);
    EXPECT_EQ(res, sum);
    EXPECT_EQ(out, out2);
    EXPECT_EQ(mean, mean2);
    EXPECT_EQ(rstd, rstd2);
}

// The fused kernel is the separate add and layernorm_forward bit for bit, and close to the naive.
TEST(ResidualLayerNorm, FastMatchesSeparateKernelsAndNaiveOnAwkwardShapes) {
    for (Shape s :
         {Shape{1, 1}, Shape{1, 5}, Shape{3, 7}, Shape{5, 17}, Shape{13, 128}, Shape{7, 384},
          Shape{67, 33}, Shape{2, 1031}, Shape{129, 24}, Shape{768, 128}}) {
        SCOPED_TRACE(::testing::Message() << "N=" << s.N << " C=" << s.C);
        const int N = s.N, C = s.C;
        const auto a = randn(N * C, 41, 3.0, 1.0), b = randn(N * C, 42), w = randn(C, 43, 0.5, 1.0),
                   bi = randn(C, 44);
        for (bool with_bias : {true, false}) {
            const float* bias = with_bias ? bi.data() : nullptr;
            std::vector<float> res(N * C), out(N * C), mean(N), rstd(N);
            kernels::residual_layernorm_forward(res.data(), out.data(), mean.data(), rstd.data(),
                                                a.data(), b.data(), w.data(), bias, N, C);
            std::vector<float> sum(N * C), out2(N * C), mean2(N), rstd2(N);
            for (int i = 0; i < N * C; ++i) sum[i] = a[i] + b[i];
            layernorm_forward(out2.data(), mean2.data(), rstd2.data(), sum.data(), w.data(), bias,
                              N, C);
            EXPECT_EQ(res, sum) << "res";
            EXPECT_EQ(out, out2) << "out";
            EXPECT_EQ(mean, mean2) << "mean";
            EXPECT_EQ(rstd, rstd2) << "rstd";
            std::vector<float> res_n(N * C), out_n(N * C), mean_n(N), rstd_n(N);
            kernels::residual_layernorm_forward_naive(res_n.data(), out_n.data(), mean_n.data(),
                                                      rstd_n.data(), a.data(), b.data(), w.data(),
                                                      bias, N, C);
            EXPECT_TRUE(all_close(res, res_n, 0, 0)) << "res vs naive";
            EXPECT_TRUE(all_close(out, out_n, 1e-5, 1e-5)) << "out vs naive";
            EXPECT_TRUE(all_close(rstd, rstd_n, 1e-5, 1e-5)) << "rstd vs naive";
        }
    }
}

// The bf16-output forms (--dtype bf16) are the float ones with out rounded by to_bf16, bit for
// bit, the other outputs unchanged, and write nothing past the end.
TEST(LayerNorm, Bf16OutputIsTheFloatOutputRounded) {
    using kernels::bf16;
    for (Shape s : {Shape{1, 5}, Shape{3, 17}, Shape{13, 128}, Shape{7, 384}, Shape{67, 33},
                    Shape{129, 24}, Shape{300, 128}}) {
        SCOPED_TRACE(::testing::Message() << "N=" << s.N << " C=" << s.C);
        const int N = s.N, C = s.C;
        const auto a = randn(N * C, 51, 3.0, 1.0), b = randn(N * C, 52), w = randn(C, 53, 0.5, 1.0),
                   bi = randn(C, 54);
        for (bool with_bias : {true, false}) {
            const float* bias = with_bias ? bi.data() : nullptr;
            std::vector<float> out(N * C), mean(N), rstd(N), res(N * C);
            std::vector<bf16> want(N * C);
            std::vector<float> mean16(N), rstd16(N), res16(N * C);
            std::vector<bf16> got(N * C + 1, bf16(0x1234));

            layernorm_forward(out.data(), mean.data(), rstd.data(), a.data(), w.data(), bias, N, C);
            kernels::to_bf16_naive(want.data(), out.data(), N * C);
            layernorm_forward(got.data(), mean16.data(), rstd16.data(), a.data(), w.data(), bias, N,
                              C);
            EXPECT_EQ(static_cast<uint16_t>(got[N * C]), 0x1234u) << "wrote past the end";
            EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin())) << "out";
            EXPECT_EQ(mean16, mean);
            EXPECT_EQ(rstd16, rstd);

            kernels::residual_layernorm_forward(res.data(), out.data(), mean.data(), rstd.data(),
                                                a.data(), b.data(), w.data(), bias, N, C);
            kernels::to_bf16_naive(want.data(), out.data(), N * C);
            kernels::residual_layernorm_forward(res16.data(), got.data(), mean16.data(),
                                                rstd16.data(), a.data(), b.data(), w.data(), bias,
                                                N, C);
            EXPECT_EQ(static_cast<uint16_t>(got[N * C]), 0x1234u) << "wrote past the end";
            EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin())) << "residual out";
            EXPECT_EQ(res16, res);
            EXPECT_EQ(mean16, mean);
            EXPECT_EQ(rstd16, rstd);
        }
    }
}

TEST(LayerNorm, ThreadCountDoesNotChangeBits) {
    const int N = 777, C = 130;
    const auto x = randn(N * C, 21, 2.0), w = randn(C, 22), b = randn(C, 23),
               dout = randn(N * C, 24);
    testing::expect_thread_invariant([&] {
        std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
        layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
        layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(),
                           mean.data(), rstd.data(), N, C);
        std::vector<float> res(N * C), out2(N * C), mean2(N), rstd2(N);
        kernels::residual_layernorm_forward(res.data(), out2.data(), mean2.data(), rstd2.data(),
                                            x.data(), dout.data(), w.data(), b.data(), N, C);
        return testing::concat({out, mean, rstd, dx, dw, db, res, out2, mean2, rstd2});
    });
}

TEST(LayerNorm, MatchesPyTorch) {
    testing::Fixture f("kernels.safetensors");
    const int N = 5, C = 24;
    ASSERT_EQ(f.shape("ln_x"), (std::vector<int64_t>{N, C}));
    const auto x = f.get<double>("ln_x"), w = f.get<double>("ln_w"), b = f.get<double>("ln_b");
    const auto dout = f.get<double>("ln_dout");
    // The double reference to near machine precision.
    std::vector<double> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
    layernorm_forward_naive(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N,
                            C);
    layernorm_backward_naive(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(),
                             mean.data(), rstd.data(), N, C);
    EXPECT_TRUE(all_close(out, f.get<double>("ln_out"), 1e-10, 1e-12));
    EXPECT_TRUE(all_close(dx, f.get<double>("ln_dx"), 1e-10, 1e-12));
    EXPECT_TRUE(all_close(dw, f.get<double>("ln_dw"), 1e-10, 1e-12));
    EXPECT_TRUE(all_close(db, f.get<double>("ln_db"), 1e-10, 1e-12));
    // The fast float kernel to float precision.
    const auto xf = testing::cast<float>(x), wf = testing::cast<float>(w),
               bf = testing::cast<float>(b);
    const auto doutf = testing::cast<float>(dout);
    std::vector<float> outf(N * C), meanf(N), rstdf(N), dxf(N * C), dwf(C), dbf(C);
    layernorm_forward(outf.data(), meanf.data(), rstdf.data(), xf.data(), wf.data(), bf.data(), N,
                      C);
    layernorm_backward(dxf.data(), dwf.data(), dbf.data(), doutf.data(), xf.data(), wf.data(),
                       meanf.data(), rstdf.data(), N, C);
    EXPECT_TRUE(all_close(outf, f.get<double>("ln_out"), 1e-5, 1e-5));
    EXPECT_TRUE(all_close(dxf, f.get<double>("ln_dx"), 1e-4, 1e-5));
    EXPECT_TRUE(all_close(dwf, f.get<double>("ln_dw"), 1e-4, 1e-5));
    EXPECT_TRUE(all_close(dbf, f.get<double>("ln_db"), 1e-4, 1e-5));
}

}  // namespace
}  // namespace wiggle
