// The CUDA entry points (cuda_api.h) in a build without CUDA: no devices, and launches refused.
#include <stdexcept>
#include <string>

#include "cuda/cuda_api.h"

namespace metarl {
namespace gpu {
namespace {
[[noreturn]] void refuse() {
  throw std::runtime_error("metarl_fast was built without CUDA (METARL_FAST_CUDA=OFF or no nvcc at build time)");
}
}  // namespace

int cuda_device_count() { return 0; }
std::string cuda_versions() { return "built without CUDA"; }

template <typename T>
void launch_policy_kernel(const DeviceSpec&, const PolicyLaunch&, const PolicyArgs<T>&, int, void*) {
  refuse();
}
template <typename T>
void launch_sample_op(const std::string&, const SampleOpArgs<T>&, int, void*) {
  refuse();
}
template <typename T>
void launch_cg_op(const std::string&, const CgArgs<T>&, int, void*) {
  refuse();
}

METARL_INSTANTIATE_POLICY_LAUNCHER(float)
METARL_INSTANTIATE_POLICY_LAUNCHER(double)
METARL_INSTANTIATE_UNIT_LAUNCHERS(float)
METARL_INSTANTIATE_UNIT_LAUNCHERS(double)

}  // namespace gpu
}  // namespace metarl
