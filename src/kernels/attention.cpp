// Causal multi-head self-attention: the naive reference (float and double; materializes the
// (B,NH,T,T) weights) and the fast fused float kernel (flash-style, see attention.h).
// reference: nanoGPT model.py CausalSelfAttention; llm.c attention_forward; FlashAttention-2
// (Dao, 2023) for the recomputing backward dS = P∘(dP − rowsum(dO∘O)).
#include "kernels/attention.h"

#include <cassert>
#include <cmath>
#include <vector>

#include "kernels/hash.h"
#include "kernels/simd_dispatch.h"
#define WIGGLE_FORCE_GENERIC
#include "kernels/attention_impl.h"

namespace wiggle::kernels {

bool attention_dropout_keep(uint64_t seed, int b, int h, int tq, int tk, float dropout) {
    // One key per (seed, b, h), then one hash per (tq, tk): the fast kernel hoists the key.
    const uint64_t key =
        hash_key(hash_key(seed) + ((static_cast<uint64_t>(b) << 32) | static_cast<uint32_t>(h)));
    return hash_uniform_keyed(key, (static_cast<uint64_t>(tq) << 32) | static_cast<uint32_t>(tk)) >=
           dropout;
}

template <typename T>
void attention_forward_naive(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH,
                             float dropout, uint64_t seed) {
    const int hs = C / NH;
    const long C3 = 3L * C;
    const T scale = T(1) / std::sqrt(T(hs));
    const T keep_scale = T(1) / (T(1) - T(dropout));
    for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
            for (int t = 0; t < Tn; ++t) {
                const T* q = qkv + (static_cast<long>(b) * Tn + t) * C3 + h * hs;
                T* a = att + ((static_cast<long>(b) * NH + h) * Tn + t) * Tn;
                T mx = -INFINITY;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const T* k = qkv + (static_cast<long>(b) * Tn + t2) * C3 + C + h * hs;
                    T s = 0;
                    for (int i = 0; i < hs; ++i) s += q[i] * k[i];
                    a[t2] = s * scale;
                    mx = a[t2] > mx ? a[t2] : mx;
                }
                T sum = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    a[t2] = std::exp(a[t2] - mx);
                    sum += a[t2];
                }
                for (int t2 = 0; t2 < Tn; ++t2) {
                    if (t2 > t) {
                        a[t2] = 0;
                    } else {
                        a[t2] /= sum;
                        if (dropout > 0.0f) {
                            a[t2] = attention_dropout_keep(seed, b, h, t, t2, dropout)
                                        ? a[t2] * keep_scale
                                        : T(0);
                        }
                    }
                }
                T* o = out + (static_cast<long>(b) * Tn + t) * C + h * hs;
                for (int i = 0; i < hs; ++i) o[i] = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const T* v = qkv + (static_cast<long>(b) * Tn + t2) * C3 + 2 * C + h * hs;
                    for (int i = 0; i < hs; ++i) o[i] += a[t2] * v[i];
                }
            }
        }
    }
}

