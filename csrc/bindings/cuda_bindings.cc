// Bindings of the CUDA kernels (csrc/cuda). Arguments are raw addresses (tensor.data_ptr(), 0 for
// none) with sizes and strides, validated in Python (metarl_fast/kernels/cuda.py); `emulate=True`
// runs the same block programs on the host over host addresses (the tests on machines without a
// GPU), `emulate=False` launches them on `device` on the caller's `stream` and returns at once.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/cuda_api.h"
#include "cuda/policy_plan.h"
#include "policy/op_traits.h"

namespace py = pybind11;

namespace metarl {
namespace {

PolicyOp op_by_name(const std::string& name) {
  for (int i = 0; i < kNumPolicyOps; ++i)
    if (name == kPolicyOpTraits[i].name) return PolicyOp(i);
  throw std::invalid_argument("unknown policy op '" + name + "'");
}

py::dict plan_dict(const gpu::PolicyLaunch& pl) {
  py::dict d;
  d["tile"] = pl.tile;
  d["threads"] = pl.threads;
  d["chunks"] = pl.chunks;
  d["smem_bytes"] = pl.smem_bytes;
  d["workspace_bytes"] = pl.workspace_bytes;
  d["partial_elems"] = pl.partial_elems;
  d["wsum_elems"] = pl.wsum_elems;
  return d;
}

template <typename T>
const T* cptr(uintptr_t p) {
  return reinterpret_cast<const T*>(p);
}

template <typename T>
void run(const MlpSpec& spec, PolicyOp op, int64_t tasks, int64_t samples, const py::dict& ptr,
         const py::dict& stride, double damping, int device, uintptr_t stream, bool emulate) {
  auto get = [&](const char* k) { return ptr.contains(k) ? ptr[k].cast<uintptr_t>() : uintptr_t(0); };
  auto st = [&](const char* k) { return stride.contains(k) ? stride[k].cast<int64_t>() : int64_t(0); };
  const PolicyOpTraits& tr = op_traits(op);
  const gpu::DeviceSpec sp = gpu::device_spec(spec);
  const gpu::PolicyLaunch pl = gpu::plan_policy_launch(spec, op, int(sizeof(T)), tasks, samples, get("weights") != 0);
  gpu::PolicyArgs<T> a;
  a.num_tasks = tasks;
  a.num_samples = samples;
  a.params = cptr<T>(get("params"));
  a.params_stride = st("params");
  a.obs = cptr<T>(get("obs"));
  a.act = cptr<T>(get("act"));
  a.weights = cptr<T>(get("weights"));
  a.weights2 = cptr<T>(get("weights2"));
  a.v = cptr<T>(get("v"));
  a.v_stride = st("v");
  a.old_mean = cptr<T>(get("old_mean"));
  a.old_log_std = cptr<T>(get("old_log_std"));
  a.old_log_std_stride = st("old_log_std");
  a.damping = T(damping);
  a.out = reinterpret_cast<T*>(get("out"));
  auto* ws = reinterpret_cast<double*>(get("workspace"));
  a.partial = ws;
  a.wsum = pl.wsum_elems ? ws + pl.partial_elems : nullptr;
  const std::string fn = std::string("gpu_policy_run(") + tr.name + ")";
  auto need = [&](const void* p, Need n, const char* name) {
    if (n == Need::kYes && !p) throw std::invalid_argument(fn + ": " + name + " is required");
  };
  if (!a.params || !a.obs || !a.out) throw std::invalid_argument(fn + ": params, obs and out are required");
  need(a.act, tr.act, "act");
  need(a.weights, tr.weights, "weights");
  need(a.weights2, tr.weights2, "weights2");
  need(a.v, tr.v, "v");
  need(a.old_mean, tr.old, "old_mean");
  need(a.old_log_std, tr.old, "old_log_std");
  if (pl.workspace_bytes > 0 && (!ws || get("workspace_bytes") < uintptr_t(pl.workspace_bytes)))
    throw std::invalid_argument(fn + ": the workspace must hold " + std::to_string(pl.workspace_bytes) + " bytes");
  py::gil_scoped_release release;
  if (emulate) {
    gpu::emulate_policy_kernel<T>(sp, pl, a);
    return;
  }
#if METARL_FAST_HAS_CUDA
  gpu::launch_policy_kernel<T>(sp, pl, a, device, reinterpret_cast<void*>(stream));
#else
  (void)device;
  (void)stream;
  throw std::runtime_error("metarl_fast was built without CUDA (METARL_FAST_CUDA=OFF or no nvcc at build time)");
#endif
}

}  // namespace

void bind_cuda(py::module_& m) {
  m.def("gpu_policy_plan", [](const MlpSpec& spec, const std::string& op, int dtype_bytes, int64_t tasks,
                              int64_t samples, bool weighted) {
    return plan_dict(gpu::plan_policy_launch(spec, op_by_name(op), dtype_bytes, tasks, samples, weighted));
  }, py::arg("spec"), py::arg("op"), py::arg("dtype_bytes"), py::arg("tasks"), py::arg("samples"),
     py::arg("weighted") = false,
     "How the CUDA kernels split and lay out `op`: {tile, threads, chunks, smem_bytes, workspace_bytes, ...}.");
  m.def("gpu_policy_run", [](const MlpSpec& spec, const std::string& op, int dtype_bytes, int64_t tasks,
                             int64_t samples, const py::dict& ptr, const py::dict& stride, double damping, int device,
                             uintptr_t stream, bool emulate) {
    const PolicyOp o = op_by_name(op);
    if (dtype_bytes == 4) run<float>(spec, o, tasks, samples, ptr, stride, damping, device, stream, emulate);
    else if (dtype_bytes == 8) run<double>(spec, o, tasks, samples, ptr, stride, damping, device, stream, emulate);
    else throw std::invalid_argument("gpu_policy_run: dtype_bytes must be 4 or 8");
  }, py::arg("spec"), py::arg("op"), py::arg("dtype_bytes"), py::arg("tasks"), py::arg("samples"), py::arg("ptr"),
     py::arg("stride"), py::arg("damping"), py::arg("device"), py::arg("stream"), py::arg("emulate"),
     "Runs a policy op of the CUDA kernels: ptr {params, obs, act, weights, weights2, v, old_mean, old_log_std, "
     "out, workspace: address}, workspace_bytes in ptr too; stride {params, v, old_log_std: row stride, 0 shared}.");
  m.def("cuda_device_count", [] {
#if METARL_FAST_HAS_CUDA
    return gpu::cuda_device_count();
#else
    return 0;
#endif
  }, "CUDA devices the driver reports to this build (0 without CUDA, a driver or a device).");
  m.def("cuda_versions", [] {
#if METARL_FAST_HAS_CUDA
    return gpu::cuda_versions();
#else
    return std::string("built without CUDA");
#endif
  });
}

}  // namespace metarl
