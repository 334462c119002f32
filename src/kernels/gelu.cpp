// GELU, erf and tanh forms: the naive reference (float and double) and the fast float kernel.
// nanoGPT's nn.GELU() is the erf form, and loss parity with PyTorch depends on it; GPT-2's
// checkpoints were trained with the tanh form, and their logits depend on that.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html
#include "kernels/gelu.h"

#include <cmath>

#include "kernels/simd_dispatch.h"
#include "kernels/vmath.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/gelu_impl.h"

namespace wiggle::kernels {

template <typename T>
void gelu_forward_naive(T* out, const T* inp, int N, GeluForm form) {
    const T inv_sqrt2 = T(0.70710678118654752440);
    const T sqrt_2_over_pi = T(0.79788456080286535588);
    for (int i = 0; i < N; ++i) {
        const T x = inp[i];
        if (form == GeluForm::Erf) {
            out[i] = T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2));
        } else {
            out[i] =
                T(0.5) * x * (T(1) + std::tanh(sqrt_2_over_pi * (x + T(0.044715) * x * x * x)));
        }
    }
}

template <typename T>
void gelu_backward_naive(T* dinp, const T* inp, const T* dout, int N, GeluForm form) {
    const T inv_sqrt2 = T(0.70710678118654752440);
    const T inv_sqrt_2pi = T(0.39894228040143267794);
    const T sqrt_2_over_pi = T(0.79788456080286535588);
    for (int i = 0; i < N; ++i) {
        const T x = inp[i];
        if (form == GeluForm::Erf) {
            // out = x·Φ(x)  ⇒  d/dx = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
            const T cdf = T(0.5) * (T(1) + std::erf(x * inv_sqrt2));
            const T pdf = std::exp(T(-0.5) * x * x) * inv_sqrt_2pi;
            dinp[i] += (cdf + x * pdf) * dout[i];
        } else {
            // out = ½·x·(1 + tanh(z)), z = √(2/π)·(x + 0.044715·x³)
            //   ⇒  d/dx = ½·(1 + tanh(z)) + ½·x·(1 − tanh²(z))·√(2/π)·(1 + 3·0.044715·x²)
            const T t = std::tanh(sqrt_2_over_pi * (x + T(0.044715) * x * x * x));
            const T dz = sqrt_2_over_pi * (T(1) + T(3) * T(0.044715) * x * x);
            dinp[i] += (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dz) * dout[i];
        }
    }
}

template void gelu_forward_naive<float>(float*, const float*, int, GeluForm);
template void gelu_forward_naive<double>(double*, const double*, int, GeluForm);
template void gelu_backward_naive<float>(float*, const float*, const float*, int, GeluForm);
template void gelu_backward_naive<double>(double*, const double*, const double*, int, GeluForm);

WIGGLE_ISA_DECLARE(void gelu_forward(float* out, const float* inp, int N, GeluForm form))
WIGGLE_ISA_DECLARE(void gelu_backward(float* dinp, const float* inp, const float* dout, int N,
                                      GeluForm form, GradInput into))
WIGGLE_ISA_DECLARE(void gelu_forward(bf16* out, const bf16* inp, int N, GeluForm form))
WIGGLE_ISA_DECLARE(void gelu_backward(float* dinp, const bf16* inp, const float* dout, int N,
                                      GeluForm form, GradInput into))
WIGGLE_ISA_DECLARE(void gelu_backward(bf16* dinp16, const bf16* inp, const float* dout, int N,
                                      GeluForm form))
WIGGLE_ISA_DECLARE(void vexp(float* out, const float* inp, int N))
WIGGLE_ISA_DECLARE(void verf(float* out, const float* inp, int N))

void gelu_forward(float* out, const float* inp, int N, GeluForm form) {
    WIGGLE_DISPATCH(gelu_forward, out, inp, N, form);
}
void gelu_backward(float* dinp, const float* inp, const float* dout, int N, GeluForm form,
                   GradInput into) {
    WIGGLE_DISPATCH(gelu_backward, dinp, inp, dout, N, form, into);
}
void gelu_forward(bf16* out, const bf16* inp, int N, GeluForm form) {
    WIGGLE_DISPATCH(gelu_forward, out, inp, N, form);
}
void gelu_backward(float* dinp, const bf16* inp, const float* dout, int N, GeluForm form,
                   GradInput into) {
    WIGGLE_DISPATCH(gelu_backward, dinp, inp, dout, N, form, into);
}
void gelu_backward(bf16* dinp16, const bf16* inp, const float* dout, int N, GeluForm form) {
    WIGGLE_DISPATCH(gelu_backward, dinp16, inp, dout, N, form);
}
void vexp(float* out, const float* inp, int N) { WIGGLE_DISPATCH(vexp, out, inp, N); }
void verf(float* out, const float* inp, int N) { WIGGLE_DISPATCH(verf, out, inp, N); }

}  // namespace wiggle::kernels
