// Tests of the matmul kernels. Oracles: the naive kernels in double precision (for the fast gemm
// and the linear layer), finite differences in double (for matmul_backward_naive, whose derivative
// is thereby proven; the fast kernels are then proven equal to it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "kernels/kernel_testing.h"
#include "kernels/matmul.h"
#include "kernels/matmul_bf16.h"

namespace wiggle::kernels {
namespace {

using wiggle::testing::random_floats;

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// got (float) against want (double): |got - want| <= tol, where tol grows with the length of the
// dot products (each term is O(1) here, float rounding error grows like K·eps in the worst case).
void expect_close(const std::vector<float>& got, const std::vector<double>& want, int K,
                  const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    const double tol = 1e-6 * (K + 4) + 1e-6;
    double max_diff = 0;
    size_t worst = 0;
    for (size_t i = 0; i < got.size(); i++) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        if (!(d <= max_diff)) {
            max_diff = d;
            worst = i;
        }
    }
    EXPECT_LE(max_diff, tol) << what << ": worst at index " << worst << ", expected " << want[worst]
                             << ", got " << got[worst];
}

TEST(Matmul, NaiveGemmMatchesHandComputedProduct) {
    // A (2,3) · B (3,2)
    const double A[] = {1, 2, 3, 4, 5, 6};
    const double B[] = {7, 8, 9, 10, 11, 12};
    double C[4] = {1, 1, 1, 1};
    gemm_naive<double>(C, A, B, 2, 2, 3, false, false, false);
    EXPECT_EQ(C[0], 58);
    EXPECT_EQ(C[1], 64);
    EXPECT_EQ(C[2], 139);
    EXPECT_EQ(C[3], 154);
    // Aᵀ stored (3,2), Bᵀ stored (2,3): same product, accumulated on top
    const double At[] = {1, 4, 2, 5, 3, 6};
    const double Bt[] = {7, 9, 11, 8, 10, 12};
    gemm_naive<double>(C, At, Bt, 2, 2, 3, true, true, true);
    EXPECT_EQ(C[0], 116);
    EXPECT_EQ(C[3], 308);
}

struct Shape {
    int M, N, K;
};

const Shape kShapes[] = {
    {1, 1, 1},    {1, 17, 5},    {7, 1, 3},       {3, 5, 1},     {13, 29, 31},
    {6, 64, 128}, {7, 65, 129},  {37, 53, 97},    {64, 48, 16},  {97, 131, 257},
    {5, 200, 11}, {200, 5, 300}, {128, 128, 128}, {61, 1000, 7}, {150, 257, 300},
};

using wiggle::testing::available_isas;

TEST(Matmul, GemmMatchesNaiveDoubleAllTransposesEveryIsa) {
    for (const Shape& s : kShapes) {
        const auto A = random_floats(static_cast<size_t>(s.M) * s.K, 1);
        const auto B = random_floats(static_cast<size_t>(s.K) * s.N, 2);
        const auto C0 = random_floats(static_cast<size_t>(s.M) * s.N, 3);
        const auto Ad = to_double(A), Bd = to_double(B);
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                for (int acc = 0; acc < 2; acc++) {
                    std::vector<double> want = to_double(C0);
                    gemm_naive<double>(want.data(), Ad.data(), Bd.data(), s.M, s.N, s.K, ta, tb,
                                       acc);
                    for (Isa isa : available_isas()) {
                        std::vector<float> got = C0;
                        gemm_isa(isa, got.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, acc);
                        expect_close(got, want, s.K,
                                     std::string("gemm ") + isa_name(isa) +
                                         " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                                         " K=" + std::to_string(s.K) + " ta=" + std::to_string(ta) +
                                         " tb=" + std::to_string(tb) +
                                         " acc=" + std::to_string(acc));
                    }
                }
            }
        }
    }
}

