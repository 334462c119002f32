// Softmax, log-softmax and fused softmax + cross-entropy: the naive references (float and double)
// and the fast float kernels. Every row is independent, so threading over rows is deterministic.
// The fused cross-entropy never stores the probabilities: forward keeps only the loss, backward
// recomputes the row's log-sum-exp (llm.c's fused_classifier idea).
#include "kernels/softmax.h"

#include <cassert>
#include <cmath>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/softmax_impl.h"

namespace wiggle::kernels {

namespace {

// log Σ_v exp(x[v]), computed stably.
template <typename T>
T row_logsumexp(const T* x, int V) {
    T mx = x[0];
    for (int v = 1; v < V; ++v) mx = x[v] > mx ? x[v] : mx;
    T sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(x[v] - mx);
    return mx + std::log(sum);
}

}  // namespace

template <typename T>
void softmax_forward_naive(T* probs, const T* logits, int N, int V) {
    for (int n = 0; n < N; ++n) {
        const T* x = logits + static_cast<long>(n) * V;
        T* p = probs + static_cast<long>(n) * V;
        T mx = x[0];
        for (int v = 1; v < V; ++v) mx = x[v] > mx ? x[v] : mx;
        T sum = 0;
        for (int v = 0; v < V; ++v) {
            p[v] = std::exp(x[v] - mx);
            sum += p[v];
        }
        for (int v = 0; v < V; ++v) p[v] /= sum;
    }
}

template <typename T>
void softmax_backward_naive(T* dlogits, const T* probs, const T* dprobs, int N, int V) {
    // probs = softmax(logits): dlogits = probs ∘ (dprobs − Σ_v dprobs·probs).
    for (int n = 0; n < N; ++n) {
        const T* p = probs + static_cast<long>(n) * V;
        const T* dp = dprobs + static_cast<long>(n) * V;
        T* dx = dlogits + static_cast<long>(n) * V;
        T dot = 0;
        for (int v = 0; v < V; ++v) dot += dp[v] * p[v];
        for (int v = 0; v < V; ++v) dx[v] += p[v] * (dp[v] - dot);
    }
}

template <typename T>
void log_softmax_forward_naive(T* out, const T* logits, int N, int V) {
    for (int n = 0; n < N; ++n) {
        const T* x = logits + static_cast<long>(n) * V;
        T* o = out + static_cast<long>(n) * V;
        const T lse = row_logsumexp(x, V);
        for (int v = 0; v < V; ++v) o[v] = x[v] - lse;
    }
}

template <typename T>
void log_softmax_backward_naive(T* dlogits, const T* out, const T* dout, int N, int V) {
    // out = logits − lse: dlogits = dout − exp(out)·Σ_v dout.
    for (int n = 0; n < N; ++n) {
        const T* o = out + static_cast<long>(n) * V;
        const T* d = dout + static_cast<long>(n) * V;
        T* dx = dlogits + static_cast<long>(n) * V;
        T sum = 0;
        for (int v = 0; v < V; ++v) sum += d[v];
        for (int v = 0; v < V; ++v) dx[v] += d[v] - std::exp(o[v]) * sum;
    }
}

template <typename T>
void crossentropy_forward_naive(T* losses, const T* logits, const int* targets, int N, int V) {
    for (int n = 0; n < N; ++n) {
        const int y = targets[n];
        if (y < 0) {
            losses[n] = 0;
            continue;
        }
        assert(y < V);
        const T* x = logits + static_cast<long>(n) * V;
        losses[n] = row_logsumexp(x, V) - x[y];
    }
}

template <typename T>
void crossentropy_backward_naive(T* dlogits, const T* logits, const int* targets, const T* dlosses,
                                 int N, int V) {
    // losses[n] = lse − logits[n, y]: dlogits = (softmax − onehot(y))·dlosses[n].
    for (int n = 0; n < N; ++n) {
        const int y = targets[n];
        if (y < 0) continue;
        const T* x = logits + static_cast<long>(n) * V;
        T* dx = dlogits + static_cast<long>(n) * V;
        const T lse = row_logsumexp(x, V);
        for (int v = 0; v < V; ++v) {
            const T p = std::exp(x[v] - lse);
            dx[v] += (p - (v == y ? T(1) : T(0))) * dlosses[n];
        }
    }
}

#define WIGGLE_INSTANTIATE(T)                                                        \
    template void softmax_forward_naive<T>(T*, const T*, int, int);                  \
    template void softmax_backward_naive<T>(T*, const T*, const T*, int, int);       \
    template void log_softmax_forward_naive<T>(T*, const T*, int, int);              \
    template void log_softmax_backward_naive<T>(T*, const T*, const T*, int, int);   \
    template void crossentropy_forward_naive<T>(T*, const T*, const int*, int, int); \
    template void crossentropy_backward_naive<T>(T*, const T*, const int*, const T*, int, int);
WIGGLE_INSTANTIATE(float)
WIGGLE_INSTANTIATE(double)
#undef WIGGLE_INSTANTIATE

WIGGLE_ISA_DECLARE(void softmax_forward(float* probs, const float* logits, int N, int V))
WIGGLE_ISA_DECLARE(void softmax_backward(float* dlogits, const float* probs, const float* dprobs,
                                         int N, int V))
WIGGLE_ISA_DECLARE(void log_softmax_forward(float* out, const float* logits, int N, int V))
WIGGLE_ISA_DECLARE(void log_softmax_backward(float* dlogits, const float* out, const float* dout,
                                             int N, int V))
WIGGLE_ISA_DECLARE(void crossentropy_forward(float* losses, const float* logits, const int* targets,
                                             int N, int V))
WIGGLE_ISA_DECLARE(void crossentropy_backward(float* dlogits, const float* logits,
                                              const int* targets, const float* dlosses, int N,
                                              int V))

void softmax_forward(float* probs, const float* logits, int N, int V) {
    WIGGLE_DISPATCH(softmax_forward, probs, logits, N, V);
}
void softmax_backward(float* dlogits, const float* probs, const float* dprobs, int N, int V) {
    WIGGLE_DISPATCH(softmax_backward, dlogits, probs, dprobs, N, V);
}
void log_softmax_forward(float* out, const float* logits, int N, int V) {
    WIGGLE_DISPATCH(log_softmax_forward, out, logits, N, V);
}
void log_softmax_backward(float* dlogits, const float* out, const float* dout, int N, int V) {
    WIGGLE_DISPATCH(log_softmax_backward, dlogits, out, dout, N, V);
}
void crossentropy_forward(float* losses, const float* logits, const int* targets, int N, int V) {
    for (int n = 0; n < N; ++n) assert(targets[n] >= -1 && targets[n] < V);
    WIGGLE_DISPATCH(crossentropy_forward, losses, logits, targets, N, V);
}
void crossentropy_backward(float* dlogits, const float* logits, const int* targets,
                           const float* dlosses, int N, int V) {
    WIGGLE_DISPATCH(crossentropy_backward, dlogits, logits, targets, dlosses, N, V);
}

}  // namespace wiggle::kernels
