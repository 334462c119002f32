// SGD with momentum; see optim.h.
#include "scalar/optim.h"

#include "util/check.h"

namespace wiggle {

SGD::SGD(std::span<const Value> params, double momentum)
    : params_(params.begin(), params.end()), velocity_(params.size(), 0.0), momentum_(momentum) {
    WIGGLE_CHECK(momentum >= 0.0 && momentum < 1.0, "use a momentum in [0, 1), e.g. 0.9",
                 "SGD momentum must be in [0, 1), got {}", momentum);
}

void SGD::zero_grad() const {
    for (const Value& p : params_) p.grad() = 0.0;
}

void SGD::step(double lr) {
    for (size_t i = 0; i < params_.size(); ++i) {
        velocity_[i] = momentum_ * velocity_[i] + params_[i].grad();
        params_[i].data() -= lr * velocity_[i];
    }
}

}  // namespace wiggle
