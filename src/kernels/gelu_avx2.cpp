// GELU and the array exp/erf, AVX2+FMA build (see gelu_impl.h).
#include "kernels/gelu_impl.h"
