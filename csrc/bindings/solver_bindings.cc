// Bindings of csrc/solvers: the fused policy operators and batched conjugate gradient on them.
//
// PolicyOperator32/64(kind, obs_dim, act_dim, hidden, activation, tasks, task_mean,
//                     h_params, h_params_per_task, h_obs, h_act, h_weights, lvc,
//                     f_params, f_params_per_task, f_obs, f_weights, fvp_damping, alpha)
// keeps references to its arrays (no copies) and offers matvec(v, out) and
// conjugate_gradient(b, iters, residual_tol, damping, x, iterations, residual, status), both
// running without the GIL; the whole CG loop stays in C++.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings/array_checks.h"
#include "solvers/conjugate_gradient.h"
#include "solvers/policy_operators.h"

namespace py = pybind11;

namespace metarl {
namespace {

template <typename T>
class BoundOperator {
 public:
  BoundOperator(int kind, int obs_dim, int act_dim, const std::vector<int>& hidden, int activation, int64_t tasks,
                bool task_mean, std::optional<Arr<T>> h_params, bool h_params_per_task, std::optional<Arr<T>> h_obs,
                std::optional<Arr<T>> h_act, std::optional<Arr<T>> h_weights, bool lvc,
                std::optional<Arr<T>> f_params, bool f_params_per_task, std::optional<Arr<T>> f_obs,
                std::optional<Arr<T>> f_weights, double fvp_damping, double alpha)
      : h_params_(h_params), h_obs_(h_obs), h_act_(h_act), h_weights_(h_weights), f_params_(f_params),
        f_obs_(f_obs), f_weights_(f_weights) {
    const char* fn = "PolicyOperator";
    if (kind < 0 || kind > 2) throw std::invalid_argument("PolicyOperator: unknown kind " + std::to_string(kind));
    op_.kind = OperatorKind(kind);
    op_.spec = MlpSpec::make(obs_dim, act_dim, hidden, activation);
    op_.tasks = tasks;
    op_.task_mean = task_mean;
    const int64_t P = op_.spec.num_params();
    const bool needs_h = op_.kind != OperatorKind::kKlFvp, needs_f = op_.kind != OperatorKind::kSurrogateHvp;
    if (needs_h) {
      if (!h_obs || h_obs->ndim() != 3 || h_obs->shape(0) != tasks || h_obs->shape(2) != obs_dim)
        throw std::invalid_argument("PolicyOperator: h_obs must be [T, N, obs_dim]");
      const int64_t n = h_obs->shape(1);
      require_size(fn, "h_params", h_params, h_params_per_task ? tasks * P : P, true);
      require_size(fn, "h_act", h_act, tasks * n * act_dim, true);
      require_size(fn, "h_weights", h_weights, tasks * n, true);
      op_.h_params = h_params->data();
      op_.h_params_stride = h_params_per_task ? P : 0;
      op_.h_obs = h_obs->data();
      op_.h_act = h_act->data();
      op_.h_weights = h_weights->data();
      op_.h_samples = n;
      op_.lvc = lvc;
    }
    if (needs_f) {
      if (!f_obs || f_obs->ndim() != 3 || f_obs->shape(0) != tasks || f_obs->shape(2) != obs_dim)
        throw std::invalid_argument("PolicyOperator: f_obs must be [T, N, obs_dim]");
      require_size(fn, "f_params", f_params, f_params_per_task ? tasks * P : P, true);
      op_.f_params = f_params->data();
      op_.f_params_stride = f_params_per_task ? P : 0;
      op_.f_obs = f_obs->data();
      op_.f_samples = f_obs->shape(1);
      require_size(fn, "f_weights", f_weights, tasks * f_obs->shape(1), false);
      op_.f_weights = ptr_or_null(f_weights);
      op_.fvp_damping = fvp_damping;
    }
    op_.alpha = alpha;
    op_.validate();
  }

  void matvec(const Arr<T>& v, Arr<T> out) const {
    const py::ssize_t n = op_.rows() * op_.num_params();
    require_size("PolicyOperator.matvec", "v", v, n);
    require_size("PolicyOperator.matvec", "out", out, n);
    if (v.data() == out.data()) throw std::invalid_argument("PolicyOperator.matvec: v and out must not alias");
    py::gil_scoped_release release;
    op_.apply(v.data(), out.mutable_data());
  }

  void conjugate_gradient(const Arr<T>& b, int iters, double residual_tol, double damping, Arr<T> x,
                          Arr<int32_t> iterations, Arr<double> residual, Arr<int32_t> status) const {
    const char* fn = "PolicyOperator.conjugate_gradient";
    const int64_t rows = op_.rows(), P = op_.num_params();
    require_size(fn, "b", b, rows * P);
    require_size(fn, "x", x, rows * P);
    require_size(fn, "iterations", iterations, rows);
    require_size(fn, "residual", residual, rows);
    require_size(fn, "status", status, rows);
    if (iters < 0) throw std::invalid_argument("PolicyOperator.conjugate_gradient: iters must be >= 0");
    py::gil_scoped_release release;
    const Matvec<T> mv = [this](const T* p, T* out) { op_.apply(p, out); };
    batched_conjugate_gradient<T>(rows, P, mv, b.data(), iters, residual_tol, damping, x.mutable_data(),
                                  iterations.mutable_data(), residual.mutable_data(), status.mutable_data());
  }

  int64_t rows() const { return op_.rows(); }

 private:
  // Held so that the borrowed pointers in op_ stay valid for the operator's lifetime.
  std::optional<Arr<T>> h_params_, h_obs_, h_act_, h_weights_, f_params_, f_obs_, f_weights_;
  PolicyOperator<T> op_;
};

template <typename T>
void def_operator(py::module_& m, const char* name) {
  py::class_<BoundOperator<T>>(m, name)
      .def(py::init<int, int, int, const std::vector<int>&, int, int64_t, bool, std::optional<Arr<T>>, bool,
                    std::optional<Arr<T>>, std::optional<Arr<T>>, std::optional<Arr<T>>, bool,
                    std::optional<Arr<T>>, bool, std::optional<Arr<T>>, std::optional<Arr<T>>, double, double>(),
           py::arg("kind"), py::arg("obs_dim"), py::arg("act_dim"), py::arg("hidden"), py::arg("activation"),
           py::arg("tasks"), py::arg("task_mean"), py::arg("h_params").noconvert().none(true),
           py::arg("h_params_per_task"), py::arg("h_obs").noconvert().none(true),
           py::arg("h_act").noconvert().none(true), py::arg("h_weights").noconvert().none(true), py::arg("lvc"),
           py::arg("f_params").noconvert().none(true), py::arg("f_params_per_task"),
           py::arg("f_obs").noconvert().none(true), py::arg("f_weights").noconvert().none(true),
           py::arg("fvp_damping"), py::arg("alpha"))
      .def("matvec", &BoundOperator<T>::matvec, py::arg("v").noconvert(), py::arg("out").noconvert())
      .def("conjugate_gradient", &BoundOperator<T>::conjugate_gradient, py::arg("b").noconvert(),
           py::arg("iters"), py::arg("residual_tol"), py::arg("damping"), py::arg("x").noconvert(),
           py::arg("iterations").noconvert(), py::arg("residual").noconvert(), py::arg("status").noconvert())
      .def_property_readonly("rows", &BoundOperator<T>::rows);
}

}  // namespace

void bind_solvers(py::module_& m) {
  def_operator<float>(m, "PolicyOperator32");
  def_operator<double>(m, "PolicyOperator64");
}

}  // namespace metarl
