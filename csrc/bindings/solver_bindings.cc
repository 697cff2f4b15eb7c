// Bindings of csrc/solvers: the fused policy operators and batched conjugate gradient on them.
//
//   _C.kl_fvp_operator(spec, params, obs, damping, weights=None, task_mean)
//   _C.surrogate_hvp_operator(spec, params, obs, act, weights, lvc, task_mean)
//   _C.maml_trpo_fvp_operator(spec, pre_params, pre_obs, pre_act, pre_weights, lvc, alpha, post_params,
//                             post_obs, damping, post_weights=None, task_mean)
// each return a PolicyOperator32/64 (by dtype) that keeps references to its arrays (no copies) and
// offers matvec(v) -> A v and conjugate_gradient(b, iters, residual_tol, damping) -> (x, iterations,
// residual, status, curvature), both running without the GIL; the whole CG loop stays in C++. Parameters
// [P] or [T, P] are shared or per-task by their number of dimensions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bindings/array_checks.h"
#include "solvers/conjugate_gradient.h"
#include "solvers/policy_operators.h"

namespace py = pybind11;

namespace metarl {
namespace {

// [P] or [T, P] → the row stride (0 when shared).
template <typename T>
int64_t param_stride(const char* fn, const char* name, const Arr<T>& a, int64_t tasks, int64_t P) {
  if (a.ndim() == 1 && a.shape(0) == P) return 0;
  if (a.ndim() == 2 && a.shape(0) == tasks && a.shape(1) == P) return P;
  throw std::invalid_argument(std::string(fn) + ": " + name + " must be [P] or [T, P]");
}

template <typename T>
int64_t samples_of(const char* fn, const char* name, const MlpSpec& spec, const Arr<T>& obs) {
  if (obs.ndim() != 3 || obs.shape(2) != spec.obs_dim)
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be [T, N, obs_dim]");
  return obs.shape(1);
}

template <typename T>
class BoundOperator {
 public:
  // Held so that the borrowed pointers in op_ stay valid for the operator's lifetime.
  std::vector<py::object> keep;
  PolicyOperator<T> op;

  void set_hessian(const char* fn, const Arr<T>& params, const Arr<T>& obs, const Arr<T>& act, const Arr<T>& weights,
                   bool lvc) {
    const int64_t n = samples_of(fn, "obs", op.spec, obs), P = op.num_params();
    op.h_params_stride = param_stride(fn, "params", params, op.tasks, P);
    require_size(fn, "act", act, op.tasks * n * op.spec.act_dim);
    require_size(fn, "weights", weights, op.tasks * n);
    op.h_params = params.data();
    op.h_obs = obs.data();
    op.h_act = act.data();
    op.h_weights = weights.data();
    op.h_samples = n;
    op.lvc = lvc;
    keep.insert(keep.end(), {params, obs, act, weights});
  }

  void set_fisher(const char* fn, const Arr<T>& params, const Arr<T>& obs, double damping,
                  const std::optional<Arr<T>>& weights) {
    const int64_t n = samples_of(fn, "obs", op.spec, obs), P = op.num_params();
    op.f_params_stride = param_stride(fn, "params", params, op.tasks, P);
    require_size(fn, "weights", weights, op.tasks * n, false);
    op.f_params = params.data();
    op.f_obs = obs.data();
    op.f_samples = n;
    op.f_weights = ptr_or_null(weights);
    op.fvp_damping = damping;
    keep.insert(keep.end(), {params, obs});
    if (weights) keep.push_back(*weights);
  }

  Arr<T> matvec(const Arr<T>& v) const {
    require_size("PolicyOperator.matvec", "v", v, op.rows() * op.num_params());
    Arr<T> out(std::vector<py::ssize_t>(v.shape(), v.shape() + v.ndim()));
    py::gil_scoped_release release;
    op.apply(v.data(), out.mutable_data());
    return out;
  }

