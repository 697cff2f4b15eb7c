// Per-trajectory advantage programs shared by the CPU kernels (advantages.cc) and the CUDA kernels
// (csrc/cuda/sample_ops.h): unit k computes trajectory k of a [T·B, H] batch (shapes and meanings
// in advantages.h), in double, in step order.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.h"

namespace metarl {

// Mean and population standard deviation of x[0:n] over the entries where mask ≠ 0 (weighted by
// the 0/1 mask), accumulated in double in index order; (0, 0) when no entry is valid.
template <typename T>
METARL_HD inline void masked_mean_std_of(const T* x, const T* mask, int64_t n, double* mean, double* std) {
  double count = 0.0, sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    count += double(mask[i]);
    sum += double(mask[i]) * double(x[i]);
  }
  const double m = count > 0 ? sum / count : 0.0;
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(x[i]) - m;
    var += double(mask[i]) * d * d;
  }
  *mean = m;
  *std = sqrt(count > 0 ? var / count : 0.0);
}

template <typename T>
struct ReturnsUnit {
  int64_t horizon;
  const T* rewards;
  const T* mask;
  double gamma;
  bool from_start;
  T* out;
  METARL_HD void operator()(int64_t k) const {
    const int64_t base = k * horizon;
    double acc = 0.0;
    for (int64_t h = horizon - 1; h >= 0; --h) {
      acc = double(mask[base + h]) * (double(rewards[base + h]) + gamma * acc);
      out[base + h] = T(acc);
    }
    if (from_start) {
      double g = 1.0;
      for (int64_t h = 0; h < horizon; ++h, g *= gamma) out[base + h] = T(g * double(out[base + h]));
    }
  }
};

template <typename T>
struct GaeUnit {
  int64_t horizon;
  const T* rewards;
  const T* values;
  const T* mask;
  double gamma, lam;
  T* out;
  METARL_HD void operator()(int64_t k) const {
    const int64_t base = k * horizon;
    double acc = 0.0, next_value = 0.0;
    for (int64_t h = horizon - 1; h >= 0; --h) {
      const double m = double(mask[base + h]);
      const double v = m * double(values[base + h]);
      const double delta = double(rewards[base + h]) + gamma * next_value - v;
      acc = m * (delta + gamma * lam * acc);
      out[base + h] = T(acc);
      next_value = v;
    }
  }
};

}  // namespace metarl
