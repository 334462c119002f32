// The vectorized GELU (and the array exp/erf of vmath.h), compiled once per instruction set by
// gelu.cpp (portable), gelu_avx2.cpp and gelu_avx512.cpp. Elementwise, so threading over blocks
// cannot change a bit.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "kernels/gelu.h"
#include "kernels/simd.h"

namespace wiggle::kernels::WIGGLE_ISA_NS {

namespace gelu_detail {
constexpr int kBlock = 4096;           // elements per work item of the pool
constexpr int kParallelMin = 1 << 15;  // below this, one thread is faster than waking another

// erf(x) given exp(−x²) from `e()`. In WebAssembly, when every lane has |x| < 1 (most of a GPT's
// pre-activations), only the branch verf's select keeps: the same bits, without the exp and the
// |x| ≥ 1 polynomial, which SIMD128's 4 lanes make costly; the full form is out of line so that
// the common path inlines into the loop.
template <typename E>
[[gnu::noinline]] vf erf_full(vf x, E e) {
    return verf_given_exp(x, e());
}
template <typename E>
[[gnu::always_inline]] inline vf erf_lanes(vf x, E e) {
#if defined(WIGGLE_SIMD_WASM)
    if (vall_abs_lt(x, 1.0f)) [[likely]]
        return verf_small(x);
    return erf_full(x, e);
#else
    return verf_given_exp(x, e());
#endif
}

inline vf gelu(vf x) {
    const vf xs = vmul(x, vset1(0.70710678118654752f));
    const vf erf = erf_lanes(xs, [xs] { return vexp(vneg(vmul(xs, xs))); });
    const vf cdf = vmul(vset1(0.5f), vadd(vset1(1.0f), erf));
    return vmul(x, cdf);
}
// The tanh form through ½·(1 + tanh(z)) = sigmoid(2z) = 1/(1 + e), e = e^(−2z): no cancellation
// near 0, and e → inf or 0 gives the right limits; 1 − s = e·s, without cancellation either.
// z = √(2/π)·(x + 0.044715·x³).
inline vf gelu_tanh_e(vf x) {
    const vf x3 = vmul(vmul(x, x), x);
    return vexp(vmul(vset1(-2.0f * 0.79788456080286535588f), vfma(vset1(0.044715f), x3, x)));
}
inline vf gelu_tanh(vf x) { return vdiv(x, vadd(vset1(1.0f), gelu_tanh_e(x))); }
// d/dx x·s = s + x·s·(1 − s)·2·dz/dx, dz/dx = √(2/π)·(1 + 3·0.044715·x²). Past |x| = 40 the
// derivative is 0 or 1 to float precision: x is clamped there, so x³ and dz/dx stay finite.
inline vf gelu_tanh_grad(vf x) {
    const vf xc = vmin(vset1(40.0f), vmax(vset1(-40.0f), x));  // data second: NaN passes through
    const vf e = gelu_tanh_e(xc);
    const vf s = vdiv(vset1(1.0f), vadd(vset1(1.0f), e));
    const vf dz2 = vmul(vset1(2.0f * 0.79788456080286535588f),
                        vfma(vset1(3.0f * 0.044715f), vmul(xc, xc), vset1(1.0f)));
    // when e is inf (x near −40), s is 0 and e·s would be inf·0: the term is 0 there
    const vf one_minus_s = vselect_lt(s, vset1(1e-30f), vzero(), vmul(e, s));
    return vfma(vmul(vmul(xc, s), one_minus_s), dz2, s);
}
// gelu'(x) = Φ(x) + x·φ(x); erf(x/√2) and φ(x) share exp(−x²/2).
inline vf gelu_grad(vf x) {
    const vf xs = vmul(x, vset1(0.70710678118654752f));
    const vf e = vexp(vmul(vset1(-0.5f), vmul(x, x)));  // exp(−x²/2) = exp(−xs²), x² rounded once
    const vf cdf = vmul(vset1(0.5f), vadd(vset1(1.0f), erf_lanes(xs, [e] { return e; })));
    return vfma(x, vmul(e, vset1(0.39894228040143267794f)), cdf);
}

// Two vectors per step: the polynomials are long dependency chains, two in flight hide latency.
template <typename Out, typename In, typename F>
inline void map2(Out* out, const In* inp, int begin, int end, F f) {
    int i = begin;
    for (; i + 2 * kW <= end; i += 2 * kW) {
        const vf a = f(vload(inp + i)), b = f(vload(inp + i + kW));
        vstore(out + i, a);
        vstore(out + i + kW, b);
    }
    for (; i + kW <= end; i += kW) vstore(out + i, f(vload(inp + i)));
    if (i < end) vstore_n(out + i, f(vload_n(inp + i, end - i)), end - i);
}

// out = gelu(inp), float or bf16 on either side (vload widens, vstore rounds)
template <typename Out, typename In>
void forward(Out* out, const In* inp, int N, GeluForm form) {
    const int blocks = (N + kBlock - 1) / kBlock;
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        if (form == GeluForm::Erf) {
            map2(out, inp, blk * kBlock, end, [](vf x) { return gelu(x); });
        } else {
            map2(out, inp, blk * kBlock, end, [](vf x) { return gelu_tanh(x); });
        }
    });
}

