// Layer normalization: the naive reference (float and double) and the fast float kernel.
// residual_layernorm_forward fuses the GPT's skip connection with the next layer norm. The fast
// kernel keeps the row in registers and is threaded over rows, with dweight/dbias summed per fixed
// chunk of rows so the result does not depend on the thread count.
// reference: llm.c train_gpt2.c layernorm_forward/backward.
#include "kernels/layernorm.h"

#include <cmath>
#include <vector>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/layernorm_impl.h"

namespace wiggle::kernels {

template <typename T>
void layernorm_forward_naive(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                             int N, int C) {
    for (int n = 0; n < N; ++n) {
        const T* x = inp + static_cast<long>(n) * C;
        T m = 0;
        for (int c = 0; c < C; ++c) m += x[c];
        m /= C;
        T v = 0;
        for (int c = 0; c < C; ++c) v += (x[c] - m) * (x[c] - m);
        v /= C;
        const T s = T(1) / std::sqrt(v + T(kLayerNormEps));
        T* o = out + static_cast<long>(n) * C;
        for (int c = 0; c < C; ++c) {
            o[c] = (x[c] - m) * s * weight[c] + (bias ? bias[c] : T(0));
        }
        mean[n] = m;
        rstd[n] = s;
    }
}

template <typename T>
void residual_layernorm_forward_naive(T* res, T* out, T* mean, T* rstd, const T* a, const T* b,
                                      const T* weight, const T* bias, int N, int C) {
    for (long i = 0; i < static_cast<long>(N) * C; ++i) res[i] = a[i] + b[i];
    layernorm_forward_naive(out, mean, rstd, res, weight, bias, N, C);
}

template <typename T>
void layernorm_backward_naive(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                              const T* weight, const T* mean, const T* rstd, int N, int C) {
    for (int n = 0; n < N; ++n) {
        const T* x = inp + static_cast<long>(n) * C;
        const T* d = dout + static_cast<long>(n) * C;
        T* dx = dinp + static_cast<long>(n) * C;
        // xhat = (x − mean)·rstd; out = xhat·w + b. dxhat = dout·w; then
        // dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)).
        T dnorm_mean = 0, dnorm_norm_mean = 0;
        for (int c = 0; c < C; ++c) {
            const T xhat = (x[c] - mean[n]) * rstd[n];
            const T dnorm = weight[c] * d[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * xhat;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        for (int c = 0; c < C; ++c) {
            const T xhat = (x[c] - mean[n]) * rstd[n];
            const T dnorm = weight[c] * d[c];
            if (dbias) dbias[c] += d[c];
            dweight[c] += xhat * d[c];
            dx[c] += (dnorm - dnorm_mean - xhat * dnorm_norm_mean) * rstd[n];
        }
    }
}

template void layernorm_forward_naive<float>(float*, float*, float*, const float*, const float*,
                                             const float*, int, int);
template void layernorm_forward_naive<double>(double*, double*, double*, const double*,
                                              const double*, const double*, int, int);
template void residual_layernorm_forward_naive<float>(float*, float*, float*, float*, const float*,
                                                      const float*, const float*, const float*, int,
                                                      int);
template void residual_layernorm_forward_naive<double>(double*, double*, double*, double*,
                                                       const double*, const double*, const double*,
                                                       const double*, int, int);
template void layernorm_backward_naive<float>(float*, float*, float*, const float*, const float*,
                                              const float*, const float*, const float*, int, int);
template void layernorm_backward_naive<double>(double*, double*, double*, const double*,
                                               const double*, const double*, const double*,
                                               const double*, int, int);

WIGGLE_ISA_DECLARE(void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                          const float* weight, const float* bias, int N, int C,
                                          float eps))
WIGGLE_ISA_DECLARE(void layernorm_forward(bf16* out, float* mean, float* rstd, const float* inp,
                                          const float* weight, const float* bias, int N, int C,
                                          float eps))
WIGGLE_ISA_DECLARE(void residual_layernorm_forward(float* res, float* out, float* mean, float* rstd,
                                                   const float* a, const float* b,
                                                   const float* weight, const float* bias, int N,
                                                   int C, float eps))
WIGGLE_ISA_DECLARE(void residual_layernorm_forward(float* res, bf16* out, float* mean, float* rstd,
                                                   const float* a, const float* b,
                                                   const float* weight, const float* bias, int N,
                                                   int C, float eps))
WIGGLE_ISA_DECLARE(void layernorm_backward(float* dinp, float* dweight, float* dbias,
                                           const float* dout, const float* inp, const float* weight,
                                           const float* mean, const float* rstd, int N, int C,
                                           int rows_per_chunk, float* scratch))

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C) {
    WIGGLE_DISPATCH(layernorm_forward, out, mean, rstd, inp, weight, bias, N, C, kLayerNormEps);
}
void layernorm_forward(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C) {
    WIGGLE_DISPATCH(layernorm_forward, out, mean, rstd, inp, weight, bias, N, C, kLayerNormEps);
}

void residual_layernorm_forward(float* res, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C) {
    WIGGLE_DISPATCH(residual_layernorm_forward, res, out, mean, rstd, a, b, weight, bias, N, C,
                    kLayerNormEps);
}
void residual_layernorm_forward(float* res, bf16* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N,
                                int C) {
    WIGGLE_DISPATCH(residual_layernorm_forward, res, out, mean, rstd, a, b, weight, bias, N, C,
                    kLayerNormEps);
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int N, int C) {
    // At most 32 chunks of rows, sized by N alone (never by the thread count), for dweight/dbias.
    constexpr int kMaxChunks = 32;
    const int rows_per_chunk = N < kMaxChunks ? 1 : (N + kMaxChunks - 1) / kMaxChunks;
    const int chunks = N == 0 ? 0 : (N + rows_per_chunk - 1) / rows_per_chunk;
    // Scratch grows once and is reused (no allocation per call in steady state).
    thread_local std::vector<float> scratch;
    const size_t need = 2 * static_cast<size_t>(C) * static_cast<size_t>(chunks);
    if (scratch.size() < need) scratch.resize(need);
    WIGGLE_DISPATCH(layernorm_backward, dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C,
                    rows_per_chunk, scratch.data());
}

}  // namespace wiggle::kernels
