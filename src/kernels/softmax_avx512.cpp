// Softmax, log-softmax and cross-entropy, AVX-512 build (see softmax_impl.h).
#include "kernels/softmax_impl.h"
