// Batched conjugate gradient on the device: the per-system updates of the CPU solver
// (solvers/conjugate_gradient.h) as block programs, one 256-thread block per system, run by an
// `Each` (block_exec.h: HostEach emulates them).
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

// Block-wide Σ_j f(j) over j < n in double: thread tid adds j = tid, tid + nt, … in order, then
// thread 0 adds the threads' sums in order into *out (shared memory); deterministic.
template <typename Exec, typename F>
METARL_HD void block_sum(const Exec& exec, int64_t n, double* red, double* out, const F& f) {
  exec([&](int tid, int nt) {
    double s = 0.0;
    for (int64_t j = tid; j < n; j += nt) s += f(j);
    red[tid] = s;
  });
  exec([&](int tid, int nt) {
    if (tid != 0) return;
    double s = 0.0;
    for (int k = 0; k < nt; ++k) s += red[k];
    *out = s;
  });
}

// Block programs, one block per system (y = system, x = 0); shared memory: 256 partial sums and
// two scalars.
constexpr int64_t kCgSharedBytes = (256 + 2) * 8;

template <typename T>
struct CgInitBlocks {
  CgArgs<T> a;
  template <typename Exec>
  METARL_HD void operator()(int64_t i, int64_t, double* sm, const Exec& exec) const {
    const int64_t o = i * a.dim;
    T* x = a.x + o;
    T* r = a.r + o;
    T* p = a.p + o;
    const T* b = a.b + o;
    exec([&](int tid, int nt) {
      for (int64_t j = tid; j < a.dim; j += nt) {
        x[j] = T(0);
        r[j] = b[j];
        p[j] = b[j];
      }
    });
    block_sum(exec, a.dim, sm, sm + 256, [&](int64_t j) { return double(r[j]) * double(r[j]); });
    exec([&](int tid, int) {
      if (tid != 0) return;
      a.rdotr[i] = sm[256];
      a.active[i] = sm[256] >= a.residual_tol;
      a.iterations[i] = 0;
      a.status[i] = 0;
    });
    exec([&](int tid, int nt) {  // a system that starts converged never moves: p = 0
      if (!a.active[i])
        for (int64_t j = tid; j < a.dim; j += nt) p[j] = T(0);
    });
  }
};

template <typename T>
struct CgStepBlocks {
  CgArgs<T> a;
  template <typename Exec>
  METARL_HD void operator()(int64_t i, int64_t, double* sm, const Exec& exec) const {
    if (!a.active[i]) return;  // the same for every thread of the block
    const int64_t o = i * a.dim;
    T* p = a.p + o;
    T* r = a.r + o;
    T* x = a.x + o;
    const T* z = a.z + o;
    const T damp = T(a.damping);
    const bool damped = a.damping != 0.0;
    // z' = z + damping·p (the CPU solver adds it to z in the dtype)
    auto zd = [&](int64_t j) { return damped ? T(z[j] + damp * p[j]) : z[j]; };
    block_sum(exec, a.dim, sm, sm + 256, [&](int64_t j) { return double(p[j]) * double(zd(j)); });
    const double pz = sm[256];
    if (!(pz > 0.0)) {  // not positive definite along p: stop, status 1
      exec([&](int tid, int nt) {
        for (int64_t j = tid; j < a.dim; j += nt) p[j] = T(0);
        if (tid == 0) {
          a.active[i] = 0;
          a.status[i] = 1;
        }
      });
      return;
    }
    const double alpha = a.rdotr[i] / pz;
    exec([&](int tid, int nt) {
      for (int64_t j = tid; j < a.dim; j += nt) {
        const T zj = zd(j);
        x[j] += T(alpha) * p[j];
        r[j] -= T(alpha) * zj;
      }
    });
    block_sum(exec, a.dim, sm, sm + 257, [&](int64_t j) { return double(r[j]) * double(r[j]); });
    const double new_rdotr = sm[257];
    const double mu = new_rdotr / a.rdotr[i];
    const bool stop = new_rdotr < a.residual_tol;
    exec([&](int tid, int nt) {
      for (int64_t j = tid; j < a.dim; j += nt) p[j] = stop ? T(0) : r[j] + T(mu) * p[j];
    });
    exec([&](int tid, int) {
      if (tid != 0) return;
      a.rdotr[i] = new_rdotr;
      a.iterations[i] = a.iteration + 1;
      if (stop) a.active[i] = 0;
    });
  }
};

// "cg_init" or "cg_step" (one unit per system).
template <typename T, typename Each>
void run_cg_op(const std::string& name, const CgArgs<T>& a, const Each& each) {
  if (name == "cg_init") each.blocks(1, a.systems, kCgSharedBytes, CgInitBlocks<T>{a});
  else if (name == "cg_step") each.blocks(1, a.systems, kCgSharedBytes, CgStepBlocks<T>{a});
  else throw std::invalid_argument("unknown conjugate-gradient op '" + name + "'");
}

}  // namespace gpu
}  // namespace metarl
