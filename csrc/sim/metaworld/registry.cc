// The Meta-World environments as task-family rows of the sim pool: one FamilyOps row per
// environment, named "metaworld/<env>", over the model Meta-World ships for it. Every row shares
// the functions below; the environment itself (a SawyerEnv, made per loaded model) is in
// FamilyModel::impl.
#include <memory>
#include <stdexcept>
#include <string>

#include "sim/families/mujoco_common.h"
#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {
namespace {

constexpr const char* kPrefix = "metaworld/";

// SawyerMocapBase.reset_mocap_welds as the package's Python adapter runs it on MuJoCo 4: the
// weld's 11 numbers of MuJoCo 3 (relative pose, torque scale) into the first 11 of the 12 entries.
constexpr double kWeld[11] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0};

void adapt_model(mjModel* m) {
  if (m->nmocap <= 0) return;
  for (int i = 0; i < m->neq; ++i)
    if (m->eq_type[i] == mjEQ_WELD) std::copy(kWeld, kWeld + 11, m->eq_data + i * mjNEQDATA);
}

SawyerState& state(EnvSlot& env) { return static_cast<SawyerState&>(*env.state); }
const SawyerState& state(const EnvSlot& env) { return static_cast<const SawyerState&>(*env.state); }

void configure(FamilyModel& fm, const mjModel* m) {
  const std::string name = std::string(fm.ops->name).substr(std::string(kPrefix).size());
  fm.impl = make_sawyer_env(name, m);
  fm.obs_dim = kObsDim;
  fm.act_dim = kActDim;
  fm.task_dim = kTaskDim;
  fm.own_ctrl_range = true;
  for (int j = 0; j < kActDim; ++j) {
    fm.ctrl_lo[j] = -1;
    fm.ctrl_hi[j] = 1;
  }
}

void init_slot(const FamilyModel&, EnvSlot& env) { env.state = std::make_unique<SawyerState>(); }

void copy_slot(const EnvSlot& from, EnvSlot& to) { state(to) = state(from); }

void reset_task(const FamilyModel& fm, mjModel* m, EnvSlot& env, const double* task) {
  sawyer_env(fm).reset(m, env.d, state(env), task);
}

void observe(const FamilyModel&, const mjModel*, const EnvSlot& env, double* obs) {
  const SawyerState& s = state(env);
  std::copy(s.obs, s.obs + kObsDim, obs);
}

StepOutcome step(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double*, const double* action) {
  bool ok = true;
  const Evaluation e = sawyer_env(fm).step(m, env.d, state(env), action, ok);
  if (!ok) return nonfinite_outcome();
  StepOutcome out;
  out.reward = e.reward;
  const double infos[kNumInfos] = {e.success, e.near_object, e.grasp_success, e.grasp_reward, e.in_place_reward,
                                   e.obj_to_target};
  std::copy(infos, infos + kNumInfos, out.infos);
  return out;
}

void raw_step(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* action) {
  sawyer_env(fm).physics_step(m, env.d, action);
}

void unused_reset(const FamilyModel&, const mjModel*, EnvSlot&, Rng&) {
  throw std::logic_error("Meta-World rows reset through reset_task");
}

}  // namespace

const std::vector<SawyerEnvDef>& sawyer_env_defs() {
  static const std::vector<SawyerEnvDef> defs = [] {
    std::vector<SawyerEnvDef> all;
    for (auto group : {push_pick_envs, buttons_handles_envs, articulated_envs, tools_envs, coffee_plate_envs})
      for (SawyerEnvDef& d : group()) all.push_back(std::move(d));
    return all;
  }();
  return defs;
}

std::shared_ptr<const SawyerEnv> make_sawyer_env(const std::string& name, const mjModel* m) {
  for (const SawyerEnvDef& d : sawyer_env_defs())
    if (name == d.name) {
      std::shared_ptr<SawyerEnv> env = d.make();
      env->name_ = name;
      env->configure(m);
      return env;
    }
  throw std::invalid_argument("unknown Meta-World environment '" + name + "'");
}

const SawyerEnv& sawyer_env(const FamilyModel& fm) { return *static_cast<const SawyerEnv*>(fm.impl.get()); }

const std::vector<const FamilyOps*>& metaworld_families() {
  static const std::vector<std::unique_ptr<FamilyOps>> rows = [] {
    static std::vector<std::string> names;  // the rows' name strings live here
    const std::vector<SawyerEnvDef>& defs = sawyer_env_defs();
    names.reserve(defs.size());
    std::vector<std::unique_ptr<FamilyOps>> out;
    for (const SawyerEnvDef& d : defs) {
      names.push_back(kPrefix + std::string(d.name));
      auto row = std::make_unique<FamilyOps>(FamilyOps{
          names.back().c_str(), d.xml, kFrameSkip, kTaskDim,
          {"success", "near_object", "grasp_success", "grasp_reward", "in_place_reward", "obj_to_target"}, false,
          configure, adapt_model, unused_reset, observe, step});
      row->reset_task = reset_task;
      row->init_slot = init_slot;
      row->copy_slot = copy_slot;
      row->raw_step = raw_step;
      row->max_episode_steps = kMaxPathLength;
      out.push_back(std::move(row));
    }
    return out;
  }();
  static const std::vector<const FamilyOps*> view = [] {
    std::vector<const FamilyOps*> v;
    for (const auto& r : rows) v.push_back(r.get());
    return v;
  }();
  return view;
}

}  // namespace metarl::metaworld
