// GPU launcher of the sample ops (sample_ops.h): one thread per unit, 256 per block, in stream order.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda/cuda_api.h"
#include "cuda/cuda_check.cuh"
#include "cuda/sample_ops.h"

namespace metarl {
namespace gpu {
namespace {

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
    cuda_check(cudaGetLastError(), "sample op launch");
  }
};

}  // namespace

template <typename T>
void launch_sample_op(const std::string& name, const SampleOpArgs<T>& a, int device, void* stream) {
  DeviceGuard guard(device);
  run_sample_op<T>(name, a, DeviceEach{static_cast<cudaStream_t>(stream)});
}

template void launch_sample_op<float>(const std::string&, const SampleOpArgs<float>&, int, void*);
template void launch_sample_op<double>(const std::string&, const SampleOpArgs<double>&, int, void*);

}  // namespace gpu
}  // namespace metarl
