// Vectorized exp and erf over arrays (the same polynomials the fused kernels use inside their
// loops), exposed so tests can measure them against the C library. Legend: N elements.
// Accuracy: exp within 2 ulp over [−87, 88] (0 below, inf above), erf within 4 ulp everywhere.
#pragma once

namespace wiggle::kernels {

void vexp(float* out, const float* inp, int N);
void verf(float* out, const float* inp, int N);

}  // namespace wiggle::kernels
