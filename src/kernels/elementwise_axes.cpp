// The kernels of elementwise.h that work along an axis: reductions, permute, slices and
// concatenation pieces, masked fill (the maps and broadcast binary ops are in elementwise.cpp).
// Naive references (float and double) and fast float versions, the same arithmetic in the same
// order with contiguous inner loops, threaded over independent outputs only: they match bit for
// bit whatever the thread count.
#include <algorithm>
#include <cstring>

#include "kernels/cpu.h"
#include "kernels/elementwise.h"

namespace wiggle::kernels {

// Below this many elements a parallel region costs more than it saves.
constexpr long kParallelMin = 1L << 15;

// ----------------------------------------------------------------------------
// Reductions along the middle axis of (outer, n, inner)

template <typename T>
void reduce_forward_naive(T* out, int* argmax, const T* inp, Reduce op, int outer, int n,
                          int inner) {
    for (int o = 0; o < outer; ++o) {
        for (int i = 0; i < inner; ++i) {
            const T* x = inp + static_cast<long>(o) * n * inner + i;
            if (op == Reduce::Max) {
                T best = x[0];
                int at = 0;
                for (int k = 1; k < n; ++k) {
                    if (x[static_cast<long>(k) * inner] > best) {
                        best = x[static_cast<long>(k) * inner];
                        at = k;
                    }
                }
                out[static_cast<long>(o) * inner + i] = best;
                argmax[static_cast<long>(o) * inner + i] = at;
            } else {
                T sum = 0;
                for (int k = 0; k < n; ++k) sum += x[static_cast<long>(k) * inner];
                out[static_cast<long>(o) * inner + i] = op == Reduce::Mean ? sum / T(n) : sum;
            }
        }
    }
}

template <typename T>
void reduce_backward_naive(T* dinp, const T* dout, const int* argmax, Reduce op, int outer, int n,
                           int inner) {
    for (int o = 0; o < outer; ++o) {
        for (int i = 0; i < inner; ++i) {
            const long oi = static_cast<long>(o) * inner + i;
            T* dx = dinp + static_cast<long>(o) * n * inner + i;
            if (op == Reduce::Max) {  // out = x[argmax]
                dx[static_cast<long>(argmax[oi]) * inner] += dout[oi];
            } else {  // out = Σ_k x[k] (÷ n for the mean)
                const T g = op == Reduce::Mean ? dout[oi] / T(n) : dout[oi];
                for (int k = 0; k < n; ++k) dx[static_cast<long>(k) * inner] += g;
            }
        }
    }
}

void reduce_forward(float* out, int* argmax, const float* inp, Reduce op, int outer, int n,
                    int inner) {
    const long total = static_cast<long>(outer) * n * inner;
    parallel_for(outer, total >= kParallelMin && outer > 1, [&](long o) {
        const float* x = inp + static_cast<long>(o) * n * inner;
        float* y = out + static_cast<long>(o) * inner;
        if (inner == 1) {  // a contiguous row
            if (op == Reduce::Max) {
                float best = x[0];
                int at = 0;
                for (int k = 1; k < n; ++k) {
                    if (x[k] > best) {
                        best = x[k];
                        at = k;
                    }
                }
                y[0] = best;
                argmax[o] = at;
            } else {
                float sum = 0;
                for (int k = 0; k < n; ++k) sum += x[k];
                y[0] = op == Reduce::Mean ? sum / float(n) : sum;
            }
            return;
        }
        // Rows of length inner, combined one after another: every output still sums its column
        // in index order, as the naive kernel does, but the inner loop is contiguous.
        int* am = argmax ? argmax + static_cast<long>(o) * inner : nullptr;
        if (op == Reduce::Max) {
            for (int i = 0; i < inner; ++i) {
                y[i] = x[i];
                am[i] = 0;
            }
            for (int k = 1; k < n; ++k) {
                const float* xk = x + static_cast<long>(k) * inner;
                for (int i = 0; i < inner; ++i) {
                    if (xk[i] > y[i]) {
                        y[i] = xk[i];
                        am[i] = k;
                    }
                }
            }
        } else {
            for (int i = 0; i < inner; ++i) y[i] = 0;
            for (int k = 0; k < n; ++k) {
                const float* xk = x + static_cast<long>(k) * inner;
                for (int i = 0; i < inner; ++i) y[i] += xk[i];
            }
            if (op == Reduce::Mean) {
                for (int i = 0; i < inner; ++i) y[i] /= float(n);
            }
        }
    });
}

void reduce_backward(float* dinp, const float* dout, const int* argmax, Reduce op, int outer, int n,
                     int inner) {
    const long total = static_cast<long>(outer) * n * inner;
    parallel_for(outer, total >= kParallelMin && outer > 1, [&](long o) {
        float* dx = dinp + static_cast<long>(o) * n * inner;
        const float* g = dout + static_cast<long>(o) * inner;
        if (op == Reduce::Max) {  // out = x[argmax]
            const int* am = argmax + static_cast<long>(o) * inner;
            for (int i = 0; i < inner; ++i) dx[static_cast<long>(am[i]) * inner + i] += g[i];
            return;
        }
        // out = Σ_k x[k] (÷ n for the mean)
        for (int k = 0; k < n; ++k) {
            float* dxk = dx + static_cast<long>(k) * inner;
            if (op == Reduce::Mean) {
                for (int i = 0; i < inner; ++i) dxk[i] += g[i] / float(n);
            } else {
                for (int i = 0; i < inner; ++i) dxk[i] += g[i];
            }
        }
    });
}

// ----------------------------------------------------------------------------
// Permute

// Strides of inp read in the order of out's dimensions.
static void permuted_strides(long* src, int* odims, const int dims[4], const int perm[4]) {
    long stride[4];
    stride[3] = 1;
    for (int i = 2; i >= 0; --i) stride[i] = stride[i + 1] * dims[i + 1];
    for (int i = 0; i < 4; ++i) {
        src[i] = stride[perm[i]];
        odims[i] = dims[perm[i]];
    }
}

template <typename T>
void permute_forward_naive(T* out, const T* inp, const int dims[4], const int perm[4]) {
    long s[4];
    int d[4];
    permuted_strides(s, d, dims, perm);
    long o = 0;
    for (int i0 = 0; i0 < d[0]; ++i0)
        for (int i1 = 0; i1 < d[1]; ++i1)
            for (int i2 = 0; i2 < d[2]; ++i2)
                for (int i3 = 0; i3 < d[3]; ++i3) {
                    out[o++] = inp[i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]];
                }
}

