// Embedding gather/scatter-add and the GPT encoder: finite differences, fast vs naive, thread
// invariance (the scatter-add must not depend on who adds what).
#include "kernels/embedding.h"

#include <gtest/gtest.h>

#include "fixture.h"
#include "kernels/kernel_testing.h"

namespace wiggle {
namespace {

using namespace kernels;  // NOLINT
using testing::all_close;
using testing::randn;

std::vector<int> ids_for(int N, int V, uint32_t salt) {
    std::vector<int> ids(N);
    for (int n = 0; n < N; ++n)
        ids[n] = static_cast<int>((n * 2654435761u + salt) % static_cast<uint32_t>(V));
    if (N > 2) ids[N - 1] = ids[0];  // repeated ids must accumulate
    return ids;
}

TEST(Embedding, NaiveGradientMatchesFiniteDifferences) {
    const int N = 6, V = 4, C = 3;
    const auto ids = ids_for(N, V, 1);
    auto table = randn<double>(V * C, 1);
    const auto wout = randn<double>(N * C, 2);
    std::vector<double> out(N * C);
    auto loss = [&] {
        embedding_forward_naive(out.data(), table.data(), ids.data(), N, V, C);
        return testing::dot(wout, out);
    };
    auto dt = randn<double>(V * C, 3);
    const auto dt0 = dt;
    embedding_backward_naive(dt.data(), wout.data(), ids.data(), N, V, C);
    for (size_t i = 0; i < dt.size(); ++i) dt[i] -= dt0[i];
    EXPECT_TRUE(testing::grad_check(loss, table, dt));
}

TEST(Encoder, NaiveGradientMatchesFiniteDifferences) {
    const int B = 2, T = 3, C = 4, V = 5;
    const auto tokens = ids_for(B * T, V, 2);
    auto wte = randn<double>(V * C, 4), wpe = randn<double>(T * C, 5);
    const auto wout = randn<double>(B * T * C, 6);
    std::vector<double> out(B * T * C);
    auto loss = [&] {
        encoder_forward_naive(out.data(), tokens.data(), wte.data(), wpe.data(), B, T, C);
        return testing::dot(wout, out);
    };
    auto dwte = randn<double>(V * C, 7), dwpe = randn<double>(T * C, 8);
    const auto dwte0 = dwte, dwpe0 = dwpe;
    encoder_backward_naive(dwte.data(), dwpe.data(), wout.data(), tokens.data(), B, T, C, V);
    for (size_t i = 0; i < dwte.size(); ++i) dwte[i] -= dwte0[i];
    for (size_t i = 0; i < dwpe.size(); ++i) dwpe[i] -= dwpe0[i];
    EXPECT_TRUE(testing::grad_check(loss, wte, dwte)) << "dwte";
    EXPECT_TRUE(testing::grad_check(loss, wpe, dwpe)) << "dwpe";
}

struct Shape {
    int B, T, C, V;
};

TEST(Embedding, FastMatchesNaiveOnAwkwardShapes) {
    for (Shape s :
         {Shape{1, 1, 1, 1}, Shape{1, 3, 5, 2}, Shape{2, 7, 17, 13}, Shape{3, 64, 128, 65},
          Shape{5, 31, 33, 97}, Shape{2, 11, 384, 65}, Shape{1, 300, 24, 3}}) {
        SCOPED_TRACE(::testing::Message()
                     << "B=" << s.B << " T=" << s.T << " C=" << s.C << " V=" << s.V);
        const int B = s.B, T = s.T, C = s.C, V = s.V, N = B * T;
        const auto ids = ids_for(N, V, 3);
        const auto wte = randn(V * C, 11), wpe = randn(T * C, 12), dout = randn(N * C, 13);
        std::vector<float> out(N * C), out_n(N * C);
        embedding_forward(out.data(), wte.data(), ids.data(), N, V, C);
        embedding_forward_naive(out_n.data(), wte.data(), ids.data(), N, V, C);
        EXPECT_EQ(out, out_n);
        auto dt = randn(V * C, 14), dt_n = dt;
        embedding_backward(dt.data(), dout.data(), ids.data(), N, V, C);
        embedding_backward_naive(dt_n.data(), dout.data(), ids.data(), N, V, C);
        EXPECT_TRUE(all_close(dt, dt_n, 1e-6, 1e-6));

        encoder_forward(out.data(), ids.data(), wte.data(), wpe.data(), B, T, C);
        encoder_forward_naive(out_n.data(), ids.data(), wte.data(), wpe.data(), B, T, C);
        EXPECT_EQ(out, out_n);
        auto dwte = randn(V * C, 15), dwpe = randn(T * C, 16), dwte_n = dwte, dwpe_n = dwpe;
        encoder_backward(dwte.data(), dwpe.data(), dout.data(), ids.data(), B, T, C, V);
        encoder_backward_naive(dwte_n.data(), dwpe_n.data(), dout.data(), ids.data(), B, T, C, V);
        EXPECT_TRUE(all_close(dwte, dwte_n, 1e-6, 1e-6));
        EXPECT_TRUE(all_close(dwpe, dwpe_n, 1e-6, 1e-6));
    }
}

TEST(Embedding, ThreadCountDoesNotChangeBits) {
    const int B = 12, T = 64, C = 136, V = 65, N = B * T;
    const auto ids = ids_for(N, V, 4);
    const auto wte = randn(V * C, 21), wpe = randn(T * C, 22), dout = randn(N * C, 23);
    testing::expect_thread_invariant([&] {
        std::vector<float> out(N * C), enc(N * C), dt(V * C), dwte(V * C), dwpe(T * C);
        embedding_forward(out.data(), wte.data(), ids.data(), N, V, C);
        embedding_backward(dt.data(), dout.data(), ids.data(), N, V, C);
        encoder_forward(enc.data(), ids.data(), wte.data(), wpe.data(), B, T, C);
        encoder_backward(dwte.data(), dwpe.data(), dout.data(), ids.data(), B, T, C, V);
        return testing::concat({out, enc, dt, dwte, dwpe});
    });
}

}  // namespace
}  // namespace wiggle
