// Decode kernels, AVX-512 build (see decode_impl.h).
// GCC 12 warns inside its own intrinsics (_mm512_reduce_max_ps's _mm256_undefined_pd): a known
// false positive of -Wuninitialized, silenced for this file only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "kernels/decode_impl.h"