template <typename T>
void permute_backward_naive(T* dinp, const T* dout, const int dims[4], const int perm[4]) {
    long s[4];
    int d[4];
    permuted_strides(s, d, dims, perm);
    long o = 0;
    for (int i0 = 0; i0 < d[0]; ++i0)
        for (int i1 = 0; i1 < d[1]; ++i1)
            for (int i2 = 0; i2 < d[2]; ++i2)
                for (int i3 = 0; i3 < d[3]; ++i3) {
                    // forward: out[o] = inp[i0·s0 + i1·s1 + i2·s2 + i3·s3]
                    dinp[i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]] += dout[o++];
                }
}

// A permutation is a bijection, so every element has one writer in both directions: threads split
// the output's rows (forward) or the rows of dout (backward) freely.
void permute_forward(float* out, const float* inp, const int dims[4], const int perm[4]) {
    long s[4];
    int d[4];
    permuted_strides(s, d, dims, perm);
    const long rows = static_cast<long>(d[0]) * d[1] * d[2];
    parallel_for(rows, rows * d[3] >= kParallelMin && rows > 1, [&](long r) {
        const int i2 = static_cast<int>(r % d[2]);
        const int i1 = static_cast<int>((r / d[2]) % d[1]);
        const int i0 = static_cast<int>(r / (static_cast<long>(d[2]) * d[1]));
        const float* x = inp + i0 * s[0] + i1 * s[1] + i2 * s[2];
        float* y = out + r * d[3];
        if (s[3] == 1) {
            std::memcpy(y, x, sizeof(float) * d[3]);
        } else {
            for (int i3 = 0; i3 < d[3]; ++i3) y[i3] = x[i3 * s[3]];
        }
    });
}

void permute_backward(float* dinp, const float* dout, const int dims[4], const int perm[4]) {
    long s[4];
    int d[4];
    permuted_strides(s, d, dims, perm);
    const long rows = static_cast<long>(d[0]) * d[1] * d[2];
    parallel_for(rows, rows * d[3] >= kParallelMin && rows > 1, [&](long r) {
        const int i2 = static_cast<int>(r % d[2]);
        const int i1 = static_cast<int>((r / d[2]) % d[1]);
        const int i0 = static_cast<int>(r / (static_cast<long>(d[2]) * d[1]));
        float* dx = dinp + i0 * s[0] + i1 * s[1] + i2 * s[2];
        const float* g = dout + r * d[3];
        for (int i3 = 0; i3 < d[3]; ++i3) dx[i3 * s[3]] += g[i3];
    });
}

// ----------------------------------------------------------------------------
// Slices and concatenation pieces

template <typename T>
void slice_forward_naive(T* out, const T* inp, int outer, int n, int inner, int start, int len) {
    for (int o = 0; o < outer; ++o)
        for (int k = 0; k < len; ++k)
            for (int i = 0; i < inner; ++i)
                out[(static_cast<long>(o) * len + k) * inner + i] =
                    inp[(static_cast<long>(o) * n + start + k) * inner + i];
}

template <typename T>
void slice_backward_naive(T* dinp, const T* dout, int outer, int n, int inner, int start, int len) {
    for (int o = 0; o < outer; ++o)
        for (int k = 0; k < len; ++k)
            for (int i = 0; i < inner; ++i)
                dinp[(static_cast<long>(o) * n + start + k) * inner + i] +=
                    dout[(static_cast<long>(o) * len + k) * inner + i];
}

template <typename T>
void concat_forward_naive(T* out, const T* part, int outer, int n, int inner, int start, int len) {
    for (int o = 0; o < outer; ++o)
        for (int k = 0; k < len; ++k)
            for (int i = 0; i < inner; ++i)
                out[(static_cast<long>(o) * n + start + k) * inner + i] =
                    part[(static_cast<long>(o) * len + k) * inner + i];
}

