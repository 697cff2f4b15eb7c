// Code compiled for the host and, by nvcc, for CUDA devices too (the units and block programs that
// the CPU kernels and the CUDA kernels share).
#pragma once

#if defined(__CUDACC__)
#define METARL_HD __host__ __device__
#define METARL_UNROLL _Pragma("unroll")
#else
#define METARL_HD
#define METARL_UNROLL
#endif
