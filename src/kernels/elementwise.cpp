// The elementwise kernels of elementwise.h (broadcast binary ops, unary maps, accumulation; the
// kernels that work along an axis are in elementwise_axes.cpp): naive references (float and
// double) and fast float versions. The fast versions are the same arithmetic in the same order,
// restructured so that the inner loop is contiguous (and vectorizes) and threaded over independent
// outputs only, so they match the naive ones bit for bit whatever the thread count.
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
    template void accumulate_naive<T>(T*, const T*, long);                                      \
    template void zero<T>(T*, long);

WIGGLE_ELEMENTWISE_INSTANTIATE(float)
WIGGLE_ELEMENTWISE_INSTANTIATE(double)

}  // namespace wiggle::kernels