// Empty products: K = 0 gives C = 0 (or leaves C as it is when accumulating), bias alone in the
// linear layer; M = 0 or N = 0 touch nothing.
TEST(Matmul, EmptyDimensions) {
    for (Isa isa : available_isas()) {
        std::vector<float> C(6, 7.0f);
        const float A[1] = {1.0f}, B[1] = {1.0f};
        gemm_isa(isa, C.data(), A, B, 2, 3, 0, false, false, true);
        EXPECT_EQ(C, std::vector<float>(6, 7.0f)) << isa_name(isa);
        gemm_isa(isa, C.data(), A, B, 2, 3, 0, false, false, false);
        EXPECT_EQ(C, std::vector<float>(6, 0.0f)) << isa_name(isa);
        gemm_isa(isa, C.data(), A, B, 0, 3, 5, false, false, false);
        gemm_isa(isa, C.data(), A, B, 2, 0, 5, true, true, false);
        EXPECT_EQ(C, std::vector<float>(6, 0.0f)) << isa_name(isa);
        const float bias[3] = {1.0f, 2.0f, 3.0f};
        matmul_forward_isa(isa, C.data(), A, B, bias, 2, 0, 3);
        EXPECT_EQ(C, (std::vector<float>{1, 2, 3, 1, 2, 3})) << isa_name(isa);
    }
}

// The naive float kernel agrees with the double one too (it is the twin the GPT's tests may use).
TEST(Matmul, NaiveFloatMatchesNaiveDouble) {
    const int M = 37, N = 41, K = 129;
    const auto A = random_floats(static_cast<size_t>(M) * K, 21);
    const auto B = random_floats(static_cast<size_t>(K) * N, 22);
    std::vector<float> got(static_cast<size_t>(M) * N);
    std::vector<double> want(got.size());
    gemm_naive<float>(got.data(), A.data(), B.data(), M, N, K, false, false, false);
    gemm_naive<double>(want.data(), to_double(A).data(), to_double(B).data(), M, N, K, false, false,
                       false);
    expect_close(got, want, K, "gemm_naive<float>");
}

// 1 and 2 threads give the same bits: no kernel splits a sum across threads. Shapes large enough
// to be threaded (2·M·N·K ≥ kGemmMinParallelFlops), with edges in every dimension and several K
// blocks. (Whether the second thread got work in a given call depends on scheduling; the pool
// test in cpu_test.cpp checks that it does take part.)
TEST(Matmul, OneAndTwoThreadsGiveIdenticalBits) {
    const Shape shapes[] = {
        {256, 200, 128}, {131, 67, 700}, {5, 1000, 300}, {1000, 5, 300}, {20, 1100, 60}};
    const int saved = num_threads();
    for (const Shape& s : shapes) {
        const auto A = random_floats(static_cast<size_t>(s.M) * s.K, 31);
        const auto B = random_floats(static_cast<size_t>(s.K) * s.N, 32);
        const auto C0 = random_floats(static_cast<size_t>(s.M) * s.N, 33);
        for (Isa isa : available_isas()) {
            for (int ta = 0; ta < 2; ta++) {
                for (int tb = 0; tb < 2; tb++) {
                    std::vector<float> c1 = C0, c2 = C0;
                    set_num_threads(1);
                    gemm_isa(isa, c1.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, true);
                    set_num_threads(2);
                    gemm_isa(isa, c2.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, true);
                    EXPECT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)))
                        << isa_name(isa) << " M=" << s.M << " N=" << s.N << " K=" << s.K
                        << " ta=" << ta << " tb=" << tb;
                }
            }
        }
    }
    // the linear layer too
    const int M = 256, K = 130, N = 390;
    const auto inp = random_floats(static_cast<size_t>(M) * K, 34);
    const auto w = random_floats(static_cast<size_t>(N) * K, 35);
    const auto bias = random_floats(N, 36);
    const auto dout = random_floats(static_cast<size_t>(M) * N, 37);
    std::vector<float> out[2], dinp[2], dw[2], db[2];
    for (int t = 0; t < 2; t++) {
        set_num_threads(t + 1);
        out[t].assign(static_cast<size_t>(M) * N, 0.0f);
        dinp[t].assign(static_cast<size_t>(M) * K, 0.5f);
        dw[t].assign(static_cast<size_t>(N) * K, 0.25f);
        db[t].assign(N, 0.125f);
        matmul_forward(out[t].data(), inp.data(), w.data(), bias.data(), M, K, N);
        matmul_backward(dinp[t].data(), dw[t].data(), db[t].data(), dout.data(), inp.data(),
                        w.data(), M, K, N);
    }
    set_num_threads(saved);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(dinp[0], dinp[1]);
    EXPECT_EQ(dw[0], dw[1]);
    EXPECT_EQ(db[0], db[1]);
}

