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
#include "cuda/cg_ops.h"
#include "cuda/policy_plan.h"
#include "cuda/sample_ops.h"
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

std::string fn_name(const PolicyOpTraits& tr) { return std::string("gpu_policy_run(") + tr.name + ")"; }

// Runs emulated() (the block programs on the host) or launched() (the CUDA kernels; in a build
// without CUDA the launchers throw, csrc/cuda/no_cuda.cc), with the GIL released.
template <typename E, typename L>
void host_or_device(bool emulate, const E& emulated, const L& launched) {
  py::gil_scoped_release release;
  if (emulate) emulated();
  else launched();
}

// dict[key] as a V, or `fallback` when the key is absent (addresses: 0, sizes: 0).
template <typename V>
V field(const py::dict& d, const char* key, V fallback = V(0)) {
  return d.contains(key) ? d[key].cast<V>() : fallback;
}

template <typename T>
const T* cptr(uintptr_t p) {
  return reinterpret_cast<const T*>(p);
}

template <typename T>
void run(const MlpSpec& spec, PolicyOp op, int64_t tasks, int64_t samples, const py::dict& ptr,
         const py::dict& stride, double damping, int device, uintptr_t stream, bool emulate) {
  auto get = [&](const char* k) { return field<uintptr_t>(ptr, k); };
  auto st = [&](const char* k) { return field<int64_t>(stride, k); };
  const PolicyOpTraits& tr = op_traits(op);
  const gpu::DeviceSpec sp = gpu::device_spec(spec);
  const gpu::PolicyLaunch pl =
      gpu::plan_policy_launch(spec, op, int(sizeof(T)), tasks, samples, get("weights") != 0,
                              get("cache") ? int(st("cache_mode")) : 0,
                              {st("params") ? tasks : 1, st("v") ? tasks : 1});
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
  a.packed = reinterpret_cast<T*>(reinterpret_cast<char*>(ws) + pl.packed_offset_bytes);
  a.cache = reinterpret_cast<T*>(get("cache"));
  if (a.cache && get("cache_bytes") < uintptr_t(tasks * samples * pl.cache_width * int64_t(sizeof(T))))
    throw std::invalid_argument(fn_name(tr) + ": the forward cache must hold " +
                                std::to_string(tasks * samples * pl.cache_width * int64_t(sizeof(T))) + " bytes");
  a.wsum = pl.wsum_elems ? ws + pl.partial_elems : nullptr;
  const std::string fn = fn_name(tr);
  require_inputs<T>(op, a, fn);
  if (pl.workspace_bytes > 0 && (!ws || get("workspace_bytes") < uintptr_t(pl.workspace_bytes)))
    throw std::invalid_argument(fn + ": the workspace must hold " + std::to_string(pl.workspace_bytes) + " bytes");
  host_or_device(emulate, [&] { gpu::emulate_policy_kernel<T>(sp, pl, a); },
                 [&] { gpu::launch_policy_kernel<T>(sp, pl, a, device, reinterpret_cast<void*>(stream)); });
}

// The SampleOpArgs of a call: sizes {tasks, trajs, horizon, samples, pred_trajs, obs_dim}, addresses
// (0 or absent: none) and scalars {gamma, lam, eps, clip_eps, from_start}.
template <typename T>
gpu::SampleOpArgs<T> sample_args(const py::dict& size, const py::dict& ptr, const py::dict& scalar) {
  auto sz = [&](const char* k) { return field<int64_t>(size, k); };
  auto p = [&](const char* k) { return field<uintptr_t>(ptr, k); };
  auto f = [&](const char* k, double d) { return field<double>(scalar, k, d); };
  gpu::SampleOpArgs<T> a;
  a.tasks = sz("tasks");
  a.trajs = sz("trajs");
  a.horizon = sz("horizon");
  a.samples = sz("samples");
  a.pred_trajs = sz("pred_trajs");
  a.obs_dim = int(sz("obs_dim"));
  a.rewards = cptr<T>(p("rewards"));
  a.mask = cptr<T>(p("mask"));
  a.values = cptr<T>(p("values"));
  a.x = cptr<T>(p("x"));
  a.baseline = cptr<T>(p("baseline"));
  a.jvp = cptr<T>(p("jvp"));
  a.log_prob = cptr<T>(p("log_prob"));
  a.old_log_prob = cptr<T>(p("old_log_prob"));
  a.adv = cptr<T>(p("adv"));
  a.obs = cptr<T>(p("obs"));
  a.targets = cptr<T>(p("targets"));
  a.predict_mask = cptr<T>(p("predict_mask"));
  a.gamma = f("gamma", 0.0);
  a.lam = f("lam", 0.0);
  a.eps = f("eps", 0.0);
  a.clip_eps = f("clip_eps", -1.0);
  a.from_start = f("from_start", 0.0) != 0.0;
  a.out = reinterpret_cast<T*>(p("out"));
  a.W = reinterpret_cast<T*>(p("W"));
  a.U = reinterpret_cast<T*>(p("U"));
  a.value = reinterpret_cast<T*>(p("value"));
  a.weights = reinterpret_cast<T*>(p("weights"));
  a.coeffs = reinterpret_cast<T*>(p("coeffs"));
  a.ridge = reinterpret_cast<double*>(p("ridge"));
  a.workspace = reinterpret_cast<double*>(p("workspace"));
  return a;
}

