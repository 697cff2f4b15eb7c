// Advantage estimation on padded trajectory batches, per task group.
//
// Shapes: [T, B, H] = (task groups, trajectories per group, horizon), row-major. mask is 1 on the
// valid steps of a trajectory and 0 after its end (valid steps form a prefix). Every output is
// zero on masked steps. Work is split over task groups (or trajectories) on the package thread
// pool; every reduction runs in a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace metarl {

struct TrajShape {
  int64_t tasks = 0, trajs = 0, horizon = 0;
  int64_t steps_per_task() const { return trajs * horizon; }
};

// Mean and population standard deviation of x over the entries where mask ≠ 0 (weighted by the
// 0/1 mask), accumulated in double in index order; (0, 0) when no entry is valid.
template <typename T>
void masked_mean_std(const T* x, const T* mask, int64_t n, double* mean, double* std);

// Index of the first entry of mask that is not 0/1 or breaks the prefix rule, or -1.
template <typename T>
int64_t first_bad_mask_entry(TrajShape s, const T* mask);

// R_t = Σ_{t'≥t} γ^{t'−t} r_t' over valid steps (reward-to-go); with from_start, γ^t R_t
// (= Σ_{t'≥t} γ^{t'} r_t', discounting from the start of the episode).
template <typename T>
void discounted_returns(TrajShape s, const T* rewards, const T* mask, double gamma, bool from_start, T* out);

// GAE(γ, λ): δ_t = r_t + γ V_{t+1} − V_t with V = 0 after the last valid step (no bootstrap),
// A_t = Σ_{k≥0} (γλ)^k δ_{t+k}.
template <typename T>
void gae(TrajShape s, const T* rewards, const T* values, const T* mask, double gamma, double lam, T* out);

// (x − mean) / (std + eps) with mean and population std over each group's valid entries.
template <typename T>
void normalize_per_task(TrajShape s, const T* x, const T* mask, double eps, T* out);

// Number of features of the linear baseline: [clip(o,±10), clip(o,±10)², t/100, (t/100)², (t/100)³, 1]
// (obs_dim = 0 gives the time-only baseline [t/100, (t/100)², (t/100)³, 1]).
inline int linear_baseline_features(int obs_dim) { return 2 * obs_dim + 4; }

// Per-group ridge regression of targets on the features of the valid steps:
// (FᵀF + ρI) c = Fᵀy with ρ = 1e-5, multiplied by 10 (at most 5 tries) while the Cholesky solve
// fails or gives non-finite coefficients. coeffs [T, K]; ridge_used [T] (NaN where every try
// failed; those coefficients are zero). obs [T, B, H, obs_dim] (ignored when obs_dim = 0).
template <typename T>
void linear_baseline_fit(TrajShape s, int obs_dim, const T* obs, const T* targets, const T* mask, T* coeffs,
                         double* ridge_used);

// Baseline values F·c at every step → out [T, B, H] (mask may be null: every step valid).
template <typename T>
void linear_baseline_predict(TrajShape s, int obs_dim, const T* obs, const T* coeffs, const T* mask, T* out);

}  // namespace metarl
