// Softmax, log-softmax and the fused softmax + cross-entropy of a classifier's logits.
// Legend: N rows (B·T positions), V columns (vocabulary size).
// All are computed stably (the row's max is subtracted first): logits of ±1000 are fine.
#pragma once

namespace wiggle::kernels {

// probs (N,V) = softmax(logits (N,V)) along V.
void softmax_forward(float* probs, const float* logits, int N, int V);
// Accumulates dlogits (N,V) += probs ∘ (dprobs − Σ_v dprobs·probs).
void softmax_backward(float* dlogits, const float* probs, const float* dprobs, int N, int V);

// out (N,V) = log_softmax(logits) along V.
void log_softmax_forward(float* out, const float* logits, int N, int V);
// Accumulates dlogits += dout − softmax · Σ_v dout.
void log_softmax_backward(float* dlogits, const float* out, const float* dout, int N, int V);

// losses (N) = −log softmax(logits)[n, targets[n]]. A target of −1 is ignored (loss 0), like
// PyTorch's ignore_index=-1. The softmax is never stored: backward recomputes it.
void crossentropy_forward(float* losses, const float* logits, const int* targets, int N, int V);
// Accumulates dlogits (N,V) += (softmax(logits) − onehot(target)) · dlosses[n].
void crossentropy_backward(float* dlogits, const float* logits, const int* targets,
                           const float* dlosses, int N, int V);

template <typename T>
void softmax_forward_naive(T* probs, const T* logits, int N, int V);
template <typename T>
void softmax_backward_naive(T* dlogits, const T* probs, const T* dprobs, int N, int V);
template <typename T>
void log_softmax_forward_naive(T* out, const T* logits, int N, int V);
template <typename T>
void log_softmax_backward_naive(T* dlogits, const T* out, const T* dout, int N, int V);
template <typename T>
void crossentropy_forward_naive(T* losses, const T* logits, const int* targets, int N, int V);
template <typename T>
void crossentropy_backward_naive(T* dlogits, const T* logits, const int* targets, const T* dlosses,
                                 int N, int V);

}  // namespace wiggle::kernels
