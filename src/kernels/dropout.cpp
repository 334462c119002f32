// Inverted dropout with a counter-based hash: the naive references (float and double) and the fast
// float kernels. The mask is a pure function of (seed, index), so it needs no storage, no RNG state
// and no care about which thread draws which element. reference: SplitMix64 (Steele, Lea, Flood,
// "Fast splittable pseudorandom number generators", 2014).
#include "kernels/dropout.h"

#include "kernels/hash.h"
#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/dropout_impl.h"

namespace wiggle::kernels {

float hash_uniform(uint64_t seed, uint64_t index) {
    return hash_uniform_keyed(hash_key(seed), index);
}

template <typename T>
void dropout_forward_naive(T* out, const T* inp, float p, uint64_t seed, int N) {
    const T scale = T(1) / (T(1) - T(p));
    for (int i = 0; i < N; ++i)
        out[i] = hash_uniform(seed, static_cast<uint64_t>(i)) >= p ? inp[i] * scale : T(0);
}

template <typename T>
void dropout_backward_naive(T* dinp, const T* dout, float p, uint64_t seed, int N) {
    // out = mask·inp/(1−p)  ⇒  dinp += mask·dout/(1−p).
    const T scale = T(1) / (T(1) - T(p));
    for (int i = 0; i < N; ++i) {
        if (hash_uniform(seed, static_cast<uint64_t>(i)) >= p) dinp[i] += dout[i] * scale;
    }
}

template void dropout_forward_naive<float>(float*, const float*, float, uint64_t, int);
template void dropout_forward_naive<double>(double*, const double*, float, uint64_t, int);
template void dropout_backward_naive<float>(float*, const float*, float, uint64_t, int);
template void dropout_backward_naive<double>(double*, const double*, float, uint64_t, int);

WIGGLE_ISA_DECLARE(void dropout_apply(float* out, const float* inp, float p, uint64_t seed, int N,
                                      bool backward, GradInput into))

void dropout_forward(float* out, const float* inp, float p, uint64_t seed, int N) {
    WIGGLE_DISPATCH(dropout_apply, out, inp, p, seed, N, false, GradInput::Set);
}
void dropout_backward(float* dinp, const float* dout, float p, uint64_t seed, int N,
                      GradInput into) {
    WIGGLE_DISPATCH(dropout_apply, dinp, dout, p, seed, N, true, into);
}

}  // namespace wiggle::kernels
