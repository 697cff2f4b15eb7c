// metarl_fast._C: numpy-array bindings of the torch-free C++ core. Validation of shapes, dtypes
// and devices happens in Python (metarl_fast/kernels); here arrays are taken as they are
// (c_style, no conversion) and the GIL is released for the duration of every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>

#include "common/thread_pool.h"
#include "sim/mujoco_link.h"

namespace py = pybind11;

namespace metarl {
void bind_policy(py::module_& m);
void bind_estimators(py::module_& m);
void bind_solvers(py::module_& m);
void bind_sim(py::module_& m);
void bind_cuda(py::module_& m);

namespace {
// Single-threaded scan (no torch parallel region before a kernel: torch's OpenMP workers would then spin on the cores the kernel is about to use; docs/kernels.md, "Threads").
template <typename T>
bool all_finite(py::array_t<T, py::array::c_style> a, double limit) {
  const T* p = a.data();
  const py::ssize_t n = a.size();
  // at most the largest finite T, so that ±inf is always beyond it
  const T bound = limit < double(std::numeric_limits<T>::max()) ? T(limit) : std::numeric_limits<T>::max();
  py::gil_scoped_release release;
  // counts the values that are NaN, infinite or beyond the bound (!(|x| <= bound) is true for NaN);
  // 16 independent counters let the compiler vectorise the scan
  constexpr int kLanes = 16;
  int64_t bad[kLanes] = {};
  py::ssize_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) bad[k] += !(std::abs(p[i + k]) <= bound);
  for (; i < n; ++i) bad[0] += !(std::abs(p[i]) <= bound);
  int64_t total = 0;
  for (int k = 0; k < kLanes; ++k) total += bad[k];
  return total == 0;
}
}  // namespace
}  // namespace metarl

PYBIND11_MODULE(_C, m) {
  m.doc() = "metarl_fast compiled core (torch-free): policy kernels, estimators, advantages, solvers, thread pool, MuJoCo linkage";

  m.def("set_num_threads", [](int n) { metarl::ThreadPool::set_global_num_threads(n); }, py::arg("n"),
        "Resize the package thread pool to n threads (n >= 1).");
  m.def("get_num_threads", [] { return metarl::ThreadPool::global()->num_threads(); },
        "Number of threads of the package thread pool (the calling thread counts as one).");
  m.def("default_num_threads", &metarl::ThreadPool::default_num_threads,
        "CPUs this process may run on; the pool's size unless set_num_threads was called.");

  m.def("mujoco_header_version", &metarl::mujoco_header_version);
  m.def("mujoco_library_version", &metarl::mujoco_library_version);
  m.def("mujoco_version_string", &metarl::mujoco_version_string);
  m.def("all_finite", &metarl::all_finite<float>, py::arg("a").noconvert(),
        py::arg("limit") = std::numeric_limits<double>::infinity(),
        "True when a C-contiguous float32/float64 array holds no NaN or infinity, nor a value beyond "
        "limit in magnitude.");
  m.def("all_finite", &metarl::all_finite<double>, py::arg("a").noconvert(),
        py::arg("limit") = std::numeric_limits<double>::infinity());
  m.attr("has_cuda") = py::bool_(METARL_FAST_HAS_CUDA);

  metarl::bind_policy(m);
  metarl::bind_estimators(m);
  metarl::bind_solvers(m);
  metarl::bind_sim(m);
  metarl::bind_cuda(m);
}
