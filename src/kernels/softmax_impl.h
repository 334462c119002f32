// The vectorized softmax, log-softmax and fused cross-entropy, compiled once per instruction set
// by softmax.cpp (portable), softmax_avx2.cpp and softmax_avx512.cpp. Rows are independent and
// each row's sums run in a fixed order, so threading over rows cannot change a bit.
#pragma once

#include <cmath>

#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace softmax_detail {

constexpr long kParallelMin = 1 << 14;  // elements; below this one thread is faster

inline float row_max(const float* x, int V) {
    vf m = vset1(-INFINITY);
    int v = 0;
    for (; v + kW <= V; v += kW) m = vmax(m, vload(x + v));
    if (v < V) m = vmax(m, vload_n(x + v, V - v, -INFINITY));
    return vhmax(m);
}

// Σ exp(x − shift) over the row; writes the exps to e when e is not null.
inline float row_sum_exp(float* e, const float* x, float shift, int V) {
    const vf s = vset1(shift);
    vf acc = vzero();
    int v = 0;
    for (; v + kW <= V; v += kW) {
        const vf ex = vexp(vsub(vload(x + v), s));
        if (e) vstore(e + v, ex);
        acc = vadd(acc, ex);
    }
    if (v < V) {
        const vf ex = vexp(vsub(vload_n(x + v, V - v, -INFINITY), s));
        if (e) vstore_n(e + v, ex, V - v);
        acc = vadd(acc, ex);
    }
    return vhsum(acc);
}

inline float row_logsumexp(const float* x, int V) {
    const float mx = row_max(x, V);
    return mx + std::log(row_sum_exp(nullptr, x, mx, V));
}

inline float row_dot(const float* a, const float* b, int V) {
    vf acc = vzero();
    int v = 0;
    for (; v + kW <= V; v += kW) acc = vfma(vload(a + v), vload(b + v), acc);
    if (v < V) acc = vfma(vload_n(a + v, V - v), vload_n(b + v, V - v), acc);
    return vhsum(acc);
}

inline float row_sum(const float* a, int V) {
    vf acc = vzero();
    int v = 0;
    for (; v + kW <= V; v += kW) acc = vadd(acc, vload(a + v));
    if (v < V) acc = vadd(acc, vload_n(a + v, V - v));
    return vhsum(acc);
}

}  // namespace softmax_detail

void softmax_forward(float* probs, const float* logits, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const float* x = logits + static_cast<long>(n) * V;
        float* p = probs + static_cast<long>(n) * V;
        const float inv = 1.0f / row_sum_exp(p, x, row_max(x, V), V);
        const vf s = vset1(inv);
        int v = 0;
        for (; v + kW <= V; v += kW) vstore(p + v, vmul(vload(p + v), s));
        if (v < V) vstore_n(p + v, vmul(vload_n(p + v, V - v), s), V - v);
    });
}

void softmax_backward(float* dlogits, const float* probs, const float* dprobs, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const long o = static_cast<long>(n) * V;
        const float* p = probs + o;
        const float* dp = dprobs + o;
        float* dx = dlogits + o;
        const vf dot = vset1(row_dot(dp, p, V));
        int v = 0;
        for (; v + kW <= V; v += kW) {
            vstore(dx + v, vfma(vload(p + v), vsub(vload(dp + v), dot), vload(dx + v)));
        }
        if (v < V) {
            const int r = V - v;
            vstore_n(dx + v,
                     vfma(vload_n(p + v, r), vsub(vload_n(dp + v, r), dot), vload_n(dx + v, r)), r);
        }
    });
}

void log_softmax_forward(float* out, const float* logits, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const float* x = logits + static_cast<long>(n) * V;
        float* o = out + static_cast<long>(n) * V;
        const vf lse = vset1(row_logsumexp(x, V));
        int v = 0;
        for (; v + kW <= V; v += kW) vstore(o + v, vsub(vload(x + v), lse));
        if (v < V) vstore_n(o + v, vsub(vload_n(x + v, V - v), lse), V - v);
    });
}

void log_softmax_backward(float* dlogits, const float* out, const float* dout, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const long off = static_cast<long>(n) * V;
        const float* o = out + off;
        const float* d = dout + off;
        float* dx = dlogits + off;
        const vf sum = vset1(row_sum(d, V));
        int v = 0;
        for (; v + kW <= V; v += kW) {
            vstore(dx + v, vadd(vload(dx + v), vfnma(vexp(vload(o + v)), sum, vload(d + v))));
        }
        if (v < V) {
            const int r = V - v;
            vstore_n(
                dx + v,
                vadd(vload_n(dx + v, r), vfnma(vexp(vload_n(o + v, r)), sum, vload_n(d + v, r))),
                r);
        }
    });
}

void crossentropy_forward(float* losses, const float* logits, const int* targets, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const int y = targets[n];
        const float* x = logits + static_cast<long>(n) * V;
        losses[n] = y < 0 ? 0.0f : row_logsumexp(x, V) - x[y];
    });
}

void crossentropy_backward(float* dlogits, const float* logits, const int* targets,
                           const float* dlosses, int N, int V) {
    using namespace softmax_detail;
    for_rows(N, V, static_cast<long>(N) * V >= kParallelMin, [=](int n) {
        const int y = targets[n];
        if (y < 0) return;
        const long off = static_cast<long>(n) * V;
        const float* x = logits + off;
        float* dx = dlogits + off;
        const vf lse = vset1(row_logsumexp(x, V));
        const vf dl = vset1(dlosses[n]);
        // dx += softmax·dl, then the one-hot part at the target alone.
        int v = 0;
        for (; v + kW <= V; v += kW)
            vstore(dx + v, vfma(vexp(vsub(vload(x + v), lse)), dl, vload(dx + v)));
        if (v < V) {
            const int r = V - v;
            vstore_n(dx + v, vfma(vexp(vsub(vload_n(x + v, r), lse)), dl, vload_n(dx + v, r)), r);
        }
        dx[y] -= dlosses[n];
    });
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
