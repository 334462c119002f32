// Optimizer updates, AVX-512 build (see adamw_impl.h).
#include "kernels/adamw_impl.h"