  std::tuple<Arr<T>, Arr<int32_t>, Arr<double>, Arr<int32_t>, Arr<double>> conjugate_gradient(
      const Arr<T>& b, int iters, double residual_tol, double damping) const {
    const int64_t rows = op.rows(), P = op.num_params();
    require_size("PolicyOperator.conjugate_gradient", "b", b, rows * P);
    if (iters < 0) throw std::invalid_argument("PolicyOperator.conjugate_gradient: iters must be >= 0");
    Arr<T> x(std::vector<py::ssize_t>(b.shape(), b.shape() + b.ndim()));
    Arr<int32_t> iterations(rows);
    Arr<double> residual(rows);
    Arr<int32_t> status(rows);
    Arr<double> curvature(rows);
    {
      py::gil_scoped_release release;
      const Matvec<T> mv = [this](const T* p, T* out) { op.apply(p, out); };
      batched_conjugate_gradient<T>(rows, P, mv, b.data(), iters, residual_tol, damping, x.mutable_data(),
                                    iterations.mutable_data(), residual.mutable_data(), status.mutable_data(),
                                    curvature.mutable_data());
    }
    return {x, iterations, residual, status, curvature};
  }
};

template <typename T>
std::unique_ptr<BoundOperator<T>> make_operator(OperatorKind kind, const MlpSpec& spec, int64_t tasks,
                                                bool task_mean) {
  auto b = std::make_unique<BoundOperator<T>>();
  b->op.kind = kind;
  b->op.spec = spec;
  b->op.tasks = tasks;
  b->op.task_mean = task_mean;
  return b;
}

template <typename T>
void def_operator(py::module_& m, const char* name) {
  using A = const Arr<T>&;
  using Opt = const std::optional<Arr<T>>&;
  py::class_<BoundOperator<T>>(m, name)
      .def("matvec", &BoundOperator<T>::matvec, py::arg("v").noconvert())
      .def("conjugate_gradient", &BoundOperator<T>::conjugate_gradient, py::arg("b").noconvert(), py::arg("iters"),
           py::arg("residual_tol"), py::arg("damping"))
      .def_property_readonly("rows", [](const BoundOperator<T>& b) { return b.op.rows(); })
      .def_property(
          "cache", [](const BoundOperator<T>& b) { return b.op.cache; },
          [](BoundOperator<T>& b, bool on) { b.op.set_reuse(on, b.op.regroup); },
          "whether the products keep their forward activations between applications (default true)")
      .def_property(
          "regroup", [](const BoundOperator<T>& b) { return b.op.regroup; },
          [](BoundOperator<T>& b, bool on) { b.op.set_reuse(b.op.cache, on); },
          "whether the products, with the cache, also keep the v-independent terms their sums are regrouped "
          "around (the Hessian's input-layer contraction, the Fisher's output Jacobian): the same products up to "
          "rounding, fewer dense passes (default true; docs/kernels.md)");

  m.def("kl_fvp_operator", [](const MlpSpec& spec, A params, A obs, double damping, Opt weights, bool task_mean) {
    auto b = make_operator<T>(OperatorKind::kKlFvp, spec, obs.ndim() == 3 ? obs.shape(0) : 0, task_mean);
    b->set_fisher("kl_fvp_operator", params, obs, damping, weights);
    b->op.validate();
    return b;
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("damping"),
     py::arg("weights").noconvert().none(true), py::arg("task_mean"));

  m.def("surrogate_hvp_operator", [](const MlpSpec& spec, A params, A obs, A act, A weights, bool lvc,
                                     bool task_mean) {
    auto b = make_operator<T>(OperatorKind::kSurrogateHvp, spec, obs.ndim() == 3 ? obs.shape(0) : 0, task_mean);
    b->set_hessian("surrogate_hvp_operator", params, obs, act, weights, lvc);
    b->op.validate();
    return b;
  }, py::arg("spec"), py::arg("params").noconvert(), py::arg("obs").noconvert(), py::arg("act").noconvert(),
     py::arg("weights").noconvert(), py::arg("lvc"), py::arg("task_mean"));

  m.def("maml_trpo_fvp_operator", [](const MlpSpec& spec, A pre_params, A pre_obs, A pre_act, A pre_weights,
                                     bool lvc, double alpha, A post_params, A post_obs, double damping,
                                     Opt post_weights, bool task_mean) {
    const char* fn = "maml_trpo_fvp_operator";
    auto b = make_operator<T>(OperatorKind::kMamlTrpoFvp, spec, pre_obs.ndim() == 3 ? pre_obs.shape(0) : 0,
                              task_mean);
    b->set_hessian(fn, pre_params, pre_obs, pre_act, pre_weights, lvc);
    if (post_obs.ndim() != 3 || post_obs.shape(0) != b->op.tasks)
      throw std::invalid_argument("maml_trpo_fvp_operator: post_obs must be [T, M, obs_dim] with pre_obs' T");
    b->set_fisher(fn, post_params, post_obs, damping, post_weights);
    b->op.alpha = alpha;
    b->op.validate();
    return b;
  }, py::arg("spec"), py::arg("pre_params").noconvert(), py::arg("pre_obs").noconvert(),
     py::arg("pre_act").noconvert(), py::arg("pre_weights").noconvert(), py::arg("lvc"), py::arg("alpha"),
     py::arg("post_params").noconvert(), py::arg("post_obs").noconvert(), py::arg("damping"),
     py::arg("post_weights").noconvert().none(true), py::arg("task_mean"));
}

}  // namespace

void bind_solvers(py::module_& m) {
  def_operator<float>(m, "PolicyOperator32");
  def_operator<double>(m, "PolicyOperator64");
}

}  // namespace metarl
