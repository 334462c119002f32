// The vectorized elementwise maps, AVX-512 build (see elementwise_impl.h).
#include "kernels/elementwise_impl.h"
