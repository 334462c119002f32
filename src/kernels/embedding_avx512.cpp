// Embedding and encoder, AVX-512 build (see embedding_impl.h).
#include "kernels/embedding_impl.h"