template <typename T>
void concat_backward_naive(T* dpart, const T* dout, int outer, int n, int inner, int start,
                           int len) {
    for (int o = 0; o < outer; ++o)
        for (int k = 0; k < len; ++k)
            for (int i = 0; i < inner; ++i)
                dpart[(static_cast<long>(o) * len + k) * inner + i] +=
                    dout[(static_cast<long>(o) * n + start + k) * inner + i];
}

// The fast versions move one contiguous block of len·inner elements per outer row.
void slice_forward(float* out, const float* inp, int outer, int n, int inner, int start, int len) {
    const long block = static_cast<long>(len) * inner;
    parallel_for(outer, outer * block >= kParallelMin && outer > 1, [&](long o) {
        std::memcpy(out + o * block, inp + (static_cast<long>(o) * n + start) * inner,
                    sizeof(float) * block);
    });
}

void slice_backward(float* dinp, const float* dout, int outer, int n, int inner, int start,
                    int len) {
    const long block = static_cast<long>(len) * inner;
    parallel_for(outer, outer * block >= kParallelMin && outer > 1, [&](long o) {
        float* dx = dinp + (static_cast<long>(o) * n + start) * inner;
        const float* g = dout + o * block;
        for (long i = 0; i < block; ++i) dx[i] += g[i];
    });
}

void concat_forward(float* out, const float* part, int outer, int n, int inner, int start,
                    int len) {
    const long block = static_cast<long>(len) * inner;
    parallel_for(outer, outer * block >= kParallelMin && outer > 1, [&](long o) {
        std::memcpy(out + (static_cast<long>(o) * n + start) * inner, part + o * block,
                    sizeof(float) * block);
    });
}

void concat_backward(float* dpart, const float* dout, int outer, int n, int inner, int start,
                     int len) {
    const long block = static_cast<long>(len) * inner;
    parallel_for(outer, outer * block >= kParallelMin && outer > 1, [&](long o) {
        float* dp = dpart + o * block;
        const float* g = dout + (static_cast<long>(o) * n + start) * inner;
        for (long i = 0; i < block; ++i) dp[i] += g[i];
    });
}

// ----------------------------------------------------------------------------
// Masked fill

template <typename T>
void masked_fill_forward_naive(T* out, const T* inp, const uint8_t* mask, float value, int outer,
                               int inner) {
    for (long o = 0; o < outer; ++o)
        for (int i = 0; i < inner; ++i)
            out[o * inner + i] = mask[i] ? T(value) : inp[o * inner + i];
}

template <typename T>
void masked_fill_backward_naive(T* dinp, const T* dout, const uint8_t* mask, int outer, int inner) {
    for (long o = 0; o < outer; ++o)
        for (int i = 0; i < inner; ++i)
            if (!mask[i]) dinp[o * inner + i] += dout[o * inner + i];  // out = inp where unmasked
}

void masked_fill_forward(float* out, const float* inp, const uint8_t* mask, float value, int outer,
                         int inner) {
    parallel_for(outer, static_cast<long>(outer) * inner >= kParallelMin, [&](long o) {
        const float* x = inp + static_cast<long>(o) * inner;
        float* y = out + static_cast<long>(o) * inner;
        for (int i = 0; i < inner; ++i) y[i] = mask[i] ? value : x[i];
    });
}

void masked_fill_backward(float* dinp, const float* dout, const uint8_t* mask, int outer,
                          int inner) {
    parallel_for(outer, static_cast<long>(outer) * inner >= kParallelMin, [&](long o) {
        float* dx = dinp + static_cast<long>(o) * inner;
        const float* g = dout + static_cast<long>(o) * inner;
        for (int i = 0; i < inner; ++i) dx[i] += mask[i] ? 0.0f : g[i];
    });
}

// The naive kernels exist for float (the fast kernels' oracle) and double (the engine's double
// path, used by the gradient checks).
#define WIGGLE_AXES_INSTANTIATE(T)                                                             \
    template void reduce_forward_naive<T>(T*, int*, const T*, Reduce, int, int, int);          \
    template void reduce_backward_naive<T>(T*, const T*, const int*, Reduce, int, int, int);   \
    template void permute_forward_naive<T>(T*, const T*, const int*, const int*);              \
    template void permute_backward_naive<T>(T*, const T*, const int*, const int*);             \
    template void slice_forward_naive<T>(T*, const T*, int, int, int, int, int);               \
    template void slice_backward_naive<T>(T*, const T*, int, int, int, int, int);              \
    template void concat_forward_naive<T>(T*, const T*, int, int, int, int, int);              \
    template void concat_backward_naive<T>(T*, const T*, int, int, int, int, int);             \
    template void masked_fill_forward_naive<T>(T*, const T*, const uint8_t*, float, int, int); \
    template void masked_fill_backward_naive<T>(T*, const T*, const uint8_t*, int, int);

WIGGLE_AXES_INSTANTIATE(float)
WIGGLE_AXES_INSTANTIATE(double)

}  // namespace wiggle::kernels
