// SGD, AdamW and gradient clipping over Params' flat buffers, one kernel call per parameter (so
// each gets its own weight-decay group). float runs the fast kernels of kernels/adamw.h; double,
// used by tests, runs the naive AdamW and plain loops written the same way.
#include "tensor/optim.h"

#include <cmath>

#include "kernels/adamw.h"

namespace wiggle {

namespace k = kernels;

// ---- routing: float → fast kernels, double → reference loops ----------------------------------

static void sgd_update(float* p, float* buf, const float* g, int N, float lr, float momentum,
                       float wd) {
    k::sgd_update(p, buf, g, N, lr, momentum, wd);
}
static void sgd_update(double* p, double* buf, const double* g, int N, float lr, float momentum,
                       float wd) {
    for (int i = 0; i < N; ++i) {  // torch.optim.SGD: d = g + wd·p; buf = momentum·buf + d
        const double d = g[i] + double(wd) * p[i];
        buf[i] = double(momentum) * buf[i] + d;
        p[i] -= double(lr) * buf[i];
    }
}
static void adamw_update(float* p, float* m, float* v, const float* g, int N, float lr, float b1,
                         float b2, float eps, float wd, int t) {
    k::adamw_update(p, m, v, g, N, lr, b1, b2, eps, wd, t);
}
static void adamw_update(double* p, double* m, double* v, const double* g, int N, float lr,
                         float b1, float b2, float eps, float wd, int t) {
    k::adamw_update_naive(p, m, v, g, N, lr, b1, b2, eps, wd, t);
}
static double sum_squares(const float* x, int N) { return k::sum_squares(x, N); }
static double sum_squares(const double* x, int N) {
    double s = 0;
    for (int i = 0; i < N; ++i) s += x[i] * x[i];
    return s;
}
static void scale(float* x, float s, int N) { k::scale(x, s, N); }
static void scale(double* x, float s, int N) {
    for (int i = 0; i < N; ++i) x[i] *= double(s);
}

// ---- SGD ---------------------------------------------------------------------------------------

template <typename T>
Sgd<T>::Sgd(Params<T>& params, SgdConfig config)
    : params_(params), config_(config), momentum_(params.values().size(), T(0)) {}

template <typename T>
void Sgd<T>::step(float lr) {
    for (int id = 0; id < params_.count(); ++id) {
        const auto& s = params_.spec(id);
        const float wd = s.decay ? config_.weight_decay : 0.0f;
        sgd_update(params_.data(id), momentum_.data() + s.offset, params_.grad(id),
                   static_cast<int>(s.shape.numel()), lr, config_.momentum, wd);
    }
}

// ---- AdamW -------------------------------------------------------------------------------------

template <typename T>
AdamW<T>::AdamW(Params<T>& params, AdamWConfig config)
    : params_(params),
      config_(config),
      m_(params.values().size(), T(0)),
      v_(params.values().size(), T(0)) {}

template <typename T>
void AdamW<T>::step(float lr) {
    ++t_;
    for (int id = 0; id < params_.count(); ++id) {
        const auto& s = params_.spec(id);
        const float wd = s.decay ? config_.weight_decay : 0.0f;
        adamw_update(params_.data(id), m_.data() + s.offset, v_.data() + s.offset, params_.grad(id),
                     static_cast<int>(s.shape.numel()), lr, config_.beta1, config_.beta2,
                     config_.eps, wd, t_);
    }
}

// ---- clipping ----------------------------------------------------------------------------------

template <typename T>
double clip_grad_norm(Params<T>& params, double max_norm) {
    // The whole flat buffer at once: its padding is zeros, which add nothing.
    auto grads = params.grads();
    const int N = static_cast<int>(grads.size());
    const double norm = std::sqrt(sum_squares(grads.data(), N));
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale(grads.data(), static_cast<float>(coef), N);
    return norm;
}

template class Sgd<float>;
template class Sgd<double>;
template class AdamW<float>;
template class AdamW<double>;
template double clip_grad_norm(Params<float>&, double);
template double clip_grad_norm(Params<double>&, double);

}  // namespace wiggle
