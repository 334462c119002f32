// The fused causal attention kernel (kernels/attention.h: flash-style, qkv (B,T,3C), only the
// log-sum-exp kept for a recomputing backward) against the attention of part 7 and 8 composed
// from tensor ops: q·kᵀ/√hs, causal mask, softmax, ·v. Forward outputs and the gradient of
// loss = Σ w ⊙ out with respect to qkv must agree, on shapes that include T = 1, one head, odd T
// and T longer than a kernel tile. The composition itself is checked by finite differences first,
// so it is a trustworthy oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "tensor/ops.h"
#include "tensor_testing.h"

namespace wiggle {
namespace {

using testing::uniform;

// Causal multi-head self-attention from tensor ops, qkv (B,T,3C) -> (B,T,C).
template <typename T>
Tensor<T> composed_attention(Tensor<T> qkv, int NH) {
    const int B = qkv.dim(0), Tn = qkv.dim(1), C = qkv.dim(2) / 3, hs = C / NH;
    auto heads = [&](int part, std::initializer_list<int> perm) {
        return permute(reshape(slice(qkv, 2, part * C, (part + 1) * C), {B, Tn, NH, hs}), perm);
    };
    Tensor<T> q = heads(0, {0, 2, 1, 3});   // (B,NH,T,hs)
    Tensor<T> kT = heads(1, {0, 2, 3, 1});  // (B,NH,hs,T)
    Tensor<T> v = heads(2, {0, 2, 1, 3});   // (B,NH,T,hs)
    Tensor<T> att = softmax(causal_mask(matmul(q, kT) * (1.0 / std::sqrt(double(hs)))));
    return reshape(permute(matmul(att, v), {0, 2, 1, 3}), {B, Tn, C});  // (B,T,C)
}

struct Case {
    int B, T, C, NH;
};
std::string name(const Case& c) {
    return "B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " C=" + std::to_string(c.C) +
           " NH=" + std::to_string(c.NH);
}

const Case kCases[] = {
    {1, 1, 4, 1},     // one position: the output is v itself
    {2, 1, 8, 2},     // T = 1, several heads
    {1, 5, 4, 1},     // one head, odd T
    {2, 7, 12, 3},    // odd T, odd head count
    {3, 8, 32, 4},    // part 8's shapes
    {2, 17, 64, 4},   // T just past a power of two
    {1, 33, 16, 2},   // odd T longer than a tile
    {2, 64, 128, 4},  // part 9's block
};

// The first few elements where |got − want| > atol + rtol·|want|, and the largest difference.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<double>& want,
                                 double rtol, double atol) {
    std::ostringstream report;
    int bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double d = std::fabs(double(got[i]) - want[i]);
        worst = std::max(worst, d);
        if (!(d <= atol + rtol * std::fabs(want[i]))) {
            if (bad++ < 5) report << "\n  [" << i << "] expected " << want[i] << ", got " << got[i];
        }
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " of " << want.size() << " differ, max difference " << worst << report.str();
}

TEST(AttentionComposed, CompositionGradientMatchesFiniteDifferences) {
    for (const Case& c : {Case{1, 1, 4, 1}, Case{2, 3, 4, 2}, Case{1, 5, 6, 3}}) {
        SCOPED_TRACE(name(c));
        EXPECT_TRUE(testing::gradcheck(
            {{{c.B, c.T, 3 * c.C}, -2.0, 2.0}},
            [&](std::span<Tensor<double>> x) { return composed_attention(x[0], c.NH); }));
    }
}

// Fused (float) against composed in double: forward, and the gradient of Σ w ⊙ out.
TEST(AttentionComposed, FusedKernelMatchesCompositionInDouble) {
    uint32_t seed = 1;
    for (const Case& c : kCases) {
        SCOPED_TRACE(name(c));
        const int64_t n_qkv = int64_t(c.B) * c.T * 3 * c.C, n_out = int64_t(c.B) * c.T * c.C;
        const std::vector<double> qkv = uniform(n_qkv, seed++, -2.0, 2.0);
        const std::vector<double> w = uniform(n_out, seed++, -1.0, 1.0);

        Graph<double> g;
        Tensor<double> x = g.leaf({c.B, c.T, 3 * c.C}, qkv);
        Tensor<double> out = composed_attention(x, c.NH);
        sum(mul(out, g.input(out.shape(), w))).backward();
        const std::vector<double> want_out(out.data(), out.data() + n_out);
        const std::vector<double> want_dqkv(x.grad(), x.grad() + n_qkv);

        const std::vector<float> qkv_f(qkv.begin(), qkv.end()), w_f(w.begin(), w.end());
        std::vector<float> got_out(n_out), lse(size_t(c.B) * c.NH * c.T), dqkv(n_qkv, 0.0f);
        kernels::attention_forward(got_out.data(), lse.data(), qkv_f.data(), c.B, c.T, c.C, c.NH);
        kernels::attention_backward(dqkv.data(), w_f.data(), qkv_f.data(), got_out.data(),
                                    lse.data(), c.B, c.T, c.C, c.NH);
        EXPECT_TRUE(close(got_out, want_out, 1e-4, 1e-5)) << "forward";
        EXPECT_TRUE(close(dqkv, want_dqkv, 1e-4, 1e-5)) << "dqkv";
    }
}

// Both in float, as the ladder programs run them: the composition's float kernels (gemm,
// softmax) and the fused kernel agree to float rounding.
TEST(AttentionComposed, FusedKernelMatchesCompositionInFloat) {
    uint32_t seed = 100;
    for (const Case& c : kCases) {
        SCOPED_TRACE(name(c));
        const int64_t n_qkv = int64_t(c.B) * c.T * 3 * c.C, n_out = int64_t(c.B) * c.T * c.C;
        const std::vector<double> qkv_d = uniform(n_qkv, seed++, -2.0, 2.0);
        const std::vector<double> w_d = uniform(n_out, seed++, -1.0, 1.0);
        const std::vector<float> qkv(qkv_d.begin(), qkv_d.end()), w(w_d.begin(), w_d.end());

        Graph<float> g;
        Tensor<float> x = g.leaf({c.B, c.T, 3 * c.C}, qkv);
        Tensor<float> out = composed_attention(x, c.NH);
        sum(mul(out, g.input(out.shape(), w))).backward();
        const std::vector<double> want_out(out.data(), out.data() + n_out);
        const std::vector<double> want_dqkv(x.grad(), x.grad() + n_qkv);

        std::vector<float> got_out(n_out), lse(size_t(c.B) * c.NH * c.T), dqkv(n_qkv, 0.0f);
        kernels::attention_forward(got_out.data(), lse.data(), qkv.data(), c.B, c.T, c.C, c.NH);
        kernels::attention_backward(dqkv.data(), w.data(), qkv.data(), got_out.data(), lse.data(),
                                    c.B, c.T, c.C, c.NH);
        EXPECT_TRUE(close(got_out, want_out, 1e-4, 1e-5)) << "forward";
        EXPECT_TRUE(close(dqkv, want_dqkv, 1e-4, 2e-5)) << "dqkv";
    }
}

}  // namespace
}  // namespace wiggle
