// Decode kernels (one new token through a KV cache): the naive references (float and double) and
// the dispatch to the fast float kernels of decode_impl.h.
// reference: llm.c's matmul_forward and attention_forward, specialized to one query row.
#include "kernels/decode.h"

#include <cassert>
#include <cmath>

#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/decode_impl.h"

namespace wiggle::kernels {

template <typename F>
void linear_forward_naive(F* out, const F* inp, const F* weight, const F* bias, int M, int K,
                          int N) {
    for (int m = 0; m < M; ++m) {
        const F* x = inp + static_cast<long>(m) * K;
        for (int n = 0; n < N; ++n) {
            const F* w = weight + static_cast<long>(n) * K;
            F s = 0;
            for (int k = 0; k < K; ++k) s += x[k] * w[k];
            out[static_cast<long>(m) * N + n] = s + (bias ? bias[n] : F(0));
        }
    }
}

template <typename F>
void attention_decode_forward_naive(F* out, F* att, const F* q, const F* kt, const F* v, int P,
                                    int NH, int hs, int ldk) {
    const int C = NH * hs;
    const F scale = F(1) / std::sqrt(static_cast<F>(hs));
    for (int h = 0; h < NH; ++h) {
        F* a = att + static_cast<long>(h) * P;
        F mx = -INFINITY;
        for (int p = 0; p < P; ++p) {
            F s = 0;
            for (int d = 0; d < hs; ++d)
                s += q[h * hs + d] * kt[static_cast<long>(h * hs + d) * ldk + p];
            a[p] = s * scale;
            mx = a[p] > mx ? a[p] : mx;
        }
        F sum = 0;
        for (int p = 0; p < P; ++p) {
            a[p] = std::exp(a[p] - mx);
            sum += a[p];
        }
        for (int p = 0; p < P; ++p) a[p] /= sum;
        for (int d = 0; d < hs; ++d) {
            F o = 0;
            for (int p = 0; p < P; ++p) o += a[p] * v[static_cast<long>(p) * C + h * hs + d];
            out[h * hs + d] = o;
        }
    }
}

template void linear_forward_naive<float>(float*, const float*, const float*, const float*, int,
                                          int, int);
template void linear_forward_naive<double>(double*, const double*, const double*, const double*,
                                           int, int, int);
template void attention_decode_forward_naive<float>(float*, float*, const float*, const float*,
                                                    const float*, int, int, int, int);
template void attention_decode_forward_naive<double>(double*, double*, const double*, const double*,
                                                     const double*, int, int, int, int);

WIGGLE_ISA_DECLARE(void linear_packed_forward(float* out, const float* inp, const float* packed,
                                              const float* bias, int M, int K, int N, int n0,
                                              int n1, int k0, int k1))
WIGGLE_ISA_DECLARE(void linear_packed_forward(float* out, const float* inp, const bf16* packed,
                                              const float* bias, int M, int K, int N, int n0,
                                              int n1, int k0, int k1))
WIGGLE_ISA_DECLARE(void attention_decode_forward(float* out, float* att, const float* q,
                                                 const float* kt, const float* v, int P, int NH,
                                                 int hs, int ldk, int h0, int h1))
WIGGLE_ISA_DECLARE(void attention_decode_forward(float* out, float* att, const float* q,
                                                 const bf16* kt, const bf16* v, int P, int NH,
                                                 int hs, int ldk, int h0, int h1))

namespace {

#if defined(__x86_64__)
// Never an instruction set the CPU lacks, whatever the caller asked for.
Isa lowered(Isa isa) {
    const Isa best = cpu_isa();
    if (isa == Isa::Avx512 && best != Isa::Avx512) return best;
    if (isa == Isa::Avx2 && best == Isa::Generic) return best;
    return isa;
}
#endif

// linear_packed_forward_isa on float (W = float) or bf16 weights.
template <typename W>
void linear_packed_on(Isa isa, float* out, const float* inp, const W* packed, const float* bias,
                      int M, int K, int N, int n0, int n1, int k0, int k1) {
#if defined(__x86_64__)
    switch (lowered(isa)) {
        case Isa::Avx512:
            return avx512::linear_packed_forward(out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
        case Isa::Avx2:
            return avx2::linear_packed_forward(out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
        case Isa::Generic:
            break;
    }
#else
    (void)isa;
#endif
    return generic::linear_packed_forward(out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

}  // namespace

void linear_packed_forward_isa(Isa isa, float* out, const float* inp, const float* packed,
                               const float* bias, int M, int K, int N, int n0, int n1, int k0,
                               int k1) {
    linear_packed_on(isa, out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

void linear_packed_forward_isa(Isa isa, float* out, const float* inp, const bf16* packed,
                               const float* bias, int M, int K, int N, int n0, int n1, int k0,
                               int k1) {
    linear_packed_on(isa, out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

namespace {

// The float and the bf16 cache's attention on the chosen instruction set.
template <typename KV>
void attention_decode_on(Isa isa, float* out, float* att, const float* q, const KV* kt, const KV* v,
                         int P, int NH, int hs, int ldk, int h0, int h1) {
#if defined(__x86_64__)
    switch (lowered(isa)) {
        case Isa::Avx512:
            return avx512::attention_decode_forward(out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
        case Isa::Avx2:
            return avx2::attention_decode_forward(out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
        case Isa::Generic:
            break;
    }
#else
    (void)isa;
#endif
    return generic::attention_decode_forward(out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
}

}  // namespace

void attention_decode_forward_isa(Isa isa, float* out, float* att, const float* q, const float* kt,
                                  const float* v, int P, int NH, int hs, int ldk, int h0, int h1) {
    attention_decode_on(isa, out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
}
void attention_decode_forward_isa(Isa isa, float* out, float* att, const float* q, const bf16* kt,
                                  const bf16* v, int P, int NH, int hs, int ldk, int h0, int h1) {
    attention_decode_on(isa, out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
}

void pack_linear(float* packed, const float* weight, int K, int N) {
    for (int n0 = 0; n0 < N; n0 += kPackedCols) {
        float* block = packed + static_cast<long>(n0 / kPackedCols) * K * kPackedCols;
        for (int k = 0; k < K; ++k) {
            for (int j = 0; j < kPackedCols; ++j) {
                const int n = n0 + j;
                block[static_cast<long>(k) * kPackedCols + j] =
                    n < N ? weight[static_cast<long>(n) * K + k] : 0.0f;
            }
        }
    }
}

void pack_linear_bf16(bf16* packed, const float* weight, int K, int N) {
    const int Kp = K + K % 2;
    for (int n0 = 0; n0 < N; n0 += kPackedCols) {
        bf16* block = packed + static_cast<long>(n0 / kPackedCols) * Kp * kPackedCols;
        for (int k = 0; k < Kp; ++k) {
            for (int j = 0; j < kPackedCols; ++j) {  // row k of column j: pair k/2, half k%2
                const int n = n0 + j;
                block[static_cast<long>(k / 2) * 2 * kPackedCols + 2 * j + k % 2] =
                    n < N && k < K ? to_bf16(weight[static_cast<long>(n) * K + k]) : bf16{};
            }
        }
    }
}

void unpack_column(float* out, const float* packed, int K, int N, int n) {
    assert(n >= 0 && n < N);
    (void)N;
    const float* block = packed + static_cast<long>(n / kPackedCols) * K * kPackedCols;
    for (int k = 0; k < K; ++k)
        out[k] = block[static_cast<long>(k) * kPackedCols + n % kPackedCols];
}

void unpack_column(float* out, const bf16* packed, int K, int N, int n) {
    assert(n >= 0 && n < N);
    (void)N;
    const bf16* block = packed + static_cast<long>(n / kPackedCols) * (K + K % 2) * kPackedCols;
    for (int k = 0; k < K; ++k) {
        out[k] = to_float(
            block[static_cast<long>(k / 2) * 2 * kPackedCols + 2 * (n % kPackedCols) + k % 2]);
    }
}

int linear_packed_stream_rows() { return cpu_isa() == Isa::Avx512 ? 4 : 1; }

void linear_packed_forward(float* out, const float* inp, const float* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1) {
    WIGGLE_DISPATCH(linear_packed_forward, out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

void linear_packed_forward(float* out, const float* inp, const bf16* packed, const float* bias,
                           int M, int K, int N, int n0, int n1, int k0, int k1) {
    WIGGLE_DISPATCH(linear_packed_forward, out, inp, packed, bias, M, K, N, n0, n1, k0, k1);
}

void attention_decode_forward(float* out, float* att, const float* q, const float* kt,
                              const float* v, int P, int NH, int hs, int ldk, int h0, int h1) {
    WIGGLE_DISPATCH(attention_decode_forward, out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
}
void attention_decode_forward(float* out, float* att, const float* q, const bf16* kt, const bf16* v,
                              int P, int NH, int hs, int ldk, int h0, int h1) {
    WIGGLE_DISPATCH(attention_decode_forward, out, att, q, kt, v, P, NH, hs, ldk, h0, h1);
}

}  // namespace wiggle::kernels
