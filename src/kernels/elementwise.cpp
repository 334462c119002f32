// The shape-op kernels of elementwise.h: naive references (float and double) and fast float
// versions. The fast versions are the same arithmetic in the same order, restructured so that the
// inner loop is contiguous (and vectorizes) and threaded over independent outputs only, so they
// match the naive ones bit for bit whatever the thread count.
#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/elementwise_impl.h"

namespace wiggle::kernels {

// exp and tanh are vectorized (elementwise_impl.h, one build per instruction set): within a few
// ulp of the C library's, so unlike the other fast kernels these two match their naive twins to a
// tolerance, not bit for bit.
WIGGLE_ISA_DECLARE(void exp_map(float* out, const float* inp, int N))
WIGGLE_ISA_DECLARE(void tanh_map(float* out, const float* inp, int N))
static void exp_map(float* out, const float* inp, int N) { WIGGLE_DISPATCH(exp_map, out, inp, N); }
static void tanh_map(float* out, const float* inp, int N) {
    WIGGLE_DISPATCH(tanh_map, out, inp, N);
}

// Below this many elements a parallel region costs more than it saves.
constexpr long kParallelMin = 1L << 15;

// ----------------------------------------------------------------------------
// Binary ops with broadcasting

template <typename T>
static inline T binary_apply(Binary op, T a, T b) {
    switch (op) {
        case Binary::Add:
            return a + b;
        case Binary::Sub:
            return a - b;
        case Binary::Mul:
            return a * b;
        case Binary::Div:
            return a / b;
    }
    return T(0);
}

template <typename T>
void binary_forward_naive(T* out, const T* a, const T* b, Binary op, const Broadcast& bc) {
    const int* D = bc.dims;
    long o = 0;
    for (int i0 = 0; i0 < D[0]; ++i0)
        for (int i1 = 0; i1 < D[1]; ++i1)
            for (int i2 = 0; i2 < D[2]; ++i2)
                for (int i3 = 0; i3 < D[3]; ++i3, ++o) {
                    const long ia = i0 * bc.a_stride[0] + i1 * bc.a_stride[1] +
                                    i2 * bc.a_stride[2] + i3 * bc.a_stride[3];
                    const long ib = i0 * bc.b_stride[0] + i1 * bc.b_stride[1] +
                                    i2 * bc.b_stride[2] + i3 * bc.b_stride[3];
                    out[o] = binary_apply(op, a[ia], b[ib]);
                }
}

template <typename T>
void binary_backward_naive(T* da, T* db, const T* dout, const T* a, const T* b, Binary op,
                           const Broadcast& bc) {
    const int* D = bc.dims;
    long o = 0;
    for (int i0 = 0; i0 < D[0]; ++i0)
        for (int i1 = 0; i1 < D[1]; ++i1)
            for (int i2 = 0; i2 < D[2]; ++i2)
                for (int i3 = 0; i3 < D[3]; ++i3, ++o) {
                    const long ia = i0 * bc.a_stride[0] + i1 * bc.a_stride[1] +
                                    i2 * bc.a_stride[2] + i3 * bc.a_stride[3];
                    const long ib = i0 * bc.b_stride[0] + i1 * bc.b_stride[1] +
                                    i2 * bc.b_stride[2] + i3 * bc.b_stride[3];
                    const T g = dout[o];
                    switch (op) {
                        case Binary::Add:  // out = a + b
                            if (da) da[ia] += g;
                            if (db) db[ib] += g;
                            break;
                        case Binary::Sub:  // out = a - b
                            if (da) da[ia] += g;
                            if (db) db[ib] -= g;
                            break;
                        case Binary::Mul:  // out = a * b
                            if (da) da[ia] += g * b[ib];
                            if (db) db[ib] += g * a[ia];
                            break;
                        case Binary::Div:  // out = a / b
                            if (da) da[ia] += g / b[ib];
                            if (db) db[ib] -= g * a[ia] / (b[ib] * b[ib]);
                            break;
                    }
                }
}

// Merges neighbouring dimensions that both operands walk contiguously (or both skip), so that
// (B,T,C) + (C) becomes (B·T, C) + (C) and the inner loop is long. Traversal order is unchanged,
// so sums over broadcast dimensions happen in the same order as in the naive kernel.
static Broadcast collapse(const Broadcast& in) {
    Broadcast out{{1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    int n = 0;
    int dims[4];
    long as[4], bs[4];
    for (int i = 0; i < 4; ++i) {
        if (in.dims[i] == 1) continue;  // a size-1 dimension can be dropped
        if (n > 0 && as[n - 1] == in.a_stride[i] * in.dims[i] &&
            bs[n - 1] == in.b_stride[i] * in.dims[i]) {
            dims[n - 1] *= in.dims[i];
            as[n - 1] = in.a_stride[i];
            bs[n - 1] = in.b_stride[i];
            continue;
        }
        dims[n] = in.dims[i];
        as[n] = in.a_stride[i];
        bs[n] = in.b_stride[i];
        ++n;
    }
    for (int i = 0; i < n; ++i) {
        out.dims[4 - n + i] = dims[i];
        out.a_stride[4 - n + i] = as[i];
        out.b_stride[4 - n + i] = bs[i];
    }
    return out;
}

// One contiguous inner row of a binary op, specialized on whether each operand moves (stride 1)
// or stays (stride 0), so the common cases vectorize.
template <Binary OP>
static inline void binary_row(float* out, const float* a, const float* b, long as, long bs, int n) {
    if (as == 1 && bs == 1) {
        for (int i = 0; i < n; ++i) out[i] = binary_apply(OP, a[i], b[i]);
    } else if (as == 1 && bs == 0) {
        const float bv = b[0];
        for (int i = 0; i < n; ++i) out[i] = binary_apply(OP, a[i], bv);
    } else if (as == 0 && bs == 1) {
        const float av = a[0];
        for (int i = 0; i < n; ++i) out[i] = binary_apply(OP, av, b[i]);
    } else {
        for (int i = 0; i < n; ++i) out[i] = binary_apply(OP, a[i * as], b[i * bs]);
    }
}

template <Binary OP>
static void binary_forward_fast(float* out, const float* a, const float* b, const Broadcast& bc) {
    const int* D = bc.dims;
    const long rows = static_cast<long>(D[0]) * D[1] * D[2];
    const int n = D[3];
    parallel_for(rows, rows * n >= kParallelMin && rows > 1, [&](long r) {
        const int i2 = static_cast<int>(r % D[2]);
        const int i1 = static_cast<int>((r / D[2]) % D[1]);
        const int i0 = static_cast<int>(r / (static_cast<long>(D[2]) * D[1]));
        const long ia = i0 * bc.a_stride[0] + i1 * bc.a_stride[1] + i2 * bc.a_stride[2];
        const long ib = i0 * bc.b_stride[0] + i1 * bc.b_stride[1] + i2 * bc.b_stride[2];
        binary_row<OP>(out + r * n, a + ia, b + ib, bc.a_stride[3], bc.b_stride[3], n);
    });
}

void binary_forward(float* out, const float* a, const float* b, Binary op, const Broadcast& in) {
    const Broadcast bc = collapse(in);
    switch (op) {
        case Binary::Add:
            binary_forward_fast<Binary::Add>(out, a, b, bc);
            break;
        case Binary::Sub:
            binary_forward_fast<Binary::Sub>(out, a, b, bc);
            break;
        case Binary::Mul:
            binary_forward_fast<Binary::Mul>(out, a, b, bc);
            break;
        case Binary::Div:
            binary_forward_fast<Binary::Div>(out, a, b, bc);
            break;
    }
}

// The backward of one contiguous row; the order of accumulation into a broadcast operand is the
// naive kernel's (row by row, left to right).
static inline void binary_backward_row(float* da, float* db, const float* g, const float* a,
                                       const float* b, Binary op, long as, long bs, int n) {
    switch (op) {
        case Binary::Add:  // out = a + b
        case Binary::Sub:  // out = a - b
            if (da) {
                if (as == 1) {
                    for (int i = 0; i < n; ++i) da[i] += g[i];
                } else {
                    for (int i = 0; i < n; ++i) da[i * as] += g[i];
                }
            }
            if (db) {
                if (bs == 1 && op == Binary::Add) {
                    for (int i = 0; i < n; ++i) db[i] += g[i];
                } else if (bs == 1) {
                    for (int i = 0; i < n; ++i) db[i] -= g[i];
                } else if (op == Binary::Add) {
                    for (int i = 0; i < n; ++i) db[i * bs] += g[i];
                } else {
                    for (int i = 0; i < n; ++i) db[i * bs] -= g[i];
                }
            }
            break;
        case Binary::Mul:  // out = a * b
            if (da) {
                if (as == 1 && bs == 1) {
                    for (int i = 0; i < n; ++i) da[i] += g[i] * b[i];
                } else {
                    for (int i = 0; i < n; ++i) da[i * as] += g[i] * b[i * bs];
                }
            }
            if (db) {
                if (as == 1 && bs == 1) {
                    for (int i = 0; i < n; ++i) db[i] += g[i] * a[i];
                } else {
                    for (int i = 0; i < n; ++i) db[i * bs] += g[i] * a[i * as];
                }
            }
            break;
        case Binary::Div:  // out = a / b
            if (da) {
                for (int i = 0; i < n; ++i) da[i * as] += g[i] / b[i * bs];
            }
            if (db) {
                for (int i = 0; i < n; ++i)
                    db[i * bs] -= g[i] * a[i * as] / (b[i * bs] * b[i * bs]);
            }
            break;
    }
}

void binary_backward(float* da, float* db, const float* dout, const float* a, const float* b,
                     Binary op, const Broadcast& in) {
    const Broadcast bc = collapse(in);
    const int* D = bc.dims;
    const long rows = static_cast<long>(D[0]) * D[1] * D[2];
    const int n = D[3];
    // Threads only when no operand is broadcast: then every gradient element has one writer.
    bool broadcast = false;
    for (int i = 0; i < 4; ++i) {
        if (D[i] > 1 && (bc.a_stride[i] == 0 || bc.b_stride[i] == 0)) broadcast = true;
    }
    parallel_for(rows, !broadcast && rows * n >= kParallelMin && rows > 1, [&](long r) {
        const int i2 = static_cast<int>(r % D[2]);
        const int i1 = static_cast<int>((r / D[2]) % D[1]);
        const int i0 = static_cast<int>(r / (static_cast<long>(D[2]) * D[1]));
        const long ia = i0 * bc.a_stride[0] + i1 * bc.a_stride[1] + i2 * bc.a_stride[2];
        const long ib = i0 * bc.b_stride[0] + i1 * bc.b_stride[1] + i2 * bc.b_stride[2];
        binary_backward_row(da ? da + ia : nullptr, db ? db + ib : nullptr, dout + r * n, a + ia,
                            b + ib, op, bc.a_stride[3], bc.b_stride[3], n);
    });
}

// ----------------------------------------------------------------------------
// Unary maps

template <typename T>
static inline T unary_apply(Unary op, T x, float alpha) {
    switch (op) {
        case Unary::Exp:
            return std::exp(x);
        case Unary::Log:
            return std::log(x);
        case Unary::Tanh:
            return std::tanh(x);
        case Unary::Relu:
            return x > T(0) ? x : T(0);
        case Unary::Scale:
            return x * T(alpha);
    }
    return T(0);
}

// The local derivative times the incoming gradient g, from the input x and the output y.
template <typename T>
static inline T unary_grad(Unary op, T x, T y, T g, float alpha) {
    switch (op) {
        case Unary::Exp:
            return g * y;  // out = e^x
        case Unary::Log:
            return g / x;  // out = ln x
        case Unary::Tanh:
            return g * (T(1) - y * y);  // out = tanh x
        case Unary::Relu:
            return x > T(0) ? g : T(0);  // out = max(x, 0)
        case Unary::Scale:
            return g * T(alpha);  // out = alpha·x
    }
    return T(0);
}

template <typename T>
void unary_forward_naive(T* out, const T* inp, Unary op, float alpha, int N) {
    for (int i = 0; i < N; ++i) out[i] = unary_apply(op, inp[i], alpha);
}

template <typename T>
void unary_backward_naive(T* dinp, const T* inp, const T* out, const T* dout, Unary op, float alpha,
                          int N) {
    for (int i = 0; i < N; ++i) dinp[i] += unary_grad(op, inp[i], out[i], dout[i], alpha);
}

template <Unary OP>
static void unary_forward_fast(float* out, const float* inp, float alpha, int N) {
    parallel_for(N, N >= kParallelMin, [&](long i) { out[i] = unary_apply(OP, inp[i], alpha); });
}

template <Unary OP>
static void unary_backward_fast(float* dinp, const float* inp, const float* out, const float* dout,
                                float alpha, int N) {
    parallel_for(N, N >= kParallelMin,
                 [&](long i) { dinp[i] += unary_grad(OP, inp[i], out[i], dout[i], alpha); });
}

void unary_forward(float* out, const float* inp, Unary op, float alpha, int N) {
    switch (op) {
        case Unary::Exp:
            exp_map(out, inp, N);
            break;
        case Unary::Log:
            unary_forward_fast<Unary::Log>(out, inp, alpha, N);
            break;
        case Unary::Tanh:
            tanh_map(out, inp, N);
            break;
        case Unary::Relu:
            unary_forward_fast<Unary::Relu>(out, inp, alpha, N);
            break;
        case Unary::Scale:
            unary_forward_fast<Unary::Scale>(out, inp, alpha, N);
            break;
    }
}

void unary_backward(float* dinp, const float* inp, const float* out, const float* dout, Unary op,
                    float alpha, int N) {
    switch (op) {
        case Unary::Exp:
            unary_backward_fast<Unary::Exp>(dinp, inp, out, dout, alpha, N);
            break;
        case Unary::Log:
            unary_backward_fast<Unary::Log>(dinp, inp, out, dout, alpha, N);
            break;
        case Unary::Tanh:
            unary_backward_fast<Unary::Tanh>(dinp, inp, out, dout, alpha, N);
            break;
        case Unary::Relu:
            unary_backward_fast<Unary::Relu>(dinp, inp, out, dout, alpha, N);
            break;
        case Unary::Scale:
            unary_backward_fast<Unary::Scale>(dinp, inp, out, dout, alpha, N);
            break;
    }
}

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

// ----------------------------------------------------------------------------
// Accumulation

template <typename T>
void accumulate_naive(T* y, const T* x, long N) {
    for (long i = 0; i < N; ++i) y[i] += x[i];
}

void accumulate(float* y, const float* x, long N) {
    parallel_for(N, N >= kParallelMin, [&](long i) { y[i] += x[i]; });
}

template <typename T>
void zero(T* x, long N) {
    constexpr long kChunk = 1L << 16;
    auto chunk = [&](int item) {
        const long begin = item * kChunk;
        std::memset(x + begin, 0,
                    static_cast<size_t>(std::min(N, begin + kChunk) - begin) * sizeof(T));
    };
    parallel_items(static_cast<int>((N + kChunk - 1) / kChunk), N >= 2 * kChunk ? num_threads() : 1,
                   chunk);
}

// ----------------------------------------------------------------------------
// The naive kernels exist for float (the fast kernels' oracle) and double (the engine's double
// path, used by the gradient checks).

#define WIGGLE_ELEMENTWISE_INSTANTIATE(T)                                                       \
    template void binary_forward_naive<T>(T*, const T*, const T*, Binary, const Broadcast&);    \
    template void binary_backward_naive<T>(T*, T*, const T*, const T*, const T*, Binary,        \
                                           const Broadcast&);                                   \
    template void unary_forward_naive<T>(T*, const T*, Unary, float, int);                      \
    template void unary_backward_naive<T>(T*, const T*, const T*, const T*, Unary, float, int); \
    template void reduce_forward_naive<T>(T*, int*, const T*, Reduce, int, int, int);           \
    template void reduce_backward_naive<T>(T*, const T*, const int*, Reduce, int, int, int);    \
    template void permute_forward_naive<T>(T*, const T*, const int*, const int*);               \
    template void permute_backward_naive<T>(T*, const T*, const int*, const int*);              \
    template void slice_forward_naive<T>(T*, const T*, int, int, int, int, int);                \
    template void slice_backward_naive<T>(T*, const T*, int, int, int, int, int);               \
    template void concat_forward_naive<T>(T*, const T*, int, int, int, int, int);               \
    template void concat_backward_naive<T>(T*, const T*, int, int, int, int, int);              \
    template void masked_fill_forward_naive<T>(T*, const T*, const uint8_t*, float, int, int);  \
    template void masked_fill_backward_naive<T>(T*, const T*, const uint8_t*, int, int);        \
    template void accumulate_naive<T>(T*, const T*, long);                                      \
    template void zero<T>(T*, long);

WIGGLE_ELEMENTWISE_INSTANTIATE(float)
WIGGLE_ELEMENTWISE_INSTANTIATE(double)

}  // namespace wiggle::kernels
