// Decode kernels, AVX2+FMA build (see decode_impl.h).
#include "kernels/decode_impl.h"
