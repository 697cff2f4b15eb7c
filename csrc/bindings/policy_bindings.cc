// Bindings of the Gaussian-MLP policy kernels (csrc/policy/policy_kernels.h).
//
// policy_kernel(op, obs_dim, act_dim, hidden, activation, params, params_per_task, obs, act,
//               weights, weights2, v, v_per_task, old_mean, old_log_std, old_log_std_per_task, damping, out)
// One entry point for every op: unused arrays are None. All arrays must share the dtype of
// params (float32 or float64) and be C-contiguous; nothing is converted or copied.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "bindings/array_checks.h"
#include "policy/policy_kernels.h"

namespace py = pybind11;

namespace metarl {
namespace {

template <typename T>
void policy_kernel(int op, int obs_dim, int act_dim, const std::vector<int>& hidden, int activation,
                   const Arr<T>& params, bool params_per_task, const Arr<T>& obs,
                   const std::optional<Arr<T>>& act, const std::optional<Arr<T>>& weights,
                   const std::optional<Arr<T>>& weights2, const std::optional<Arr<T>>& v, bool v_per_task,
                   const std::optional<Arr<T>>& old_mean, const std::optional<Arr<T>>& old_log_std,
                   bool old_log_std_per_task, double damping, Arr<T> out) {
  const MlpSpec spec = MlpSpec::make(obs_dim, act_dim, hidden, activation);
  if (obs.ndim() != 3 || obs.shape(2) != obs_dim)
    throw std::invalid_argument("policy_kernel: obs must be [T, N, obs_dim]");
  if (op < int(PolicyOp::kLogProb) || op > int(PolicyOp::kHvpSplit))
    throw std::invalid_argument("policy_kernel: unknown op " + std::to_string(op));
  const py::ssize_t nt = obs.shape(0), ns = obs.shape(1), np_ = spec.num_params(), na = act_dim;
  const PolicyOp pop = PolicyOp(op);
  const bool needs_act = pop == PolicyOp::kLogProb || pop == PolicyOp::kScoreVjp || pop == PolicyOp::kScoreJvp ||
                         pop == PolicyOp::kHvpNaive || pop == PolicyOp::kHvpLvc || pop == PolicyOp::kHvpSplit;
  const bool needs_weights = pop == PolicyOp::kScoreVjp || pop == PolicyOp::kHvpNaive || pop == PolicyOp::kHvpLvc ||
                             pop == PolicyOp::kHvpSplit;
  const bool needs_v = pop == PolicyOp::kScoreJvp || pop == PolicyOp::kHvpNaive || pop == PolicyOp::kHvpLvc ||
                       pop == PolicyOp::kKlFvp || pop == PolicyOp::kHvpSplit;
  const bool needs_old = pop == PolicyOp::kKl || pop == PolicyOp::kKlGrad;
  require_size("policy_kernel", "params", params, params_per_task ? nt * np_ : np_);
  require_size("policy_kernel", "act", act, nt * ns * na, needs_act);
  // The KL ops take optional weights (a weighted sum over samples instead of the mean).
  const bool kl_op = pop == PolicyOp::kKl || pop == PolicyOp::kKlGrad || pop == PolicyOp::kKlFvp;
  require_size("policy_kernel", "weights", weights, nt * ns, needs_weights);
  if (kl_op && weights) require_size("policy_kernel", "weights", weights, nt * ns, false);
  require_size("policy_kernel", "weights2", weights2, nt * ns, pop == PolicyOp::kHvpSplit);
  require_size("policy_kernel", "v", v, v_per_task ? nt * np_ : np_, needs_v);
  require_size("policy_kernel", "old_mean", old_mean, nt * ns * na, needs_old);
  require_size("policy_kernel", "old_log_std", old_log_std, old_log_std_per_task ? nt * na : na, needs_old);
  py::ssize_t out_size = nt * np_;
  if (pop == PolicyOp::kLogProb || pop == PolicyOp::kScoreJvp) out_size = nt * ns;
  if (pop == PolicyOp::kMean) out_size = nt * ns * na;
  if (pop == PolicyOp::kKl) out_size = nt;
  require_size("policy_kernel", "out", out, out_size);
  PolicyCall<T> c;
  c.op = PolicyOp(op);
  c.spec = &spec;
  c.num_tasks = obs.shape(0);
  c.num_samples = obs.shape(1);
  c.params = params.data();
  c.params_stride = params_per_task ? spec.num_params() : 0;
  c.obs = obs.data();
  c.act = ptr_or_null(act);
  c.weights = ptr_or_null(weights);
  c.weights2 = pop == PolicyOp::kHvpSplit ? ptr_or_null(weights2) : nullptr;
  c.v = ptr_or_null(v);
  c.v_stride = v_per_task ? spec.num_params() : 0;
  c.old_mean = ptr_or_null(old_mean);
  c.old_log_std = ptr_or_null(old_log_std);
  c.old_log_std_stride = old_log_std_per_task ? act_dim : 0;
  c.damping = T(damping);
  c.out = out.mutable_data();
  py::gil_scoped_release release;
  run_policy_kernel(c);
}

template <typename T>
void def_policy_kernel(py::module_& m) {
  m.def("policy_kernel", &policy_kernel<T>, py::arg("op"), py::arg("obs_dim"), py::arg("act_dim"),
        py::arg("hidden"), py::arg("activation"), py::arg("params").noconvert(),
        py::arg("params_per_task"), py::arg("obs").noconvert(), py::arg("act").noconvert().none(true),
        py::arg("weights").noconvert().none(true), py::arg("weights2").noconvert().none(true), py::arg("v").noconvert().none(true),
        py::arg("v_per_task"), py::arg("old_mean").noconvert().none(true),
        py::arg("old_log_std").noconvert().none(true), py::arg("old_log_std_per_task"),
        py::arg("damping"), py::arg("out").noconvert());
}

}  // namespace

void bind_policy(py::module_& m) {
  def_policy_kernel<float>(m);
  def_policy_kernel<double>(m);

  py::enum_<PolicyOp>(m, "PolicyOp")
      .value("log_prob", PolicyOp::kLogProb)
      .value("mean", PolicyOp::kMean)
      .value("score_vjp", PolicyOp::kScoreVjp)
      .value("score_jvp", PolicyOp::kScoreJvp)
      .value("hvp_naive", PolicyOp::kHvpNaive)
      .value("hvp_lvc", PolicyOp::kHvpLvc)
      .value("kl", PolicyOp::kKl)
      .value("kl_grad", PolicyOp::kKlGrad)
      .value("kl_fvp", PolicyOp::kKlFvp)
      .value("hvp_split", PolicyOp::kHvpSplit);

  m.def("policy_isa", [] { return std::string(policy_isa()); },
        "Instruction set of the policy engine in use: avx512, avx2 or generic.");
  m.def("set_policy_isa", [](const std::string& name) { set_policy_isa(name.c_str()); }, py::arg("name"),
        "Force an instruction-set variant (avx512, avx2, generic) or 'auto'.");
  m.def("policy_isa_available", [](const std::string& name) { return policy_isa_available(name.c_str()); },
        py::arg("name"));
  m.def("chunks_per_task", &chunks_per_task, py::arg("num_tasks"), py::arg("num_samples"));
}

}  // namespace metarl