TEST(Matmul, ForwardAndBackwardMatchNaiveDouble) {
    const Shape shapes[] = {{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {64, 384, 128}, {70, 129, 130}};
    for (const Shape& s : shapes) {
        const int M = s.M, N = s.N, K = s.K;
        const auto inp = random_floats(static_cast<size_t>(M) * K, 4);
        const auto w = random_floats(static_cast<size_t>(N) * K, 5);
        const auto bias = random_floats(N, 6);
        const auto dout = random_floats(static_cast<size_t>(M) * N, 7);
        const auto inpd = to_double(inp), wd = to_double(w), biasd = to_double(bias),
                   doutd = to_double(dout);
        const std::string tag =
            " M=" + std::to_string(M) + " K=" + std::to_string(K) + " N=" + std::to_string(N);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            std::vector<double> want(static_cast<size_t>(M) * N);
            matmul_forward_naive<double>(want.data(), inpd.data(), wd.data(),
                                         with_bias ? biasd.data() : nullptr, M, K, N);
            std::vector<float> out(static_cast<size_t>(M) * N, 99.0f);
            matmul_forward(out.data(), inp.data(), w.data(), with_bias ? bias.data() : nullptr, M,
                           K, N);
            expect_close(out, want, K, "forward" + tag + " bias=" + std::to_string(with_bias));
            for (Isa isa : available_isas()) {
                std::vector<float> out_isa(static_cast<size_t>(M) * N, 99.0f);
                matmul_forward_isa(isa, out_isa.data(), inp.data(), w.data(),
                                   with_bias ? bias.data() : nullptr, M, K, N);
                expect_close(out_isa, want, K,
                             std::string("forward ") + isa_name(isa) + tag +
                                 " bias=" + std::to_string(with_bias));
            }
        }
        // backward accumulates on top of what is there
        auto dinp = random_floats(static_cast<size_t>(M) * K, 8);
        auto dw = random_floats(static_cast<size_t>(N) * K, 9);
        auto db = random_floats(N, 10);
        auto dinpd = to_double(dinp), dwd = to_double(dw), dbd = to_double(db);
        matmul_backward(dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), M, K,
                        N);
        matmul_backward_naive<double>(dinpd.data(), dwd.data(), dbd.data(), doutd.data(),
                                      inpd.data(), wd.data(), M, K, N);
        expect_close(dinp, dinpd, N, "backward dinp" + tag);
        expect_close(dw, dwd, M, "backward dweight" + tag);
        expect_close(db, dbd, M, "backward dbias" + tag);
        // any of the gradients may be null
        auto dinp2 = random_floats(static_cast<size_t>(M) * K, 8);
        matmul_backward(dinp2.data(), nullptr, nullptr, dout.data(), inp.data(), w.data(), M, K, N);
        EXPECT_EQ(0, std::memcmp(dinp2.data(), dinp.data(), dinp.size() * sizeof(float)));
    }
}

