// The planar walkers: Walker2DRandDirec (ProMP's walker2d_rand_direc, frame_skip 8) and the
// rand_param_envs families HopperRandParams (frame_skip 4) and Walker2DRandParams (frame_skip 5),
// whose task rescales the model's masses, inertias, damping and frictions.
//   obs     qpos[1:], clip(qvel, ±10)
//   reset   qpos0 + U(±0.005), qvel U(±0.005)
//   reward  (d·)v_x + 1 − 1e-3‖a‖²; the episode ends when the height or the angle leaves the
//           healthy range (Hopper: also |state[2:]| ≥ 100)
#include "sim/families/mujoco_common.h"

namespace metarl {
namespace {

enum class Kind { kWalkerDirec, kHopperParams, kWalkerParams };

void configure(FamilyModel& fm, const mjModel* m) {
  require_root(fm, m, mjJNT_SLIDE, 3);  // the root's x, height and angle
  fm.obs_dim = m->nq - 1 + m->nv;
}

void reset(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng) {
  reset_uniform(fm, m, env.d, rng, 0.005);
}

void observe(const FamilyModel&, const mjModel* m, const EnvSlot& env, double* obs) {
  int k = 0;
  for (int i = 1; i < m->nq; ++i) obs[k++] = env.d->qpos[i];
  for (int i = 0; i < m->nv; ++i) obs[k++] = clip(env.d->qvel[i], -10.0, 10.0);
}

template <Kind kKind>
StepOutcome step(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task, const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kRootX, false, mo)) return nonfinite_outcome();
  StepOutcome out;
  const mjData* d = env.d;
  const double forward = kKind == Kind::kWalkerDirec ? task[0] * mo.vx : mo.vx;
  const double ctrl = 1e-3 * sum_sq(action, m->nu);
  out.reward = forward + 1.0 - ctrl;
  const double height = d->qpos[1], ang = d->qpos[2];
  if (kKind == Kind::kHopperParams) {
    bool ok = true;  // |state_vector()[2:]| < 100
    for (int i = 2; i < m->nq; ++i) ok = ok && std::abs(d->qpos[i]) < 100;
    for (int i = 0; i < m->nv; ++i) ok = ok && std::abs(d->qvel[i]) < 100;
    out.terminated = !(ok && height > 0.7 && std::abs(ang) < 0.2);
  } else {
    out.terminated = !(height > 0.8 && height < 2.0 && ang > -1.0 && ang < 1.0);
  }
  if (kKind == Kind::kWalkerDirec) {
    out.infos[0] = mo.vx;
    out.infos[1] = forward;
    out.infos[2] = -ctrl;
    out.infos[3] = 1.0;
  } else {
    out.infos[0] = mo.vx;
    out.infos[1] = -ctrl;
    out.infos[2] = 1.0;
  }
  return out;
}

const std::vector<std::string> kParamsInfos = {"forward_velocity", "reward_ctrl", "reward_survive"};

}  // namespace

extern const FamilyOps kWalker2DRandDirec{
    "Walker2DRandDirec", "walker2d.xml", 8, 1, {"forward_velocity", "reward_forward", "reward_ctrl", "reward_survive"},
    false, configure, nullptr, reset, observe, step<Kind::kWalkerDirec>};
extern const FamilyOps kHopperRandParams{"HopperRandParams", "hopper.xml", 4, -1, kParamsInfos, true, configure,
                                         nullptr, reset, observe, step<Kind::kHopperParams>};
extern const FamilyOps kWalker2DRandParams{"Walker2DRandParams", "walker2d.xml", 5, -1, kParamsInfos, true,
                                           configure, nullptr, reset, observe, step<Kind::kWalkerParams>};

}  // namespace metarl