template <typename T>
void attention_backward_naive(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn,
                              int C, int NH, float dropout, uint64_t seed) {
    // Forward: s = q·k·scale; p = softmax(s); a = p·mask/(1−dropout); out = Σ a·v.
    // The softmax probabilities p are recomputed (att holds them after dropout, which erased the
    // dropped ones); the softmax backward is the O(T) per row form dp∘p − p·Σ(dp∘p).
    const int hs = C / NH;
    const long C3 = 3L * C;
    const T scale = T(1) / std::sqrt(T(hs));
    const T keep_scale = T(1) / (T(1) - T(dropout));
    std::vector<T> p(static_cast<size_t>(Tn)), dp(static_cast<size_t>(Tn));
    for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
            for (int t = 0; t < Tn; ++t) {
                const T* q = qkv + (static_cast<long>(b) * Tn + t) * C3 + h * hs;
                T* dq = dqkv + (static_cast<long>(b) * Tn + t) * C3 + h * hs;
                const T* a = att + ((static_cast<long>(b) * NH + h) * Tn + t) * Tn;
                const T* d = dout + (static_cast<long>(b) * Tn + t) * C + h * hs;
                T mx = -INFINITY;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const T* k = qkv + (static_cast<long>(b) * Tn + t2) * C3 + C + h * hs;
                    T s = 0;
                    for (int i = 0; i < hs; ++i) s += q[i] * k[i];
                    p[t2] = s * scale;
                    mx = p[t2] > mx ? p[t2] : mx;
                }
                T sum = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    p[t2] = std::exp(p[t2] - mx);
                    sum += p[t2];
                }
                for (int t2 = 0; t2 <= t; ++t2) p[t2] /= sum;
                // out = Σ_t2 a[t2]·v[t2]  ⇒  dv[t2] += a[t2]·dout; da[t2] = dout·v[t2].
                T dot = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const T* v = qkv + (static_cast<long>(b) * Tn + t2) * C3 + 2 * C + h * hs;
                    T* dv = dqkv + (static_cast<long>(b) * Tn + t2) * C3 + 2 * C + h * hs;
                    T da = 0;
                    for (int i = 0; i < hs; ++i) {
                        dv[i] += a[t2] * d[i];
                        da += d[i] * v[i];
                    }
                    if (dropout > 0.0f) {
                        da = attention_dropout_keep(seed, b, h, t, t2, dropout) ? da * keep_scale
                                                                                : T(0);
                    }
                    dp[t2] = da;
                    dot += da * p[t2];
                }
                // p = softmax(s)  ⇒  ds = p∘(dp − Σ dp∘p); s = q·k·scale.
                for (int t2 = 0; t2 <= t; ++t2) {
                    const T ds = p[t2] * (dp[t2] - dot) * scale;
                    const T* k = qkv + (static_cast<long>(b) * Tn + t2) * C3 + C + h * hs;
                    T* dk = dqkv + (static_cast<long>(b) * Tn + t2) * C3 + C + h * hs;
                    for (int i = 0; i < hs; ++i) {
                        dq[i] += ds * k[i];
                        dk[i] += ds * q[i];
                    }
                }
            }
        }
    }
}

template void attention_forward_naive<float>(float*, float*, const float*, int, int, int, int,
                                             float, uint64_t);
template void attention_forward_naive<double>(double*, double*, const double*, int, int, int, int,
                                              float, uint64_t);
template void attention_backward_naive<float>(float*, const float*, const float*, const float*, int,
                                              int, int, int, float, uint64_t);
template void attention_backward_naive<double>(double*, const double*, const double*, const double*,
                                               int, int, int, int, float, uint64_t);

WIGGLE_ISA_DECLARE(void attention_forward(float* out, float* lse, const float* qkv, int B, int T,
                                          int C, int NH, float dropout, uint64_t seed,
                                          float* scratch, long per_thread))
WIGGLE_ISA_DECLARE(void attention_backward(float* dqkv, const float* dout, const float* qkv,
                                           const float* out, const float* lse, int B, int T, int C,
                                           int NH, float dropout, uint64_t seed, float* scratch,
                                           long per_thread))

namespace {

// Per-thread scratch of the fused kernels (sized for the backward, the larger, and for 16-lane
// padding, the widest ISA): grows once, then is reused.
float* attention_scratch(int T, int C, int NH, long* per_thread) {
    const long hs = C / NH, hsp = (hs + 15) / 16 * 16, Tp = (T + 15) / 16 * 16;
    const long per = 7 * T * hsp + 2 * hs * Tp + 2 * T * Tp + 2 * Tp + 4 * hsp + 64;
    thread_local std::vector<float> scratch;
    const size_t need = static_cast<size_t>(per) * static_cast<size_t>(num_threads());
    if (scratch.size() < need) scratch.resize(need);
    *per_thread = per;
    return scratch.data();
}

}  // namespace

void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                       float dropout, uint64_t seed) {
    assert(C % NH == 0 && dropout >= 0.0f && dropout < 1.0f);
    long per = 0;
    float* scratch = attention_scratch(T, C, NH, &per);
    WIGGLE_DISPATCH(attention_forward, out, lse, qkv, B, T, C, NH, dropout, seed, scratch, per);
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH, float dropout,
                        uint64_t seed) {
    long per = 0;
    float* scratch = attention_scratch(T, C, NH, &per);
    WIGGLE_DISPATCH(attention_backward, dqkv, dout, qkv, out, lse, B, T, C, NH, dropout, seed,
                    scratch, per);
}

}  // namespace wiggle::kernels