// Finite differences in double prove matmul_backward_naive is the derivative of
// matmul_forward_naive: for the loss L = Σ out ∘ g (g random), dL/dx ≈ (L(x+h) - L(x-h)) / 2h.
TEST(Matmul, NaiveBackwardMatchesFiniteDifferences) {
    const int M = 3, K = 4, N = 5;
    const auto inp = to_double(random_floats(M * K, 11));
    const auto w = to_double(random_floats(N * K, 12));
    const auto bias = to_double(random_floats(N, 13));
    const auto g = to_double(random_floats(M * N, 14));
    auto loss = [&](const std::vector<double>& x, const std::vector<double>& wt,
                    const std::vector<double>& b) {
        std::vector<double> out(M * N);
        matmul_forward_naive<double>(out.data(), x.data(), wt.data(), b.data(), M, K, N);
        double l = 0;
        for (int i = 0; i < M * N; i++) l += out[i] * g[i];
        return l;
    };
    std::vector<double> dinp(M * K, 0.0), dw(N * K, 0.0), db(N, 0.0);
    matmul_backward_naive<double>(dinp.data(), dw.data(), db.data(), g.data(), inp.data(), w.data(),
                                  M, K, N);
    const double h = 1e-6;
    {
        auto x = inp;
        for (size_t i = 0; i < x.size(); i++) {
            const double saved = x[i];
            x[i] = saved + h;
            const double lp = loss(x, w, bias);
            x[i] = saved - h;
            const double lm = loss(x, w, bias);
            x[i] = saved;
            EXPECT_NEAR(dinp[i], (lp - lm) / (2 * h), 1e-7) << "dinp[" << i << "]";
        }
    }
    {
        auto wt = w;
        for (size_t i = 0; i < wt.size(); i++) {
            const double saved = wt[i];
            wt[i] = saved + h;
            const double lp = loss(inp, wt, bias);
            wt[i] = saved - h;
            const double lm = loss(inp, wt, bias);
            wt[i] = saved;
            EXPECT_NEAR(dw[i], (lp - lm) / (2 * h), 1e-7) << "dweight[" << i << "]";
        }
    }
    {
        auto b = bias;
        for (size_t i = 0; i < b.size(); i++) {
            const double saved = b[i];
            b[i] = saved + h;
            const double lp = loss(inp, w, b);
            b[i] = saved - h;
            const double lm = loss(inp, w, b);
            b[i] = saved;
            EXPECT_NEAR(db[i], (lp - lm) / (2 * h), 1e-7) << "dbias[" << i << "]";
        }
    }
}

// The operands rounded to bf16, and those values as doubles (what the bf16 layer multiplies).
struct Rounded {
    std::vector<bf16> half;
    std::vector<double> exact;
    explicit Rounded(const std::vector<float>& v) : half(v.size()), exact(v.size()) {
        for (size_t i = 0; i < v.size(); ++i) {
            half[i] = to_bf16(v[i]);
            exact[i] = to_float(half[i]);
        }
    }
};

