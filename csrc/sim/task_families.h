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
  kWalker2DRandDirec = 5,
  kHumanoidRandDirec = 6,
  kHumanoidRandDirec2D = 7,
  kHopperRandParams = 8,
  kWalker2DRandParams = 9,
  kPoint2DNav = 10,
  kMetaPointEnvCorner = 11,
  kMetaPointEnvMomentum = 12,
  kAntGoalArc = 13,        // GMPS: low-gear ant to a goal on an arc, dense reward
  kAntGoalArcSparse = 14,  // the same with GMPS's sparse reward
};

constexpr int kMaxInfos = 6;

struct FamilyInfo {
  FamilyId id;
  const char* name;
  const char* xml;  // gymnasium asset file name; "" for the point families (no MuJoCo model)
  int frame_skip;
  int task_dim;     // -1: set by the model (RandParams: one multiplier per randomised parameter)
  std::vector<std::string> infos;  // names of the per-step info channels
};

// One environment's state: MuJoCo data, or the point families' own state (position, velocity).
struct EnvSlot {
  mjData* d = nullptr;
  double point[4] = {};
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
  int task_dim = 0;
  bool contact_forces = false;  // needs mj_rnePostConstraint after stepping (cfrc_ext)
  double dt = 0;                // timestep × frame_skip (1 for the point families)
  double ctrl_lo[2] = {}, ctrl_hi[2] = {};  // point families' action bounds
  std::vector<double> init_qpos;            // AntGoalArc: the model's numeric "init_qpos" (no reset noise)
  // m == nullptr for the point families. Throws on a model that does not fit the family.
  static FamilyModel make(FamilyId id, const mjModel* m);
  bool uses_mujoco() const { return info->xml[0] != '\0'; }
  bool rand_params() const { return id == FamilyId::kHopperRandParams || id == FamilyId::kWalker2DRandParams; }
};

// Changes a loaded model the way the family's original model differs from gymnasium's asset
// (AntGoalArc: GMPS's low_gear_ratio_ant.xml is gym's ant with motor gear 30 instead of 150).
void adapt_model(FamilyId id, mjModel* m);

// RandParams: writes into `task_model` (a copy of `base`) the base values scaled by the task's
// multipliers, laid out as [body_mass (nbody) | body_inertia (3·nbody) | dof_damping (nv) |
// geom_friction (3·ngeom)] (the rand_param_envs RandomEnv; derived constants are not recomputed,
// as there).
void apply_rand_params(const mjModel* base, mjModel* task_model, const double* multipliers);
int rand_params_size(const mjModel* m);

struct StepOutcome {
  double reward = 0;
  bool terminated = false;
  bool nonfinite = false;  // the state became NaN/inf or MuJoCo reset it (bad acceleration)
  double infos[kMaxInfos] = {};
};

// Resets the environment with the family's reset noise (e.g. qpos0 + U(±0.1), 0.1·N(0, 1) qvel for
// HalfCheetah and Ant) and runs the forward pass (and contact forces when observed).
void reset_env(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng);
// Sets the state and runs the forward pass as reset_env does (for alignment with other envs);
// for the point families qpos is the position and qvel the velocity.
void set_env_state(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* qpos, const double* qvel);
// Writes the observation [obs_dim].
void observe(const FamilyModel& fm, const mjModel* m, const EnvSlot& env, double* obs);
// Applies `action` [act_dim] (native control range) for frame_skip physics steps and scores it.
StepOutcome step_env(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task, const double* action);

}  // namespace metarl
