// A model that shares every array of a base model except the fields a task may move: body and
// site poses. Meta-World's resets move bodies and sites of the model per task (a door, a shelf, a
// goal marker); a full copy of each of its models (about 18 MB, mostly meshes) per worker and task
// would not fit, an overlay costs a few kilobytes. MuJoCo reads a model through the pointers of
// its struct and never writes it while stepping, so the overlay steps as a copy would.
#pragma once

#include <mujoco/mujoco.h>

#include <vector>

namespace metarl {

class ModelOverlay {
 public:
  // The overlay starts with the base model's values; `base` must outlive it.
  explicit ModelOverlay(const mjModel* base);
  ModelOverlay(const ModelOverlay&) = delete;
  ModelOverlay& operator=(const ModelOverlay&) = delete;

  mjModel* get() { return &m_; }
  const mjModel* base() const { return base_; }

 private:
  const mjModel* base_;
  mjModel m_;  // the base's struct, its pose arrays pointing at the vectors below
  std::vector<mjtNum> body_pos_, body_quat_, site_pos_, site_quat_;
};

}  // namespace metarl
