# Compiler flags shared by every target, and per-ISA builds of one source file.

function(metarl_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
  endif()
endfunction()

# metarl_add_isa_variants(<name> <source>): an OBJECT library holding <source> compiled three
# times — AVX-512, AVX2+FMA and baseline x86-64 — each in its own namespace chosen by
# METARL_ISA_NAMESPACE / METARL_VEC_BYTES. The dispatcher picks one with __builtin_cpu_supports.
# On non-x86 only the baseline variant is built.
function(metarl_add_isa_variants name source)
  set(variants "generic")
  set(flags_generic "")
  set(bytes_generic 16)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    list(APPEND variants avx2 avx512)
    set(flags_avx2 -mavx2 -mfma)
    set(bytes_avx2 32)
    set(flags_avx512 -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma -mprefer-vector-width=512)
    set(bytes_avx512 64)
  endif()
  add_library(${name} INTERFACE)
  foreach(v IN LISTS variants)
    add_library(${name}_${v} OBJECT ${source})
    target_include_directories(${name}_${v} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/csrc)
    target_compile_options(${name}_${v} PRIVATE ${flags_${v}} -O3 -fno-math-errno -fno-trapping-math)
    target_compile_definitions(${name}_${v} PRIVATE
      METARL_ISA_NAMESPACE=isa_${v} METARL_VEC_BYTES=${bytes_${v}})
    metarl_set_warnings(${name}_${v})
    target_sources(${name} INTERFACE $<TARGET_OBJECTS:${name}_${v}>)
    string(TOUPPER ${v} V)
    target_compile_definitions(${name} INTERFACE METARL_HAVE_ISA_${V}=1)
  endforeach()
endfunction()
