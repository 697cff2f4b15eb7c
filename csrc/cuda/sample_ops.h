// The advantage and estimator-weight ops of the CUDA kernels, composed from the units of
// sample_programs.h. One argument struct for all of them (what an op does not use stays null);
// run_sample_op runs an op with any `Each` (HostEach: the emulation; the device launcher of
// sample_cuda.cu: the GPU). Ops and their inputs → outputs (shapes as in advantages.h /
// estimators.h; T tasks, B trajectories of H steps, N samples):
//   discounted_returns   rewards, mask [T,B,H]; gamma, from_start        → out [T,B,H]
//   gae                  rewards, values, mask; gamma, lam                → out
//   normalize_per_task   x, mask [T,N]; eps                               → out [T,N]
//   ratio_weights        log_prob, old_log_prob, adv, mask? [T,N]; clip_eps → weights? [T,N], value? [T]
//   dice_weights         rewards, mask, baseline? [T,H], jvp?; gamma      → W, U (with jvp), value? [T]
//   emaml_credit         rewards, mask [T,N]                              → value [T]
//   linear_baseline      obs? [T,B,H,D], targets, mask [T,B,H], predict_mask?; pred_trajs (B, or 1
//                        for the time-only fit)                           → coeffs [T,K], ridge [T], out [T,pred_trajs,H]
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "cuda/sample_programs.h"

namespace metarl {
namespace gpu {

template <typename T>
struct SampleOpArgs {
  int64_t tasks = 0, trajs = 0, horizon = 0, samples = 0, pred_trajs = 0;
  int obs_dim = 0;
  const T *rewards = nullptr, *mask = nullptr, *values = nullptr, *x = nullptr, *baseline = nullptr,
          *jvp = nullptr, *log_prob = nullptr, *old_log_prob = nullptr, *adv = nullptr, *obs = nullptr,
          *targets = nullptr, *predict_mask = nullptr;
  double gamma = 0, lam = 0, eps = 0, clip_eps = -1;
  bool from_start = false;
  T *out = nullptr, *W = nullptr, *U = nullptr, *value = nullptr, *weights = nullptr, *coeffs = nullptr;
  double* ridge = nullptr;
  double* workspace = nullptr;
};

// Doubles of workspace op `name` needs; throws std::invalid_argument for an unknown op.
template <typename T>
int64_t sample_op_workspace(const std::string& name, const SampleOpArgs<T>& a) {
  if (name == "discounted_returns" || name == "gae") return 0;
  if (name == "normalize_per_task") return 2 * a.tasks;
  if (name == "ratio_weights") return a.tasks * a.samples;
  if (name == "dice_weights") return a.tasks * a.trajs;
  if (name == "emaml_credit") return 2;
  if (name == "linear_baseline") {
    const GramLayout g = plan_gram(a.obs_dim, a.tasks, a.trajs * a.horizon);
    const int64_t per_task = int64_t(g.K) * (g.K + 1);
    return a.tasks * per_task * (2 + g.chunks);  // gram, Cholesky scratch, chunk partials
  }
  throw std::invalid_argument("unknown sample op '" + name + "'");
}

template <typename T, typename Each>
void run_sample_op(const std::string& name, const SampleOpArgs<T>& a, const Each& each) {
  const int64_t Tn = a.tasks;
  if (name == "discounted_returns") {
    each(Tn * a.trajs, ReturnsUnit<T>{a.horizon, a.rewards, a.mask, a.gamma, a.from_start, a.out});
  } else if (name == "gae") {
    each(Tn * a.trajs, GaeUnit<T>{a.horizon, a.rewards, a.values, a.mask, a.gamma, a.lam, a.out});
  } else if (name == "normalize_per_task") {
    each(Tn, MaskedStatsUnit<T>{a.samples, a.x, a.mask, a.workspace});
    each(Tn * a.samples, NormalizeUnit<T>{a.samples, a.x, a.mask, a.workspace, a.eps, a.out});
  } else if (name == "ratio_weights") {
    each(Tn * a.samples,
         RatioSampleUnit<T>{a.log_prob, a.old_log_prob, a.adv, a.mask, a.clip_eps, a.weights, a.workspace});
    if (a.value) each(Tn, TaskSumUnit<T>{a.samples, 1, a.workspace, a.value});
  } else if (name == "dice_weights") {
    each(Tn * a.trajs, DiceUnit<T>{a.trajs, a.horizon, a.rewards, a.mask, a.baseline, a.gamma, a.jvp, a.W, a.U,
                                   a.workspace});
    if (a.value) each(Tn, TaskSumUnit<T>{a.trajs, 1, a.workspace, a.value});
  } else if (name == "emaml_credit") {
    each(1, MaskedStatsUnit<T>{Tn * a.samples, a.rewards, a.mask, a.workspace});
    each(Tn, CreditUnit<T>{a.samples, a.rewards, a.mask, a.workspace, a.value});
  } else if (name == "linear_baseline") {
    const int64_t steps = a.trajs * a.horizon;
    const GramLayout g = plan_gram(a.obs_dim, Tn, steps);
    const int K = g.K;
    const int64_t per_task = int64_t(K) * (K + 1);
    double* gram = a.workspace;
    double* scratch = gram + Tn * per_task;
    double* partial = scratch + Tn * per_task;
    each.blocks(g.chunks, Tn, g.smem_bytes,
                GramBlocks<T>{g, a.obs_dim, steps, a.horizon, a.obs, a.targets, a.mask, partial});
    each(Tn * per_task, GramFinishUnit{per_task, g.chunks, partial, gram});
    each(Tn, RidgeSolveUnit<T>{K, gram, scratch, a.coeffs, a.ridge, std::numeric_limits<double>::quiet_NaN()});
    const int64_t pred_steps = a.pred_trajs * a.horizon;
    each(Tn * pred_steps,
         BaselinePredictUnit<T>{a.obs_dim, K, pred_steps, a.horizon, a.obs, a.coeffs, a.predict_mask, a.out});
  } else {
    throw std::invalid_argument("unknown sample op '" + name + "'");
  }
}

}  // namespace gpu
}  // namespace metarl