TEST(Matmul, Bf16LayerIsTheLayerOnRoundedOperands) {
    // The mixed-precision linear layer equals the float layer's definition (in double) on the
    // bf16-rounded input, weight and output gradient, with the float bias and float dout for the
    // bias's gradient: only the float sums' rounding differs, within the tolerance of the float
    // layer (each product of two bf16 is exact in float). Awkward shapes, and accumulation.
    const Shape shapes[] = {{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {64, 384, 128}, {70, 129, 130}};
    for (const Shape& s : shapes) {
        const int M = s.M, N = s.N, K = s.K;
        const std::string tag =
            " M=" + std::to_string(M) + " K=" + std::to_string(K) + " N=" + std::to_string(N);
        const auto inp = random_floats(static_cast<size_t>(M) * K, 4);
        const auto w = random_floats(static_cast<size_t>(N) * K, 5);
        const auto bias = random_floats(N, 6);
        const auto dout = random_floats(static_cast<size_t>(M) * N, 7);
        const Rounded inp16(inp), w16(w), dout16(dout);
        const auto biasd = to_double(bias), doutd = to_double(dout);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            std::vector<double> want(static_cast<size_t>(M) * N);
            matmul_forward_naive<double>(want.data(), inp16.exact.data(), w16.exact.data(),
                                         with_bias ? biasd.data() : nullptr, M, K, N);
            std::vector<float> out(static_cast<size_t>(M) * N, 99.0f);
            matmul_forward_bf16(out.data(), inp16.half.data(), w16.half.data(),
                                with_bias ? bias.data() : nullptr, M, K, N);
            expect_close(out, want, K, "bf16 forward" + tag + " bias=" + std::to_string(with_bias));
        }
        auto dinp = random_floats(static_cast<size_t>(M) * K, 8);
        auto dw = random_floats(static_cast<size_t>(N) * K, 9);
        auto db = random_floats(N, 10);
        auto dinpd = to_double(dinp), dwd = to_double(dw), dbd = to_double(db);
        std::vector<bf16> copy(static_cast<size_t>(M) * N);  // the layer's scratch
        matmul_backward_bf16(dinp.data(), dw.data(), db.data(), copy.data(), dout.data(),
                             inp16.half.data(), w16.half.data(), M, K, N);
        EXPECT_TRUE(copy == dout16.half) << "the scratch is not to_bf16(dout)" << tag;
        // the products on the rounded dout, the bias's gradient on the float one
        matmul_backward_naive<double>(dinpd.data(), dwd.data(), nullptr, dout16.exact.data(),
                                      inp16.exact.data(), w16.exact.data(), M, K, N);
        matmul_backward_naive<double>(nullptr, nullptr, dbd.data(), doutd.data(), nullptr, nullptr,
                                      M, K, N);
        expect_close(dinp, dinpd, N, "bf16 backward dinp" + tag);
        expect_close(dw, dwd, M, "bf16 backward dweight" + tag);
        expect_close(db, dbd, M, "bf16 backward dbias" + tag);
    }
}

