// Forced into every unit of the browser build (cmake/web.cmake): what Debian's Emscripten 3.1.6
// ships an older libc++ without, written on the compiler's builtins. Nothing here when the
// standard library has it.
#pragma once

#include <algorithm>
#include <bit>
#include <type_traits>
#include <utility>

#if !defined(__cpp_lib_bit_cast)
namespace std {
template <class To, class From>
requires(sizeof(To) == sizeof(From) && is_trivially_copyable_v<To> &&
         is_trivially_copyable_v<From>) constexpr To bit_cast(const From& from) noexcept {
    return __builtin_bit_cast(To, from);
}
}  // namespace std
#endif

#if defined(_LIBCPP_VERSION) && _LIBCPP_VERSION < 15000
// std::ranges' algorithms arrived in libc++ 15; the one the library uses.
namespace std::ranges {
template <class R, class P>
constexpr bool any_of(R&& r, P p) {
    for (auto&& x : r) {
        if (p(x)) return true;
    }
    return false;
}
}  // namespace std::ranges
#endif
