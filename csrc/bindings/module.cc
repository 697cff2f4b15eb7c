// metarl_fast._C: numpy-array bindings of the torch-free C++ core. Validation of shapes, dtypes
// and devices happens in Python (metarl_fast/kernels); here arrays are taken as they are
// (c_style, no conversion) and the GIL is released for the duration of every kernel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>

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
// Single-threaded scan (no torch parallel region before a kernel; see DESIGN decision 4).
template <typename T>
bool all_finite(py::array_t<T, py::array::c_style> a) {
  const T* p = a.data();
  const py::ssize_t n = a.size();
  py::gil_scoped_release release;
  // x·0 is 0 for finite x and NaN for NaN or ±inf; 16 independent sums (no reassociation needed)
  // let the compiler vectorise the scan instead of waiting on one add chain.
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  py::ssize_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += p[i + k] * T(0);
  for (; i < n; ++i) acc[0] += p[i] * T(0);
  T total = 0;
  for (int k = 0; k < kLanes; ++k) total += acc[k];
  return total == T(0);
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
        "True when a C-contiguous float32/float64 array holds no NaN or infinity.");
  m.def("all_finite", &metarl::all_finite<double>, py::arg("a").noconvert());
  m.attr("has_cuda") = py::bool_(METARL_FAST_HAS_CUDA);

  metarl::bind_policy(m);
  metarl::bind_estimators(m);
  metarl::bind_solvers(m);
  metarl::bind_sim(m);
  metarl::bind_cuda(m);
}
