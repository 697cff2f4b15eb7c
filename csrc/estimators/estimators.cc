#include "estimators/estimators.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "common/thread_pool.h"

namespace metarl {

template <typename T>
void dice_weights(TrajShape s, const T* rewards, const T* mask, const T* baseline, double gamma, const T* jvp,
                  T* W, T* U, T* value) {
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(s.tasks, [&](int64_t t, int) {
    std::vector<double> c(s.horizon), J(s.horizon);
    double total = 0.0;
    for (int64_t b = 0; b < s.trajs; ++b) {
      const int64_t base = (t * s.trajs + b) * s.horizon;
      double g = 1.0, prefix = 0.0;
      for (int64_t h = 0; h < s.horizon; ++h, g *= gamma) {
        const double m = double(mask[base + h]);
        const double bl = baseline ? double(baseline[t * s.horizon + h]) : 0.0;
        c[h] = m * (g * double(rewards[base + h]) - bl);
        total += c[h];
        if (jvp) {
          prefix += m * double(jvp[base + h]);
          J[h] = prefix;
        }
      }
      double w = 0.0, u = 0.0;
      for (int64_t h = s.horizon - 1; h >= 0; --h) {
        w += c[h];
        if (W) W[base + h] = T(w);
        if (jvp) {
          u += c[h] * J[h];
          if (U) U[base + h] = T(u);
        }
      }
    }
    if (value) value[t] = T(total);
  });
}

template <typename T>
void ratio_weights(int64_t tasks, int64_t samples, const T* log_prob, const T* old_log_prob, const T* adv,
                   const T* mask, double clip_eps, T* weights, T* value) {
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(tasks, [&](int64_t t, int) {
    double total = 0.0;
    for (int64_t n = t * samples; n < (t + 1) * samples; ++n) {
      const double m = mask ? double(mask[n]) : 1.0;
      const double rho = std::exp(double(log_prob[n]) - double(old_log_prob[n]));
      const double a = double(adv[n]);
      double obj = rho * a, w = m * rho * a;
      if (clip_eps >= 0.0) {
        const double clipped = std::min(std::max(rho, 1.0 - clip_eps), 1.0 + clip_eps) * a;
        if (clipped < obj) {
          obj = clipped;
          w = 0.0;
        }
      }
      total += m * obj;
      if (weights) weights[n] = T(w);
    }
    if (value) value[t] = T(total);
  });
}

template <typename T>
void emaml_credit(int64_t tasks, int64_t samples, const T* rewards, const T* mask, T* credit) {
  double mean, std;
  masked_mean_std(rewards, mask, tasks * samples, &mean, &std);
  const double inv = 1.0 / (std + 1e-8);
  for (int64_t t = 0; t < tasks; ++t) {
    double c = 0.0, s = 0.0;
    for (int64_t i = t * samples; i < (t + 1) * samples; ++i) {
      c += double(mask[i]);
      s += double(mask[i]) * (double(rewards[i]) - mean) * inv;
    }
    credit[t] = T(c > 0 ? s / c : 0.0);
  }
}

#define METARL_INSTANTIATE(T)                                                                                \
  template void dice_weights<T>(TrajShape, const T*, const T*, const T*, double, const T*, T*, T*, T*);      \
  template void ratio_weights<T>(int64_t, int64_t, const T*, const T*, const T*, const T*, double, T*, T*); \
  template void emaml_credit<T>(int64_t, int64_t, const T*, const T*, T*);
METARL_INSTANTIATE(float)
METARL_INSTANTIATE(double)
#undef METARL_INSTANTIATE

}  // namespace metarl
