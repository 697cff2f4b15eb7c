// The GPU `Each` of the unit programs (sample_programs.h, cg_ops.h): f(i) for i < n, one thread per
// unit, 256 per block, on one stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_check.cuh"

namespace metarl {
namespace gpu {

template <typename F>
__global__ void each_kernel(int64_t n, F f) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) f(i);
}

struct DeviceEach {
  cudaStream_t stream;
  template <typename F>
  void operator()(int64_t n, const F& f) const {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    each_kernel<F><<<unsigned((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(n, f);
    cuda_check(cudaGetLastError(), "unit kernel launch");
  }
};

}  // namespace gpu
}  // namespace metarl
