// The GPU `Each` of the unit programs (sample_programs.h, cg_ops.h): f(i) for i < n, one thread per
// unit, 256 per block, on one stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/block_exec.h"
#include "cuda/cuda_check.cuh"

namespace metarl {
namespace gpu {

template <typename F>
__global__ void each_kernel(int64_t n, F f) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) f(i);
}

template <typename F>
__global__ void __launch_bounds__(256) block_program_kernel(F f) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  f(int64_t(blockIdx.y), int64_t(blockIdx.x), reinterpret_cast<double*>(smem_raw), DeviceExec{});
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
  // The block program f(y, x, shared, exec) on an nx × ny grid of 256-thread blocks.
  template <typename F>
  void blocks(int64_t nx, int64_t ny, int64_t smem_bytes, const F& f) const {
    if (nx <= 0 || ny <= 0) return;
    if (smem_bytes > 48 * 1024)
      cuda_check(cudaFuncSetAttribute(block_program_kernel<F>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      int(smem_bytes)),
                 "raising the shared-memory limit");
    block_program_kernel<F><<<dim3(unsigned(nx), unsigned(ny)), 256, size_t(smem_bytes), stream>>>(f);
    cuda_check(cudaGetLastError(), "block program launch");
  }
};

}  // namespace gpu
}  // namespace metarl
