// The arithmetic of Meta-World's Python code, reproduced operation for operation so that the C++
// environments give its numbers bit for bit: numpy's vector norm, scipy's rotation-matrix to
// quaternion conversion, and small 3-vector helpers. Compiled with -ffp-contract=off: a fused
// multiply-add is written out (std::fma) exactly where the reproduced code has one.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

namespace metarl::metaworld {

using Vec3 = std::array<double, 3>;
using Quat = std::array<double, 4>;

constexpr double kPi = 3.141592653589793;  // np.pi
// A float32 constant widened to float64: several environments keep their init_config arrays as
// float32 (np.array(..., dtype=np.float32)), and numpy widens them in float64 arithmetic.
constexpr double f32(float x) { return static_cast<double>(x); }

// np.linalg.norm of a float64 vector: sqrt(x·x), the dot product accumulated as OpenBLAS's ddot
// does on x86-64 (FMA since Haswell: s = fma(x_i, x_i, s) from s = 0). Where numpy's BLAS sums
// without FMA, numpy's norm differs from this by an ulp in about one call in ten.
inline double np_norm(const double* x, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s = std::fma(x[i], x[i], s);
  return std::sqrt(s);
}
inline double np_norm(const Vec3& x) { return np_norm(x.data(), 3); }
inline double np_norm2(double x, double y) {  // the norm of a 2-vector (e.g. pos[:2], pos[[0, 2]])
  const double v[2] = {x, y};
  return np_norm(v, 2);
}
inline double np_norm1(double x) { return np_norm(&x, 1); }  // np.linalg.norm of a scalar: |x|

inline Vec3 vec3(const double* p) { return {p[0], p[1], p[2]}; }
inline void put3(double* dst, const Vec3& v) { std::copy(v.begin(), v.end(), dst); }
inline Vec3 operator+(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline Vec3 operator-(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline Vec3 operator*(const Vec3& a, const Vec3& b) { return {a[0] * b[0], a[1] * b[1], a[2] * b[2]}; }
inline Vec3 operator*(const Vec3& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }
inline Vec3 operator*(double s, const Vec3& a) { return {s * a[0], s * a[1], s * a[2]}; }
inline Vec3 operator/(const Vec3& a, double s) { return {a[0] / s, a[1] / s, a[2] / s}; }
inline Vec3 abs(const Vec3& a) { return {std::abs(a[0]), std::abs(a[1]), std::abs(a[2])}; }

// scipy.spatial.transform.Rotation.from_matrix(xmat).as_quat() for MuJoCo's row-major xmat [9]:
// the quaternion (x, y, z, w) of scipy's Cython backend (_from_matrix_orthogonal: the largest of
// the diagonal and the trace picks the formula, then the quaternion is normalised). scipy first
// checks the matrix is orthogonal within 1e-12 and orthogonalises it by an SVD otherwise; MuJoCo's
// rotation matrices are orthogonal to rounding, so that branch is not reproduced.
inline Quat scipy_quat_from_xmat(const double* xmat) {
  const auto M = [xmat](int r, int c) { return xmat[3 * r + c]; };
  const double decision[4] = {M(0, 0), M(1, 1), M(2, 2), M(0, 0) + M(1, 1) + M(2, 2)};
  int choice = 0;
  double vmax = decision[0];
  for (int i = 1; i < 4; ++i)
    if (decision[i] > vmax) {
      choice = i;
      vmax = decision[i];
    }
  Quat q;
  if (choice != 3) {
    const int i = choice, j = (i + 1) % 3, k = (j + 1) % 3;
    q[i] = 1 - decision[3] + 2 * M(i, i);
    q[j] = M(j, i) + M(i, j);
    q[k] = M(k, i) + M(i, k);
    q[3] = M(k, j) - M(j, k);
  } else {
    q[0] = M(2, 1) - M(1, 2);
    q[1] = M(0, 2) - M(2, 0);
    q[2] = M(1, 0) - M(0, 1);
    q[3] = 1 + decision[3];
  }
  const double norm = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  for (double& x : q) x /= norm;
  return q;
}

// x ** y of a Python float or numpy float64 scalar: the C library's pow (numpy's scalar power and
// CPython's float power both call it). For y = 2 it differs from x * x in about one case in 1,200
// (glibc's pow is not correctly rounded), so scalar squares go through here too; numpy arrays of
// one or more dimensions square as x * x. The call goes through a volatile pointer so that the
// compiler cannot fold pow(x, 2) into x * x.
inline double np_pow(double x, double y) {
  static double (*volatile const libm_pow)(double, double) = ::pow;
  return libm_pow(x, y);
}
inline double np_square(double x) { return np_pow(x, 2.0); }

// np.clip(x, lo, hi) for numbers (NaN stays NaN).
inline double np_clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

}  // namespace metarl::metaworld
