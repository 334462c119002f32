# Helpers that keep the per-folder CMakeLists short.

# wiggle_layer(NAME folder DEPS ...): the library of one src/ folder, from every .cpp in it.
# A folder with no .cpp yet (headers only) becomes an INTERFACE library. Installed (cmake
# --install) as wiggle::<folder>, its headers under include/wiggle/<folder>/.
function(wiggle_layer name folder)
    cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
    file(GLOB sources CONFIGURE_DEPENDS ${folder}/*.cpp)
    set(includes $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src> $<INSTALL_INTERFACE:include/wiggle>)
    if(sources)
        add_library(${name} STATIC ${sources})
        target_include_directories(${name} PUBLIC ${includes})
        target_link_libraries(${name} PUBLIC ${ARG_DEPS})
    else()
        add_library(${name} INTERFACE)
        target_include_directories(${name} INTERFACE ${includes})
        target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    endif()
    set_target_properties(${name} PROPERTIES EXPORT_NAME ${folder})
    install(TARGETS ${name} EXPORT wiggleTargets ARCHIVE DESTINATION lib)
    install(DIRECTORY ${folder}/ DESTINATION include/wiggle/${folder} FILES_MATCHING
            PATTERN "*.h")
endfunction()

# wiggle_program(NAME SOURCES ... LIBS ...): a program in build/bin.
function(wiggle_program name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_LIBS})
    wiggle_quick_under_sanitizers(${name})
endfunction()

# wiggle_quick_under_sanitizers(TARGET): in the sanitizer build, the target's own files compile at
# -O0. Header-only CLI11 and GoogleTest's macros cost a minute a file at -O1 with ASan + UBSan
# (a quarter of that at -O0), and that was most of CI's time; the library keeps -O1, so the
# sanitized tests still run at a usable speed. The sanitizers check -O0 code fully.
function(wiggle_quick_under_sanitizers name)
    if(WIGGLE_SANITIZE)
        target_compile_options(${name} PRIVATE -O0)
    endif()
endfunction()
