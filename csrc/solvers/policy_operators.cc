#include "solvers/policy_operators.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "policy/policy_kernels.h"

namespace metarl {
namespace {

// The policy-kernel call shared by both products: op at (params, obs) applied to v.
template <typename T>
PolicyCall<T> product_call(const PolicyOperator<T>& op, PolicyOp kind, const T* params, int64_t params_stride,
                           const T* obs, int64_t samples, const T* v, int64_t v_stride, T* out) {
  PolicyCall<T> c;
  c.op = kind;
  c.spec = &op.spec;
  c.num_tasks = op.tasks;
  c.num_samples = samples;
  c.params = params;
  c.params_stride = params_stride;
  c.obs = obs;
  c.v = v;
  c.v_stride = v_stride;
  c.out = out;
  return c;
}

template <typename T>
void hessian(const PolicyOperator<T>& op, const T* v, int64_t v_stride, T* out) {
  PolicyCall<T> c = product_call(op, op.lvc ? PolicyOp::kHvpLvc : PolicyOp::kHvpNaive, op.h_params,
                                 op.h_params_stride, op.h_obs, op.h_samples, v, v_stride, out);
  c.act = op.h_act;
  c.weights = op.h_weights;
  c.cache = op.cache ? &op.h_cache : nullptr;
  c.input_contraction = op.cache && op.regroup ? &op.h_contraction : nullptr;
  run_policy_kernel(c);
}

template <typename T>
void fisher(const PolicyOperator<T>& op, const T* v, int64_t v_stride, T* out) {
  PolicyCall<T> c = product_call(op, PolicyOp::kKlFvp, op.f_params, op.f_params_stride, op.f_obs, op.f_samples,
                                 v, v_stride, out);
  c.damping = T(op.fvp_damping);
  c.weights = op.f_weights;
  c.cache = op.cache ? &op.f_cache : nullptr;
  c.output_jacobian = op.cache && op.regroup ? &op.f_jacobian : nullptr;
  run_policy_kernel(c);
}

}  // namespace

template <typename T>
void PolicyOperator<T>::validate() const {
  spec.validate();
  if (tasks < 1) throw std::invalid_argument("policy operator: needs at least one task group");
  const bool needs_h = kind != OperatorKind::kKlFvp, needs_f = kind != OperatorKind::kSurrogateHvp;
  if (needs_h && (!h_params || !h_obs || !h_act || !h_weights || h_samples < 1))
    throw std::invalid_argument("policy operator: the surrogate Hessian needs params, obs, act and weights");
  if (needs_f && (!f_params || !f_obs || f_samples < 1))
    throw std::invalid_argument("policy operator: the Fisher needs params and obs");
  if (kind < OperatorKind::kKlFvp || kind > OperatorKind::kMamlTrpoFvp)
    throw std::invalid_argument("policy operator: unknown kind");
}

template <typename T>
void PolicyOperator<T>::set_reuse(bool keep_cache, bool keep_regroup) {
  std::lock_guard<std::mutex> lock(cache_mutex);
  cache = keep_cache;
  regroup = keep_regroup;
  if (!cache) {
    h_cache.release();
    f_cache.release();
  }
  if (!cache || !regroup) {
    h_contraction.release();
    f_jacobian.release();
  }
}

template <typename T>
void PolicyOperator<T>::apply(const T* v, T* out) const {
  std::lock_guard<std::mutex> lock(cache_mutex);
  const int64_t P = num_params();
  const int64_t v_stride = task_mean ? 0 : P;
  std::vector<T> y(size_t(tasks) * P);
  switch (kind) {
    case OperatorKind::kKlFvp: fisher(*this, v, v_stride, y.data()); break;
    case OperatorKind::kSurrogateHvp: hessian(*this, v, v_stride, y.data()); break;
    case OperatorKind::kMamlTrpoFvp: {
      std::vector<T> u(size_t(tasks) * P), w(size_t(tasks) * P);
      hessian(*this, v, v_stride, u.data());
      for (int64_t t = 0; t < tasks; ++t)
        for (int64_t p = 0; p < P; ++p) u[t * P + p] = v[t * v_stride + p] + T(alpha) * u[t * P + p];
      fisher(*this, u.data(), P, w.data());
      hessian(*this, w.data(), P, y.data());
      for (size_t i = 0; i < y.size(); ++i) y[i] = w[i] + T(alpha) * y[i];
      break;
    }
  }
  if (!task_mean) {
    std::copy(y.begin(), y.end(), out);
    return;
  }
  for (int64_t p = 0; p < P; ++p) {
    double s = 0.0;
    for (int64_t t = 0; t < tasks; ++t) s += double(y[t * P + p]);
    out[p] = T(s / double(tasks));
  }
}

template struct PolicyOperator<float>;
template struct PolicyOperator<double>;

}  // namespace metarl
