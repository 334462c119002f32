// Optimizer updates, AVX2+FMA build (see adamw_impl.h).
#include "kernels/adamw_impl.h"
