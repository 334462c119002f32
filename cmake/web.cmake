# The browser build's stand-ins for the native build's packages (included by the top-level
# CMakeLists.txt when the toolchain is Emscripten's, the `web` preset).
#
# fmt: Debian's libfmt-dev is a native library, so the page uses fmt header-only, from a folder that
# holds only fmt's headers (adding /usr/include itself would put glibc's headers before
# Emscripten's). Threads: nothing to link; the kernels' pool runs on one thread in the browser
# (kernels/cpu.cpp), so the page needs no SharedArrayBuffer.
find_path(WIGGLE_FMT_INCLUDE fmt/format.h PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH
          NO_DEFAULT_PATH REQUIRED)
set(fmt_headers ${CMAKE_BINARY_DIR}/fmt-include)
file(MAKE_DIRECTORY ${fmt_headers})
file(CREATE_LINK ${WIGGLE_FMT_INCLUDE}/fmt ${fmt_headers}/fmt SYMBOLIC)
add_library(fmt::fmt INTERFACE IMPORTED)
target_include_directories(fmt::fmt SYSTEM INTERFACE ${fmt_headers})
target_compile_definitions(fmt::fmt INTERFACE FMT_HEADER_ONLY=1)
add_library(Threads::Threads INTERFACE IMPORTED)

# Debian's Emscripten 3.1.6 has an older libc++: web/libcxx_compat.h fills its gaps.
add_compile_options(-include ${PROJECT_SOURCE_DIR}/web/libcxx_compat.h)

# WebAssembly SIMD (128-bit lanes, every current browser): lets the compiler vectorize the kernels'
# portable path (bench/RESULTS.md: the baby GPT's step with and without it).
option(WIGGLE_WASM_SIMD "Compile the browser build with WebAssembly SIMD128" ON)
if(WIGGLE_WASM_SIMD)
    add_compile_options(-msimd128)
    add_link_options(-msimd128)
endif()
