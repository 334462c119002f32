// Embedding and encoder, AVX2+FMA build (see embedding_impl.h).
#include "kernels/embedding_impl.h"
