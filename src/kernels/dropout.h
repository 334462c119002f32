// Inverted dropout with a counter-based random stream: element i of call `seed` is kept iff
// hash(seed, i) ≥ p, so the mask never depends on thread count or order, and backward recomputes
// it instead of storing it. Kept elements are scaled by 1/(1−p). Legend: N elements.
#pragma once

#include <cstdint>

#include "kernels/grad_input.h"

namespace wiggle::kernels {

// A uniform float in [0,1) from (seed, index): SplitMix64 of both, top 24 bits.
float hash_uniform(uint64_t seed, uint64_t index);

void dropout_forward(float* out, const float* inp, float p, uint64_t seed, int N);
// Accumulates dinp += mask · dout / (1−p) (GradInput::Set: dinp = mask · dout / (1−p)).
void dropout_backward(float* dinp, const float* dout, float p, uint64_t seed, int N,
                      GradInput into = GradInput::Add);

template <typename T>
void dropout_forward_naive(T* out, const T* inp, float p, uint64_t seed, int N);
template <typename T>
void dropout_backward_naive(T* dinp, const T* dout, float p, uint64_t seed, int N);

}  // namespace wiggle::kernels
