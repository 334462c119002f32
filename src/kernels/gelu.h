// GELU, exact erf form (PyTorch's default nn.GELU()): gelu(x) = x · Φ(x) = ½·x·(1 + erf(x/√2)).
// Legend: N elements.
#pragma once

namespace wiggle::kernels {

void gelu_forward(float* out, const float* inp, int N);
// Accumulates dinp (N) += gelu'(inp) · dout.
void gelu_backward(float* dinp, const float* inp, const float* dout, int N);

template <typename T>
void gelu_forward_naive(T* out, const T* inp, int N);
template <typename T>
void gelu_backward_naive(T* dinp, const T* inp, const T* dout, int N);

}  // namespace wiggle::kernels
