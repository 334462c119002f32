// The shape-op kernels of elementwise.h: every fast kernel against its naive twin on awkward
// shapes (1, odd, prime, large enough to thread), bit for bit where the arithmetic is the same
// (all but exp and tanh, which are vectorized polynomials: a few ulp), and 1 vs 2 vs 3 threads
// bit for bit. Their derivatives are checked by finite differences through the tensor engine
// (tests/tensor/gradcheck_test.cpp), which runs the naive double kernels.
#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fixture.h"
#include "kernel_testing.h"

namespace wiggle::kernels {
namespace {

using testing::all_close;
using testing::randn;

::testing::AssertionResult same_bits(const std::vector<float>& got,
                                     const std::vector<float>& want) {
    if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            return ::testing::AssertionFailure()
                   << "element " << i << ": fast " << got[i] << ", naive " << want[i];
        }
    }
    return ::testing::AssertionSuccess();
}

// A broadcast of a (da) with b (db) against out (D): strides of contiguous arrays, 0 where 1.
Broadcast broadcast(const int D[4], const int da[4], const int db[4]) {
    Broadcast bc{};
    long sa = 1, sb = 1;
    for (int i = 3; i >= 0; --i) {
        bc.dims[i] = D[i];
        bc.a_stride[i] = da[i] == 1 ? 0 : sa;
        bc.b_stride[i] = db[i] == 1 ? 0 : sb;
        sa *= da[i];
        sb *= db[i];
    }
    return bc;
}

long numel(const int d[4]) { return static_cast<long>(d[0]) * d[1] * d[2] * d[3]; }

struct BroadcastCase {
    int out[4], a[4], b[4];
};
const BroadcastCase kBroadcasts[] = {
    {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}},              // scalars
    {{1, 1, 7, 13}, {1, 1, 7, 13}, {1, 1, 7, 13}},           // same shape
    {{1, 3, 5, 17}, {1, 3, 5, 17}, {1, 1, 1, 17}},           // a bias over rows
    {{1, 3, 5, 17}, {1, 1, 1, 17}, {1, 3, 5, 17}},           // the bias first
    {{2, 3, 5, 7}, {2, 1, 5, 1}, {1, 3, 1, 7}},              // both broadcast, interleaved
    {{1, 1, 31, 1}, {1, 1, 31, 1}, {1, 1, 1, 1}},            // a column times a scalar
    {{1, 97, 11, 1}, {1, 97, 11, 1}, {1, 97, 1, 1}},         // (N,C)/(N,1): x / sum(x, keepdim)
    {{1, 1, 301, 130}, {1, 1, 301, 130}, {1, 1, 301, 130}},  // big enough to thread
    {{1, 1, 301, 130}, {1, 1, 301, 130}, {1, 1, 1, 130}},
};

TEST(Elementwise, BinaryFastMatchesNaiveBitForBit) {
    for (const BroadcastCase& c : kBroadcasts) {
        const Broadcast bc = broadcast(c.out, c.a, c.b);
        SCOPED_TRACE(::testing::Message() << "out (" << c.out[0] << "," << c.out[1] << ","
                                          << c.out[2] << "," << c.out[3] << ")");
        const auto a = randn(numel(c.a), 1), b = randn(numel(c.b), 2, 1.0, 3.0);
        const auto dout = randn(numel(c.out), 3);
        for (Binary op : {Binary::Add, Binary::Sub, Binary::Mul, Binary::Div}) {
            SCOPED_TRACE(static_cast<int>(op));
            std::vector<float> y(numel(c.out)), y_n(numel(c.out));
            binary_forward(y.data(), a.data(), b.data(), op, bc);
            binary_forward_naive(y_n.data(), a.data(), b.data(), op, bc);
            EXPECT_TRUE(same_bits(y, y_n));
            auto da = randn(numel(c.a), 4), db = randn(numel(c.b), 5);
            auto da_n = da, db_n = db;
            binary_backward(da.data(), db.data(), dout.data(), a.data(), b.data(), op, bc);
            binary_backward_naive(da_n.data(), db_n.data(), dout.data(), a.data(), b.data(), op,
                                  bc);
            EXPECT_TRUE(same_bits(da, da_n)) << "da";
            EXPECT_TRUE(same_bits(db, db_n)) << "db";
            // One side only (the other needs no gradient).
            binary_backward(nullptr, db.data(), dout.data(), a.data(), b.data(), op, bc);
            binary_backward_naive<float>(nullptr, db_n.data(), dout.data(), a.data(), b.data(), op,
                                         bc);
            EXPECT_TRUE(same_bits(db, db_n)) << "db alone";
        }
    }
}

