// Dropout, AVX2+FMA build (see dropout_impl.h).
#include "kernels/dropout_impl.h"
