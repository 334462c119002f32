// GELU, exact erf form: the naive reference (float and double) and the fast float kernel.
// Not the tanh approximation (llm.c's): nanoGPT's nn.GELU() is the erf form, and loss parity with
// PyTorch depends on it. reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html
#include "kernels/gelu.h"

#include <cmath>

#include "kernels/simd_dispatch.h"
#include "kernels/vmath.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/gelu_impl.h"

namespace wiggle::kernels {

template <typename T>
void gelu_forward_naive(T* out, const T* inp, int N) {
    const T inv_sqrt2 = T(0.70710678118654752440);
    for (int i = 0; i < N; ++i) out[i] = T(0.5) * inp[i] * (T(1) + std::erf(inp[i] * inv_sqrt2));
}

template <typename T>
void gelu_backward_naive(T* dinp, const T* inp, const T* dout, int N) {
    // out = x·Φ(x)  ⇒  d/dx = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
    const T inv_sqrt2 = T(0.70710678118654752440);
    const T inv_sqrt_2pi = T(0.39894228040143267794);
    for (int i = 0; i < N; ++i) {
        const T x = inp[i];
        const T cdf = T(0.5) * (T(1) + std::erf(x * inv_sqrt2));
        const T pdf = std::exp(T(-0.5) * x * x) * inv_sqrt_2pi;
        dinp[i] += (cdf + x * pdf) * dout[i];
    }
}

template void gelu_forward_naive<float>(float*, const float*, int);
template void gelu_forward_naive<double>(double*, const double*, int);
template void gelu_backward_naive<float>(float*, const float*, const float*, int);
template void gelu_backward_naive<double>(double*, const double*, const double*, int);

WIGGLE_ISA_DECLARE(void gelu_forward(float* out, const float* inp, int N))
WIGGLE_ISA_DECLARE(void gelu_backward(float* dinp, const float* inp, const float* dout, int N))
WIGGLE_ISA_DECLARE(void vexp(float* out, const float* inp, int N))
WIGGLE_ISA_DECLARE(void verf(float* out, const float* inp, int N))

void gelu_forward(float* out, const float* inp, int N) {
    WIGGLE_DISPATCH(gelu_forward, out, inp, N);
}
void gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
    WIGGLE_DISPATCH(gelu_backward, dinp, inp, dout, N);
}
void vexp(float* out, const float* inp, int N) { WIGGLE_DISPATCH(vexp, out, inp, N); }
void verf(float* out, const float* inp, int N) { WIGGLE_DISPATCH(verf, out, inp, N); }

}  // namespace wiggle::kernels
