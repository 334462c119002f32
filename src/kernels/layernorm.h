// Layer normalization over the last dimension (torch.nn.LayerNorm, eps = 1e-5).
// Legend: N rows (B·T tokens), C channels.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html
#pragma once

#include "kernels/bf16.h"

namespace wiggle::kernels {

constexpr float kLayerNormEps = 1e-5f;

// out (N,C) = (inp - mean) * rstd * weight + bias, saving mean (N) and rstd (N) for backward.
// bias may be null (nanoGPT's bias=False).
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C);
// The skip connection and the next layer norm in one pass: res (N,C) = a + b, then
// out = layernorm(res) as layernorm_forward computes it (bit for bit).
void residual_layernorm_forward(float* res, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C);
// The same with out rounded to bf16 (--dtype bf16, whose matmuls read only that copy): the float
// forms' out passed through to_bf16, bit for bit; mean, rstd and res as theirs.
void layernorm_forward(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C);
void residual_layernorm_forward(float* res, bf16* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C);
// Accumulates dinp (N,C), dweight (C), dbias (C; may be null) from dout (N,C).
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int N, int C);

template <typename T>
void layernorm_forward_naive(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                             int N, int C);
template <typename T>
void residual_layernorm_forward_naive(T* res, T* out, T* mean, T* rstd, const T* a, const T* b,
                                      const T* weight, const T* bias, int N, int C);
template <typename T>
void layernorm_backward_naive(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                              const T* weight, const T* mean, const T* rstd, int N, int C);

}  // namespace wiggle::kernels
