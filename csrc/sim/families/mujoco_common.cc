#include "sim/families/mujoco_common.h"

#include <stdexcept>
#include <string>

namespace metarl {
namespace {

void mass_center(const mjModel* m, const mjData* d, double* xy) {
  double mass = 0, x = 0, y = 0;
  for (int b = 0; b < m->nbody; ++b) {
    mass += m->body_mass[b];
    x += m->body_mass[b] * d->xipos[3 * b];
    y += m->body_mass[b] * d->xipos[3 * b + 1];
  }
  xy[0] = x / mass;
  xy[1] = y / mass;
}

void position(const FamilyModel& fm, const mjModel* m, const mjData* d, Tracked tracked, double* xy) {
  switch (tracked) {
    case Tracked::kTorso:
      xy[0] = d->xpos[3 * fm.torso];
      xy[1] = d->xpos[3 * fm.torso + 1];
      return;
    case Tracked::kMassCenter: mass_center(m, d, xy); return;
    case Tracked::kRootX:
      xy[0] = d->qpos[0];
      xy[1] = 0.0;
      return;
  }
}

}  // namespace

bool state_finite(const mjModel* m, const mjData* d) {
  for (int i = 0; i < m->nq; ++i)
    if (!std::isfinite(d->qpos[i])) return false;
  for (int i = 0; i < m->nv; ++i)
    if (!std::isfinite(d->qvel[i])) return false;
  return true;
}

int resetting_warnings(const mjData* d) {
  return d->warning[mjWARN_BADQPOS].number + d->warning[mjWARN_BADQVEL].number +
         d->warning[mjWARN_BADQACC].number + d->warning[mjWARN_BADCTRL].number;
}

double contact_sq(const mjModel* m, const mjData* d, bool clipped) {
  double s = 0;
  for (int i = 0; i < 6 * m->nbody; ++i) {
    const double c = clipped ? clip(d->cfrc_ext[i], -1.0, 1.0) : d->cfrc_ext[i];
    s += c * c;
  }
  return s;
}

void forward(const FamilyModel& fm, const mjModel* m, mjData* d) {
  mj_forward(m, d);
  if (fm.contact_forces) mj_rnePostConstraint(m, d);
}

bool advance(const FamilyModel& fm, const mjModel* m, mjData* d, const double* action, Tracked tracked,
             bool forward_after, Motion& motion) {
  position(fm, m, d, tracked, motion.before);
  const int bad_before = resetting_warnings(d);
  std::copy(action, action + m->nu, d->ctrl);
  for (int k = 0; k < fm.ops->frame_skip; ++k) mj_step(m, d);
  if (forward_after) mj_forward(m, d);
  if (fm.contact_forces) mj_rnePostConstraint(m, d);
  if (resetting_warnings(d) != bad_before || !state_finite(m, d)) return false;
  position(fm, m, d, tracked, motion.after);
  motion.vx = (motion.after[0] - motion.before[0]) / fm.dt;
  motion.vy = (motion.after[1] - motion.before[1]) / fm.dt;
  return true;
}

void reset_uniform(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng, double c) {
  mj_resetData(m, d);
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-c, c);
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = rng.uniform(-c, c);
  forward(fm, m, d);
}

void reset_normal_velocity(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng, double qpos_c,
                           double qvel_scale) {
  mj_resetData(m, d);
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-qpos_c, qpos_c);
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = qvel_scale * rng.normal();
  forward(fm, m, d);
}

void require_root(const FamilyModel& fm, const mjModel* m, int root_type, int min_nq) {
  const char* kind = root_type == mjJNT_FREE ? "a free joint (a floating base)" : "a slide joint (the root's x)";
  if (m->njnt < 1 || m->jnt_type[0] != root_type || m->jnt_qposadr[0] != 0)
    throw std::invalid_argument(std::string(fm.ops->name) + ": the model does not fit the family: its first joint " +
                                "must be " + kind);
  if (m->nq < min_nq)
    throw std::invalid_argument(std::string(fm.ops->name) + ": the model does not fit the family: it needs at least " +
                                std::to_string(min_nq) + " positions (nq), it has " + std::to_string(m->nq));
}

FamilyModel FamilyModel::make(const FamilyOps& ops, const mjModel* m) {
  FamilyModel fm;
  fm.ops = &ops;
  fm.task_dim = ops.task_dim;
  if (fm.uses_mujoco()) {
    if (!m) throw std::invalid_argument(std::string(ops.name) + " needs a MuJoCo model");
    const std::string unfit = std::string(ops.name) + ": the model does not fit the family: ";
    if (m->nu < 1) throw std::invalid_argument(unfit + "it has no actuators");
    for (int i = 0; i < m->nu; ++i)  // the policy's actions are rescaled to these bounds
      if (!m->actuator_ctrllimited[i] || !(m->actuator_ctrlrange[2 * i] < m->actuator_ctrlrange[2 * i + 1]))
        throw std::invalid_argument(unfit + "actuator " + std::to_string(i) + " needs a control range (ctrlrange lo < hi)");
    double mass = 0;
    for (int b = 0; b < m->nbody; ++b) mass += m->body_mass[b];
    if (!(mass > 0)) throw std::invalid_argument(unfit + "its bodies have no mass");
    fm.act_dim = m->nu;
    fm.dt = m->opt.timestep * ops.frame_skip;
    if (ops.rand_params) fm.task_dim = rand_params_size(m);
  }
  ops.configure(fm, m);
  return fm;
}

void set_env_state(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* qpos, const double* qvel) {
  if (!fm.uses_mujoco()) {
    env.point[0] = qpos[0];
    env.point[1] = qpos[1];
    env.point[2] = fm.obs_dim == 4 ? qvel[0] : 0.0;
    env.point[3] = fm.obs_dim == 4 ? qvel[1] : 0.0;
    return;
  }
  mjData* d = env.d;
  mj_resetData(m, d);
  std::copy(qpos, qpos + m->nq, d->qpos);
  std::copy(qvel, qvel + m->nv, d->qvel);
  forward(fm, m, d);
}

void reset_group(const FamilyModel& fm, mjModel* m, EnvSlot* envs, int64_t n, const double* task, Rng* rngs) {
  if (n <= 0) return;
  if (!fm.ops->reset_task || !fm.ops->copy_slot) {
    for (int64_t b = 0; b < n; ++b) reset_env(fm, m, envs[b], task, rngs[b]);
    return;
  }
  reset_env(fm, m, envs[0], task, rngs[0]);
  for (int64_t b = 1; b < n; ++b) {
    mj_copyData(envs[b].d, m, envs[0].d);
    fm.ops->copy_slot(envs[0], envs[b]);
  }
}

int rand_params_size(const mjModel* m) { return m->nbody + 3 * m->nbody + m->nv + 3 * m->ngeom; }

void apply_rand_params(const mjModel* base, mjModel* task_model, const double* mult) {
  int k = 0;
  for (int i = 0; i < base->nbody; ++i) task_model->body_mass[i] = base->body_mass[i] * mult[k++];
  for (int i = 0; i < 3 * base->nbody; ++i) task_model->body_inertia[i] = base->body_inertia[i] * mult[k++];
  for (int i = 0; i < base->nv; ++i) task_model->dof_damping[i] = base->dof_damping[i] * mult[k++];
  for (int i = 0; i < 3 * base->ngeom; ++i) task_model->geom_friction[i] = base->geom_friction[i] * mult[k++];
}

}  // namespace metarl