TEST(Elementwise, UnaryFastMatchesNaive) {
    for (int N : {1, 7, 16, 17, 1031, 40000}) {
        SCOPED_TRACE(N);
        const auto x = randn(N, 11, 3.0), dout = randn(N, 12);
        auto positive = x;
        for (float& v : positive) v = std::fabs(v) + 0.01f;
        for (Unary op : {Unary::Exp, Unary::Log, Unary::Tanh, Unary::Relu, Unary::Scale}) {
            SCOPED_TRACE(static_cast<int>(op));
            const auto& in = op == Unary::Log ? positive : x;
            std::vector<float> y(N), y_n(N);
            unary_forward(y.data(), in.data(), op, -0.75f, N);
            unary_forward_naive(y_n.data(), in.data(), op, -0.75f, N);
            if (op == Unary::Exp || op == Unary::Tanh) {
                EXPECT_TRUE(all_close(y, y_n, 4e-7, 1e-30));  // a few ulp
            } else {
                EXPECT_TRUE(same_bits(y, y_n));
            }
            auto dx = randn(N, 13), dx_n = dx;
            unary_backward(dx.data(), in.data(), y_n.data(), dout.data(), op, -0.75f, N);
            unary_backward_naive(dx_n.data(), in.data(), y_n.data(), dout.data(), op, -0.75f, N);
            EXPECT_TRUE(same_bits(dx, dx_n));
        }
    }
}

TEST(Elementwise, VectorizedTanhAndExpEdges) {
    // Zero, tiny (no cancellation: tanh x ≈ x), around the 0.625 switch, saturation, ±inf, NaN.
    std::vector<float> x = {0.0f,      -0.0f, 1e-30f, -3e-6f, 0.6249f, 0.6251f,
                            -0.625f,   5.0f,  -9.5f,  20.0f,  -100.0f, INFINITY,
                            -INFINITY, NAN,   88.0f,  -87.0f, 1.0f,    -2.5f};
    std::vector<float> t(x.size()), t_n(x.size()), e(x.size()), e_n(x.size());
    const int N = static_cast<int>(x.size());
    unary_forward(t.data(), x.data(), Unary::Tanh, 1.0f, N);
    unary_forward_naive(t_n.data(), x.data(), Unary::Tanh, 1.0f, N);
    unary_forward(e.data(), x.data(), Unary::Exp, 1.0f, N);
    unary_forward_naive(e_n.data(), x.data(), Unary::Exp, 1.0f, N);
    for (int i = 0; i < N; ++i) {
        SCOPED_TRACE(x[i]);
        if (std::isnan(x[i])) {
            EXPECT_TRUE(std::isnan(t[i]) && std::isnan(e[i]));
            continue;
        }
        EXPECT_NEAR(t[i], t_n[i], 4e-7 * std::fabs(t_n[i]));
        if (std::isinf(e_n[i])) {
            EXPECT_EQ(e[i], e_n[i]);
        } else {
            EXPECT_NEAR(e[i], e_n[i], 4e-7 * e_n[i]);
        }
    }
}

struct AxisCase {
    int outer, n, inner;
};
const AxisCase kAxes[] = {{1, 1, 1},  {1, 7, 1},   {5, 1, 3},    {3, 17, 1},
                          {2, 13, 9}, {1, 31, 65}, {97, 41, 11}, {300, 3, 130}};

