#include "sim/mujoco_errors.h"

#include <mujoco/mujoco.h>

#include <atomic>
#include <mutex>

namespace metarl {
namespace {

std::atomic<int64_t> g_warnings{0};
std::mutex g_warning_mutex;
std::string g_last_warning;

void throw_error(const char* msg) { throw MujocoError(std::string("MuJoCo error: ") + msg); }

void record_warning(const char* msg) {
  g_warnings.fetch_add(1);
  std::lock_guard<std::mutex> lock(g_warning_mutex);
  g_last_warning = msg;
}

}  // namespace

void install_mujoco_handlers() {
  // Assigned on every entry (not once): another library in the process (e.g. MuJoCo's own Python
  // bindings, imported by gymnasium) may have installed its handlers in between.
  mju_user_error = throw_error;
  mju_user_warning = record_warning;
}

int64_t mujoco_warning_count() { return g_warnings.load(); }

std::string last_mujoco_warning() {
  std::lock_guard<std::mutex> lock(g_warning_mutex);
  return g_last_warning;
}

}  // namespace metarl
