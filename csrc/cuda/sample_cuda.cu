// GPU launchers of the unit programs: advantages and estimator weights (sample_ops.h) and the
// conjugate-gradient updates (cg_ops.h).
#include <cuda_runtime.h>

#include <string>

#include "cuda/cg_ops.h"
#include "cuda/cuda_api.h"
#include "cuda/device_each.cuh"
#include "cuda/sample_ops.h"

namespace metarl {
namespace gpu {

template <typename T>
void launch_sample_op(const std::string& name, const SampleOpArgs<T>& a, int device, void* stream) {
  DeviceGuard guard(device);
  run_sample_op<T>(name, a, DeviceEach{static_cast<cudaStream_t>(stream)});
}

template <typename T>
void launch_cg_op(const std::string& name, const CgArgs<T>& a, int device, void* stream) {
  DeviceGuard guard(device);
  run_cg_op<T>(name, a, DeviceEach{static_cast<cudaStream_t>(stream)});
}

METARL_INSTANTIATE_UNIT_LAUNCHERS(float)
METARL_INSTANTIATE_UNIT_LAUNCHERS(double)

}  // namespace gpu
}  // namespace metarl
