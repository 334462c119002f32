# Installs the build into a temporary prefix, builds tests/install/consumer against it with
# find_package(wiggle), and runs the consumer (part 2's MLP through the installed library).
# Usage: cmake -DBUILD=<build folder> -DSRC=<project root> -DWORK=<scratch folder> -P run.cmake
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
    message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(needed bin/wiggle lib/cmake/wiggle/wiggleConfig.cmake include/wiggle/scalar/value.h
               include/wiggle/nn/gpt_weights.h lib/libwiggle_train.a)
    if(NOT EXISTS ${WORK}/prefix/${needed})
        message(FATAL_ERROR "the install has no ${needed}")
    endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/tests/install/consumer -B ${WORK}/build
                        -G Ninja -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
    message(FATAL_ERROR "configuring the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
    message(FATAL_ERROR "building the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK}/build/moons_mlp RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(rc)
    message(FATAL_ERROR "the consumer failed (${rc}): ${out}")
endif()
execute_process(COMMAND ${WORK}/prefix/bin/wiggle --help RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
    message(FATAL_ERROR "the installed wiggle does not run")
endif()
file(REMOVE_RECURSE ${WORK})
