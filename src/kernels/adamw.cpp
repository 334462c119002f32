// Optimizer updates on flat buffers: the naive AdamW reference (float and double) and the fast
// float kernels (one pass, bias corrections hoisted, threaded over fixed chunks), SGD with
// momentum, a thread-count independent sum of squares for gradient clipping, and scale.
// reference: torch.optim.AdamW / torch.optim.SGD (single-tensor, non-foreach semantics).
#include "kernels/adamw.h"

#include <cmath>
#include <vector>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/adamw_impl.h"

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

WIGGLE_ISA_DECLARE(void adamw_update(float* params, float* m, float* v, const float* grads, int N,
                                     float beta1, float beta2, float eps, float decay, float step,
                                     float inv_bc2_sqrt))
WIGGLE_ISA_DECLARE(void sgd_update(float* params, float* momentum_buf, const float* grads, int N,
                                   float lr, float momentum, float weight_decay))
WIGGLE_ISA_DECLARE(void sum_squares_chunks(double* partial, const float* x, int N))
WIGGLE_ISA_DECLARE(void scale(float* x, float s, int N))

void adamw_update(float* params, float* m, float* v, const float* grads, int N, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t) {
    // The bias corrections, once per call (in double, then rounded once).
    const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
    const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
    const float decay = 1.0f - lr * weight_decay;
    const float step = static_cast<float>(lr / bc1);
    const float inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
    WIGGLE_DISPATCH(adamw_update, params, m, v, grads, N, beta1, beta2, eps, decay, step,
                    inv_bc2_sqrt);
}

void sgd_update(float* params, float* momentum_buf, const float* grads, int N, float lr,
                float momentum, float weight_decay) {
    WIGGLE_DISPATCH(sgd_update, params, momentum_buf, grads, N, lr, momentum, weight_decay);
}

void sum_squares_chunks(double* partial, const float* x, int N) {
    WIGGLE_DISPATCH(sum_squares_chunks, partial, x, N);
}

double sum_squares(const float* x, int N) {
    thread_local std::vector<double> partial;
    const size_t chunks = (static_cast<size_t>(N) + kSumSquaresChunk - 1) / kSumSquaresChunk;
    if (partial.size() < chunks) partial.resize(chunks);
    sum_squares_chunks(partial.data(), x, N);
    double s = 0.0;
    for (size_t c = 0; c < chunks; ++c) s += partial[c];
    return s;
}

void scale(float* x, float s, int N) { WIGGLE_DISPATCH(scale, x, s, N); }

}  // namespace wiggle::kernels
