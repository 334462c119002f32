// Fused causal attention, AVX-512 build (see attention_impl.h).
#include "kernels/attention_impl.h"
