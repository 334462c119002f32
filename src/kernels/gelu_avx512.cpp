// GELU and the array exp/erf, AVX-512 build (see gelu_impl.h).
#include "kernels/gelu_impl.h"
