// GELU in its two forms, chosen by the model's configuration:
//   Erf  (PyTorch's nn.GELU(), nanoGPT's):  gelu(x) = x · Φ(x) = ½·x·(1 + erf(x/√2))
//   Tanh (GPT-2's "gelu_new", llm.c's):     gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
// Legend: N elements.
#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/grad_input.h"

namespace wiggle::kernels {

enum class GeluForm : uint8_t { Erf, Tanh };

void gelu_forward(float* out, const float* inp, int N, GeluForm form = GeluForm::Erf);
// Accumulates dinp (N) += gelu'(inp) · dout (GradInput::Set: dinp = gelu'(inp) · dout).
void gelu_backward(float* dinp, const float* inp, const float* dout, int N,
                   GeluForm form = GeluForm::Erf, GradInput into = GradInput::Add);
// The same on bf16 operands (--dtype bf16's MLP, nn/gpt_model.cpp): inp widened exactly and out
// rounded to the nearest bf16, so each is gelu_forward / gelu_backward of float on to_float(inp)
// with the same bits, in one pass over the half-size buffers (the forward by lookup in a table of
// all 65,536 bf16 inputs' outputs: gelu_impl.h).
void gelu_forward(bf16* out, const bf16* inp, int N, GeluForm form = GeluForm::Erf);
void gelu_backward(float* dinp, const bf16* inp, const float* dout, int N,
                   GeluForm form = GeluForm::Erf, GradInput into = GradInput::Add);
// dinp16 (N) = to_bf16(gelu'(inp) · dout): GradInput::Set's gradient rounded as to_bf16 rounds it,
// the same bits as to_bf16 of the float one, for a gradient that only bf16 products read (the
// MLP's c_fc without a bias under --dtype bf16: no float copy written, none converted after).
void gelu_backward(bf16* dinp16, const bf16* inp, const float* dout, int N,
                   GeluForm form = GeluForm::Erf);

template <typename T>
void gelu_forward_naive(T* out, const T* inp, int N, GeluForm form = GeluForm::Erf);
template <typename T>
void gelu_backward_naive(T* dinp, const T* inp, const T* dout, int N,
                         GeluForm form = GeluForm::Erf);

}  // namespace wiggle::kernels
