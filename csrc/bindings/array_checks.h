// Shared helpers of the binding files: typed C-contiguous arrays and size checks that turn a bad
// direct call of a private entry point into an exception instead of an out-of-bounds access.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace metarl {

template <typename T>
using Arr = pybind11::array_t<T, pybind11::array::c_style>;

template <typename T>
const T* ptr_or_null(const std::optional<Arr<T>>& a) {
  return a ? a->data() : nullptr;
}

template <typename A>
void require_size(const char* fn, const char* name, const A& a, pybind11::ssize_t expected) {
  if (a.size() != expected)
    throw std::invalid_argument(std::string(fn) + ": " + name + " has " + std::to_string(a.size()) +
                                " elements, expected " + std::to_string(expected));
}

template <typename A>
void require_size(const char* fn, const char* name, const std::optional<A>& a, pybind11::ssize_t expected,
                  bool needed) {
  if (!a) {
    if (needed) throw std::invalid_argument(std::string(fn) + ": " + name + " is required");
    return;
  }
  require_size(fn, name, *a, expected);
}

}  // namespace metarl
