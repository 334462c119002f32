// Layer norm, AVX-512 build (see layernorm_impl.h).
#include "kernels/layernorm_impl.h"
