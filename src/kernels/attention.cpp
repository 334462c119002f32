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

// The bf16 twin: double sums on the bf16 operands (each product exact), the roundings of the fast
// kernel applied to the double values.
namespace {

// The twins' view of a bf16 qkv (B,T,3C): element i of head h's q (part 0), k (1) or v (2) at
// (b, t), widened to double.
struct Bf16Qkv {
    const bf16* qkv;
    int Tn, C, hs;
    double operator()(int b, int t, int part, int h, int i) const {
        return to_float(qkv[(static_cast<long>(b) * Tn + t) * 3L * C + part * C + h * hs + i]);
    }
};

// Row t of head h's softmax before its division: e[t2] = exp(s[t2] − max s) for t2 ≤ t, with
// s[t2] = q_t · k_t2 · scale; returns Σ e. Both twins recompute it the same way.
double exp_scores_row(double* e, const Bf16Qkv& at, int b, int h, int t, double scale) {
    double mx = -INFINITY;
    for (int t2 = 0; t2 <= t; ++t2) {
        double s = 0;
        for (int i = 0; i < at.hs; ++i) s += at(b, t, 0, h, i) * at(b, t2, 1, h, i);
        e[t2] = s * scale;
        mx = std::max(mx, e[t2]);
    }
    double sum = 0;
    for (int t2 = 0; t2 <= t; ++t2) {
        e[t2] = std::exp(e[t2] - mx);
        sum += e[t2];
    }
    return sum;
}

}  // namespace

void attention_forward_bf16_naive(double* out, double* att, const bf16* qkv, int B, int Tn, int C,
                                  int NH, float dropout, uint64_t seed) {
    const int hs = C / NH;
    const double scale = 1.0 / std::sqrt(static_cast<double>(hs));
    const double keep_scale = 1.0 / (1.0 - static_cast<double>(dropout));
    const Bf16Qkv at{qkv, Tn, C, hs};
    for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
            for (int t = 0; t < Tn; ++t) {
                double* a = att + ((static_cast<long>(b) * NH + h) * Tn + t) * Tn;
                const double sum = exp_scores_row(a, at, b, h, t, scale);
                for (int t2 = 0; t2 < Tn; ++t2) {
                    double e = t2 <= t ? a[t2] : 0.0;
                    if (t2 <= t && dropout > 0.0f) {
                        e = attention_dropout_keep(seed, b, h, t, t2, dropout) ? e * keep_scale
                                                                               : 0.0;
                    }
                    a[t2] = to_float(to_bf16(static_cast<float>(e))) / sum;
                }
                double* o = out + (static_cast<long>(b) * Tn + t) * C + h * hs;
                for (int i = 0; i < hs; ++i) {
                    o[i] = 0;
                    for (int t2 = 0; t2 <= t; ++t2) o[i] += a[t2] * at(b, t2, 2, h, i);
                }
            }
        }
    }
}

void attention_backward_bf16_naive(double* dqkv, const float* dout, const bf16* qkv,
                                   const float* out, int B, int Tn, int C, int NH, float dropout,
                                   uint64_t seed) {
    // Forward: s = q·k·scale; p = softmax(s); a = p·m (m the dropout mask); out = Σ a·v.
    // ⇒ dv += a·dout; dp = dout·v; ds = p·(dp·m − D)·scale with D = Σ a·dp = dout·out;
    //   dq += ds·k; dk += ds·q.
    const int hs = C / NH;
    const long C3 = 3L * C;
    const double scale = 1.0 / std::sqrt(static_cast<double>(hs));
    const double keep_scale = 1.0 / (1.0 - static_cast<double>(dropout));
    const Bf16Qkv at{qkv, Tn, C, hs};
    auto round = [](double x) {
        return static_cast<double>(to_float(to_bf16(static_cast<float>(x))));
    };
    std::vector<double> p(static_cast<size_t>(Tn));
    for (int b = 0; b < B; ++b) {
        for (int h = 0; h < NH; ++h) {
            for (int t = 0; t < Tn; ++t) {
                const long row = (static_cast<long>(b) * Tn + t) * C + h * hs;
                const double sum = exp_scores_row(p.data(), at, b, h, t, scale);
                double D = 0;
                for (int i = 0; i < hs; ++i) D += static_cast<double>(dout[row + i]) * out[row + i];
                for (int t2 = 0; t2 <= t; ++t2) {
                    const double pj = p[t2] / sum;
                    const double m = dropout == 0.0f ? 1.0
                                     : attention_dropout_keep(seed, b, h, t, t2, dropout)
                                         ? keep_scale
                                         : 0.0;
                    double dp = 0;
                    for (int i = 0; i < hs; ++i) dp += round(dout[row + i]) * at(b, t2, 2, h, i);
                    const double ds = round(pj * (dp * m - D) * scale), a = round(pj * m);
                    double* dq = dqkv + (static_cast<long>(b) * Tn + t) * C3 + h * hs;
                    double* dk = dqkv + (static_cast<long>(b) * Tn + t2) * C3 + C + h * hs;
                    double* dv = dk + C;
                    for (int i = 0; i < hs; ++i) {
                        dq[i] += ds * at(b, t2, 1, h, i);
                        dk[i] += ds * at(b, t, 0, h, i);
                        dv[i] += a * round(dout[row + i]);
                    }
                }
            }
        }
    }
}

WIGGLE_ISA_DECLARE(void attention_forward(float* out, float* lse, const float* qkv, int B, int T,
                                          int C, int NH, float dropout, uint64_t seed,
                                          float* scratch, long per_thread))
