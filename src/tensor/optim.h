// Optimizers on Params' flat buffers: SGD with momentum and AdamW (decoupled weight decay, bias
// correction, decay only on the parameters added with decay = true), and gradient-norm clipping.
// The learning rate is passed to each step, so any schedule (util/schedule.h) drives it:
//
//   AdamW<float> opt(params, {.beta2 = 0.99f, .weight_decay = 0.1f});
//   clip_grad_norm(params, 1.0);
//   opt.step(schedule.at(step));
//
// The updates are the kernels of kernels/adamw.h (naive ones for Params<double>), so they match
// torch.optim.SGD / AdamW and torch.nn.utils.clip_grad_norm_.
#pragma once

#include <vector>

#include "tensor/params.h"

namespace wiggle {

struct SgdConfig {
    float momentum = 0.0f;      // torch.optim.SGD's, dampening 0, no Nesterov
    float weight_decay = 0.0f;  // L2 added to the gradient, on decay = true parameters only
};

template <typename T>
class Sgd {
  public:
    explicit Sgd(Params<T>& params, SgdConfig config = {});
    void step(float lr);

  private:
    Params<T>& params_;
    SgdConfig config_;
    std::vector<T> momentum_;  // one flat buffer, the layout of the parameters
};

struct AdamWConfig {
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.01f;  // torch.optim.AdamW's default; decay = false parameters get 0
};

template <typename T>
class AdamW {
  public:
    explicit AdamW(Params<T>& params, AdamWConfig config = {});
    void step(float lr);
    int steps() const { return t_; }
    // The moments, flat, in the layout of the parameters (for checkpoints).
    std::vector<T>& m() { return m_; }
    std::vector<T>& v() { return v_; }
    void set_steps(int t) { t_ = t; }

  private:
    Params<T>& params_;
    AdamWConfig config_;
    std::vector<T> m_, v_;
    int t_ = 0;  // steps taken
};

// Scales every gradient by max_norm / (norm + 1e-6) if the global L2 norm exceeds max_norm, as
// torch.nn.utils.clip_grad_norm_; returns the norm before clipping. The sum of squares runs in a
// fixed order, so the result does not depend on the thread count.
template <typename T>
double clip_grad_norm(Params<T>& params, double max_norm);

}  // namespace wiggle
