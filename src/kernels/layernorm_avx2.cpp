// Layer norm, AVX2+FMA build (see layernorm_impl.h).
#include "kernels/layernorm_impl.h"
