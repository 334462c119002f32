// Dropout, AVX-512 build (see dropout_impl.h).
#include "kernels/dropout_impl.h"
