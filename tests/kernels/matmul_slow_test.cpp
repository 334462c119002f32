// Slow matmul tests: shapes big enough for the large-shape configuration of the AVX-512 gemm
// (packed A, several K and N blocks), against the double-precision naive kernel, and 1 vs 2
// threads bit for bit. Oracle: gemm_naive<double>.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/kernel_testing.h"
#include "kernels/matmul.h"

namespace wiggle::kernels {
namespace {

using wiggle::testing::random_floats;

TEST(MatmulSlow, LargeShapesMatchNaiveDoubleAndThreadCountsAgree) {
    struct Shape {
        int M, N, K;
    };
    // M·N·K ≥ 1.5e8 (the large configuration), edges in every dimension, K > 384 (two K blocks),
    // N > 2048 (two N blocks)
    const Shape shapes[] = {{613, 541, 777}, {150, 2100, 480}};
    const int saved = num_threads();
    for (const Shape& s : shapes) {
        const auto A = random_floats(static_cast<size_t>(s.M) * s.K, 41);
        const auto B = random_floats(static_cast<size_t>(s.K) * s.N, 42);
        const auto C0 = random_floats(static_cast<size_t>(s.M) * s.N, 43);
        const std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end());
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                std::vector<double> want(C0.begin(), C0.end());
                gemm_naive<double>(want.data(), Ad.data(), Bd.data(), s.M, s.N, s.K, ta, tb, true);
                std::vector<float> c1 = C0, c2 = C0;
                set_num_threads(1);
                gemm(c1.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, true);
                set_num_threads(2);
                gemm(c2.data(), A.data(), B.data(), s.M, s.N, s.K, ta, tb, true);
                const std::string what = "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                                         " K=" + std::to_string(s.K) + " ta=" + std::to_string(ta) +
                                         " tb=" + std::to_string(tb);
                EXPECT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float))) << what;
                double max_diff = 0;
                for (size_t i = 0; i < want.size(); i++) {
                    max_diff = std::max(max_diff, std::fabs(c1[i] - want[i]));
                }
                EXPECT_LE(max_diff, 1e-6 * (s.K + 4)) << what;
            }
        }
    }
    set_num_threads(saved);
}

}  // namespace
}  // namespace wiggle::kernels
