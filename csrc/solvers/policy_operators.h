// Linear operators built from the fused policy kernels, for conjugate gradient without Python per
// iteration. Each maps v → A v with v, A v of shape [T, P] (one row per task group), or [P] when
// task_mean is set (A v = mean over the groups of A_i v: the operator of a shared parameter vector).
//
//   kKlFvp        F v          Fisher of the mean KL at f_params on f_obs (+ fvp_damping · v)
//   kSurrogateHvp H v          Hessian of the score-function surrogate with h_weights at h_params on
//                              (h_obs, h_act); curvature LVC or naive (both symmetric)
//   kMamlTrpoFvp  (I + αH) F (I + αH) v   TRPO-MAML's KL Hessian through one inner step
//                              θ' = θ + α ∇J_in(θ): H is the inner surrogate's Hessian at the
//                              pre-update parameters, F the Fisher at the adapted θ' on
//                              post-update observations. (I + αH) is symmetric, so this is JᵀFJ.
// Arrays are borrowed, not copied: they must outlive the operator and keep their values (the
// operator caches what its products compute from them alone).
#pragma once

#include <cstdint>
#include <mutex>

#include "policy/mlp_spec.h"
#include "policy/policy_kernels.h"

namespace metarl {

enum class OperatorKind : int32_t { kKlFvp = 0, kSurrogateHvp = 1, kMamlTrpoFvp = 2 };

template <typename T>
struct PolicyOperator {
  OperatorKind kind = OperatorKind::kKlFvp;
  MlpSpec spec;
  int64_t tasks = 0;
  bool task_mean = false;
  // Surrogate Hessian H (kSurrogateHvp, kMamlTrpoFvp)
  const T* h_params = nullptr;
  int64_t h_params_stride = 0;  // P, or 0 for shared parameters
  const T* h_obs = nullptr;     // [T, Nh, obs_dim]
  const T* h_act = nullptr;     // [T, Nh, act_dim]
  const T* h_weights = nullptr; // [T, Nh]
  int64_t h_samples = 0;
  bool lvc = true;
  // Fisher F (kKlFvp, kMamlTrpoFvp)
  const T* f_params = nullptr;
  int64_t f_params_stride = 0;
  const T* f_obs = nullptr;  // [T, Nf, obs_dim]
  const T* f_weights = nullptr;  // [T, Nf] per-sample weights of the KL (null: the mean)
  int64_t f_samples = 0;
  double fvp_damping = 0.0;
  double alpha = 0.0;
  // What the products compute once for every v (PolicyPassCache; `cache` false: recompute it at every
  // product): the inputs above must not change while the operator is in use. One apply() at a time.
  bool cache = true;
  mutable PolicyPassCache h_cache, f_cache;
  // With `cache`, `regroup` also keeps the terms the products' sums are regrouped around: the
  // Hessian's input-layer contraction (PolicyCall::input_contraction) and the Fisher's output
  // Jacobian (PolicyCall::output_jacobian). The same products up to rounding.
  bool regroup = true;
  mutable PolicyPassCache h_contraction, f_jacobian;
  mutable std::mutex cache_mutex;

  int64_t num_params() const { return spec.num_params(); }
  // Rows of v and of the result: 1 with task_mean, else tasks.
  int64_t rows() const { return task_mean ? 1 : tasks; }
  // Throws std::invalid_argument when a required array is missing.
  void validate() const;
  // Sets `cache` and `regroup`, freeing the stores they no longer keep (waits for a running apply()).
  void set_reuse(bool keep_cache, bool keep_regroup);
  // out = A v; v and out are [rows(), P] and must not alias.
  void apply(const T* v, T* out) const;
};

}  // namespace metarl