TEST(Elementwise, ReduceFastMatchesNaiveBitForBit) {
    for (const AxisCase& c : kAxes) {
        SCOPED_TRACE(::testing::Message() << c.outer << "," << c.n << "," << c.inner);
        const auto x = randn(static_cast<long>(c.outer) * c.n * c.inner, 21);
        const auto dout = randn(static_cast<long>(c.outer) * c.inner, 22);
        for (Reduce op : {Reduce::Sum, Reduce::Mean, Reduce::Max}) {
            SCOPED_TRACE(static_cast<int>(op));
            std::vector<float> y(c.outer * c.inner), y_n(c.outer * c.inner);
            std::vector<int> am(c.outer * c.inner), am_n(c.outer * c.inner);
            reduce_forward(y.data(), am.data(), x.data(), op, c.outer, c.n, c.inner);
            reduce_forward_naive(y_n.data(), am_n.data(), x.data(), op, c.outer, c.n, c.inner);
            EXPECT_TRUE(same_bits(y, y_n));
            if (op == Reduce::Max) {
                EXPECT_EQ(am, am_n);
            }
            auto dx = randn(x.size(), 23), dx_n = dx;
            reduce_backward(dx.data(), dout.data(), am_n.data(), op, c.outer, c.n, c.inner);
            reduce_backward_naive(dx_n.data(), dout.data(), am_n.data(), op, c.outer, c.n, c.inner);
            EXPECT_TRUE(same_bits(dx, dx_n));
        }
    }
}

