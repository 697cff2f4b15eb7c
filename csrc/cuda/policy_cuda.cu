// CUDA launch of the policy block program (policy_program.h): one block per (chunk, task) work
// item, then one thread per result element for the finish step.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda/cuda_api.h"
#include "cuda/cuda_check.cuh"
#include "cuda/device_each.cuh"
#include "cuda/policy_plan.h"

namespace metarl {
namespace gpu {
namespace {

template <typename T>
__global__ void __launch_bounds__(kBlockThreads, 2) policy_items_kernel(DeviceSpec sp, PolicyLaunch pl,
                                                                     PolicyArgs<T> a) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  policy_block<T>(sp, pl, a, int64_t(blockIdx.y), int64_t(blockIdx.x), reinterpret_cast<T*>(smem_raw), DeviceExec{});
}

template <typename T>
__global__ void policy_finish_params_kernel(DeviceSpec sp, PolicyLaunch pl, PolicyArgs<T> a) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= a.num_tasks * sp.num_params) return;
  policy_finish_param<T>(sp, pl, a, idx / sp.num_params, idx % sp.num_params);
}

template <typename T>
__global__ void policy_finish_tasks_kernel(PolicyLaunch pl, PolicyArgs<T> a) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < a.num_tasks) policy_finish_task<T>(pl, a, t);
}

}  // namespace

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return n;
}

std::string cuda_versions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  return "runtime " + std::to_string(runtime) + ", driver " + std::to_string(driver);
}

template <typename T>
void launch_policy_kernel(const DeviceSpec& spec, const PolicyLaunch& launch, const PolicyArgs<T>& a, int device,
                          void* stream_ptr) {
  DeviceGuard guard(device);
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  pack_policy_rows<T>(spec, launch, a, DeviceEach{stream});
  if (launch.smem_bytes > 48 * 1024)
    cuda_check(cudaFuncSetAttribute(policy_items_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(launch.smem_bytes)),
          "raising the shared-memory limit");
  const dim3 grid(unsigned(launch.chunks), unsigned(a.num_tasks));
  policy_items_kernel<T><<<grid, launch.threads, size_t(launch.smem_bytes), stream>>>(spec, launch, a);
  cuda_check(cudaGetLastError(), "work-item kernel launch");
  constexpr int kFinishThreads = 256;
  if (launch.vector_out) {
    const int64_t n = a.num_tasks * spec.num_params;
    policy_finish_params_kernel<T><<<unsigned((n + kFinishThreads - 1) / kFinishThreads), kFinishThreads, 0, stream>>>(
        spec, launch, a);
    cuda_check(cudaGetLastError(), "finish kernel launch");
  } else if (PolicyOp(launch.op) == PolicyOp::kKl) {
    policy_finish_tasks_kernel<T><<<unsigned((a.num_tasks + kFinishThreads - 1) / kFinishThreads), kFinishThreads, 0,
                                    stream>>>(launch, a);
    cuda_check(cudaGetLastError(), "finish kernel launch");
  }
}

METARL_INSTANTIATE_POLICY_LAUNCHER(float)
METARL_INSTANTIATE_POLICY_LAUNCHER(double)

}  // namespace gpu
}  // namespace metarl
