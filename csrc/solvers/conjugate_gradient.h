// Batched conjugate gradient: `systems` independent SPD systems (A_i + damping·I) x_i = b_i of
// dimension `dim`, solved together so that one matvec call serves all of them (the fused policy
// operators evaluate every task group in one pass).
//
// Per system, the iteration is the one of the TRPO / ProMP reference code: x = 0, r = p = b;
// for k < iters: z = A p, α = r·r / p·z, x += α p, r −= α z, p = r + (r·r)_new/(r·r)_old p; a
// system stops (and is frozen) once r·r < residual_tol, or when p·z ≤ 0 (A not positive definite
// along p; reported as status 1). Dot products are accumulated in double.
#pragma once

#include <cstdint>
#include <functional>

namespace metarl {

template <typename T>
using Matvec = std::function<void(const T* p, T* out)>;  // p, out: [systems, dim]

// x [systems, dim] (written), iterations [systems], residual [systems] = final r·r,
// status [systems]: 0 converged or ran all iterations, 1 stopped on non-positive curvature,
// curvature [systems] = x·(b − r) in double: xᵀ(A + damping·I)x through the residual (r = b − (A +
// damping·I)x up to rounding), what TRPO's step length needs without one more product.
template <typename T>
void batched_conjugate_gradient(int64_t systems, int64_t dim, const Matvec<T>& matvec, const T* b, int iters,
                                double residual_tol, double damping, T* x, int32_t* iterations, double* residual,
                                int32_t* status, double* curvature);

}  // namespace metarl
