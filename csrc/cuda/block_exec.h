// How a thread-block program runs: on the GPU, or emulated on the host.
//
// The CUDA kernels of this package are written as a sequence of phases. A phase is a function
// f(tid, num_threads) that every thread of the block runs, followed by a block-wide barrier; no
// thread keeps state from one phase to the next except through shared or global memory, and the
// control flow between phases is the same for every thread. Under that rule, running each phase
// for tid = 0, 1, …, num_threads − 1 one after the other on the host gives exactly what the block
// computes on the GPU. The host emulation is what tests these programs on machines without a GPU;
// the GPU run checks the rest (launch, memory, the device's arithmetic). Work that splits into
// independent units f(i) (one GPU thread each) runs through an `Each`: HostEach here, DeviceEach
// in device_each.cuh.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/host_device.h"

namespace metarl {
namespace gpu {

#if defined(__CUDACC__)
// One phase per call on the GPU: every thread runs f(threadIdx.x, blockDim.x), then the barrier.
struct DeviceExec {
  template <typename F>
  __device__ void operator()(F&& f) const {
    f(int(threadIdx.x), int(blockDim.x));
    __syncthreads();
  }
};
#endif

// One phase per call on the host: the threads of the block one after the other.
struct HostExec {
  int threads = 1;
  template <typename F>
  void operator()(F&& f) const {
    for (int tid = 0; tid < threads; ++tid) f(tid, threads);
  }
};

// Runs f(i) for i < n on the host, in order; blocks(nx, ny, smem_bytes, f) runs the block program
// f(y, x, shared, exec) of every block (x < nx, y < ny) with the threads of HostExec.
struct HostEach {
  template <typename F>
  void operator()(int64_t n, const F& f) const {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
  template <typename F>
  void blocks(int64_t nx, int64_t ny, int64_t smem_bytes, const F& f) const {
    std::vector<double> smem(size_t(smem_bytes / 8 + 1));
    const HostExec exec{256};
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) f(y, x, smem.data(), exec);
  }
};

// Math on both sides (the device's tanh/exp/log for float and double).
METARL_HD inline float dev_tanh(float x) { return tanhf(x); }
METARL_HD inline double dev_tanh(double x) { return tanh(x); }
METARL_HD inline float dev_exp(float x) { return expf(x); }
METARL_HD inline double dev_exp(double x) { return exp(x); }

}  // namespace gpu
}  // namespace metarl