TEST(Elementwise, PermuteFastMatchesNaiveAndInvertsItself) {
    const int dims[4] = {3, 5, 7, 11};
    const int perms[][4] = {{0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}};
    const auto x = randn(numel(dims), 31);
    for (const auto& p : perms) {
        SCOPED_TRACE(::testing::Message() << p[0] << p[1] << p[2] << p[3]);
        std::vector<float> y(x.size()), y_n(x.size());
        permute_forward(y.data(), x.data(), dims, p);
        permute_forward_naive(y_n.data(), x.data(), dims, p);
        EXPECT_TRUE(same_bits(y, y_n));
        // Backward scatters dout back where forward gathered it from: applied to y, it rebuilds x.
        std::vector<float> back(x.size(), 0.0f), back_n(x.size(), 0.0f);
        permute_backward(back.data(), y.data(), dims, p);
        permute_backward_naive(back_n.data(), y.data(), dims, p);
        EXPECT_TRUE(same_bits(back, x));
        EXPECT_TRUE(same_bits(back_n, x));
    }
    // out[i0,i1,i2,i3] = x[j] with j[perm[k]] = i_k: a plain transpose of a (2,3) matrix.
    const int d2[4] = {1, 1, 2, 3}, t2[4] = {0, 1, 3, 2};
    const std::vector<float> m = {1, 2, 3, 4, 5, 6};
    std::vector<float> mt(6);
    permute_forward(mt.data(), m.data(), d2, t2);
    EXPECT_EQ(mt, (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Elementwise, SliceAndConcatFastMatchNaive) {
    for (const AxisCase& c : kAxes) {
        for (int start : {0, c.n / 2}) {
            const int len = c.n - start;
            SCOPED_TRACE(::testing::Message() << c.outer << "," << c.n << "," << c.inner << " ["
                                              << start << "+" << len << "]");
            const auto x = randn(static_cast<long>(c.outer) * c.n * c.inner, 41);
            const auto part = randn(static_cast<long>(c.outer) * len * c.inner, 42);
            std::vector<float> y(part.size()), y_n(part.size());
            slice_forward(y.data(), x.data(), c.outer, c.n, c.inner, start, len);
            slice_forward_naive(y_n.data(), x.data(), c.outer, c.n, c.inner, start, len);
            EXPECT_TRUE(same_bits(y, y_n));
            auto dx = randn(x.size(), 43), dx_n = dx;
            slice_backward(dx.data(), part.data(), c.outer, c.n, c.inner, start, len);
            slice_backward_naive(dx_n.data(), part.data(), c.outer, c.n, c.inner, start, len);
            EXPECT_TRUE(same_bits(dx, dx_n));
            auto out = randn(x.size(), 44), out_n = out;
            concat_forward(out.data(), part.data(), c.outer, c.n, c.inner, start, len);
            concat_forward_naive(out_n.data(), part.data(), c.outer, c.n, c.inner, start, len);
            EXPECT_TRUE(same_bits(out, out_n));
            auto dp = randn(part.size(), 45), dp_n = dp;
            concat_backward(dp.data(), x.data(), c.outer, c.n, c.inner, start, len);
            concat_backward_naive(dp_n.data(), x.data(), c.outer, c.n, c.inner, start, len);
            EXPECT_TRUE(same_bits(dp, dp_n));
            // A slice of a concatenation gives the piece back.
            std::vector<float> again(part.size());
            slice_forward(again.data(), out.data(), c.outer, c.n, c.inner, start, len);
            EXPECT_TRUE(same_bits(again, part));
        }
    }
}

TEST(Elementwise, MaskedFillFastMatchesNaive) {
    for (const AxisCase& c : kAxes) {
        const int outer = c.outer * c.n, inner = c.inner;
        std::vector<uint8_t> mask(inner);
        for (int i = 0; i < inner; ++i) mask[i] = (i * 7) % 3 == 0;
        const auto x = randn(static_cast<long>(outer) * inner, 51), d = randn(x.size(), 52);
        std::vector<float> y(x.size()), y_n(x.size());
        masked_fill_forward(y.data(), x.data(), mask.data(), -INFINITY, outer, inner);
        masked_fill_forward_naive(y_n.data(), x.data(), mask.data(), -INFINITY, outer, inner);
        EXPECT_TRUE(same_bits(y, y_n));
        EXPECT_EQ(y[0], -INFINITY);
        auto dx = randn(x.size(), 53), dx_n = dx;
        masked_fill_backward(dx.data(), d.data(), mask.data(), outer, inner);
        masked_fill_backward_naive(dx_n.data(), d.data(), mask.data(), outer, inner);
        EXPECT_TRUE(same_bits(dx, dx_n));
    }
}

TEST(Elementwise, ThreadCountDoesNotChangeBits) {
    const int D[4] = {1, 2, 301, 130}, B[4] = {1, 1, 1, 130};
    const Broadcast bc = broadcast(D, D, B);
    const auto a = randn(numel(D), 61), b = randn(130, 62, 1.0, 3.0), d = randn(numel(D), 63);
    const int perm[4] = {0, 3, 2, 1};
    testing::expect_thread_invariant([&] {
        std::vector<float> y(numel(D)), da(numel(D)), db(130), t(numel(D)), dt(numel(D)),
            r(2 * 130), dr(numel(D)), p(numel(D)), dp(numel(D));
        std::vector<int> am(2 * 130);
        binary_forward(y.data(), a.data(), b.data(), Binary::Mul, bc);
        binary_backward(da.data(), db.data(), d.data(), a.data(), b.data(), Binary::Div, bc);
        unary_forward(t.data(), a.data(), Unary::Tanh, 1.0f, static_cast<int>(numel(D)));
        unary_backward(dt.data(), a.data(), t.data(), d.data(), Unary::Tanh, 1.0f,
                       static_cast<int>(numel(D)));
        reduce_forward(r.data(), am.data(), a.data(), Reduce::Sum, 2, 301, 130);
        reduce_backward(dr.data(), r.data(), am.data(), Reduce::Mean, 2, 301, 130);
        permute_forward(p.data(), a.data(), D, perm);
        permute_backward(dp.data(), p.data(), D, perm);
        return testing::concat({y, da, db, t, dt, r, dr, p, dp});
    });
}

}  // namespace
}  // namespace wiggle::kernels
