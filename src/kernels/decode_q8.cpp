// int8 decoding (decode.h): quantization, packing, the naive twin, the portable kernel and the
// AVX512-VNNI one. The integer part of every path is exact, and the float part (one fused
// multiply-add per group, groups in order) is written the same way in each, so all of them give
// the naive twin's bits.
// reference: llama2.c's runq.c (quantize, matmul over groups of GS).
// GCC 12's own AVX-512 headers trip its -Wmaybe-uninitialized (_mm512_setzero_* and friends).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/decode.h"

namespace wiggle::kernels {

namespace {

int padded_group(int G) { return (G + 3) / 4 * 4; }
// One block's group: kPackedCols scales, then padded_group(G) / 4 quads of kPackedCols·4 bytes.
long group_bytes(int G) {
    return static_cast<long>(kPackedCols) * (sizeof(float) + padded_group(G));
}
const std::uint8_t* block_group(const std::uint8_t* packed, int K, int G, int block, int g) {
    return packed + (static_cast<long>(block) * (K / G) + g) * group_bytes(G);
}

// One group: q = round(x / s), s = max|x| / 127; returns the largest |x − q·s|.
float quantize_group(std::int8_t* q, float* scale, const float* x, int G) {
    float amax = 0.0f;
    for (int i = 0; i < G; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float s = amax / 127.0f;
    *scale = s;
    float err = 0.0f;
    for (int i = 0; i < G; ++i) {
        const float r = s > 0.0f ? std::nearbyint(x[i] / s) : 0.0f;
        q[i] = static_cast<std::int8_t>(std::clamp(r, -127.0f, 127.0f));
        err = std::max(err, std::fabs(x[i] - q[i] * s));
    }
    return err;
}

// The inputs of one product quantized: for each row m and group g of [k0, k1), padded_group(G)
// values (the padding zero) at q[(m·groups + g)·Gp], their scale and the sum of their q (the
// vector kernel's operand is q + 128 on the weights: Σ(w+128)·x = Σ w·x + 128·Σx).
struct QuantizedRows {
    std::vector<std::int8_t> q;
    std::vector<float> scale;
    std::vector<std::int32_t> sum;
    int groups = 0, Gp = 0;

    // Room for M rows of the groups of [k0, k1), the padding zero.
    void reserve(int M, int G, int k0, int k1) {
        groups = (k1 - k0) / G;
        Gp = padded_group(G);
        if (Gp != G) {
            q.assign(static_cast<size_t>(M) * groups * Gp, 0);
        } else {
            q.resize(static_cast<size_t>(M) * groups * Gp);
        }
        scale.resize(static_cast<size_t>(M) * groups);
        sum.resize(static_cast<size_t>(M) * groups);
    }
    void quantize(const float* inp, int M, int K, int G, int k0, int k1) {
        reserve(M, G, k0, k1);
        for (int m = 0; m < M; ++m) {
            for (int g = 0; g < groups; ++g) {
                const size_t r = static_cast<size_t>(m) * groups + g;
                std::int8_t* qg = q.data() + r * Gp;
                quantize_group(qg, &scale[r], inp + static_cast<long>(m) * K + k0 + g * G, G);
                std::int32_t s = 0;
                for (int i = 0; i < G; ++i) s += qg[i];
                sum[r] = s;
            }
        }
    }
    const std::int8_t* row_group(int m, int g) const {
        return q.data() + (static_cast<size_t>(m) * groups + g) * Gp;
    }
    size_t at(int m, int g) const { return static_cast<size_t>(m) * groups + g; }
};

// Each thread of a decoding team quantizes its own inputs: grown once, then reused.
thread_local QuantizedRows t_rows;

// Stores out[m, n] = acc + bias for the columns n of a block that lie in [n0, n1).
void store_block(float* out_row, const float* acc, const float* bias, int block, int n0, int n1) {
    for (int j = 0; j < kPackedCols; ++j) {
        const int n = block * kPackedCols + j;
        if (n >= n0 && n < n1) out_row[n] = acc[j] + (bias ? bias[n] : 0.0f);
    }
}

void linear_q8_portable(float* out, const QuantizedRows& x, const std::uint8_t* packed,
                        const float* bias, int M, int K, int N, int G, int n0, int n1, int k0) {
    const int g0 = k0 / G;
    for (int m = 0; m < M; ++m) {
        for (int b = n0 / kPackedCols; b * kPackedCols < n1; ++b) {
            float acc[kPackedCols] = {};
            for (int g = 0; g < x.groups; ++g) {
                const std::uint8_t* base = block_group(packed, K, G, b, g0 + g);
                float s[kPackedCols];
                std::memcpy(s, base, sizeof(s));
                const std::uint8_t* quads = base + sizeof(s);
                const std::int8_t* xq = x.row_group(m, g);
                const float sx = x.scale[x.at(m, g)];
                for (int j = 0; j < kPackedCols; ++j) {
                    std::int32_t dot = 0;
                    for (int i = 0; i < G; ++i) {
                        const int w = quads[(i / 4) * 4 * kPackedCols + 4 * j + i % 4] - 128;
                        dot += xq[i] * w;
                    }
                    acc[j] = std::fma(static_cast<float>(dot), sx * s[j], acc[j]);
                }
            }
            store_block(out + static_cast<long>(m) * N, acc, bias, b, n0, n1);
        }
    }
}

#if defined(__x86_64__)
#define WIGGLE_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

// QuantizedRows::quantize in AVX-512, the same bits: max|x| is the same in any order, and the
// division, the rounding (to nearest even, as nearbyint) and the clamp are the scalar ones per
// lane.
WIGGLE_VNNI void quantize_rows_avx512(QuantizedRows& x, const float* inp, int M, int K, int G,
                                      int k0, int k1) {
    x.reserve(M, G, k0, k1);
    const __m512 sign = _mm512_set1_ps(-0.0f), lo = _mm512_set1_ps(-127.0f),
                 hi = _mm512_set1_ps(127.0f);
    for (int m = 0; m < M; ++m) {
        for (int g = 0; g < x.groups; ++g) {
            const float* xg = inp + static_cast<long>(m) * K + k0 + g * G;
            const size_t r = x.at(m, g);
            __m512 amax = _mm512_setzero_ps();
            for (int i = 0; i < G; i += 16) {
                const __mmask16 live = G - i >= 16 ? 0xFFFF : (1u << (G - i)) - 1;
                amax = _mm512_max_ps(amax,
                                     _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(live, xg + i)));
            }
            const float s = _mm512_reduce_max_ps(amax) / 127.0f;
            x.scale[r] = s;
            std::int8_t* qg = x.q.data() + r * x.Gp;
            __m512i total = _mm512_setzero_si512();
            const __m512 vs = _mm512_set1_ps(s);
            for (int i = 0; i < G; i += 16) {
                const __mmask16 live = G - i >= 16 ? 0xFFFF : (1u << (G - i)) - 1;
                __m512i qi = _mm512_setzero_si512();
                if (s > 0.0f) {
                    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(live, xg + i), vs);
                    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                    qi = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi));
                }
                total = _mm512_add_epi32(total, qi);
                _mm_mask_storeu_epi8(qg + i, live, _mm512_cvtepi32_epi8(qi));
            }
            x.sum[r] = _mm512_reduce_add_epi32(total);
        }
    }
}

