// HalfCheetahRandDirec (= FwdBack) and HalfCheetahRandVel: ProMP's half_cheetah_rand_direc and
// half_cheetah_rand_vel (gymnasium's half_cheetah.xml, frame_skip 5).
//   obs     qpos[1:], qvel
//   reset   qpos0 + U(±0.1), qvel 0.1·N(0, 1)
//   reward  d·v_x − 0.05‖a‖² (direction d = ±1)  or  −|v_x − v*| − 0.05‖a‖² (target velocity v*)
#include "sim/families/mujoco_common.h"

namespace metarl {
namespace {

void configure(FamilyModel& fm, const mjModel* m) {
  require_root(fm, m, mjJNT_SLIDE, 2);
  fm.obs_dim = m->nq - 1 + m->nv;
}

void reset(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng) {
  reset_normal_velocity(fm, m, env.d, rng, 0.1, 0.1);
}

void observe(const FamilyModel&, const mjModel* m, const EnvSlot& env, double* obs) {
  int k = 0;
  for (int i = 1; i < m->nq; ++i) obs[k++] = env.d->qpos[i];
  for (int i = 0; i < m->nv; ++i) obs[k++] = env.d->qvel[i];
}

template <bool kVelocity>
StepOutcome step(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task, const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kRootX, false, mo)) return nonfinite_outcome();
  StepOutcome out;
  const double run = kVelocity ? -std::abs(mo.vx - task[0]) : task[0] * mo.vx;
  const double ctrl = -0.5 * 0.1 * sum_sq(action, m->nu);
  out.reward = run + ctrl;
  out.infos[0] = mo.vx;
  out.infos[1] = run;
  out.infos[2] = ctrl;
  return out;
}

}  // namespace

extern const FamilyOps kHalfCheetahRandDirec{
    "HalfCheetahRandDirec", "half_cheetah.xml", 5, 1, {"forward_velocity", "reward_run", "reward_ctrl"}, false,
    configure, nullptr, reset, observe, step<false>};
extern const FamilyOps kHalfCheetahRandVel{
    "HalfCheetahRandVel", "half_cheetah.xml", 5, 1, {"forward_velocity", "reward_run", "reward_ctrl"}, false,
    configure, nullptr, reset, observe, step<true>};

}  // namespace metarl
