// Pieces the MuJoCo families share: the physics step with its body-position bookkeeping, contact
// and control terms, and the usual reset noise.
#pragma once

#include <algorithm>
#include <cmath>

#include "sim/families/family.h"

namespace metarl {

inline double clip(double x, double lo, double hi) { return std::min(hi, std::max(lo, x)); }

inline double sum_sq(const double* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

// The state (qpos, qvel) is finite.
bool state_finite(const mjModel* m, const mjData* d);
// MuJoCo's warnings that reset the data (a position, velocity or acceleration that is not finite
// or beyond mjMAXVAL) or replace a bad control by 0, counted so far: after any of them the step's
// motion, reward and state are not the physics of the action taken.
int resetting_warnings(const mjData* d);

// Σ clip(cfrc_ext, −1, 1)² (Ant) or Σ cfrc_ext² (Humanoid).
double contact_sq(const mjModel* m, const mjData* d, bool clipped);

// mj_forward, plus the contact forces when the family observes them.
void forward(const FamilyModel& fm, const mjModel* m, mjData* d);

// Where a family measures progress: the root's x (qpos[0]), the torso body's xy, or the mass-weighted
// centre of the bodies' centres of mass (the Humanoid's mass_center).
enum class Tracked { kRootX, kTorso, kMassCenter };

// One step of the physics as the papers' code takes it: the tracked position before, `action` as
// the controls for frame_skip steps (then an extra forward pass when `forward_after`, and the
// contact forces when observed), the tracked position after. Returns false on a non-finite state or
// when MuJoCo reset the data or a control (a bad position, velocity, acceleration or control
// warning): the outcome is then `nonfinite` and `terminated`.
struct Motion {
  double before[2] = {0, 0}, after[2] = {0, 0};
  double vx = 0, vy = 0;  // (after − before) / dt
};
bool advance(const FamilyModel& fm, const mjModel* m, mjData* d, const double* action, Tracked tracked,
             bool forward_after, Motion& motion);

// mj_resetData, qpos0 + U(±c) on qpos, then qvel U(±c) (planar walkers, Humanoid) or
// qvel_scale·N(0, 1) (HalfCheetah, Ant); then the forward pass.
void reset_uniform(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng, double c);
void reset_normal_velocity(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng, double qpos_c,
                           double qvel_scale);

// Throws std::invalid_argument naming the family when a (custom) model lacks what the family's code
// reads: a first joint of `root_type` (mjJNT_SLIDE: the root's x, as the planar models; mjJNT_FREE:
// a floating base) and at least `min_nq` positions.
void require_root(const FamilyModel& fm, const mjModel* m, int root_type, int min_nq);

// The outcome of a step that did not keep a finite state.
inline StepOutcome nonfinite_outcome() {
  StepOutcome out;
  out.nonfinite = true;
  out.terminated = true;
  return out;
}

}  // namespace metarl
