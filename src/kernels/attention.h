// Fused causal multi-head self-attention, flash-style: softmax(q·kᵀ/√hs + causal mask)·v without
// ever storing the (T,T) attention matrix; only each row's log-sum-exp is kept for backward,
// which recomputes the probabilities (O(T²·hs) work, no O(T³) softmax backward).
// Legend: B batch, T time, C channels, NH heads, hs = C/NH head size.
// qkv (B,T,3C) holds q, k, v side by side in each row, as nanoGPT's c_attn produces them; head h
// of q is qkv[b,t, h·hs : (h+1)·hs], of k the same plus C, of v plus 2C.
// Dropout on the attention probabilities (nanoGPT's attn_dropout) is optional: with dropout > 0
// each probability is kept with probability 1−dropout (and scaled by 1/(1−dropout)) according to
// a counter-based hash of (seed, b, h, t_query, t_key), so backward recomputes the same mask.
// Parallel over (b, h): no sum is split across threads, so results are thread-count independent.
#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "kernels/grad_input.h"

namespace wiggle::kernels {

// out (B,T,C), lse (B,NH,T) from qkv (B,T,3C).
void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                       float dropout = 0.0f, uint64_t seed = 0);
// Accumulates dqkv (B,T,3C) from dout (B,T,C), given the forward's inputs and outputs
// (GradInput::Set: writes dqkv over what it held, as onto zeros).
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH, float dropout = 0.0f,
                        uint64_t seed = 0, GradInput into = GradInput::Add);

// The reference: materializes att (B,NH,T,T) = the post-softmax (and post-dropout) weights.
template <typename T>
void attention_forward_naive(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH,
                             float dropout = 0.0f, uint64_t seed = 0);
template <typename T>
void attention_backward_naive(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn,
                              int C, int NH, float dropout = 0.0f, uint64_t seed = 0);

// Mixed precision (train --dtype bf16): the same attention with its products on bf16 operands,
// summed in float by the bf16 gemm's arithmetic (matmul_bf16.h: pairs along the reduction, the
// odd product first, on vdpbf16ps or the portable path with the same bits; on AMX tiles, where
// the CPU has them, in the tiles order instead). Rounded to bf16: q, k, v
// (the caller's bf16 qkv), the unnormalized probabilities E∘mask before O = E·V (then / Σ E in
// float), dO, P∘mask and dS. In float: the scores, the softmax (max, exp, sums, lse), the dropout
// mask and scale, D = rowsum(dO∘O), the outputs and the gradients dqkv accumulates into.
//   forward:  S = Q·Kᵀ, O = bf16(E∘mask)·V / Σ E
//   backward: dP = dO·Vᵀ, dV += bf16(P∘mask)ᵀ·dO, dQ += bf16(dS)·K, dK += bf16(dS)ᵀ·Q
// The same dropout decisions as the float kernel (attention_dropout_keep). Bits: the same for any
// thread count, and on AVX-512 and AVX2 (WIGGLE_ISA=avx2: the portable gemm) unless AVX-512 runs
// the products on AMX (then AVX2 gives other bits; WIGGLE_AMX=0 keeps vdpbf16ps); the generic build
// (no fused multiply-add) differs in the softmax's last bits.
// out (B,T,C), lse (B,NH,T) from qkv (B,T,3C) in bf16.
void attention_forward_bf16(float* out, float* lse, const bf16* qkv, int B, int T, int C, int NH,
                            float dropout = 0.0f, uint64_t seed = 0);
// Accumulates dqkv (B,T,3C) from dout (B,T,C), given the forward's inputs and outputs
// (GradInput::Set as attention_backward's).
void attention_backward_bf16(float* dqkv, const float* dout, const bf16* qkv, const float* out,
                             const float* lse, int B, int T, int C, int NH, float dropout = 0.0f,
                             uint64_t seed = 0, GradInput into = GradInput::Add);
// The same on a chosen instruction set (tests compare the paths; isa must run on this CPU).
void attention_forward_bf16_isa(Isa isa, float* out, float* lse, const bf16* qkv, int B, int T,
                                int C, int NH, float dropout = 0.0f, uint64_t seed = 0);
void attention_backward_bf16_isa(Isa isa, float* dqkv, const float* dout, const bf16* qkv,
                                 const float* out, const float* lse, int B, int T, int C, int NH,
                                 float dropout = 0.0f, uint64_t seed = 0,
                                 GradInput into = GradInput::Add);
// The reference, in double on the same rounded operands (q, k, v, dO; E∘mask, P∘mask and dS
// rounded to bf16 from their values in double): materializes att (B,NH,T,T), the weights the
// forward applies (bf16(E∘mask) / Σ E); backward recomputes P and reads the forward's out for D.
void attention_forward_bf16_naive(double* out, double* att, const bf16* qkv, int B, int Tn, int C,
                                  int NH, float dropout = 0.0f, uint64_t seed = 0);
void attention_backward_bf16_naive(double* dqkv, const float* dout, const bf16* qkv,
                                   const float* out, int B, int Tn, int C, int NH,
                                   float dropout = 0.0f, uint64_t seed = 0);

// The keep/drop decision both implementations share: true if element (b,h,tq,tk) is kept.
bool attention_dropout_keep(uint64_t seed, int b, int h, int tq, int tk, float dropout);

}  // namespace wiggle::kernels