// dinp += gelu'(inp)·dout over [begin, end) (kSet: dinp = +0 + gelu'(inp)·dout, not read; a
// bf16 dinp only so, rounded by vstore).
template <bool kSet, typename Out, typename In, typename Grad>
inline void backward_range(Out* dinp, const In* inp, const float* dout, int begin, int end,
                           Grad grad) {
    static_assert(kSet || std::is_same_v<Out, float>, "a bf16 gradient is set, not accumulated");
    auto step = [grad](vf x, vf d, vf acc) { return vfma(grad(x), d, acc); };
    auto old = [dinp](int at) { return kSet ? vzero() : vload(dinp + at); };
    int i = begin;
    for (; i + 2 * kW <= end; i += 2 * kW) {
        const vf a = step(vload(inp + i), vload(dout + i), old(i));
        const vf b = step(vload(inp + i + kW), vload(dout + i + kW), old(i + kW));
        vstore(dinp + i, a);
        vstore(dinp + i + kW, b);
    }
    for (; i + kW <= end; i += kW) {
        vstore(dinp + i, step(vload(inp + i), vload(dout + i), old(i)));
    }
    if (i < end) {
        const int n = end - i;
        const vf acc = kSet ? vzero() : vload_n(dinp + i, n);
        vstore_n(dinp + i, step(vload_n(inp + i, n), vload_n(dout + i, n), acc), n);
    }
}

// A bf16 input is one of 65,536 values, so under --dtype bf16 (where the GELU's forward runs twice
// a step: again in backward, recomputed) the forward is a lookup: the rounded output of every
// bf16, computed once per form by the vector code above on every value in order. A lookup gives
// the arithmetic's bits by construction (each lane of gelu is a function of that lane alone),
// NaNs included; the 128 KiB table stays in L2. The backward is not: it streams dinp and dout,
// and a table of derivatives measured no faster than computing them.
inline std::unique_ptr<uint16_t[]> make_bf16_table(GeluForm form) {
    auto every = std::make_unique<bf16[]>(1 << 16);
    for (int i = 0; i < (1 << 16); ++i) every[i] = bf16(i);
    auto table = std::make_unique<uint16_t[]>(1 << 16);
    bf16* out = reinterpret_cast<bf16*>(table.get());
    if (form == GeluForm::Erf) {
        map2(out, every.get(), 0, 1 << 16, [](vf x) { return gelu(x); });
    } else {
        map2(out, every.get(), 0, 1 << 16, [](vf x) { return gelu_tanh(x); });
    }
    return table;
}
inline const uint16_t* bf16_table(GeluForm form) {
    if (form == GeluForm::Erf) {
        static const std::unique_ptr<uint16_t[]> erf = make_bf16_table(GeluForm::Erf);
        return erf.get();
    }
    static const std::unique_ptr<uint16_t[]> tanh = make_bf16_table(GeluForm::Tanh);
    return tanh.get();
}

