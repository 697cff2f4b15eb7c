#include "sim/task_families.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace metarl {
namespace {

const std::vector<FamilyInfo>& registry() {
  static const std::vector<FamilyInfo> families = {
      {FamilyId::kHalfCheetahRandDirec, "HalfCheetahRandDirec", "half_cheetah.xml", 5, 1,
       {"forward_velocity", "reward_run", "reward_ctrl"}},
      {FamilyId::kHalfCheetahRandVel, "HalfCheetahRandVel", "half_cheetah.xml", 5, 1,
       {"forward_velocity", "reward_run", "reward_ctrl"}},
      {FamilyId::kAntRandDirec, "AntRandDirec", "ant.xml", 5, 1,
       {"forward_velocity", "reward_forward", "reward_ctrl", "reward_contact", "reward_survive"}},
      {FamilyId::kAntRandDirec2D, "AntRandDirec2D", "ant.xml", 5, 2,
       {"forward_velocity", "reward_forward", "reward_ctrl", "reward_contact", "reward_survive"}},
      {FamilyId::kAntRandGoal, "AntRandGoal", "ant.xml", 5, 2,
       {"goal_distance", "reward_goal", "reward_ctrl", "reward_contact"}},
  };
  return families;
}

bool is_ant(FamilyId id) {
  return id == FamilyId::kAntRandDirec || id == FamilyId::kAntRandDirec2D || id == FamilyId::kAntRandGoal;
}

double sum_sq(const double* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

// 0.5·1e-3 · Σ clip(cfrc_ext, −1, 1)² (the Ant contact cost of the papers' code).
double contact_cost(const mjModel* m, const mjData* d) {
  double s = 0;
  for (int i = 0; i < 6 * m->nbody; ++i) {
    const double c = std::min(1.0, std::max(-1.0, d->cfrc_ext[i]));
    s += c * c;
  }
  return 0.5 * 1e-3 * s;
}

bool state_finite(const mjModel* m, const mjData* d) {
  for (int i = 0; i < m->nq; ++i)
    if (!std::isfinite(d->qpos[i])) return false;
  for (int i = 0; i < m->nv; ++i)
    if (!std::isfinite(d->qvel[i])) return false;
  return true;
}

void forward(const FamilyModel& fm, const mjModel* m, mjData* d) {
  mj_forward(m, d);
  if (fm.contact_forces) mj_rnePostConstraint(m, d);
}

}  // namespace

const FamilyInfo& family_info(FamilyId id) { return registry().at(size_t(id)); }

FamilyId family_from_int(int id) {
  if (id < 0 || id >= int(registry().size())) throw std::invalid_argument("unknown task family id " + std::to_string(id));
  return FamilyId(id);
}

FamilyModel FamilyModel::make(FamilyId id, const mjModel* m) {
  FamilyModel fm;
  fm.id = id;
  fm.info = &family_info(id);
  fm.act_dim = m->nu;
  fm.dt = m->opt.timestep * fm.info->frame_skip;
  if (is_ant(id)) {
    fm.torso = mj_name2id(m, mjOBJ_BODY, "torso");
    if (fm.torso < 0) throw std::invalid_argument(std::string(fm.info->name) + ": the model has no body 'torso'");
    fm.contact_forces = true;
    // AntRandGoal observes the full qpos (with the xy position); the others drop it.
    fm.obs_dim = (id == FamilyId::kAntRandGoal ? m->nq : m->nq - 2) + m->nv + 6 * m->nbody;
  } else {
    fm.obs_dim = m->nq - 1 + m->nv;
  }
  return fm;
}

void set_env_state(const FamilyModel& fm, const mjModel* m, mjData* d, const double* qpos, const double* qvel) {
  mj_resetData(m, d);
  std::copy(qpos, qpos + m->nq, d->qpos);
  std::copy(qvel, qvel + m->nv, d->qvel);
  forward(fm, m, d);
}

void reset_env(const FamilyModel& fm, const mjModel* m, mjData* d, Rng& rng) {
  mj_resetData(m, d);
  for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-0.1, 0.1);
  for (int i = 0; i < m->nv; ++i) d->qvel[i] = 0.1 * rng.normal();
  forward(fm, m, d);
}

void observe(const FamilyModel& fm, const mjModel* m, const mjData* d, double* obs) {
  int k = 0;
  if (is_ant(fm.id)) {
    for (int i = fm.id == FamilyId::kAntRandGoal ? 0 : 2; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
    for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = std::min(1.0, std::max(-1.0, d->cfrc_ext[i]));
  } else {
    for (int i = 1; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
  }
}

StepOutcome step_env(const FamilyModel& fm, const mjModel* m, mjData* d, const double* task, const double* action) {
  StepOutcome out;
  const int torso = fm.torso;
  const double x_before = torso >= 0 ? d->xpos[3 * torso] : d->qpos[0];
  const double y_before = torso >= 0 ? d->xpos[3 * torso + 1] : 0.0;
  const int bad_before = d->warning[mjWARN_BADQACC].number;
  std::copy(action, action + m->nu, d->ctrl);
  for (int k = 0; k < fm.info->frame_skip; ++k) mj_step(m, d);
  if (fm.contact_forces) mj_rnePostConstraint(m, d);
  if (d->warning[mjWARN_BADQACC].number != bad_before || !state_finite(m, d)) {
    out.nonfinite = true;
    out.terminated = true;
    return out;
  }
  const double x_after = torso >= 0 ? d->xpos[3 * torso] : d->qpos[0];
  const double y_after = torso >= 0 ? d->xpos[3 * torso + 1] : 0.0;
  const double a2 = sum_sq(action, m->nu);
  switch (fm.id) {
    case FamilyId::kHalfCheetahRandDirec:
    case FamilyId::kHalfCheetahRandVel: {
      const double vel = (x_after - x_before) / fm.dt;
      const double run = fm.id == FamilyId::kHalfCheetahRandDirec ? task[0] * vel : -std::abs(vel - task[0]);
      const double ctrl = -0.5 * 0.1 * a2;
      out.reward = run + ctrl;
      out.infos[0] = vel;
      out.infos[1] = run;
      out.infos[2] = ctrl;
      break;
    }
    case FamilyId::kAntRandDirec:
    case FamilyId::kAntRandDirec2D: {
      const double vel = fm.id == FamilyId::kAntRandDirec
                             ? task[0] * (x_after - x_before) / fm.dt
                             : (task[0] * (x_after - x_before) + task[1] * (y_after - y_before)) / fm.dt;
      const double ctrl = 0.5 * a2, contact = contact_cost(m, d), survive = 1.0;
      out.reward = vel - ctrl - contact + survive;
      const double z = d->qpos[2];
      out.terminated = !(z >= 0.0 && z <= 1.0);
      out.infos[0] = fm.id == FamilyId::kAntRandDirec ? (x_after - x_before) / fm.dt : vel;
      out.infos[1] = vel;
      out.infos[2] = -ctrl;
      out.infos[3] = -contact;
      out.infos[4] = survive;
      break;
    }
    case FamilyId::kAntRandGoal: {
      const double dx = x_after - task[0], dy = y_after - task[1];
      const double goal = -(std::abs(dx) + std::abs(dy));
      const double ctrl = 0.1 * a2, contact = contact_cost(m, d);
      out.reward = goal - ctrl - contact;
      out.infos[0] = std::sqrt(dx * dx + dy * dy);
      out.infos[1] = goal;
      out.infos[2] = -ctrl;
      out.infos[3] = -contact;
      break;
    }
  }
  return out;
}

}  // namespace metarl
