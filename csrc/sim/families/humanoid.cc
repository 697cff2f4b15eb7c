// HumanoidRandDirec and HumanoidRandDirec2D: ProMP's humanoid_rand_direc(_2d) (gymnasium's
// humanoid.xml, frame_skip 5).
//   obs     qpos[2:], qvel, cinert, cvel, qfrc_actuator, cfrc_ext
//   reset   qpos0 + U(±0.01), qvel U(±0.01)
//   reward  0.25·d·Δx_com / opt.timestep − 0.1‖ctrl‖² − min(0.5e-6 Σ cfrc_ext², 10) + 5 (the papers'
//           code divides by the timestep, not dt: 1.25 × the velocity at frame_skip 5); the
//           episode ends when the torso height leaves [1, 2]
#include "sim/families/mujoco_common.h"

namespace metarl {
namespace {

void configure(FamilyModel& fm, const mjModel* m) {
  require_root(fm, m, mjJNT_FREE, 7);
  fm.contact_forces = true;
  fm.obs_dim = (m->nq - 2) + m->nv + 10 * m->nbody + 6 * m->nbody + m->nv + 6 * m->nbody;
}

void reset(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng) {
  reset_uniform(fm, m, env.d, rng, 0.01);
}

void observe(const FamilyModel&, const mjModel* m, const EnvSlot& env, double* obs) {
  const mjData* d = env.d;
  int k = 0;
  for (int i = 2; i < m->nq; ++i) obs[k++] = d->qpos[i];
  for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
  for (int i = 0; i < 10 * m->nbody; ++i) obs[k++] = d->cinert[i];
  for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = d->cvel[i];
  for (int i = 0; i < m->nv; ++i) obs[k++] = d->qfrc_actuator[i];
  for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = d->cfrc_ext[i];
}

template <bool k2D>
StepOutcome step(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task, const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kMassCenter, false, mo)) return nonfinite_outcome();
  StepOutcome out;
  const mjData* d = env.d;
  const double dxy = k2D ? task[0] * (mo.after[0] - mo.before[0]) + task[1] * (mo.after[1] - mo.before[1])
                         : task[0] * (mo.after[0] - mo.before[0]);
  const double linvel = 0.25 * dxy / m->opt.timestep;
  const double quadctrl = 0.1 * sum_sq(d->ctrl, m->nu);
  const double impact = std::min(0.5e-6 * contact_sq(m, d, false), 10.0);
  out.reward = linvel - quadctrl - impact + 5.0;
  out.terminated = d->qpos[2] < 1.0 || d->qpos[2] > 2.0;
  out.infos[0] = dxy / fm.dt;
  out.infos[1] = linvel;
  out.infos[2] = -quadctrl;
  out.infos[3] = -impact;
  out.infos[4] = 5.0;
  return out;
}

const std::vector<std::string> kInfos = {"forward_velocity", "reward_linvel", "reward_quadctrl", "reward_impact",
                                         "reward_alive"};

}  // namespace

extern const FamilyOps kHumanoidRandDirec{"HumanoidRandDirec", "humanoid.xml", 5, 1, kInfos, false, configure,
                                          nullptr, reset, observe, step<false>};
extern const FamilyOps kHumanoidRandDirec2D{"HumanoidRandDirec2D", "humanoid.xml", 5, 2, kInfos, false, configure,
                                            nullptr, reset, observe, step<true>};

}  // namespace metarl