WIGGLE_ISA_DECLARE(void attention_backward(float* dqkv, const float* dout, const float* qkv,
                                           const float* out, const float* lse, int B, int T, int C,
                                           int NH, float dropout, uint64_t seed, GradInput into,
                                           float* scratch, long per_thread))

WIGGLE_ISA_DECLARE(void attention_forward_bf16(Isa isa, float* out, float* lse, const bf16* qkv,
                                               int B, int T, int C, int NH, float dropout,
                                               uint64_t seed, float* scratch, long per_thread))
WIGGLE_ISA_DECLARE(void attention_backward_bf16(Isa isa, float* dqkv, const float* dout,
                                                const bf16* qkv, const float* out, const float* lse,
                                                int B, int T, int C, int NH, float dropout,
                                                uint64_t seed, GradInput into, float* scratch,
                                                long per_thread))

namespace {

// Per-thread scratch of the fused kernels (sized for the backward, the larger, and for 16-lane
// padding, the widest ISA): grows once, then is reused.
float* attention_scratch(int T, int C, int NH, long* per_thread) {
    const long hs = C / NH, hsp = (hs + 15) / 16 * 16, Tp = (T + 15) / 16 * 16;
    const long Tp64 = (T + 63) / 64 * 64;  // the forward's Kᵀ is in panels of 64 keys
    const long per = 7 * T * hsp + 2 * hs * Tp64 + 2 * T * Tp + 2 * Tp + 4 * hsp + 64;
    thread_local std::vector<float> scratch;
    const size_t need = static_cast<size_t>(per) * static_cast<size_t>(num_threads());
    if (scratch.size() < need) scratch.resize(need);
    *per_thread = per;
    return scratch.data();
}

// The bf16 kernels' per-thread scratch (see attention_impl.h), in its own buffer.
float* attention_bf16_scratch(int T, int C, int NH, long* per_thread) {
    const long per = generic::attention_detail::bf16_scratch_floats(T, C / NH);
    thread_local std::vector<float> scratch;
    const size_t need = static_cast<size_t>(per) * static_cast<size_t>(num_threads());
    if (scratch.size() < need) scratch.resize(need);
    *per_thread = per;
    return scratch.data();
}

}  // namespace

void attention_forward_bf16_isa(Isa isa, float* out, float* lse, const bf16* qkv, int B, int T,
                                int C, int NH, float dropout, uint64_t seed) {
    assert(C % NH == 0 && dropout >= 0.0f && dropout < 1.0f);
    long per = 0;
    float* scratch = attention_bf16_scratch(T, C, NH, &per);
    switch (isa) {
#if defined(__x86_64__)
        case Isa::Avx512:
            return avx512::attention_forward_bf16(isa, out, lse, qkv, B, T, C, NH, dropout, seed,
                                                  scratch, per);
        case Isa::Avx2:
            return avx2::attention_forward_bf16(isa, out, lse, qkv, B, T, C, NH, dropout, seed,
                                                scratch, per);
#endif
        default:
            return generic::attention_forward_bf16(isa, out, lse, qkv, B, T, C, NH, dropout, seed,
                                                   scratch, per);
    }
}

void attention_backward_bf16_isa(Isa isa, float* dqkv, const float* dout, const bf16* qkv,
                                 const float* out, const float* lse, int B, int T, int C, int NH,
                                 float dropout, uint64_t seed, GradInput into) {
    long per = 0;
    float* scratch = attention_bf16_scratch(T, C, NH, &per);
    switch (isa) {
#if defined(__x86_64__)
        case Isa::Avx512:
            return avx512::attention_backward_bf16(isa, dqkv, dout, qkv, out, lse, B, T, C, NH,
                                                   dropout, seed, into, scratch, per);
        case Isa::Avx2:
            return avx2::attention_backward_bf16(isa, dqkv, dout, qkv, out, lse, B, T, C, NH,
                                                 dropout, seed, into, scratch, per);
#endif
        default:
            return generic::attention_backward_bf16(isa, dqkv, dout, qkv, out, lse, B, T, C, NH,
                                                    dropout, seed, into, scratch, per);
    }
}

void attention_forward_bf16(float* out, float* lse, const bf16* qkv, int B, int T, int C, int NH,
                            float dropout, uint64_t seed) {
    attention_forward_bf16_isa(cpu_isa(), out, lse, qkv, B, T, C, NH, dropout, seed);
}

void attention_backward_bf16(float* dqkv, const float* dout, const bf16* qkv, const float* out,
                             const float* lse, int B, int T, int C, int NH, float dropout,
                             uint64_t seed, GradInput into) {
    attention_backward_bf16_isa(cpu_isa(), dqkv, dout, qkv, out, lse, B, T, C, NH, dropout, seed,
                                into);
}

void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                       float dropout, uint64_t seed) {
    assert(C % NH == 0 && dropout >= 0.0f && dropout < 1.0f);
    long per = 0;
    float* scratch = attention_scratch(T, C, NH, &per);
    WIGGLE_DISPATCH(attention_forward, out, lse, qkv, B, T, C, NH, dropout, seed, scratch, per);
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH, float dropout, uint64_t seed,
                        GradInput into) {
    long per = 0;
    float* scratch = attention_scratch(T, C, NH, &per);
    WIGGLE_DISPATCH(attention_backward, dqkv, dout, qkv, out, lse, B, T, C, NH, dropout, seed, into,
                    scratch, per);
}

}  // namespace wiggle::kernels
