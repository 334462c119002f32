// Stochastic gradient descent with momentum on Values (part 3), PyTorch's torch.optim.SGD rule:
//
//   v = momentum·v + grad        (v starts at zero, so the first step is plain SGD)
//   p = p - lr·v
//
// With momentum 0 it is micrograd's `p.data -= lr * p.grad`. The learning rate is passed to each
// step, so any schedule (util/schedule.h) can drive it. L2 weight decay is a term of the loss
// (loss.h, l2_penalty), not an option here, so that the gradient check covers it.
//
// reference: PyTorch torch/optim/sgd.py (nesterov=False, dampening=0).
#pragma once

#include <span>
#include <vector>

#include "scalar/value.h"

namespace wiggle {

class SGD {
  public:
    explicit SGD(std::span<const Value> params, double momentum = 0.0);
    void zero_grad() const;
    void step(double lr);
    double momentum() const { return momentum_; }

  private:
    std::vector<Value> params_;
    std::vector<double> velocity_;
    double momentum_;
};

}  // namespace wiggle
