// Batched conjugate gradient on the device: the per-system updates of the CPU solver
// (solvers/conjugate_gradient.h) as units, one per system, run by an `Each` (sample_programs.h).
// The caller alternates z = A p (any fused operator, launched on the same stream) and cg_step; all
// state (x, r, p, r·r, the active flags) stays in device memory, so the loop never waits on the
// host. Every iteration runs: a system that has stopped keeps p = 0, so its products are 0 and its
// state no longer changes, which gives the CPU solver's results without its early exit.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/sample_programs.h"

namespace metarl {
namespace gpu {

template <typename T>
struct CgArgs {
  int64_t systems = 0, dim = 0;
  const T* b = nullptr;  // [S, dim]
  const T* z = nullptr;  // [S, dim] the product A p of this iteration
  T *x = nullptr, *r = nullptr, *p = nullptr;  // [S, dim]
  double* rdotr = nullptr;  // [S]
  int32_t* active = nullptr;      // [S]
  int32_t* iterations = nullptr;  // [S]
  int32_t* status = nullptr;      // [S] 0 converged or ran out of iterations, 1 non-positive curvature
  double residual_tol = 0, damping = 0;
  int iteration = 0;  // k of cg_step
};

template <typename T>
METARL_HD inline double dot_d(const T* a, const T* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

template <typename T>
struct CgInitUnit {
  CgArgs<T> a;
  METARL_HD void operator()(int64_t i) const {
    const int64_t o = i * a.dim;
    for (int64_t j = 0; j < a.dim; ++j) {
      a.x[o + j] = T(0);
      a.r[o + j] = a.b[o + j];
      a.p[o + j] = a.b[o + j];
    }
    a.rdotr[i] = dot_d(a.r + o, a.r + o, a.dim);
    a.active[i] = a.rdotr[i] >= a.residual_tol;
    a.iterations[i] = 0;
    a.status[i] = 0;
    if (!a.active[i])
      for (int64_t j = 0; j < a.dim; ++j) a.p[o + j] = T(0);
  }
};

template <typename T>
struct CgStepUnit {
  CgArgs<T> a;
  METARL_HD void operator()(int64_t i) const {
    if (!a.active[i]) return;
    const int64_t o = i * a.dim;
    T* p = a.p + o;
    T* r = a.r + o;
    T* x = a.x + o;
    const T* z = a.z + o;
    const T damp = T(a.damping);
    double pz = 0.0;
    for (int64_t j = 0; j < a.dim; ++j) pz += double(p[j]) * double(a.damping != 0.0 ? z[j] + damp * p[j] : z[j]);
    if (!(pz > 0.0)) {
      a.active[i] = 0;
      a.status[i] = 1;
      for (int64_t j = 0; j < a.dim; ++j) p[j] = T(0);
      return;
    }
    const double alpha = a.rdotr[i] / pz;
    for (int64_t j = 0; j < a.dim; ++j) {
      const T zj = a.damping != 0.0 ? z[j] + damp * p[j] : z[j];
      x[j] += T(alpha) * p[j];
      r[j] -= T(alpha) * zj;
    }
    const double new_rdotr = dot_d(r, r, a.dim);
    const double mu = new_rdotr / a.rdotr[i];
    for (int64_t j = 0; j < a.dim; ++j) p[j] = r[j] + T(mu) * p[j];
    a.rdotr[i] = new_rdotr;
    a.iterations[i] = a.iteration + 1;
    if (new_rdotr < a.residual_tol) {
      a.active[i] = 0;
      for (int64_t j = 0; j < a.dim; ++j) p[j] = T(0);
    }
  }
};

// "cg_init" or "cg_step" (one unit per system).
template <typename T, typename Each>
void run_cg_op(const std::string& name, const CgArgs<T>& a, const Each& each) {
  if (name == "cg_init") each(a.systems, CgInitUnit<T>{a});
  else if (name == "cg_step") each(a.systems, CgStepUnit<T>{a});
  else throw std::invalid_argument("unknown conjugate-gradient op '" + name + "'");
}

}  // namespace gpu
}  // namespace metarl
