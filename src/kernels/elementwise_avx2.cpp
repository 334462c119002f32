// The vectorized elementwise maps, AVX2+FMA build (see elementwise_impl.h).
#include "kernels/elementwise_impl.h"
