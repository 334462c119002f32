// The vectorized dropout, compiled once per instruction set by dropout.cpp (portable),
// dropout_avx2.cpp and dropout_avx512.cpp: the hash is plain 64-bit integer code that the
// compiler vectorizes where the ISA has 64-bit multiplies (AVX-512DQ). Elementwise, threaded over
// fixed blocks.
#pragma once

#include <cstdint>

#include "kernels/grad_input.h"
#include "kernels/hash.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace dropout_detail {
constexpr int kBlock = 4096;
constexpr long kParallelMin = 1 << 15;

// One block; a function so its parameters are values the compiler need not reload after stores.
inline void apply_block(float* out, const float* inp, float p, uint64_t key, float scale, int begin,
                        int end, bool backward, GradInput into) {
    float mask[kBlock];
    for (int i = begin; i < end; ++i) {
        mask[i - begin] = hash_uniform_keyed(key, static_cast<uint64_t>(i)) >= p ? scale : 0.0f;
    }
    if (backward && into == GradInput::Add) {
        for (int i = begin; i < end; ++i) {
            const float m = mask[i - begin];
            if (m != 0.0f) out[i] += inp[i] * m;
        }
    } else if (backward) {  // Set: as Add onto zeros (+0 + x, never −0)
        for (int i = begin; i < end; ++i) {
            const float m = mask[i - begin];
            out[i] = m != 0.0f ? 0.0f + inp[i] * m : 0.0f;
        }
    } else {
        for (int i = begin; i < end; ++i) {
            const float m = mask[i - begin];
            out[i] = m != 0.0f ? inp[i] * m : 0.0f;  // a dropped inf or NaN gives 0
        }
    }
}
}  // namespace dropout_detail

// out = keep ? inp·scale : 0 (backward: dinp += or = keep ? dout·scale : 0, as `into` says).
void dropout_apply(float* out, const float* inp, float p, uint64_t seed, int N, bool backward,
                   GradInput into) {
    using namespace dropout_detail;
    const uint64_t key = hash_key(seed);
    const float scale = 1.0f / (1.0f - p);
    const int blocks = (N + kBlock - 1) / kBlock;
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        apply_block(out, inp, p, key, scale, blk * kBlock, end, backward, into);
    });
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
