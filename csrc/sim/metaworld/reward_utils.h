// Meta-World's reward utilities (metaworld/utils/reward_utils.py, from dm_control), for scalars,
// with numpy's arithmetic: tolerance with the sigmoids Meta-World's v2 rewards use, the Hamacher
// product and the rectangular-prism tolerance. Where Meta-World raises (a negative margin, a
// Hamacher argument outside [0, 1]) these throw MetaWorldError, which ends the call as Meta-World's
// exception ends its episode.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/metaworld/np_ops.h"
#include "sim/metaworld/numpy_math.h"

namespace metarl::metaworld {

using npm::np_cos;
using npm::np_exp;
using npm::np_log;
using npm::np_sin;

struct MetaWorldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Sigmoid { kLongTail, kGaussian };

constexpr double kDefaultValueAtMargin = 0.1;

// _sigmoids(x, value_at_1, sigmoid): 1 at x = 0, value_at_1 at x = 1. x arrives as a numpy
// float64 scalar, so its square is the C library's pow (np_square).
inline double sigmoid(double x, double value_at_1, Sigmoid kind) {
  if (!(0 < value_at_1 && value_at_1 < 1))
    throw MetaWorldError("value_at_1 must be strictly between 0 and 1, got " + std::to_string(value_at_1));
  if (kind == Sigmoid::kGaussian) {
    const double scale = std::sqrt(-2 * np_log(value_at_1));
    return np_exp(-0.5 * np_square(x * scale));
  }
  const double scale = std::sqrt(1 / value_at_1 - 1);
  return 1 / (np_square(x * scale) + 1);
}

// tolerance(x, bounds=(lower, upper), margin, sigmoid, value_at_margin): 1 inside the bounds,
// falling off with the distance to the nearest bound in units of `margin` outside.
inline double tolerance(double x, double lower, double upper, double margin, Sigmoid kind = Sigmoid::kGaussian,
                        double value_at_margin = kDefaultValueAtMargin) {
  if (lower > upper) throw MetaWorldError("tolerance: lower bound must be <= upper bound");
  if (margin < 0) throw MetaWorldError("tolerance: `margin` must be non-negative. Current value: " + std::to_string(margin));
  const bool in_bounds = lower <= x && x <= upper;
  if (margin == 0) return in_bounds ? 1.0 : 0.0;
  if (in_bounds) return 1.0;
  const double d = (x < lower ? lower - x : x - upper) / margin;
  return sigmoid(d, value_at_margin, kind);
}

inline double long_tail(double x, double lower, double upper, double margin) {
  return tolerance(x, lower, upper, margin, Sigmoid::kLongTail);
}

// hamacher_product(a, b) = ab / (a + b − ab) (0 when a = b = 0), for a, b in [0, 1].
inline double hamacher_product(double a, double b) {
  if (!((0.0 <= a && a <= 1.0) && (0.0 <= b && b <= 1.0)))
    throw MetaWorldError("hamacher_product: a (" + std::to_string(a) + ") and b (" + std::to_string(b) +
                         ") must range between 0 and 1");
  const double denominator = a + b - (a * b);
  return denominator > 0 ? (a * b) / denominator : 0.0;
}

// rect_prism_tolerance(curr, zero, one): inside the prism spanned by `zero` and `one`, the product
// of the relative coordinates; 1.0 outside.
inline double rect_prism_tolerance(const Vec3& curr, const Vec3& zero, const Vec3& one) {
  const auto in_range = [](double a, double b, double c) { return c >= b ? (b <= a && a <= c) : (c <= a && a <= b); };
  if (in_range(curr[0], zero[0], one[0]) && in_range(curr[1], zero[1], one[1]) && in_range(curr[2], zero[2], one[2])) {
    const Vec3 diff = one - zero;
    const double x_scale = (curr[0] - zero[0]) / diff[0];
    const double y_scale = (curr[1] - zero[1]) / diff[1];
    const double z_scale = (curr[2] - zero[2]) / diff[2];
    return x_scale * y_scale * z_scale;
  }
  return 1.0;
}

}  // namespace metarl::metaworld
