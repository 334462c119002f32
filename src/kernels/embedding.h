// Embedding lookup (gather) and its backward (scatter-add), plus GPT's token + position encoder.
// Legend: N lookups, V rows in the table, C channels; B batch, T time.
#pragma once

namespace wiggle::kernels {

// out (N,C) = table[ids[n]] (V,C).
void embedding_forward(float* out, const float* table, const int* ids, int N, int V, int C);
// Accumulates dtable[ids[n]] += dout[n]. Deterministic: each table row sums its uses in order.
void embedding_backward(float* dtable, const float* dout, const int* ids, int N, int V, int C);

// GPT's input: out (B,T,C) = wte[tokens[b,t]] + wpe[t].
void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B,
                     int T, int C);
// Accumulates dwte (V,C) and dwpe (T,C) from dout (B,T,C).
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T,
                      int C, int V);

template <typename T>
void embedding_forward_naive(T* out, const T* table, const int* ids, int N, int V, int C);
template <typename T>
void embedding_backward_naive(T* dtable, const T* dout, const int* ids, int N, int V, int C);
template <typename T>
void encoder_forward_naive(T* out, const int* tokens, const T* wte, const T* wpe, int B, int T_,
                           int C);
template <typename T>
void encoder_backward_naive(T* dwte, T* dwpe, const T* dout, const int* tokens, int B, int T_,
                            int C, int V);

}  // namespace wiggle::kernels