template <typename T>
void run_sample(const std::string& name, const py::dict& size, const py::dict& ptr, const py::dict& scalar,
                int device, uintptr_t stream, bool emulate) {
  const gpu::SampleOpArgs<T> a = sample_args<T>(size, ptr, scalar);
  const int64_t need = gpu::sample_op_workspace(name, a);
  const uintptr_t have = field<uintptr_t>(ptr, "workspace_bytes");
  if (need > 0 && (!a.workspace || have < uintptr_t(need) * sizeof(double)))
    throw std::invalid_argument("gpu_sample_run(" + name + "): the workspace must hold " +
                                std::to_string(need * int64_t(sizeof(double))) + " bytes");
  host_or_device(emulate, [&] { gpu::run_sample_op<T>(name, a, gpu::HostEach{}); },
                 [&] { gpu::launch_sample_op<T>(name, a, device, reinterpret_cast<void*>(stream)); });
}

template <typename T>
void run_cg(const std::string& name, int64_t systems, int64_t dim, const py::dict& ptr, double residual_tol,
            double damping, int iteration, int device, uintptr_t stream, bool emulate) {
  auto p = [&](const char* k) { return field<uintptr_t>(ptr, k); };
  gpu::CgArgs<T> a;
  a.systems = systems;
  a.dim = dim;
  a.b = cptr<T>(p("b"));
  a.z = cptr<T>(p("z"));
  a.x = reinterpret_cast<T*>(p("x"));
  a.r = reinterpret_cast<T*>(p("r"));
  a.p = reinterpret_cast<T*>(p("p"));
  a.rdotr = reinterpret_cast<double*>(p("rdotr"));
  a.active = reinterpret_cast<int32_t*>(p("active"));
  a.iterations = reinterpret_cast<int32_t*>(p("iterations"));
  a.status = reinterpret_cast<int32_t*>(p("status"));
  a.residual_tol = residual_tol;
  a.damping = damping;
  a.iteration = iteration;
  if (!a.x || !a.r || !a.p || !a.rdotr || !a.active || !a.iterations || !a.status || (name == "cg_init" && !a.b) ||
      (name == "cg_step" && !a.z))
    throw std::invalid_argument("gpu_cg_run(" + name + "): missing state arrays");
  host_or_device(emulate, [&] { gpu::run_cg_op<T>(name, a, gpu::HostEach{}); },
                 [&] { gpu::launch_cg_op<T>(name, a, device, reinterpret_cast<void*>(stream)); });
}

}  // namespace

void bind_cuda(py::module_& m) {
  m.def("gpu_policy_plan", [](const MlpSpec& spec, const std::string& op, int dtype_bytes, int64_t tasks,
                              int64_t samples, bool weighted, bool per_task_params, bool per_task_v) {
    return plan_dict(gpu::plan_policy_launch(spec, op_by_name(op), dtype_bytes, tasks, samples, weighted, 0,
                                             {per_task_params ? tasks : 1, per_task_v ? tasks : 1}));
  }, py::arg("spec"), py::arg("op"), py::arg("dtype_bytes"), py::arg("tasks"), py::arg("samples"),
     py::arg("weighted") = false, py::arg("per_task_params") = true, py::arg("per_task_v") = true,
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
     "out, workspace, cache: address} with workspace_bytes and cache_bytes; stride {params, v, old_log_std: row "
     "stride, 0 shared; cache_mode: 1 fill, 2 use}.");
  m.def("gpu_sample_workspace", [](const std::string& name, const py::dict& size) {
    return gpu::sample_op_workspace(name, sample_args<double>(size, py::dict(), py::dict())) * int64_t(sizeof(double));
  }, py::arg("name"), py::arg("size"), "Workspace bytes of an advantage / estimator-weight op of the CUDA kernels.");
  m.def("gpu_sample_run", [](const std::string& name, int dtype_bytes, const py::dict& size, const py::dict& ptr,
                             const py::dict& scalar, int device, uintptr_t stream, bool emulate) {
    if (dtype_bytes == 4) run_sample<float>(name, size, ptr, scalar, device, stream, emulate);
    else if (dtype_bytes == 8) run_sample<double>(name, size, ptr, scalar, device, stream, emulate);
    else throw std::invalid_argument("gpu_sample_run: dtype_bytes must be 4 or 8");
  }, py::arg("name"), py::arg("dtype_bytes"), py::arg("size"), py::arg("ptr"), py::arg("scalar"), py::arg("device"),
     py::arg("stream"), py::arg("emulate"),
     "Runs an advantage / estimator-weight op of the CUDA kernels (csrc/cuda/sample_ops.h).");
  m.def("gpu_cg_run", [](const std::string& name, int dtype_bytes, int64_t systems, int64_t dim, const py::dict& ptr,
                         double residual_tol, double damping, int iteration, int device, uintptr_t stream,
                         bool emulate) {
    if (dtype_bytes == 4) run_cg<float>(name, systems, dim, ptr, residual_tol, damping, iteration, device, stream, emulate);
    else if (dtype_bytes == 8)
      run_cg<double>(name, systems, dim, ptr, residual_tol, damping, iteration, device, stream, emulate);
    else throw std::invalid_argument("gpu_cg_run: dtype_bytes must be 4 or 8");
  }, py::arg("name"), py::arg("dtype_bytes"), py::arg("systems"), py::arg("dim"), py::arg("ptr"),
     py::arg("residual_tol"), py::arg("damping"), py::arg("iteration"), py::arg("device"), py::arg("stream"),
     py::arg("emulate"), "One step of the device conjugate gradient (csrc/cuda/cg_ops.h): cg_init or cg_step.");
  m.def("cuda_device_count", &gpu::cuda_device_count,
        "CUDA devices the driver reports to this build (0 without CUDA, a driver or a device).");
  m.def("cuda_versions", &gpu::cuda_versions, "The CUDA runtime and driver versions of this build.");
}

}  // namespace metarl
