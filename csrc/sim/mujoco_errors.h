// MuJoCo's error and warning handlers, replaced once for the process: an error (which by default
// calls exit()) throws MujocoError in the calling thread, so a failure inside a pool worker
// surfaces as a Python exception; warnings are counted and the last one kept instead of printed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace metarl {

struct MujocoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Installs the handlers (cheap; called at every entry into the simulator).
void install_mujoco_handlers();
int64_t mujoco_warning_count();
std::string last_mujoco_warning();

}  // namespace metarl
