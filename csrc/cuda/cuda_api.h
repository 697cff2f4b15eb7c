// Entry points of the CUDA kernels (csrc/cuda/*.cu), callable from code compiled without CUDA
// headers. Torch-free: device pointers, sizes, a device index and the caller's stream (a
// cudaStream_t passed as void*; torch.cuda.current_stream().cuda_stream). Every launch goes on
// that stream and returns without synchronising; errors of the launch itself throw
// std::runtime_error, errors of the kernel surface at the caller's next synchronisation.
// Declared in every build; a build without CUDA defines them in no_cuda.cc (no devices; launches
// throw std::runtime_error).
#pragma once

#include <string>

#include "cuda/policy_program.h"
#include "cuda/cg_ops.h"
#include "cuda/sample_ops.h"

namespace metarl {
namespace gpu {

// Number of CUDA devices the driver reports (0 when there is no driver or no device).
int cuda_device_count();
// "runtime <version>, driver <version>" of this build's (static) CUDA runtime.
std::string cuda_versions();

// The policy op of `launch` on device `device`: the work-item kernel, then the finish kernel.
// a.partial / a.wsum: device workspace of launch.workspace_bytes (partial first, then wsum).
template <typename T>
void launch_policy_kernel(const DeviceSpec& spec, const PolicyLaunch& launch, const PolicyArgs<T>& a, int device,
                          void* stream);

// The advantage / estimator-weight op `name` (sample_ops.h) on `device`; a.workspace holds
// sample_op_workspace(name, a) doubles of device memory.
template <typename T>
void launch_sample_op(const std::string& name, const SampleOpArgs<T>& a, int device, void* stream);

// One step of the device conjugate gradient (cg_ops.h): "cg_init" or "cg_step".
template <typename T>
void launch_cg_op(const std::string& name, const CgArgs<T>& a, int device, void* stream);

// The launchers' explicit instantiations for float and double, written where they are defined
// (the .cu files in a CUDA build, no_cuda.cc otherwise).
#define METARL_INSTANTIATE_POLICY_LAUNCHER(T) \
  template void launch_policy_kernel<T>(const DeviceSpec&, const PolicyLaunch&, const PolicyArgs<T>&, int, void*);
#define METARL_INSTANTIATE_UNIT_LAUNCHERS(T)                                                     \
  template void launch_sample_op<T>(const std::string&, const SampleOpArgs<T>&, int, void*); \
  template void launch_cg_op<T>(const std::string&, const CgArgs<T>&, int, void*);

}  // namespace gpu
}  // namespace metarl
