// Bindings of csrc/advantages and csrc/estimators. Shapes are validated in Python
// (metarl_fast/kernels); here sizes are re-checked and the GIL is released during the work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "advantages/advantages.h"
#include "bindings/array_checks.h"
#include "estimators/estimators.h"

namespace py = pybind11;

namespace metarl {
namespace {

TrajShape traj_shape(const char* fn, const py::array& a) {
  if (a.ndim() != 3) throw std::invalid_argument(std::string(fn) + ": trajectory arrays must be [T, B, H]");
  return TrajShape{a.shape(0), a.shape(1), a.shape(2)};
}

template <typename T>
void def_typed(py::module_& m) {
  m.def("first_bad_mask_entry", [](const Arr<T>& mask) {
    const TrajShape s = traj_shape("first_bad_mask_entry", mask);
    py::gil_scoped_release release;
    return first_bad_mask_entry(s, mask.data());
  }, py::arg("mask").noconvert());

  m.def("discounted_returns", [](const Arr<T>& rewards, const Arr<T>& mask, double gamma, bool from_start,
                                 Arr<T> out) {
    const TrajShape s = traj_shape("discounted_returns", rewards);
    require_size("discounted_returns", "mask", mask, rewards.size());
    require_size("discounted_returns", "out", out, rewards.size());
    py::gil_scoped_release release;
    discounted_returns(s, rewards.data(), mask.data(), gamma, from_start, out.mutable_data());
  }, py::arg("rewards").noconvert(), py::arg("mask").noconvert(), py::arg("gamma"), py::arg("from_start"),
     py::arg("out").noconvert());

  m.def("gae", [](const Arr<T>& rewards, const Arr<T>& values, const Arr<T>& mask, double gamma, double lam,
                  Arr<T> out) {
    const TrajShape s = traj_shape("gae", rewards);
    require_size("gae", "values", values, rewards.size());
    require_size("gae", "mask", mask, rewards.size());
    require_size("gae", "out", out, rewards.size());
    py::gil_scoped_release release;
    gae(s, rewards.data(), values.data(), mask.data(), gamma, lam, out.mutable_data());
  }, py::arg("rewards").noconvert(), py::arg("values").noconvert(), py::arg("mask").noconvert(),
     py::arg("gamma"), py::arg("lam"), py::arg("out").noconvert());

  m.def("normalize_per_task", [](const Arr<T>& x, const Arr<T>& mask, double eps, Arr<T> out) {
    const TrajShape s = traj_shape("normalize_per_task", x);
    require_size("normalize_per_task", "mask", mask, x.size());
    require_size("normalize_per_task", "out", out, x.size());
    py::gil_scoped_release release;
    normalize_per_task(s, x.data(), mask.data(), eps, out.mutable_data());
  }, py::arg("x").noconvert(), py::arg("mask").noconvert(), py::arg("eps"), py::arg("out").noconvert());

  m.def("linear_baseline_fit", [](int obs_dim, const std::optional<Arr<T>>& obs, const Arr<T>& targets,
                                  const Arr<T>& mask, Arr<T> coeffs, Arr<double> ridge) {
    const TrajShape s = traj_shape("linear_baseline_fit", targets);
    if (obs_dim < 0) throw std::invalid_argument("linear_baseline_fit: obs_dim must be >= 0");
    require_size("linear_baseline_fit", "obs", obs, targets.size() * obs_dim, obs_dim > 0);
    require_size("linear_baseline_fit", "mask", mask, targets.size());
    require_size("linear_baseline_fit", "coeffs", coeffs, s.tasks * linear_baseline_features(obs_dim));
    require_size("linear_baseline_fit", "ridge", ridge, s.tasks);
    py::gil_scoped_release release;
    linear_baseline_fit(s, obs_dim, ptr_or_null(obs), targets.data(), mask.data(), coeffs.mutable_data(),
                        ridge.mutable_data());
  }, py::arg("obs_dim"), py::arg("obs").noconvert().none(true), py::arg("targets").noconvert(),
     py::arg("mask").noconvert(), py::arg("coeffs").noconvert(), py::arg("ridge").noconvert());

  m.def("linear_baseline_predict", [](int obs_dim, const std::optional<Arr<T>>& obs, const Arr<T>& coeffs,
                                      const std::optional<Arr<T>>& mask, Arr<T> out) {
    const TrajShape s = traj_shape("linear_baseline_predict", out);
    if (obs_dim < 0) throw std::invalid_argument("linear_baseline_predict: obs_dim must be >= 0");
    require_size("linear_baseline_predict", "obs", obs, out.size() * obs_dim, obs_dim > 0);
    require_size("linear_baseline_predict", "coeffs", coeffs, s.tasks * linear_baseline_features(obs_dim));
    require_size("linear_baseline_predict", "mask", mask, out.size(), false);
    py::gil_scoped_release release;
    linear_baseline_predict(s, obs_dim, ptr_or_null(obs), coeffs.data(), ptr_or_null(mask), out.mutable_data());
  }, py::arg("obs_dim"), py::arg("obs").noconvert().none(true), py::arg("coeffs").noconvert(),
     py::arg("mask").noconvert().none(true), py::arg("out").noconvert());

  m.def("dice_weights", [](const Arr<T>& rewards, const Arr<T>& mask, const std::optional<Arr<T>>& baseline,
                           double gamma, const std::optional<Arr<T>>& jvp, std::optional<Arr<T>> W,
                           std::optional<Arr<T>> U, std::optional<Arr<T>> value) {
    const TrajShape s = traj_shape("dice_weights", rewards);
    const py::ssize_t n = rewards.size();
    require_size("dice_weights", "mask", mask, n);
    require_size("dice_weights", "baseline", baseline, s.tasks * s.horizon, false);
    require_size("dice_weights", "jvp", jvp, n, U.has_value());
    require_size("dice_weights", "W", W, n, false);
    require_size("dice_weights", "U", U, n, false);
    require_size("dice_weights", "value", value, s.tasks, false);
    T* w = W ? W->mutable_data() : nullptr;
    T* u = U ? U->mutable_data() : nullptr;
    T* val = value ? value->mutable_data() : nullptr;
    py::gil_scoped_release release;
    dice_weights(s, rewards.data(), mask.data(), ptr_or_null(baseline), gamma, ptr_or_null(jvp), w, u, val);
  }, py::arg("rewards").noconvert(), py::arg("mask").noconvert(), py::arg("baseline").noconvert().none(true),
     py::arg("gamma"), py::arg("jvp").noconvert().none(true), py::arg("W").noconvert().none(true),
     py::arg("U").noconvert().none(true), py::arg("value").noconvert().none(true));

  m.def("ratio_weights", [](const Arr<T>& log_prob, const Arr<T>& old_log_prob, const Arr<T>& adv,
                            const std::optional<Arr<T>>& mask, double clip_eps, std::optional<Arr<T>> weights,
                            std::optional<Arr<T>> value) {
    if (log_prob.ndim() != 2) throw std::invalid_argument("ratio_weights: log_prob must be [T, N]");
    const py::ssize_t nt = log_prob.shape(0), ns = log_prob.shape(1);
    require_size("ratio_weights", "old_log_prob", old_log_prob, nt * ns);
    require_size("ratio_weights", "advantages", adv, nt * ns);
    require_size("ratio_weights", "mask", mask, nt * ns, false);
    require_size("ratio_weights", "weights", weights, nt * ns, false);
    require_size("ratio_weights", "value", value, nt, false);
    T* w = weights ? weights->mutable_data() : nullptr;
    T* val = value ? value->mutable_data() : nullptr;
    py::gil_scoped_release release;
    ratio_weights(nt, ns, log_prob.data(), old_log_prob.data(), adv.data(), ptr_or_null(mask), clip_eps, w, val);
  }, py::arg("log_prob").noconvert(), py::arg("old_log_prob").noconvert(), py::arg("advantages").noconvert(),
     py::arg("mask").noconvert().none(true), py::arg("clip_eps"), py::arg("weights").noconvert().none(true),
     py::arg("value").noconvert().none(true));

  m.def("emaml_credit", [](const Arr<T>& rewards, const Arr<T>& mask, Arr<T> credit) {
    if (rewards.ndim() != 2) throw std::invalid_argument("emaml_credit: rewards must be [T, N]");
    require_size("emaml_credit", "mask", mask, rewards.size());
    require_size("emaml_credit", "credit", credit, rewards.shape(0));
    py::gil_scoped_release release;
    emaml_credit(rewards.shape(0), rewards.shape(1), rewards.data(), mask.data(), credit.mutable_data());
  }, py::arg("rewards").noconvert(), py::arg("mask").noconvert(), py::arg("credit").noconvert());
}

}  // namespace

void bind_estimators(py::module_& m) {
  def_typed<float>(m);
  def_typed<double>(m);
}

}  // namespace metarl
