#include "advantages/advantages.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "advantages/trajectory_units.h"
#include "common/thread_pool.h"

namespace metarl {
namespace {

// fn(t) for every task group t on the package pool.
template <typename Fn>
void for_each_task(int64_t tasks, Fn&& fn) {
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(tasks, [&](int64_t t, int) { fn(t); });
}

// Features of step h with observation o (null when obs_dim = 0) into f[0:K].
template <typename T>
inline void baseline_features(int obs_dim, const T* o, int64_t h, double* f) {
  for (int i = 0; i < obs_dim; ++i) {
    const double x = std::min(10.0, std::max(-10.0, double(o[i])));
    f[i] = x;
    f[obs_dim + i] = x * x;
  }
  const double tt = double(h) / 100.0;
  f[2 * obs_dim] = tt;
  f[2 * obs_dim + 1] = tt * tt;
  f[2 * obs_dim + 2] = tt * tt * tt;
  f[2 * obs_dim + 3] = 1.0;
}

// In-place Cholesky of the K×K SPD matrix A (lower triangle), then solves A x = b in place of b.
bool cholesky_solve(int K, std::vector<double>& A, std::vector<double>& b) {
  for (int j = 0; j < K; ++j) {
    double d = A[j * K + j];
    for (int k = 0; k < j; ++k) d -= A[j * K + k] * A[j * K + k];
    if (!(d > 0.0) || !std::isfinite(d)) return false;
    d = std::sqrt(d);
    A[j * K + j] = d;
    for (int i = j + 1; i < K; ++i) {
      double s = A[i * K + j];
      for (int k = 0; k < j; ++k) s -= A[i * K + k] * A[j * K + k];
      A[i * K + j] = s / d;
    }
  }
  for (int i = 0; i < K; ++i) {
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= A[i * K + k] * b[k];
    b[i] = s / A[i * K + i];
  }
  for (int i = K - 1; i >= 0; --i) {
    double s = b[i];
    for (int k = i + 1; k < K; ++k) s -= A[k * K + i] * b[k];
    b[i] = s / A[i * K + i];
  }
  for (int i = 0; i < K; ++i)
    if (!std::isfinite(b[i])) return false;
  return true;
}

}  // namespace

template <typename T>
void masked_mean_std(const T* x, const T* mask, int64_t n, double* mean, double* std) {
  masked_mean_std_of(x, mask, n, mean, std);
}

template <typename T>
int64_t first_bad_mask_entry(TrajShape s, const T* mask) {
  const int64_t n_traj = s.tasks * s.trajs;
  for (int64_t k = 0; k < n_traj; ++k) {
    const T* m = mask + k * s.horizon;
    bool ended = false;
    for (int64_t h = 0; h < s.horizon; ++h) {
      if (m[h] == T(0)) {
        ended = true;
      } else if (m[h] != T(1) || ended) {
        return k * s.horizon + h;
      }
    }
  }
  return -1;
}

template <typename T>
void discounted_returns(TrajShape s, const T* rewards, const T* mask, double gamma, bool from_start, T* out) {
  const ReturnsUnit<T> unit{s.horizon, rewards, mask, gamma, from_start, out};
  for_each_task(s.tasks, [&](int64_t t) {
    for (int64_t b = 0; b < s.trajs; ++b) unit(t * s.trajs + b);
  });
}

template <typename T>
void gae(TrajShape s, const T* rewards, const T* values, const T* mask, double gamma, double lam, T* out) {
  const GaeUnit<T> unit{s.horizon, rewards, values, mask, gamma, lam, out};
  for_each_task(s.tasks, [&](int64_t t) {
    for (int64_t b = 0; b < s.trajs; ++b) unit(t * s.trajs + b);
  });
}

template <typename T>
void normalize_per_task(TrajShape s, const T* x, const T* mask, double eps, T* out) {
  const int64_t n = s.steps_per_task();
  for_each_task(s.tasks, [&](int64_t t) {
    const T* xt = x + t * n;
    const T* mt = mask + t * n;
    double mean, std;
    masked_mean_std(xt, mt, n, &mean, &std);
    const double inv = 1.0 / (std + eps);
    for (int64_t i = 0; i < n; ++i) out[t * n + i] = T(double(mt[i]) * (double(xt[i]) - mean) * inv);
  });
}

template <typename T>
void linear_baseline_fit(TrajShape s, int obs_dim, const T* obs, const T* targets, const T* mask, T* coeffs,
                         double* ridge_used) {
  const int K = linear_baseline_features(obs_dim);
  const int64_t n = s.steps_per_task();
  for_each_task(s.tasks, [&](int64_t t) {
    std::vector<double> gram(size_t(K) * K, 0.0), rhs(K, 0.0), f(K);
    for (int64_t i = 0; i < n; ++i) {
      const double m = double(mask[t * n + i]);
      if (m == 0.0) continue;
      baseline_features(obs_dim, obs_dim ? obs + (t * n + i) * obs_dim : static_cast<const T*>(nullptr),
                        i % s.horizon, f.data());
      const double y = double(targets[t * n + i]);
      for (int a = 0; a < K; ++a) {
        const double fa = f[a];
        double* row = gram.data() + size_t(a) * K;
        for (int c = 0; c <= a; ++c) row[c] += fa * f[c];  // lower triangle
        rhs[a] += fa * y;
      }
    }
    double ridge = 1e-5;
    ridge_used[t] = std::numeric_limits<double>::quiet_NaN();
    std::fill_n(coeffs + t * K, K, T(0));
    for (int attempt = 0; attempt < 5; ++attempt, ridge *= 10.0) {
      std::vector<double> A(gram), x(rhs);
      for (int a = 0; a < K; ++a) A[size_t(a) * K + a] += ridge;
      if (cholesky_solve(K, A, x)) {
        for (int a = 0; a < K; ++a) coeffs[t * K + a] = T(x[a]);
        ridge_used[t] = ridge;
        break;
      }
    }
  });
}

template <typename T>
void linear_baseline_predict(TrajShape s, int obs_dim, const T* obs, const T* coeffs, const T* mask, T* out) {
  const int K = linear_baseline_features(obs_dim);
  const int64_t n = s.steps_per_task();
  for_each_task(s.tasks, [&](int64_t t) {
    std::vector<double> f(K);
    const T* c = coeffs + t * K;
    for (int64_t i = 0; i < n; ++i) {
      if (mask && mask[t * n + i] == T(0)) {
        out[t * n + i] = T(0);
        continue;
      }
      baseline_features(obs_dim, obs_dim ? obs + (t * n + i) * obs_dim : static_cast<const T*>(nullptr),
                        i % s.horizon, f.data());
      double y = 0.0;
      for (int a = 0; a < K; ++a) y += f[a] * double(c[a]);
      out[t * n + i] = T(y);
    }
  });
}

#define METARL_INSTANTIATE(T)                                                                             \
  template void masked_mean_std<T>(const T*, const T*, int64_t, double*, double*);                        \
  template int64_t first_bad_mask_entry<T>(TrajShape, const T*);                                          \
  template void discounted_returns<T>(TrajShape, const T*, const T*, double, bool, T*);                   \
  template void gae<T>(TrajShape, const T*, const T*, const T*, double, double, T*);                      \
  template void normalize_per_task<T>(TrajShape, const T*, const T*, double, T*);                         \
  template void linear_baseline_fit<T>(TrajShape, int, const T*, const T*, const T*, T*, double*);        \
  template void linear_baseline_predict<T>(TrajShape, int, const T*, const T*, const T*, T*);
METARL_INSTANTIATE(float)
METARL_INSTANTIATE(double)
#undef METARL_INSTANTIATE

}  // namespace metarl
