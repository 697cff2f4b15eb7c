// Advantage and estimator-weight programs of the CUDA kernels: the work of advantages/ and
// estimators/ as independent units (one per sample, trajectory, task or Gram-matrix entry), each a
// functor f(i) run by one GPU thread, or by a host loop in the emulation. Every sum runs in a fixed
// order inside one unit, in double, so results are bit-identical run to run. Shapes and meanings
// are those of advantages/advantages.h and estimators/estimators.h; `Each` is HostEach or the
// device launcher (sample_cuda.cu): each(n, f) runs f(0 … n−1), in stream order after the previous
// call.
#pragma once

#include <cstdint>

#include "advantages/trajectory_units.h"
#include "cuda/block_exec.h"
#include "cuda/block_gemm.h"

namespace metarl {
namespace gpu {

METARL_HD inline double dev_exp_d(double x) { return exp(x); }
METARL_HD inline double dev_sqrt_d(double x) { return sqrt(x); }
METARL_HD inline bool dev_finite(double x) { return x - x == 0.0; }

// ---- masked mean and population std of each task's n entries (stats [T, 2]) --------------------------

template <typename T>
struct MaskedStatsUnit {
  int64_t n;
  const T* x;
  const T* mask;
  double* stats;
  METARL_HD void operator()(int64_t t) const {
    masked_mean_std_of(x + t * n, mask + t * n, n, stats + 2 * t, stats + 2 * t + 1);
  }
};

template <typename T>
struct NormalizeUnit {
  int64_t n;
  const T* x;
  const T* mask;
  const double* stats;
  double eps;
  T* out;
  METARL_HD void operator()(int64_t i) const {
    const int64_t t = i / n;
    out[i] = T(double(mask[i]) * (double(x[i]) - stats[2 * t]) / (stats[2 * t + 1] + eps));
  }
};

// ---- importance-ratio weights: per sample, then the per-task value -----------------------------------

template <typename T>
struct RatioSampleUnit {
  const T* log_prob;
  const T* old_log_prob;
  const T* adv;
  const T* mask;  // or null
  double clip_eps;
  T* weights;     // or null
  double* terms;  // [T, N] objective terms m·obj
  METARL_HD void operator()(int64_t n) const {
    const double m = mask ? double(mask[n]) : 1.0;
    const double rho = dev_exp_d(double(log_prob[n]) - double(old_log_prob[n]));
    const double a = double(adv[n]);
    double obj = rho * a, w = m * rho * a;
    if (clip_eps >= 0.0) {
      const double lo = 1.0 - clip_eps, hi = 1.0 + clip_eps;
      const double clipped = (rho < lo ? lo : (rho > hi ? hi : rho)) * a;
      if (clipped < obj) {
        obj = clipped;
        w = 0.0;
      }
    }
    terms[n] = m * obj;
    if (weights) weights[n] = T(w);
  }
};

// out[t] = Σ_i terms[t·n + i·stride]  (stride 1: a task's samples; stride s: one entry per row)
template <typename T>
struct TaskSumUnit {
  int64_t n, stride;
  const double* terms;
  T* out;
  METARL_HD void operator()(int64_t t) const {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += terms[t * n * stride + i * stride];
    out[t] = T(s);
  }
};

// ---- DiCE weights: one trajectory per unit; W and U hold c_t and J_t until the suffix sums ---------

template <typename T>
struct DiceUnit {
  int64_t trajs, horizon;
  const T* rewards;
  const T* mask;
  const T* baseline;  // [T, H] or null
  double gamma;
  const T* jvp;  // or null
  T* W;          // required
  T* U;          // required when jvp is given
  double* row_totals;  // [T·B] Σ_h c_h of each trajectory
  METARL_HD void operator()(int64_t k) const {
    const int64_t t = k / trajs, base = k * horizon;
    double g = 1.0, prefix = 0.0, total = 0.0;
    for (int64_t h = 0; h < horizon; ++h, g *= gamma) {
      const double m = double(mask[base + h]);
      const double bl = baseline ? double(baseline[t * horizon + h]) : 0.0;
      const double c = m * (g * double(rewards[base + h]) - bl);
      total += c;
      W[base + h] = T(c);
      if (jvp) {
        prefix += m * double(jvp[base + h]);
        U[base + h] = T(prefix);
      }
    }
    // suffix sums, reading c_t and J_t back from W and U before overwriting them
    double w = 0.0, u = 0.0;
    for (int64_t h = horizon - 1; h >= 0; --h) {
      const double c = double(W[base + h]);
      w += c;
      W[base + h] = T(w);
      if (jvp) {
        u += c * double(U[base + h]);
        U[base + h] = T(u);
      }
    }
    row_totals[k] = total;
  }
};

// ---- E-MAML credit ----------------------------------------------------------------------------------

template <typename T>
struct CreditUnit {
  int64_t samples;
  const T* rewards;
  const T* mask;
  const double* stats;  // [2]: mean and std over the whole batch
  T* credit;
  METARL_HD void operator()(int64_t t) const {
    const double inv = 1.0 / (stats[1] + 1e-8);
    double c = 0.0, s = 0.0;
    for (int64_t i = t * samples; i < (t + 1) * samples; ++i) {
      c += double(mask[i]);
      s += double(mask[i]) * (double(rewards[i]) - stats[0]) * inv;
    }
    credit[t] = T(c > 0 ? s / c : 0.0);
  }
};

// ---- linear feature baseline -----------------------------------------------------------------------

// Feature a of step i (h = i mod H) of observation o (obs_dim = 0: time features only).
template <typename T>
METARL_HD inline double baseline_feature(int obs_dim, const T* o, int64_t h, int a) {
  if (a < 2 * obs_dim) {
    double x = double(o[a % obs_dim]);
    x = x > 10.0 ? 10.0 : (x < -10.0 ? -10.0 : x);
    return a < obs_dim ? x : x * x;
  }
  const double tt = double(h) / 100.0;
  switch (a - 2 * obs_dim) {
    case 0: return tt;
    case 1: return tt * tt;
    case 2: return tt * tt * tt;
    default: return 1.0;
  }
}

// [FᵀF | Fᵀy] of each task by blocks: block (task t, chunk) loads `tile` steps' features (and the
// target, as column K; zero rows for masked steps) into shared memory as doubles and adds their
// products to its own partial matrix [K, K + 1]; GramFinishUnit adds the chunks in order.
struct GramLayout {
  int K = 0, tile = 1;
  int64_t chunks = 1, smem_bytes = 0;
};

// The largest tile (≤ 64 steps) whose features fit 96 KiB, and chunks per task from (T, steps) only.
inline GramLayout plan_gram(int obs_dim, int64_t tasks, int64_t steps) {
  GramLayout g;
  g.K = 2 * obs_dim + 4;
  int S = 64;
  while (S > 1 && int64_t(S) * (g.K + 1) * 8 > 96 * 1024) S /= 2;
  g.tile = S;
  g.smem_bytes = int64_t(S) * (g.K + 1) * 8;
  const int64_t tiles = (steps + S - 1) / S, by_balance = (256 + tasks - 1) / tasks;
  g.chunks = tiles < by_balance ? tiles : by_balance;
  if (g.chunks < 1) g.chunks = 1;
  return g;
}

template <typename T>
struct GramBlocks {
  GramLayout g;
  int obs_dim;
  int64_t steps, horizon;  // steps per task = B·H
  const T* obs;
  const T* targets;
  const T* mask;
  double* partial;  // [T, chunks, K, K + 1]
  template <typename Exec>
  METARL_HD void operator()(int64_t t, int64_t chunk, double* F, const Exec& exec) const {
    const int K = g.K, K1 = g.K + 1, S = g.tile;
    const int64_t n_begin = steps * chunk / g.chunks, n_end = steps * (chunk + 1) / g.chunks;
    double* part = partial + (t * g.chunks + chunk) * int64_t(K) * K1;
    exec([&](int tid, int nt) {
      for (int64_t e = tid; e < int64_t(K) * K1; e += nt) part[e] = 0.0;
    });
    for (int64_t n0 = n_begin; n0 < n_end; n0 += S) {
      const int rows = int(n_end - n0 < S ? n_end - n0 : S);
      exec([&](int tid, int nt) {
        for (int idx = tid; idx < S * K1; idx += nt) {
          const int s_ = idx / K1, a = idx % K1;
          const int64_t i = n0 + s_, j = t * steps + i;
          double f = 0.0;
          if (s_ < rows && double(mask[j]) != 0.0)
            f = a < K ? baseline_feature(obs_dim, obs_dim ? obs + j * obs_dim : static_cast<const T*>(nullptr),
                                         i % horizon, a)
                      : double(targets[j]);
          F[idx] = f;
        }
      });
      exec([&](int tid, int nt) {
        block_gemm<double>(tid, nt, K, K1, S, Operand<double>{F, 1, K1}, Operand<double>{F, 1, K1}, 0,
                           Operand<double>{nullptr, 0, 0}, Operand<double>{nullptr, 0, 0},
                           [](int, int) { return 0.0; },
                           [&](int a, int c, double v) { part[int64_t(a) * K1 + c] += v; });
      });
    }
  }
};

// gram[t, e] = Σ_chunk partial[t, chunk, e] (e < K(K + 1)), in chunk order.
struct GramFinishUnit {
  int64_t per_task, chunks;
  const double* partial;
  double* gram;
  METARL_HD void operator()(int64_t idx) const {
    const int64_t t = idx / per_task, e = idx % per_task;
    double s = 0.0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[(t * chunks + c) * per_task + e];
    gram[idx] = s;
  }
};

// Task t: (FᵀF + ρI) x = Fᵀy by Cholesky, ρ = 1e-5 × 10^k for k < 5 until the solve succeeds.
template <typename T>
struct RidgeSolveUnit {
  int K;
  const double* gram;  // [T, K, K + 1]
  double* scratch;     // [T, K, K + 1]
  T* coeffs;           // [T, K]
  double* ridge_used;  // [T] (nan when every try failed)
  double nan;          // a quiet NaN (set on the host)
  METARL_HD void operator()(int64_t t) const {
    const int64_t ld = K + 1, per_task = int64_t(K) * ld;
    const double* G = gram + t * per_task;
    double* A = scratch + t * per_task;
    double ridge = 1e-5;
    ridge_used[t] = nan;
    for (int a = 0; a < K; ++a) coeffs[t * K + a] = T(0);
    for (int attempt = 0; attempt < 5; ++attempt, ridge *= 10.0) {
      for (int a = 0; a < K; ++a)
        for (int c = 0; c <= K; ++c) A[a * ld + c] = c <= a || c == K ? G[a * ld + c] : 0.0;
      for (int a = 0; a < K; ++a) A[a * ld + a] += ridge;
      bool ok = true;
      for (int j = 0; j < K && ok; ++j) {
        double d = A[j * ld + j];
        for (int k = 0; k < j; ++k) d -= A[j * ld + k] * A[j * ld + k];
        if (!(d > 0.0) || !dev_finite(d)) {
          ok = false;
          break;
        }
        d = dev_sqrt_d(d);
        A[j * ld + j] = d;
        for (int i = j + 1; i < K; ++i) {
          double s = A[i * ld + j];
          for (int k = 0; k < j; ++k) s -= A[i * ld + k] * A[j * ld + k];
          A[i * ld + j] = s / d;
        }
      }
      if (!ok) continue;
      // the right-hand side (column K) becomes the solution
      for (int i = 0; i < K; ++i) {
        double s = A[i * ld + K];
        for (int k = 0; k < i; ++k) s -= A[i * ld + k] * A[k * ld + K];
        A[i * ld + K] = s / A[i * ld + i];
      }
      for (int i = K - 1; i >= 0; --i) {
        double s = A[i * ld + K];
        for (int k = i + 1; k < K; ++k) s -= A[k * ld + i] * A[k * ld + K];
        A[i * ld + K] = s / A[i * ld + i];
      }
      for (int i = 0; i < K; ++i) ok = ok && dev_finite(A[i * ld + K]);
      if (!ok) continue;
      for (int a = 0; a < K; ++a) coeffs[t * K + a] = T(A[a * ld + K]);
      ridge_used[t] = ridge;
      break;
    }
  }
};

template <typename T>
struct BaselinePredictUnit {
  int obs_dim, K;
  int64_t steps, horizon;
  const T* obs;
  const T* coeffs;
  const T* mask;  // or null
  T* out;
  METARL_HD void operator()(int64_t j) const {
    if (mask && mask[j] == T(0)) {
      out[j] = T(0);
      return;
    }
    const int64_t t = j / steps, i = j % steps;
    const T* o = obs_dim ? obs + j * obs_dim : nullptr;
    double y = 0.0;
    for (int a = 0; a < K; ++a) y += baseline_feature(obs_dim, o, i % horizon, a) * double(coeffs[t * K + a]);
    out[j] = T(y);
  }
};

}  // namespace gpu
}  // namespace metarl
