# Optional CUDA. METARL_FAST_CUDA = AUTO (build CUDA sources when nvcc is found) | ON | OFF.
# Architectures are explicit (never "native"): 80;90 real code plus PTX for the newest, so later
# GPUs can JIT it. The CUDA runtime is linked statically so the wheel needs only the driver.

set(METARL_FAST_CUDA "AUTO" CACHE STRING "Build CUDA kernels: AUTO, ON or OFF")
set_property(CACHE METARL_FAST_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${METARL_FAST_CUDA}" _cuda_mode)
if(NOT _cuda_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "METARL_FAST_CUDA must be AUTO, ON or OFF (got '${METARL_FAST_CUDA}')")
endif()

set(METARL_FAST_BUILD_CUDA OFF)
file(GLOB_RECURSE METARL_CUDA_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/csrc/cuda/*.cu")
if(NOT _cuda_mode STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
    endif()
    if(CMAKE_CUDA_ARCHITECTURES MATCHES "native|all")
      message(FATAL_ERROR "Set CMAKE_CUDA_ARCHITECTURES explicitly (e.g. 80;90), not '${CMAKE_CUDA_ARCHITECTURES}'")
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
    set(METARL_FAST_BUILD_CUDA ON)
    list(LENGTH METARL_CUDA_SOURCES _n_cu)
    message(STATUS "CUDA: ${CMAKE_CUDA_COMPILER} (${CMAKE_CUDA_COMPILER_VERSION}), "
                   "architectures ${CMAKE_CUDA_ARCHITECTURES}, ${_n_cu} CUDA source files")
  elseif(_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "METARL_FAST_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
  else()
    message(STATUS "CUDA: no nvcc found; building the CPU kernels only")
  endif()
endif()

# Adds the CUDA sources (csrc/cuda/*.cu) to <target>.
function(metarl_add_cuda_sources target)
  if(METARL_CUDA_SOURCES)
    target_sources(${target} PRIVATE ${METARL_CUDA_SOURCES})
    set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  endif()
endfunction()