// out[i0..i1) = table[inp[i0..i1)]. The loop at the end is the plain version; the first reads
// eight inputs as two 64-bit words and looks their entries up one by one: one load and one store
// an entry, faster on Zen 5 than AVX-512's gathers (vpgatherdd; bench/RESULTS.md), the same
// entries.
inline void lookup(bf16* out, const bf16* inp, const uint16_t* table, int i0, int i1) {
    static_assert(std::endian::native == std::endian::little);  // inp[i + j] is bits 16j of a word
    int i = i0;
    for (; i + 8 <= i1; i += 8) {
        uint64_t w[2];
        std::memcpy(w, inp + i, sizeof w);
        for (int h = 0; h < 2; ++h) {
            for (int j = 0; j < 4; ++j)
                out[i + 4 * h + j] = bf16(table[(w[h] >> (16 * j)) & 0xFFFF]);
        }
    }
    for (; i < i1; ++i) out[i] = bf16(table[static_cast<uint16_t>(inp[i])]);
}

// out = gelu(inp) on bf16, by lookup: the same bits as forward's arithmetic
inline void forward_bf16(bf16* out, const bf16* inp, int N, GeluForm form) {
    const uint16_t* table = bf16_table(form);
    const int blocks = (N + kBlock - 1) / kBlock;
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        lookup(out, inp, table, blk * kBlock, (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N);
    });
}

// dinp += gelu'(inp)·dout (or = with GradInput::Set)
template <bool kSet, typename Out, typename In>
void backward(Out* dinp, const In* inp, const float* dout, int N, GeluForm form) {
    const int blocks = (N + kBlock - 1) / kBlock;
    for_items(blocks, N >= kParallelMin, [=](int blk) {
        const int end = (blk + 1) * kBlock < N ? (blk + 1) * kBlock : N;
        if (form == GeluForm::Erf) {
            backward_range<kSet>(dinp, inp, dout, blk * kBlock, end,
                                 [](vf x) { return gelu_grad(x); });
        } else {
            backward_range<kSet>(dinp, inp, dout, blk * kBlock, end,
                                 [](vf x) { return gelu_tanh_grad(x); });
        }
    });
}
template <typename In>
void backward(float* dinp, const In* inp, const float* dout, int N, GeluForm form, GradInput into) {
    if (into == GradInput::Set) return backward<true>(dinp, inp, dout, N, form);
    backward<false>(dinp, inp, dout, N, form);
}
}  // namespace gelu_detail

void gelu_forward(float* out, const float* inp, int N, GeluForm form) {
    gelu_detail::forward(out, inp, N, form);
}
void gelu_forward(bf16* out, const bf16* inp, int N, GeluForm form) {
    gelu_detail::forward_bf16(out, inp, N, form);
}
void gelu_backward(float* dinp, const float* inp, const float* dout, int N, GeluForm form,
                   GradInput into) {
    gelu_detail::backward(dinp, inp, dout, N, form, into);
}
void gelu_backward(float* dinp, const bf16* inp, const float* dout, int N, GeluForm form,
                   GradInput into) {
    gelu_detail::backward(dinp, inp, dout, N, form, into);
}
void gelu_backward(bf16* dinp16, const bf16* inp, const float* dout, int N, GeluForm form) {
    gelu_detail::backward<true>(dinp16, inp, dout, N, form);
}

void vexp(float* out, const float* inp, int N) {
    int i = 0;
    for (; i + kW <= N; i += kW) vstore(out + i, vexp(vload(inp + i)));
    if (i < N) vstore_n(out + i, vexp(vload_n(inp + i, N - i)), N - i);
}

void verf(float* out, const float* inp, int N) {
    int i = 0;
    for (; i + kW <= N; i += kW) vstore(out + i, verf(vload(inp + i)));
    if (i < N) vstore_n(out + i, verf(vload_n(inp + i, N - i)), N - i);
}

}  // namespace wiggle::kernels::WIGGLE_ISA_NS