// GradInput::Set writes dinp over whatever it held (NaNs here), with the bits of zeroing it and
// adding; dweight and dbias still accumulate. Both layers, awkward shapes, deep and shallow K.
TEST(Matmul, SetInputGradientIsZeroThenAddBitForBit) {
    const Shape shapes[] = {{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {70, 129, 130}, {64, 300, 1100}};
    for (const Shape& s : shapes) {
        const int M = s.M, N = s.N, K = s.K;
        SCOPED_TRACE(::testing::Message() << "M=" << M << " K=" << K << " N=" << N);
        const auto inp = random_floats(static_cast<size_t>(M) * K, 11);
        const auto w = random_floats(static_cast<size_t>(N) * K, 12);
        const auto dout = random_floats(static_cast<size_t>(M) * N, 13);
        const Rounded inp16(inp), w16(w), dout16(dout);
        for (int half = 0; half < 2; half++) {
            auto run = [&](GradInput into, float fill) {
                std::vector<float> dinp(static_cast<size_t>(M) * K, fill);
                auto dw = random_floats(static_cast<size_t>(N) * K, 14);
                auto db = random_floats(N, 15);
                if (half) {
                    std::vector<bf16> copy(static_cast<size_t>(M) * N);
                    matmul_backward_bf16(dinp.data(), dw.data(), db.data(), copy.data(),
                                         dout.data(), inp16.half.data(), w16.half.data(), M, K, N,
                                         into);
                } else {
                    matmul_backward(dinp.data(), dw.data(), db.data(), dout.data(), inp.data(),
                                    w.data(), M, K, N, into);
                }
                return testing::concat({dinp, dw, db});
            };
            const std::vector<float> added = run(GradInput::Add, 0.0f);
            const std::vector<float> set = run(GradInput::Set, std::nanf(""));
            EXPECT_EQ(0, std::memcmp(added.data(), set.data(), added.size() * sizeof(float)))
                << (half ? "bf16" : "float") << " layer: Set differs from zeroing then adding";
        }
    }
}

// The layer's backward computes its products in blocks (dweight by rows when N ≥ K, else by
// columns; dinp by rows), on tile bounds that need not divide the shape, and the bias's gradient
// in the pass that rounds dout: bit for bit the whole products (gemm_bf16) and bias_backward's
// column sums, on 1 and 2 threads; and so is the form without a bias on a dout already rounded.
TEST(Matmul, Bf16LayerBackwardInBlocksIsTheWholeProductsBitForBit) {
    const Shape shapes[] = {{200, 130, 70}, {150, 45, 300}, {97, 64, 64}, {31, 33, 130}};
    const int saved = num_threads();
    for (const Shape& s : shapes) {
        const int M = s.M, N = s.N, K = s.K;
        const auto doutf = random_floats(static_cast<size_t>(M) * N, 23);
        const Rounded inp(random_floats(static_cast<size_t>(M) * K, 21)),
            w(random_floats(static_cast<size_t>(N) * K, 22)), dout(doutf);
        std::vector<float> want_dinp(static_cast<size_t>(M) * K);
        auto want_dw = random_floats(static_cast<size_t>(N) * K, 25);
        auto want_db = random_floats(N, 26);
        gemm_bf16(want_dinp.data(), dout.half.data(), w.half.data(), M, K, N, false, false, false);
        gemm_bf16(want_dw.data(), dout.half.data(), inp.half.data(), N, K, M, true, false, true);
        bias_backward(want_db.data(), doutf.data(), M, N, 0, N);
        for (int threads : {1, 2}) {
            SCOPED_TRACE(::testing::Message() << "M=" << M << " K=" << K << " N=" << N << " on "
                                              << threads << " thread(s)");
            set_num_threads(threads);
            std::vector<float> dinp(static_cast<size_t>(M) * K, std::nanf(""));
            auto dw = random_floats(static_cast<size_t>(N) * K, 25);
            auto db = random_floats(N, 26);
            std::vector<bf16> dout16(static_cast<size_t>(M) * N);
            matmul_backward_bf16(dinp.data(), dw.data(), db.data(), dout16.data(), doutf.data(),
                                 inp.half.data(), w.half.data(), M, K, N, GradInput::Set);
            EXPECT_TRUE(dout16 == dout.half) << "the scratch is not to_bf16(dout)";
            testing::expect_bits(dinp, want_dinp, "dinp");
            testing::expect_bits(dw, want_dw, "dweight");
            testing::expect_bits(db, want_db, "dbias");

            // the same without a bias, from dout already rounded
            std::vector<float> dinp2(static_cast<size_t>(M) * K, std::nanf(""));
            auto dw2 = random_floats(static_cast<size_t>(N) * K, 25);
            matmul_backward_bf16(dinp2.data(), dw2.data(), dout.half.data(), inp.half.data(),
                                 w.half.data(), M, K, N, GradInput::Set);
            testing::expect_bits(dinp2, want_dinp, "dinp from a rounded dout");
            testing::expect_bits(dw2, want_dw, "dweight from a rounded dout");
        }
    }
    set_num_threads(saved);
}

TEST(Matmul, Bf16LayerGivesTheSameBitsOnAnyThreadCount) {
    const int M = 96, K = 200, N = 136;
    const Rounded inp(random_floats(static_cast<size_t>(M) * K, 1)),
        w(random_floats(static_cast<size_t>(N) * K, 2));
    const auto bias = random_floats(N, 4), dout = random_floats(static_cast<size_t>(M) * N, 3);
    testing::expect_thread_invariant([&] {
        std::vector<float> out(static_cast<size_t>(M) * N), dinp(static_cast<size_t>(M) * K),
            dw(static_cast<size_t>(N) * K), db(N);
        std::vector<bf16> dout16(static_cast<size_t>(M) * N);
        matmul_forward_bf16(out.data(), inp.half.data(), w.half.data(), bias.data(), M, K, N);
        matmul_backward_bf16(dinp.data(), dw.data(), db.data(), dout16.data(), dout.data(),
                             inp.half.data(), w.half.data(), M, K, N);
        return testing::concat({out, dinp, dw, db});
    });
}

}  // namespace
}  // namespace wiggle::kernels
