// The vectorized embedding kernels, compiled once per instruction set by embedding.cpp
// (portable), embedding_avx2.cpp and embedding_avx512.cpp. The backward is threaded over column
// slices: each thread owns a slice of every table row and walks the lookups in order, so each
// entry sums its uses in index order (the naive kernel's order: the results are bit-identical to
// it, whatever the thread count).
#pragma once

#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace embedding_detail {
constexpr int kSlice = 64;              // columns per work item of the pool in the backward
constexpr long kParallelMin = 1 << 15;  // elements; below this one thread is faster

// dst[0:n] += src[0:n]
inline void add_row(float* dst, const float* src, int n) {
    int c = 0;
    for (; c + kW <= n; c += kW) vstore(dst + c, vadd(vload(dst + c), vload(src + c)));
    if (c < n) vstore_n(dst + c, vadd(vload_n(dst + c, n - c), vload_n(src + c, n - c)), n - c);
}
}  // namespace embedding_detail

void embedding_forward(float* out, const float* table, const int* ids, int N, int C) {
    using namespace embedding_detail;
    for_rows(N, C, static_cast<long>(N) * C >= kParallelMin, [=](int n) {
        const float* src = table + static_cast<long>(ids[n]) * C;
        float* dst = out + static_cast<long>(n) * C;
        int c = 0;
        for (; c + kW <= C; c += kW) vstore(dst + c, vload(src + c));
        if (c < C) vstore_n(dst + c, vload_n(src + c, C - c), C - c);
    });
}

void embedding_backward(float* dtable, const float* dout, const int* ids, int N, int C) {
    using namespace embedding_detail;
    const int slices = (C + kSlice - 1) / kSlice;
    for_items(slices, static_cast<long>(N) * C >= kParallelMin, [=](int s) {
        const int c0 = s * kSlice, n_c = C - c0 < kSlice ? C - c0 : kSlice;
        for (int n = 0; n < N; ++n) {
            add_row(dtable + static_cast<long>(ids[n]) * C + c0,
                    dout + static_cast<long>(n) * C + c0, n_c);
        }
    });
}

void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B,
                     int T, int C) {
    using namespace embedding_detail;
    for_rows(B * T, C, static_cast<long>(B) * T * C >= kParallelMin, [=](int bt) {
        const float* a = wte + static_cast<long>(tokens[bt]) * C;
        const float* p = wpe + static_cast<long>(bt % T) * C;
        float* dst = out + static_cast<long>(bt) * C;
        int c = 0;
        for (; c + kW <= C; c += kW) vstore(dst + c, vadd(vload(a + c), vload(p + c)));
        if (c < C) vstore_n(dst + c, vadd(vload_n(a + c, C - c), vload_n(p + c, C - c)), C - c);
    });
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T,
                      int C) {
    using namespace embedding_detail;
    const int slices = (C + kSlice - 1) / kSlice;
    for_items(slices, static_cast<long>(B) * T * C >= kParallelMin, [=](int s) {
        const int c0 = s * kSlice, n_c = C - c0 < kSlice ? C - c0 : kSlice;
        for (int bt = 0; bt < B * T; ++bt) {
            const float* d = dout + static_cast<long>(bt) * C + c0;
            add_row(dwte + static_cast<long>(tokens[bt]) * C + c0, d, n_c);
            add_row(dwpe + static_cast<long>(bt % T) * C + c0, d, n_c);
        }
    });
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
