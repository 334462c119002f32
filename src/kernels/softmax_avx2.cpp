// Softmax, log-softmax and cross-entropy, AVX2+FMA build (see softmax_impl.h).
#include "kernels/softmax_impl.h"
