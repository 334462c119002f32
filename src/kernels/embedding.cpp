// Embedding gather / scatter-add and GPT's token + position encoder: the naive references (float
// and double) and the fast float kernels. The backward is deterministic without atomics: threads
// own disjoint column slices of the table and walk the lookups in order, so every table entry sums
// its uses in index order whatever the thread count.
#include "kernels/embedding.h"

#include <cassert>
#include <cstring>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/embedding_impl.h"

namespace wiggle::kernels {

template <typename T>
void embedding_forward_naive(T* out, const T* table, const int* ids, int N, int V, int C) {
    for (int n = 0; n < N; ++n) {
        assert(ids[n] >= 0 && ids[n] < V);
        (void)V;
        for (int c = 0; c < C; ++c)
            out[static_cast<long>(n) * C + c] = table[static_cast<long>(ids[n]) * C + c];
    }
}

template <typename T>
void embedding_backward_naive(T* dtable, const T* dout, const int* ids, int N, int V, int C) {
    // out[n] = table[ids[n]]  ⇒  dtable[ids[n]] += dout[n].
    (void)V;
    for (int n = 0; n < N; ++n) {
        for (int c = 0; c < C; ++c)
            dtable[static_cast<long>(ids[n]) * C + c] += dout[static_cast<long>(n) * C + c];
    }
}

template <typename T>
void encoder_forward_naive(T* out, const int* tokens, const T* wte, const T* wpe, int B, int T_,
                           int C) {
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < T_; ++t) {
            const long bt = static_cast<long>(b) * T_ + t;
            for (int c = 0; c < C; ++c) {
                out[bt * C + c] =
                    wte[static_cast<long>(tokens[bt]) * C + c] + wpe[static_cast<long>(t) * C + c];
            }
        }
    }
}

template <typename T>
void encoder_backward_naive(T* dwte, T* dwpe, const T* dout, const int* tokens, int B, int T_,
                            int C, int V) {
    // out[b,t] = wte[tokens[b,t]] + wpe[t]  ⇒  dwte[tokens[b,t]] += dout[b,t]; dwpe[t] +=
    // dout[b,t].
    (void)V;
    for (int b = 0; b < B; ++b) {
        for (int t = 0; t < T_; ++t) {
            const long bt = static_cast<long>(b) * T_ + t;
            for (int c = 0; c < C; ++c) {
                dwte[static_cast<long>(tokens[bt]) * C + c] += dout[bt * C + c];
                dwpe[static_cast<long>(t) * C + c] += dout[bt * C + c];
            }
        }
    }
}

#define WIGGLE_INSTANTIATE(T)                                                                  \
    template void embedding_forward_naive<T>(T*, const T*, const int*, int, int, int);         \
    template void embedding_backward_naive<T>(T*, const T*, const int*, int, int, int);        \
    template void encoder_forward_naive<T>(T*, const int*, const T*, const T*, int, int, int); \
    template void encoder_backward_naive<T>(T*, T*, const T*, const int*, int, int, int, int);
WIGGLE_INSTANTIATE(float)
WIGGLE_INSTANTIATE(double)
#undef WIGGLE_INSTANTIATE

WIGGLE_ISA_DECLARE(void embedding_forward(float* out, const float* table, const int* ids, int N,
                                          int C))
WIGGLE_ISA_DECLARE(void embedding_backward(float* dtable, const float* dout, const int* ids, int N,
                                           int C))
WIGGLE_ISA_DECLARE(void encoder_forward(float* out, const int* tokens, const float* wte,
                                        const float* wpe, int B, int T, int C))
WIGGLE_ISA_DECLARE(void encoder_backward(float* dwte, float* dwpe, const float* dout,
                                         const int* tokens, int B, int T, int C))

void embedding_forward(float* out, const float* table, const int* ids, int N, int V, int C) {
    for (int n = 0; n < N; ++n) assert(ids[n] >= 0 && ids[n] < V);
    (void)V;
    WIGGLE_DISPATCH(embedding_forward, out, table, ids, N, C);
}
void embedding_backward(float* dtable, const float* dout, const int* ids, int N, int V, int C) {
    (void)V;
    WIGGLE_DISPATCH(embedding_backward, dtable, dout, ids, N, C);
}
void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B,
                     int T, int C) {
    WIGGLE_DISPATCH(encoder_forward, out, tokens, wte, wpe, B, T, C);
}
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T,
                      int C, int V) {
    (void)V;
    WIGGLE_DISPATCH(encoder_backward, dwte, dwpe, dout, tokens, B, T, C);
}

}  // namespace wiggle::kernels
