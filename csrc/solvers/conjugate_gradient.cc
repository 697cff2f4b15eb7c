#include "solvers/conjugate_gradient.h"

#include <cstring>
#include <vector>

namespace metarl {
namespace {
template <typename T>
double dot(const T* a, const T* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}
}  // namespace

template <typename T>
void batched_conjugate_gradient(int64_t systems, int64_t dim, const Matvec<T>& matvec, const T* b, int iters,
                                double residual_tol, double damping, T* x, int32_t* iterations, double* residual,
                                int32_t* status, double* curvature) {
  const size_t total = size_t(systems) * size_t(dim);
  std::vector<T> r(b, b + total), p(b, b + total), z(total);
  std::vector<double> rdotr(systems);
  std::vector<char> active(systems);
  std::memset(x, 0, total * sizeof(T));
  for (int64_t i = 0; i < systems; ++i) {
    rdotr[i] = dot(r.data() + i * dim, r.data() + i * dim, dim);
    active[i] = rdotr[i] >= residual_tol;
    iterations[i] = 0;
    status[i] = 0;
  }
  for (int k = 0; k < iters; ++k) {
    bool any = false;
    for (int64_t i = 0; i < systems; ++i) any = any || active[i];
    if (!any) break;
    matvec(p.data(), z.data());
    for (int64_t i = 0; i < systems; ++i) {
      if (!active[i]) continue;
      T* pi = p.data() + i * dim;
      T* zi = z.data() + i * dim;
      T* ri = r.data() + i * dim;
      T* xi = x + i * dim;
      if (damping != 0.0)
        for (int64_t j = 0; j < dim; ++j) zi[j] += T(damping) * pi[j];
      const double pz = dot(pi, zi, dim);
      if (!(pz > 0.0)) {
        active[i] = 0;
        status[i] = 1;
        continue;
      }
      const double a = rdotr[i] / pz;
      for (int64_t j = 0; j < dim; ++j) {
        xi[j] += T(a) * pi[j];
        ri[j] -= T(a) * zi[j];
      }
      const double new_rdotr = dot(ri, ri, dim);
      const double mu = new_rdotr / rdotr[i];
      for (int64_t j = 0; j < dim; ++j) pi[j] = ri[j] + T(mu) * pi[j];
      rdotr[i] = new_rdotr;
      iterations[i] = k + 1;
      if (new_rdotr < residual_tol) active[i] = 0;
    }
    // Frozen systems get p = 0 so that the next matvec does no useless (or non-finite) work on them.
    for (int64_t i = 0; i < systems; ++i)
      if (!active[i]) std::memset(p.data() + i * dim, 0, size_t(dim) * sizeof(T));
  }
  for (int64_t i = 0; i < systems; ++i) {
    residual[i] = rdotr[i];
    double c = 0.0;
    for (int64_t j = 0; j < dim; ++j) c += double(x[i * dim + j]) * (double(b[i * dim + j]) - double(r[i * dim + j]));
    curvature[i] = c;
  }
}

template void batched_conjugate_gradient<float>(int64_t, int64_t, const Matvec<float>&, const float*, int, double,
                                                double, float*, int32_t*, double*, int32_t*, double*);
template void batched_conjugate_gradient<double>(int64_t, int64_t, const Matvec<double>&, const double*, int,
                                                 double, double, double*, int32_t*, double*, int32_t*, double*);

}  // namespace metarl
