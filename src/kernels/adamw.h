// Optimizer updates on flat buffers (parameters, gradients and moments side by side).
// Legend: N parameters.
#pragma once

namespace wiggle::kernels {

// AdamW (torch.optim.AdamW): decoupled weight decay, bias-corrected moments; t is the 1-based
// step number. Updates params, m, v in place over N elements.
void adamw_update(float* params, float* m, float* v, const float* grads, int N, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t);
template <typename T>
void adamw_update_naive(T* params, T* m, T* v, const T* grads, int N, float lr, float beta1,
                        float beta2, float eps, float weight_decay, int t);

// SGD with momentum (torch.optim.SGD, dampening 0): buf = momentum·buf + grad (+ wd·param);
// param −= lr·buf.
void sgd_update(float* params, float* momentum_buf, const float* grads, int N, float lr,
                float momentum, float weight_decay);

// Σ grads² over N elements, summed in a fixed order (fixed-size chunks, then the chunk sums in
// index order), so the result does not depend on the thread count. For gradient-norm clipping.
double sum_squares(const float* x, int N);
// Its parts: partial[c] = Σ x² over chunk c of kSumSquaresChunk elements (the last may be shorter),
// so that an array cut at chunk boundaries (the shards of a data-parallel run) gives the same
// parts, and adding every part in order gives sum_squares' bits.
constexpr int kSumSquaresChunk = 8192;
void sum_squares_chunks(double* partial, const float* x, int N);

// x (N) *= s.
void scale(float* x, float s, int N);

}  // namespace wiggle::kernels