// NB blocks of kPackedCols columns from block b of row m: one vpdpbusd per quad and block, the
// group's int32 sums then scaled into float accumulators.
template <int NB>
WIGGLE_VNNI void q8_tile_vnni(float* out_row, const QuantizedRows& x, const std::uint8_t* packed,
                              const float* bias, int K, int G, int m, int b, int n0, int n1,
                              int g0) {
    static_assert(kPackedCols == 16, "one zmm of int32 per block");
    __m512 acc[NB];
    for (int j = 0; j < NB; ++j) acc[j] = _mm512_setzero_ps();
    const int quads = x.Gp / 4;
    for (int g = 0; g < x.groups; ++g) {
        const std::uint8_t* base[NB];
        __m512i dot[NB];
        for (int j = 0; j < NB; ++j) {
            base[j] = block_group(packed, K, G, b + j, g0 + g);
            dot[j] = _mm512_setzero_si512();
        }
        const std::int8_t* xq = x.row_group(m, g);
        for (int r = 0; r < quads; ++r) {
            std::int32_t four;
            std::memcpy(&four, xq + 4 * r, sizeof(four));
            const __m512i xb = _mm512_set1_epi32(four);
            for (int j = 0; j < NB; ++j) {
                const __m512i w = _mm512_loadu_si512(base[j] + 64 + 64 * r);
                dot[j] = _mm512_dpbusd_epi32(dot[j], w, xb);
            }
        }
        const __m512i offset = _mm512_set1_epi32(128 * x.sum[x.at(m, g)]);
        const __m512 sx = _mm512_set1_ps(x.scale[x.at(m, g)]);
        for (int j = 0; j < NB; ++j) {
            const __m512 t = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot[j], offset));
            const __m512 s = _mm512_mul_ps(sx, _mm512_loadu_ps(base[j]));
            acc[j] = _mm512_fmadd_ps(t, s, acc[j]);
        }
    }
    for (int j = 0; j < NB; ++j) {
        const int c0 = (b + j) * kPackedCols;
        if (c0 >= n0 && c0 + kPackedCols <= n1) {
            __m512 v = acc[j];
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + c0));
            _mm512_storeu_ps(out_row + c0, v);
        } else {
            float lanes[kPackedCols];
            _mm512_storeu_ps(lanes, acc[j]);
            store_block(out_row, lanes, bias, b + j, n0, n1);
        }
    }
}

