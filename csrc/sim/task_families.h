// Task families: the reward, termination, observation and reset of each meta-RL task family,
// exactly as the papers' code (ProMP's maml_zoo envs; ../shared/notes/papers-promp-sgmrl.md A.6).
// MuJoCo models are gymnasium's MJCF assets, loaded by the caller.
//
// A family's task is a small vector of doubles (task_dim): a direction, a target velocity, a goal.
// Actions given to step_env are in the model's native control range (the samplers rescale the
// policy's [−s, s] output first, as the papers' `normalize` wrapper); the control cost is taken on
// the action as given, as the papers' code and gymnasium do.
#pragma once

#include <mujoco/mujoco.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/random.h"

namespace metarl {

enum class FamilyId : int32_t {
  kHalfCheetahRandDirec = 0,
  kHalfCheetahRandVel = 1,
  kAntRandDirec = 2,
  kAntRandDirec2D = 3,
  kAntRandGoal = 4,
};

constexpr int kMaxInfos = 6;

struct FamilyInfo {
  FamilyId id;
  const char* name;
  const char* xml;  // gymnasium asset file name
  int frame_skip;
  int task_dim;
  std::vector<std::string> infos;  // names of the per-step info channels
};

const FamilyInfo& family_info(FamilyId id);
FamilyId family_from_int(int id);  // throws std::invalid_argument for an unknown id

// Per-model constants a family needs (body ids, sizes), resolved once per loaded model.
struct FamilyModel {
  FamilyId id;
  const FamilyInfo* info;
  int torso = -1;    // body id of "torso" (Ant), -1 otherwise
  int obs_dim = 0;
  int act_dim = 0;
  bool contact_forces = false;  // needs mj_rnePostConstraint after stepping (cfrc_ext)
  double dt = 0;                // timestep × frame_skip
  static FamilyModel make(FamilyId id, const mjModel* m);  // throws on a model that does not fit
};

struct StepOutcome {
  double reward = 0;
  bool terminated = false;
  bool nonfinite = false;  // the state became NaN/inf or MuJoCo reset it (bad acceleration)
  double infos[kMaxInfos] = {};
};

// Resets d to qpos0 + U(±0.1), qvel 0 + 0.1·N(0, 1) (the papers' reset noise) and runs the forward
// pass (and contact forces when the family observes them).
void reset_env(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng);
// Sets the state and runs the forward pass as reset_env does (for alignment with other envs).
void set_env_state(const FamilyModel& fm, const mjModel* m, mjData* d, const double* qpos, const double* qvel);
// Writes the observation [obs_dim].
void observe(const FamilyModel& fm, const mjModel* m, const mjData* d, double* obs);
// Applies `action` [act_dim] (native control range) for frame_skip physics steps and scores it.
StepOutcome step_env(const FamilyModel& fm, const mjModel* m, mjData* d, const double* task, const double* action);

}  // namespace metarl
