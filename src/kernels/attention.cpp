// Causal multi-head self-attention: the naive reference (float and double; materializes the
// (B,NH,T,T) weights) and the fast fused float kernel (flash-style, see attention.h).
// reference: nanoGPT model.py CausalSelfAttention; llm.c attention_forward; FlashAttention-2
// (Dao, 2023) for the recomputing backward dS = P∘(dP − rowsum(dO∘O)).
#include "kernels/attention.h"

#include <cmath>
#include <vector>

#include "kernels/hash.h"

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

void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                       float dropout, uint64_t seed) {
    const int hs = C / NH;
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
#pragma omp parallel
    {
        std::vector<float> s(static_cast<size_t>(T));
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * NH; ++bh) {
            const int b = bh / NH, h = bh % NH;
            for (int t = 0; t < T; ++t) {
                const float* q = qkv + (static_cast<long>(b) * T + t) * C3 + h * hs;
                float mx = -INFINITY;
                for (int t2 = 0; t2 <= t; ++t2) {
                    const float* k = qkv + (static_cast<long>(b) * T + t2) * C3 + C + h * hs;
                    float d = 0;
                    for (int i = 0; i < hs; ++i) d += q[i] * k[i];
                    s[t2] = d * scale;
                    mx = s[t2] > mx ? s[t2] : mx;
                }
                float sum = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    s[t2] = std::exp(s[t2] - mx);
                    sum += s[t2];
                }
                const float inv = 1.0f / sum;
                lse[static_cast<long>(bh) * T + t] = mx + std::log(sum);
                float* o = out + (static_cast<long>(b) * T + t) * C + h * hs;
                for (int i = 0; i < hs; ++i) o[i] = 0;
                for (int t2 = 0; t2 <= t; ++t2) {
                    float a = s[t2] * inv;
                    if (dropout > 0.0f) {
                        a = attention_dropout_keep(seed, b, h, t, t2, dropout) ? a * keep_scale
                                                                               : 0.0f;
                    }
                    const float* v = qkv + (static_cast<long>(b) * T + t2) * C3 + 2 * C + h * hs;
                    for (int i = 0; i < hs; ++i) o[i] += a * v[i];
                }
            }
        }
    }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH, float dropout,
                        uint64_t seed) {
    const int hs = C / NH;
    const long C3 = 3L * C;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    const float keep_scale = 1.0f / (1.0f - dropout);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; ++bh) {
        const int b = bh / NH, h = bh % NH;
        for (int t = 0; t < T; ++t) {
            const float* q = qkv + (static_cast<long>(b) * T + t) * C3 + h * hs;
            float* dq = dqkv + (static_cast<long>(b) * T + t) * C3 + h * hs;
            const float* d = dout + (static_cast<long>(b) * T + t) * C + h * hs;
            const float* o = out + (static_cast<long>(b) * T + t) * C + h * hs;
            const float l = lse[static_cast<long>(bh) * T + t];
            // D = Σ_t2 p·dp = dout·out (dropout included), FlashAttention-2's rowsum(dO∘O).
            float D = 0;
            for (int i = 0; i < hs; ++i) D += d[i] * o[i];
            for (int t2 = 0; t2 <= t; ++t2) {
                const float* k = qkv + (static_cast<long>(b) * T + t2) * C3 + C + h * hs;
                const float* v = k + C;
                float* dk = dqkv + (static_cast<long>(b) * T + t2) * C3 + C + h * hs;
                float* dv = dk + C;
                float sc = 0;
                for (int i = 0; i < hs; ++i) sc += q[i] * k[i];
                const float p = std::exp(sc * scale - l);
                float m = 1.0f;
                if (dropout > 0.0f)
                    m = attention_dropout_keep(seed, b, h, t, t2, dropout) ? keep_scale : 0.0f;
                float dp = 0;
                for (int i = 0; i < hs; ++i) dp += d[i] * v[i];
                const float a = p * m;
                const float ds = p * (dp * m - D) * scale;
                for (int i = 0; i < hs; ++i) {
                    dv[i] += a * d[i];
                    dq[i] += ds * k[i];
                    dk[i] += ds * q[i];
                }
            }
        }
    }
}

}  // namespace wiggle::kernels