WIGGLE_VNNI void linear_q8_vnni(float* out, const QuantizedRows& x, const std::uint8_t* packed,
                                const float* bias, int M, int K, int N, int G, int n0, int n1,
                                int k0) {
    const int b0 = n0 / kPackedCols, b1 = (n1 + kPackedCols - 1) / kPackedCols, g0 = k0 / G;
    // Blocks outer, rows inner: a recompute's rows read a block's weights from cache. One row
    // (decoding): 8 blocks at a time, 8 streams of weights in flight.
    int b = b0;
    if (M == 1) {
        for (; b + 8 <= b1; b += 8) q8_tile_vnni<8>(out, x, packed, bias, K, G, 0, b, n0, n1, g0);
    }
    for (; b + 4 <= b1; b += 4) {
        for (int m = 0; m < M; ++m) {
            q8_tile_vnni<4>(out + static_cast<long>(m) * N, x, packed, bias, K, G, m, b, n0, n1,
                            g0);
        }
    }
    for (; b < b1; ++b) {
        for (int m = 0; m < M; ++m) {
            q8_tile_vnni<1>(out + static_cast<long>(m) * N, x, packed, bias, K, G, m, b, n0, n1,
                            g0);
        }
    }
}

bool cpu_has_vnni() {
    static const bool has =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni");
    return has;
}
#else
bool cpu_has_vnni() { return false; }
#endif

}  // namespace

float quantize_q8(std::int8_t* q, float* scale, const float* x, int n, int G) {
    assert(G > 0 && n % G == 0);
    float err = 0.0f;
    for (int g = 0; g < n / G; ++g) {
        err = std::max(err, quantize_group(q + g * G, scale + g, x + g * G, G));
    }
    return err;
}

long packed_linear_q8_bytes(int K, int N, int G) {
    return static_cast<long>((N + kPackedCols - 1) / kPackedCols) * (K / G) * group_bytes(G);
}

float pack_linear_q8(std::uint8_t* packed, const float* weight, int K, int N, int G) {
    assert(G > 0 && G <= kQ8MaxGroup && K % G == 0);
    std::vector<float> column(K);
    std::vector<std::int8_t> q(K);
    std::vector<float> scale(K / G);
    float err = 0.0f;
    std::memset(packed, 0, packed_linear_q8_bytes(K, N, G));
    for (int n = 0; n < (N + kPackedCols - 1) / kPackedCols * kPackedCols; ++n) {
        const int b = n / kPackedCols, j = n % kPackedCols;
        if (n < N) {
            std::memcpy(column.data(), weight + static_cast<long>(n) * K, K * sizeof(float));
            err = std::max(err, quantize_q8(q.data(), scale.data(), column.data(), K, G));
        } else {  // padding columns: zero weights
            std::fill(q.begin(), q.end(), 0);
            std::fill(scale.begin(), scale.end(), 0.0f);
        }
        for (int g = 0; g < K / G; ++g) {
            std::uint8_t* base = packed + (static_cast<long>(b) * (K / G) + g) * group_bytes(G);
            std::memcpy(base + j * sizeof(float), &scale[g], sizeof(float));
            std::uint8_t* quads = base + kPackedCols * sizeof(float);
            for (int i = 0; i < padded_group(G); ++i) {
                const int v = i < G ? q[g * G + i] : 0;
                quads[(i / 4) * 4 * kPackedCols + 4 * j + i % 4] =
                    static_cast<std::uint8_t>(v + 128);
            }
        }
    }
    return err;
}

