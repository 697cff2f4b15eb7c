// Task families: the reward, termination, observation and reset of each meta-RL task family,
// exactly as the papers' code (ProMP's maml_zoo envs, SG-MRL's and GMPS's point and ant
// environments; docs/envs.md). MuJoCo models are gymnasium's MJCF assets, loaded by the caller.
//
// A family is a row of function pointers (FamilyOps) defined in the file of its group
// (half_cheetah.cc, ant.cc, humanoid.cc, planar_walkers.cc, point.cc) and found by name
// (registry.cc). A family's task is a small vector of doubles (task_dim): a direction, a target
// velocity, a goal. Actions given to step are in the model's native control range (the samplers
// rescale the policy's [−s, s] output first, as the papers' `normalize` wrapper); the control cost is
// taken on the action as given, as the papers' code and gymnasium do.
#pragma once

#include <mujoco/mujoco.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/random.h"

namespace metarl {

constexpr int kMaxInfos = 6;
constexpr int kMaxOwnActions = 4;  // actions of a family with its own action bounds (FamilyModel::ctrl_lo)

// What a family keeps per environment beyond MuJoCo's data (Meta-World: the previous frame, the
// positions cached at reset); made by FamilyOps::init_slot.
struct FamilyState {
  virtual ~FamilyState() = default;
};

// One environment's state: MuJoCo data, or the point families' own state (position, velocity),
// and the family's own per-environment state where it has one.
struct EnvSlot {
  mjData* d = nullptr;
  double point[4] = {};
  std::unique_ptr<FamilyState> state;
};

struct StepOutcome {
  double reward = 0;
  bool terminated = false;
  bool nonfinite = false;  // the state became NaN/inf or MuJoCo reset it (bad acceleration)
  double infos[kMaxInfos] = {};
};

struct FamilyModel;

// What a family does, as plain functions of (FamilyModel, model, environment).
struct FamilyOps {
  const char* name;
  const char* xml;  // gymnasium asset file name; "" for the point families (no MuJoCo model)
  int frame_skip;
  int task_dim;     // -1: set by the model (RandParams: one multiplier per randomised parameter)
  std::vector<std::string> infos;  // names of the per-step info channels
  bool rand_params;                // the task rescales the model's masses, inertias, damping, frictions
  // Sets the per-model constants (obs_dim, act_dim for the point families, body ids, ...); m is
  // null for the point families. Throws on a model that does not fit the family.
  void (*configure)(FamilyModel& fm, const mjModel* m);
  // Changes a loaded model the way the family's original model differs from gymnasium's asset
  // (null: no change).
  void (*adapt_model)(mjModel* m);
  // Resets with the family's reset noise and runs the forward pass (and contact forces when observed).
  void (*reset)(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng);
  // Writes the observation [obs_dim].
  void (*observe)(const FamilyModel& fm, const mjModel* m, const EnvSlot& env, double* obs);
  // Applies `action` [act_dim] (native control range) for frame_skip physics steps and scores it.
  StepOutcome (*step)(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task,
                      const double* action);

  // ---- optional hooks of the families whose tasks move parts of the model (Meta-World); null
  // for the families above.
  // Resets for `task`, writing the model fields the task moves (body and site positions) into
  // `m`, the environment's own ModelOverlay of the model; replaces `reset` when set. A function of
  // the task alone (no random stream): the pool resets one environment of a work item and copies
  // it to the others (copy_slot).
  void (*reset_task)(const FamilyModel& fm, mjModel* m, EnvSlot& env, const double* task) = nullptr;
  // Makes the environment's FamilyState (EnvSlot::state) when a slot is created.
  void (*init_slot)(const FamilyModel& fm, EnvSlot& env) = nullptr;
  // Copies the family's state of one environment into another (with reset_task).
  void (*copy_slot)(const EnvSlot& from, EnvSlot& to) = nullptr;
  // The physics of one step alone (the benchmarks' floor): `action` applied as `step` applies it,
  // frame_skip physics steps and the forward pass the observation needs; null: the controls for
  // frame_skip steps.
  void (*raw_step)(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* action) = nullptr;
  int max_episode_steps = 0;  // the longest episode the family allows (0: unbounded)
};

// The family called `name`; throws std::invalid_argument naming the known families otherwise.
const FamilyOps& find_family(const std::string& name);
// Every family, in a fixed order.
const std::vector<const FamilyOps*>& all_families();

// Per-model constants a family needs (body ids, sizes), resolved once per loaded model.
struct FamilyModel {
  const FamilyOps* ops = nullptr;
  int torso = -1;    // body id of "torso" (Ant), -1 otherwise
  int obs_dim = 0;
  int act_dim = 0;
  int task_dim = 0;
  bool contact_forces = false;  // needs mj_rnePostConstraint after stepping (cfrc_ext)
  double dt = 0;                // timestep × frame_skip (1 for the point families)
  // The action bounds of families whose actions are not the model's controls (the point families;
  // Meta-World's mocap and gripper actions): used when own_ctrl_range.
  bool own_ctrl_range = false;
  double ctrl_lo[kMaxOwnActions] = {}, ctrl_hi[kMaxOwnActions] = {};
  std::vector<double> init_qpos;            // AntGoalArc: the model's numeric "init_qpos" (no reset noise)
  std::shared_ptr<const void> impl;         // what a family resolves per model beyond these (Meta-World's SawyerEnv)
  // m == nullptr for the point families. Throws on a model that does not fit the family.
  static FamilyModel make(const FamilyOps& ops, const mjModel* m);
  bool uses_mujoco() const { return ops->xml[0] != '\0'; }
  bool rand_params() const { return ops->rand_params; }
  bool moves_model() const { return ops->reset_task != nullptr; }
};

// RandParams: writes into `task_model` (a copy of `base`) the base values scaled by the task's
// multipliers, laid out as [body_mass (nbody) | body_inertia (3·nbody) | dof_damping (nv) |
// geom_friction (3·ngeom)] (the rand_param_envs RandomEnv; derived constants are not recomputed,
// as there).
void apply_rand_params(const mjModel* base, mjModel* task_model, const double* multipliers);
int rand_params_size(const mjModel* m);

// Resets environments[0..n) of one task alike: families with reset_task reset the first and copy
// its data and state to the others (the same numbers as resetting each); the others reset each
// with its own random stream.
void reset_group(const FamilyModel& fm, mjModel* m, EnvSlot* envs, int64_t n, const double* task, Rng* rngs);

// Resets an environment: with the task for the families whose resets move parts of the model
// (`m` is then the environment's ModelOverlay), with the random stream for the others.
inline void reset_env(const FamilyModel& fm, mjModel* m, EnvSlot& env, const double* task, Rng& rng) {
  if (fm.ops->reset_task)
    fm.ops->reset_task(fm, m, env, task);
  else
    fm.ops->reset(fm, m, env, rng);
}
inline void observe_env(const FamilyModel& fm, const mjModel* m, const EnvSlot& env, double* obs) {
  fm.ops->observe(fm, m, env, obs);
}
inline StepOutcome step_env(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task,
                            const double* action) {
  return fm.ops->step(fm, m, env, task, action);
}
// Sets the state and runs the forward pass as reset_env does (for alignment with other envs);
// for the point families qpos is the position and qvel the velocity.
void set_env_state(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* qpos, const double* qvel);

}  // namespace metarl
