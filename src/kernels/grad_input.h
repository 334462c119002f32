// How a kernel's backward writes an input's gradient.
#pragma once

#include <cstdint>

namespace wiggle::kernels {

// Add: the gradient is added to what the buffer holds (the rule: reuse, residuals and tied
// weights need no special case). Set: it is stored over the buffer, for a scratch gradient that
// would be zeroed just before; the same bits as zeroing then adding (each sum starts at +0
// either way), without the buffer's two extra trips through memory.
enum class GradInput : uint8_t { Add, Set };

}  // namespace wiggle::kernels
