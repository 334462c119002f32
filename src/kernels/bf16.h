// bfloat16: the number type, its rounding from float, and conversions of whole buffers.
//
// A bf16 is the upper half of a float (its sign, exponent and top 7 mantissa bits): widening one
// to a float is exact, and the product of two is exact in float (8-bit significands give a 16-bit
// product) unless it underflows below FLT_MIN. The decoder's bf16 weights (decode.h) and the bf16
// gemm (matmul_bf16.h) both use this type. Not here: fp16, stochastic rounding.
// Reference: the AVX512_BF16 instructions (Intel SDM, VCVTNE2PS2BF16 and VDPBF16PS).
#pragma once

#include <bit>
#include <cstdint>

#include "kernels/cpu.h"

namespace wiggle::kernels {

enum class bf16 : std::uint16_t {};

// The nearest bf16, ties to even (PyTorch's .to(torch.bfloat16)); NaN stays NaN, and values past
// the largest bf16 round to ±inf.
inline bf16 to_bf16(float x) {
    const auto b = std::bit_cast<std::uint32_t>(x);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return bf16((b >> 16) | 0x40u);  // a quiet NaN
    return bf16((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}
inline float to_float(bf16 x) { return std::bit_cast<float>(std::uint32_t(x) << 16); }

// Whether this CPU has AVX512_BF16 (vdpbf16ps) and cpu_isa() allows AVX-512
// (WIGGLE_ISA=avx2|generic turns the bf16 instructions off too).
bool bf16_instructions();
// Whether the bf16 gemm may use AMX tiles (tdpbf16ps; matmul_bf16.h's Amx path): this CPU has
// AMX-TILE and AMX-BF16, Linux granted this process the tile state (arch_prctl, asked once here),
// bf16_instructions() holds, and WIGGLE_AMX is not 0 (which keeps vdpbf16ps, for comparisons).
bool amx_instructions();

// Buffer conversions, vectorized (kernels/bf16_impl.h) and run in blocks on the pool's threads
// (cpu.h); element by element, so the thread count cannot change a bit.
// out (n) = to_bf16(in) element by element: the same bits as the scalar to_bf16 on every input,
// denormals and NaNs included (in integer arithmetic: vcvtne2ps2bf16 would flush denormals). in
// and out must not overlap.
void to_bf16(bf16* out, const float* in, long n);
// The same on a chosen instruction set (tests compare the paths).
void to_bf16_isa(Isa isa, bf16* out, const float* in, long n);
// The scalar loop: the definition.
void to_bf16_naive(bf16* out, const float* in, long n);
// out (M,N) = to_bf16(in), and sums (N) += Σ_m in[m][n] (each column summed over the rows in
// order: a linear layer's bias gradient, matmul.h's bias_backward) when sums is not null: the
// bf16 copy of an output gradient and its bias's gradient in one pass over it.
void to_bf16_sum_columns(bf16* out, float* sums, const float* in, int M, int N);
// The same on a chosen instruction set (tests compare the paths).
void to_bf16_sum_columns_isa(Isa isa, bf16* out, float* sums, const float* in, int M, int N);
// out (n) = to_float(in): exact.
void to_float(float* out, const bf16* in, long n);

}  // namespace wiggle::kernels
