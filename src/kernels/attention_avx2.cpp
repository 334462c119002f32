// Fused causal attention, AVX2+FMA build (see attention_impl.h).
#include "kernels/attention_impl.h"