void unpack_column_q8(float* out, const std::uint8_t* packed, int K, int N, int G, int n) {
    assert(n >= 0 && n < N);
    (void)N;
    const int b = n / kPackedCols, j = n % kPackedCols;
    for (int g = 0; g < K / G; ++g) {
        const std::uint8_t* base = block_group(packed, K, G, b, g);
        float s;
        std::memcpy(&s, base + j * sizeof(float), sizeof(float));
        const std::uint8_t* quads = base + kPackedCols * sizeof(float);
        for (int i = 0; i < G; ++i) {
            out[g * G + i] = (quads[(i / 4) * 4 * kPackedCols + 4 * j + i % 4] - 128) * s;
        }
    }
}

void linear_q8_forward_naive(float* out, const float* inp, const std::int8_t* q, const float* scale,
                             const float* bias, int M, int K, int N, int G) {
    std::vector<std::int8_t> xq(K);
    std::vector<float> xs(K / G);
    for (int m = 0; m < M; ++m) {
        quantize_q8(xq.data(), xs.data(), inp + static_cast<long>(m) * K, K, G);
        for (int n = 0; n < N; ++n) {
            float acc = 0.0f;
            for (int g = 0; g < K / G; ++g) {
                std::int32_t dot = 0;
                for (int i = g * G; i < (g + 1) * G; ++i)
                    dot += xq[i] * q[static_cast<long>(n) * K + i];
                acc = std::fma(static_cast<float>(dot),
                               xs[g] * scale[static_cast<long>(n) * (K / G) + g], acc);
            }
            out[static_cast<long>(m) * N + n] = acc + (bias ? bias[n] : 0.0f);
        }
    }
}

bool q8_dot_products() { return cpu_isa() == Isa::Avx512 && cpu_has_vnni(); }

void linear_q8_forward_isa(Isa isa, float* out, const float* inp, const std::uint8_t* packed,
                           const float* bias, int M, int K, int N, int G, int n0, int n1, int k0,
                           int k1) {
    if (M <= 0 || n0 >= n1 || k0 >= k1) {
        if (M > 0 && k0 >= k1) {  // an empty sum: the bias alone
            for (int m = 0; m < M; ++m) {
                for (int n = n0; n < n1; ++n)
                    out[static_cast<long>(m) * N + n] = bias ? bias[n] : 0.0f;
            }
        }
        return;
    }
    assert(k0 % G == 0 && k1 % G == 0 && k1 <= K);
    QuantizedRows& x = t_rows;
#if defined(__x86_64__)
    if (isa == Isa::Avx512 && cpu_isa() == Isa::Avx512 && cpu_has_vnni()) {
        quantize_rows_avx512(x, inp, M, K, G, k0, k1);
        return linear_q8_vnni(out, x, packed, bias, M, K, N, G, n0, n1, k0);
    }
#else
    (void)isa;
#endif
    x.quantize(inp, M, K, G, k0, k1);
    linear_q8_portable(out, x, packed, bias, M, K, N, G, n0, n1, k0);
}

void linear_q8_forward(float* out, const float* inp, const std::uint8_t* packed, const float* bias,
                       int M, int K, int N, int G, int n0, int n1, int k0, int k1) {
    linear_q8_forward_isa(cpu_isa(), out, inp, packed, bias, M, K, N, G, n0, n1, k0, k1);
}

}  // namespace wiggle::kernels
