// Bindings of the Gaussian-MLP policy kernels (csrc/policy/policy_kernels.h): one function per op
// with named arguments, e.g.
//
//   _C.score_vjp(spec, params, obs, act, weights) -> out [T, P]
//
// spec is a _C.MlpSpec (bound once per Python PolicySpec). params [P] or [T, P] and v [P] or [T, P]
// are shared or per-task by their number of dimensions, as old_log_std [A] or [T, A]. Arrays must
// share the dtype of params and be C-contiguous (nothing is converted or copied); the result is a
// new array. What each op reads and returns comes from the op-traits table (policy/op_traits.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings/array_checks.h"
#include "policy/op_traits.h"
#include "policy/policy_kernels.h"

namespace py = pybind11;

namespace metarl {
namespace {

template <typename T>
struct OpInputs {
  const Arr<T>* act = nullptr;
  const Arr<T>* weights = nullptr;
  const Arr<T>* weights2 = nullptr;
  const Arr<T>* v = nullptr;
  const Arr<T>* old_mean = nullptr;
  const Arr<T>* old_log_std = nullptr;
  double damping = 0;
  PolicyPassCache* cache = nullptr;
};

// [P] (shared) or [T, P] (one row per task group): the row stride, 0 when shared.
template <typename T>
int64_t row_stride(const char* fn, const char* name, const Arr<T>& a, int64_t tasks, int64_t width) {
  if (a.ndim() == 1 && a.shape(0) == width) return 0;
  if (a.ndim() == 2 && a.shape(0) == tasks && a.shape(1) == width) return width;
  throw std::invalid_argument(std::string(fn) + ": " + name + " must be [" + std::to_string(width) + "] or [" +
                              std::to_string(tasks) + ", " + std::to_string(width) + "]");
}

template <typename T>
const T* input(const char* fn, const char* name, Need need, const Arr<T>* a, py::ssize_t size) {
  if (need == Need::kNo || !a) {
    if (need == Need::kYes) throw std::invalid_argument(std::string(fn) + ": " + name + " is required");
    return nullptr;
  }
  require_size(fn, name, *a, size);
  return a->data();
}

template <typename T>
Arr<T> run_op(PolicyOp op, const MlpSpec& spec, const Arr<T>& params, const Arr<T>& obs, const OpInputs<T>& in) {
  const PolicyOpTraits& tr = op_traits(op);
  const char* fn = tr.name;
  if (obs.ndim() != 3 || obs.shape(2) != spec.obs_dim)
    throw std::invalid_argument(std::string(fn) + ": obs must be [T, N, " + std::to_string(spec.obs_dim) + "]");
  const int64_t nt = obs.shape(0), ns = obs.shape(1), A = spec.act_dim, P = spec.num_params();
  PolicyCall<T> c;
  c.op = op;
  c.spec = &spec;
  c.num_tasks = nt;
  c.num_samples = ns;
  c.params = params.data();
  c.params_stride = row_stride(fn, "params", params, nt, P);
  c.obs = obs.data();
  c.act = input(fn, "act", tr.act, in.act, nt * ns * A);
  c.weights = input(fn, "weights", tr.weights, in.weights, nt * ns);
  c.weights2 = input(fn, "weights2", tr.weights2, in.weights2, nt * ns);
  if (tr.v != Need::kNo && in.v) {
    c.v_stride = row_stride(fn, "v", *in.v, nt, P);
    c.v = in.v->data();
  } else if (tr.v == Need::kYes) {
    throw std::invalid_argument(std::string(fn) + ": v is required");
  }
  c.old_mean = input(fn, "old_mean", tr.old, in.old_mean, nt * ns * A);
  if (tr.old != Need::kNo && in.old_log_std) {
    c.old_log_std_stride = row_stride(fn, "old_log_std", *in.old_log_std, nt, A);
    c.old_log_std = in.old_log_std->data();
  } else if (tr.old == Need::kYes) {
    throw std::invalid_argument(std::string(fn) + ": old_log_std is required");
  }
  c.damping = T(in.damping);
  c.cache = in.cache;
  std::vector<py::ssize_t> shape;
  switch (tr.out) {
    case OutShape::kSamples: shape = {nt, ns}; break;
    case OutShape::kSampleActions: shape = {nt, ns, A}; break;
    case OutShape::kParams: shape = {nt, P}; break;
    case OutShape::kTasks: shape = {nt}; break;
  }
  Arr<T> out(shape);
  c.out = out.mutable_data();
  {
    py::gil_scoped_release release;
    run_policy_kernel(c);
  }
  return out;
}

// The optional last argument of every op: a ForwardCache shared by calls on the same params and obs.
py::arg_v no_cache() { return py::arg("cache") = static_cast<PolicyPassCache*>(nullptr); }
using Cache = PolicyPassCache*;

template <typename T>
void def_ops(py::module_& m) {
  using A = const Arr<T>&;
  using Opt = const std::optional<Arr<T>>&;
  const auto opt = [](Opt a) { return a ? &*a : nullptr; };
  m.def("policy_mean", [](const MlpSpec& s, A params, A obs, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    return run_op<T>(PolicyOp::kMean, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), no_cache());
  m.def("log_prob", [](const MlpSpec& s, A params, A obs, A act, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    in.act = &act;
    return run_op<T>(PolicyOp::kLogProb, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
     no_cache());
  m.def("score_vjp", [](const MlpSpec& s, A params, A obs, A act, A weights, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    in.act = &act;
    in.weights = &weights;
    return run_op<T>(PolicyOp::kScoreVjp, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
     py::arg("weights").noconvert(), no_cache());
  m.def("score_jvp", [](const MlpSpec& s, A params, A obs, A act, A v, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    in.act = &act;
    in.v = &v;
    return run_op<T>(PolicyOp::kScoreJvp, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
     py::arg("v").noconvert(), no_cache());
  for (PolicyOp op : {PolicyOp::kHvpNaive, PolicyOp::kHvpLvc}) {
    m.def(op_traits(op).name, [op](const MlpSpec& s, A params, A obs, A act, A weights, A v, Cache cache) {
      OpInputs<T> in;
      in.cache = cache;
      in.act = &act;
      in.weights = &weights;
      in.v = &v;
      return run_op<T>(op, s, params, obs, in);
    }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
       py::arg("weights").noconvert(), py::arg("v").noconvert(), no_cache());
  }
  m.def("hvp_split", [](const MlpSpec& s, A params, A obs, A act, A weights, A weights2, A v, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    in.act = &act;
    in.weights = &weights;
    in.weights2 = &weights2;
    in.v = &v;
    return run_op<T>(PolicyOp::kHvpSplit, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
     py::arg("weights").noconvert(), py::arg("weights2").noconvert(), py::arg("v").noconvert(), no_cache());
  for (PolicyOp op : {PolicyOp::kKl, PolicyOp::kKlGrad}) {
    m.def(op_traits(op).name, [op, opt](const MlpSpec& s, A params, A obs, A old_mean, A old_log_std, Opt weights,
                                        Cache cache) {
      OpInputs<T> in;
      in.cache = cache;
      in.old_mean = &old_mean;
      in.old_log_std = &old_log_std;
      in.weights = opt(weights);
      return run_op<T>(op, s, params, obs, in);
    }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("old_mean").noconvert(),
       py::arg("old_log_std").noconvert(), py::arg("weights").noconvert().none(true) = py::none(), no_cache());
  }
  m.def("kl_fvp", [opt](const MlpSpec& s, A params, A obs, A v, double damping, Opt weights, Cache cache) {
    OpInputs<T> in;
    in.cache = cache;
    in.v = &v;
    in.damping = damping;
    in.weights = opt(weights);
    return run_op<T>(PolicyOp::kKlFvp, s, params, obs, in);
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("v").noconvert(),
     py::arg("damping"), py::arg("weights").noconvert().none(true) = py::none(), no_cache());
}

}  // namespace

void bind_policy(py::module_& m) {
  py::class_<MlpSpec>(m, "MlpSpec", "A validated Gaussian-MLP architecture, bound once per PolicySpec.")
      .def(py::init([](int obs_dim, int act_dim, const std::vector<int>& hidden, const std::string& activation) {
             int code = -1;
             if (activation == "tanh") code = int(Activation::kTanh);
             if (activation == "relu") code = int(Activation::kRelu);
             if (code < 0) throw std::invalid_argument("MlpSpec: activation must be 'tanh' or 'relu', got '" +
                                                       activation + "'");
             return MlpSpec::make(obs_dim, act_dim, hidden, code);
           }),
           py::arg("obs_dim"), py::arg("act_dim"), py::arg("hidden"), py::arg("activation"))
      .def_readonly("obs_dim", &MlpSpec::obs_dim)
      .def_readonly("act_dim", &MlpSpec::act_dim)
      .def_readonly("hidden", &MlpSpec::hidden)
      .def_property_readonly("num_params", &MlpSpec::num_params);
  py::class_<PolicyPassCache>(m, "ForwardCache",
                              "The forward activations of one (params, obs), shared by the policy ops called on "
                              "them (pass cache=); the arrays must not change while it is used.")
      .def(py::init<>())
      .def_property_readonly("bytes", &PolicyPassCache::bytes)
      .def("invalidate", &PolicyPassCache::invalidate, "Empty again; the storage is kept for reuse.")
      .def("release", &PolicyPassCache::release,
           "Gives the storage up: kept for the next cache (256 MiB at most over all; release_kept_storage() "
           "frees it).");
  m.def("release_kept_storage", &release_kept_pass_storage,
        "Frees the storage released pass caches left for reuse; returns the bytes freed.");
  m.def("kept_storage_bytes", &kept_pass_storage_bytes, "Bytes of released pass-cache storage kept for reuse.");
  m.attr("kept_storage_limit") = PolicyPassCache::kKeptBytes;
  def_ops<float>(m);
  def_ops<double>(m);
  m.def("policy_op_inputs", [] {
    py::dict ops;
    for (const PolicyOpTraits& t : kPolicyOpTraits) {
      std::vector<std::string> in = {"params", "obs"};
      if (t.act != Need::kNo) in.emplace_back("act");
      if (t.weights != Need::kNo) in.emplace_back("weights");
      if (t.weights2 != Need::kNo) in.emplace_back("weights2");
      if (t.v != Need::kNo) in.emplace_back("v");
      if (t.old != Need::kNo) in.insert(in.end(), {"old_mean", "old_log_std"});
      ops[py::str(t.name)] = in;
    }
    return ops;
  }, "{op name: the array arguments it takes besides spec}, read off the op-traits table.");

  m.def("policy_isa", [] { return std::string(policy_isa()); },
        "Instruction set of the policy engine in use: avx512, avx2 or generic.");
  m.def("set_policy_isa", [](const std::string& name) { set_policy_isa(name.c_str()); }, py::arg("name"),
        "Force an instruction-set variant (avx512, avx2, generic) or 'auto'.");
  m.def("policy_isa_available", [](const std::string& name) { return policy_isa_available(name.c_str()); },
        py::arg("name"));
  m.def("chunks_per_task", &chunks_per_task, py::arg("num_tasks"), py::arg("num_samples"));
}

}  // namespace metarl
