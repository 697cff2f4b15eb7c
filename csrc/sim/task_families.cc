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
      {FamilyId::kWalker2DRandDirec, "Walker2DRandDirec", "walker2d.xml", 8, 1,
       {"forward_velocity", "reward_forward", "reward_ctrl", "reward_survive"}},
      {FamilyId::kHumanoidRandDirec, "HumanoidRandDirec", "humanoid.xml", 5, 1,
       {"forward_velocity", "reward_linvel", "reward_quadctrl", "reward_impact", "reward_alive"}},
      {FamilyId::kHumanoidRandDirec2D, "HumanoidRandDirec2D", "humanoid.xml", 5, 2,
       {"forward_velocity", "reward_linvel", "reward_quadctrl", "reward_impact", "reward_alive"}},
      {FamilyId::kHopperRandParams, "HopperRandParams", "hopper.xml", 4, -1,
       {"forward_velocity", "reward_ctrl", "reward_survive"}},
      {FamilyId::kWalker2DRandParams, "Walker2DRandParams", "walker2d.xml", 5, -1,
       {"forward_velocity", "reward_ctrl", "reward_survive"}},
      {FamilyId::kPoint2DNav, "Point2DNav", "", 1, 2, {"goal_distance"}},
      {FamilyId::kMetaPointEnvCorner, "MetaPointEnvCorner", "", 1, 2, {"goal_distance"}},
      {FamilyId::kMetaPointEnvMomentum, "MetaPointEnvMomentum", "", 1, 2, {"goal_distance"}},
      {FamilyId::kAntGoalArc, "AntGoalArc", "ant.xml", 1, 2,
       {"goal_distance", "reward_goal", "reward_ctrl", "reward_contact", "reward_survive"}},
      {FamilyId::kAntGoalArcSparse, "AntGoalArcSparse", "ant.xml", 1, 2,
       {"goal_distance", "reward_goal", "reward_ctrl", "reward_contact", "reward_survive"}},
  };
  return families;
}

bool is_goal_arc(FamilyId id) { return id == FamilyId::kAntGoalArc || id == FamilyId::kAntGoalArcSparse; }
bool is_ant(FamilyId id) {
  return id == FamilyId::kAntRandDirec || id == FamilyId::kAntRandDirec2D || id == FamilyId::kAntRandGoal ||
         is_goal_arc(id);
}
bool is_humanoid(FamilyId id) { return id == FamilyId::kHumanoidRandDirec || id == FamilyId::kHumanoidRandDirec2D; }
// Hopper and Walker: obs qpos[1:], clip(qvel, ±10); reset noise U(±0.005) on qpos and qvel.
bool is_planar_walker(FamilyId id) {
  return id == FamilyId::kWalker2DRandDirec || id == FamilyId::kHopperRandParams ||
         id == FamilyId::kWalker2DRandParams;
}

double clip(double x, double lo, double hi) { return std::min(hi, std::max(lo, x)); }

double sum_sq(const double* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

// Σ clip(cfrc_ext, −1, 1)² (Ant) or Σ cfrc_ext² (Humanoid).
double contact_sq(const mjModel* m, const mjData* d, bool clipped) {
  double s = 0;
  for (int i = 0; i < 6 * m->nbody; ++i) {
    const double c = clipped ? clip(d->cfrc_ext[i], -1.0, 1.0) : d->cfrc_ext[i];
    s += c * c;
  }
  return s;
}

// Mass-weighted centre of the bodies' centres of mass (xipos), x and y (the Humanoid's mass_center).
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

const double kCorners[4][2] = {{-2, -2}, {2, -2}, {-2, 2}, {2, 2}};

StepOutcome step_point(const FamilyModel& fm, EnvSlot& env, const double* goal, const double* action) {
  StepOutcome out;
  double* p = env.point;
  const double prev[2] = {p[0], p[1]};
  const double a[2] = {clip(action[0], fm.ctrl_lo[0], fm.ctrl_hi[0]), clip(action[1], fm.ctrl_lo[1], fm.ctrl_hi[1])};
  switch (fm.id) {
    case FamilyId::kPoint2DNav:
      for (int j = 0; j < 2; ++j) p[j] = clip(p[j] + a[j], -0.5, 0.5);
      break;
    case FamilyId::kMetaPointEnvCorner:
      for (int j = 0; j < 2; ++j) p[j] += a[j];
      break;
    default:  // momentum: the action accelerates
      for (int j = 0; j < 2; ++j) {
        p[2 + j] += a[j];
        p[j] += p[2 + j];
      }
      break;
  }
  const double dist = std::hypot(p[0] - goal[0], p[1] - goal[1]);
  out.infos[0] = dist;
  switch (fm.id) {
    case FamilyId::kPoint2DNav:
      // SG-MRL's point_env_2d_v2: −Euclidean distance; the episode ends within 0.01 of the goal
      // per coordinate (digest B.8; the stored code compares with the goal's coordinates).
      out.reward = -dist;
      out.terminated = std::abs(p[0] - goal[0]) < 0.01 && std::abs(p[1] - goal[1]) < 0.01;
      break;
    case FamilyId::kMetaPointEnvCorner: {
      // sparse progress reward outside the L1 ball of radius 0.5, only when the goal is the
      // nearest corner
      if (std::abs(p[0]) + std::abs(p[1]) < 0.5) break;
      double nearest = 1e300;
      for (const auto& c : kCorners) nearest = std::min(nearest, std::hypot(p[0] - c[0], p[1] - c[1]));
      if (dist == nearest) out.reward = std::hypot(prev[0] - goal[0], prev[1] - goal[1]) - dist;
      break;
    }
    default:
      out.reward = std::max(2.0 - dist, 0.0);  // sparse, radius 2
      break;
  }
  if (!std::isfinite(p[0]) || !std::isfinite(p[1]) || !std::isfinite(p[2]) || !std::isfinite(p[3])) {
    out.nonfinite = true;
    out.terminated = true;
  }
  return out;
}

}  // namespace

const FamilyInfo& family_info(FamilyId id) { return registry().at(size_t(id)); }

FamilyId family_from_int(int id) {
  if (id < 0 || id >= int(registry().size())) throw std::invalid_argument("unknown task family id " + std::to_string(id));
  return FamilyId(id);
}

void adapt_model(FamilyId id, mjModel* m) {
  if (is_goal_arc(id))
    for (int i = 0; i < m->nu; ++i) m->actuator_gear[6 * i] = 30.0;
}

int rand_params_size(const mjModel* m) { return m->nbody + 3 * m->nbody + m->nv + 3 * m->ngeom; }

void apply_rand_params(const mjModel* base, mjModel* task_model, const double* mult) {
  int k = 0;
  for (int i = 0; i < base->nbody; ++i) task_model->body_mass[i] = base->body_mass[i] * mult[k++];
  for (int i = 0; i < 3 * base->nbody; ++i) task_model->body_inertia[i] = base->body_inertia[i] * mult[k++];
  for (int i = 0; i < base->nv; ++i) task_model->dof_damping[i] = base->dof_damping[i] * mult[k++];
  for (int i = 0; i < 3 * base->ngeom; ++i) task_model->geom_friction[i] = base->geom_friction[i] * mult[k++];
}

FamilyModel FamilyModel::make(FamilyId id, const mjModel* m) {
  FamilyModel fm;
  fm.id = id;
  fm.info = &family_info(id);
  fm.task_dim = fm.info->task_dim;
  if (!fm.uses_mujoco()) {
    fm.act_dim = 2;
    fm.obs_dim = id == FamilyId::kMetaPointEnvMomentum ? 4 : 2;
    fm.dt = 1.0;
    const double bound = id == FamilyId::kMetaPointEnvCorner ? 0.2 : 0.1;
    for (int j = 0; j < 2; ++j) {
      fm.ctrl_lo[j] = -bound;
      fm.ctrl_hi[j] = bound;
    }
    return fm;
  }
  if (!m) throw std::invalid_argument(std::string(fm.info->name) + " needs a MuJoCo model");
  fm.act_dim = m->nu;
  fm.dt = m->opt.timestep * fm.info->frame_skip;
  if (fm.rand_params()) fm.task_dim = rand_params_size(m);
  if (is_ant(id)) {
    fm.torso = mj_name2id(m, mjOBJ_BODY, "torso");
    if (fm.torso < 0) throw std::invalid_argument(std::string(fm.info->name) + ": the model has no body 'torso'");
    fm.contact_forces = true;
    // AntRandGoal and AntGoalArc observe the full qpos (with the xy position); the others drop it.
    const bool full_qpos = id == FamilyId::kAntRandGoal || is_goal_arc(id);
    fm.obs_dim = (full_qpos ? m->nq : m->nq - 2) + m->nv + 6 * m->nbody + (is_goal_arc(id) ? 9 : 0);
    if (is_goal_arc(id)) {
      // rllab's MujocoEnv: the model's numeric "init_qpos", no reset noise, zero velocity
      fm.init_qpos.assign(m->qpos0, m->qpos0 + m->nq);
      const int id_num = mj_name2id(m, mjOBJ_NUMERIC, "init_qpos");
      if (id_num >= 0 && m->numeric_size[id_num] == m->nq)
        fm.init_qpos.assign(m->numeric_data + m->numeric_adr[id_num],
                            m->numeric_data + m->numeric_adr[id_num] + m->nq);
    }
  } else if (is_humanoid(id)) {
    fm.contact_forces = true;
    fm.obs_dim = (m->nq - 2) + m->nv + 10 * m->nbody + 6 * m->nbody + m->nv + 6 * m->nbody;
  } else {
    fm.obs_dim = m->nq - 1 + m->nv;
  }
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

void reset_env(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng) {
  if (!fm.uses_mujoco()) {
    double* p = env.point;
    p[0] = p[1] = p[2] = p[3] = 0.0;
    if (fm.id != FamilyId::kPoint2DNav) {  // Point2DNav starts at the origin
      p[0] = rng.uniform(-0.2, 0.2);
      p[1] = rng.uniform(-0.2, 0.2);
    }
    if (fm.id == FamilyId::kMetaPointEnvMomentum) {
      p[2] = rng.uniform(-0.1, 0.1);
      p[3] = rng.uniform(-0.1, 0.1);
    }
    return;
  }
  mjData* d = env.d;
  mj_resetData(m, d);
  if (is_goal_arc(fm.id)) {
    std::copy(fm.init_qpos.begin(), fm.init_qpos.end(), d->qpos);
  } else if (is_planar_walker(fm.id) || is_humanoid(fm.id)) {
    const double c = is_humanoid(fm.id) ? 0.01 : 0.005;
    for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-c, c);
    for (int i = 0; i < m->nv; ++i) d->qvel[i] = rng.uniform(-c, c);
  } else {
    for (int i = 0; i < m->nq; ++i) d->qpos[i] = m->qpos0[i] + rng.uniform(-0.1, 0.1);
    for (int i = 0; i < m->nv; ++i) d->qvel[i] = 0.1 * rng.normal();
  }
  forward(fm, m, d);
}

void observe(const FamilyModel& fm, const mjModel* m, const EnvSlot& env, double* obs) {
  if (!fm.uses_mujoco()) {
    std::copy(env.point, env.point + fm.obs_dim, obs);
    return;
  }
  const mjData* d = env.d;
  int k = 0;
  if (is_ant(fm.id)) {
    const bool full_qpos = fm.id == FamilyId::kAntRandGoal || is_goal_arc(fm.id);
    for (int i = full_qpos ? 0 : 2; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
    for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = clip(d->cfrc_ext[i], -1.0, 1.0);
    if (is_goal_arc(fm.id))
      for (int i = 0; i < 9; ++i) obs[k++] = d->xmat[9 * fm.torso + i];
  } else if (is_humanoid(fm.id)) {
    for (int i = 2; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
    for (int i = 0; i < 10 * m->nbody; ++i) obs[k++] = d->cinert[i];
    for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = d->cvel[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qfrc_actuator[i];
    for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = d->cfrc_ext[i];
  } else if (is_planar_walker(fm.id)) {
    for (int i = 1; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = clip(d->qvel[i], -10.0, 10.0);
  } else {
    for (int i = 1; i < m->nq; ++i) obs[k++] = d->qpos[i];
    for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
  }
}

StepOutcome step_env(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task, const double* action) {
  if (!fm.uses_mujoco()) return step_point(fm, env, task, action);
  mjData* d = env.d;
  StepOutcome out;
  const int torso = fm.torso;
  double before[2] = {d->qpos[0], 0.0};
  if (torso >= 0) {
    before[0] = d->xpos[3 * torso];
    before[1] = d->xpos[3 * torso + 1];
  } else if (is_humanoid(fm.id)) {
    mass_center(m, d, before);
  }
  const int bad_before = d->warning[mjWARN_BADQACC].number;
  std::copy(action, action + m->nu, d->ctrl);
  for (int k = 0; k < fm.info->frame_skip; ++k) mj_step(m, d);
  if (is_goal_arc(fm.id)) mj_forward(m, d);  // rllab's forward_dynamics ends with model.forward()
  if (fm.contact_forces) mj_rnePostConstraint(m, d);
  if (d->warning[mjWARN_BADQACC].number != bad_before || !state_finite(m, d)) {
    out.nonfinite = true;
    out.terminated = true;
    return out;
  }
  double after[2] = {d->qpos[0], 0.0};
  if (torso >= 0) {
    after[0] = d->xpos[3 * torso];
    after[1] = d->xpos[3 * torso + 1];
  } else if (is_humanoid(fm.id)) {
    mass_center(m, d, after);
  }
  const double vx = (after[0] - before[0]) / fm.dt, vy = (after[1] - before[1]) / fm.dt;
  const double a2 = sum_sq(action, m->nu);
  switch (fm.id) {
    case FamilyId::kHalfCheetahRandDirec:
    case FamilyId::kHalfCheetahRandVel: {
      const double run = fm.id == FamilyId::kHalfCheetahRandDirec ? task[0] * vx : -std::abs(vx - task[0]);
      const double ctrl = -0.5 * 0.1 * a2;
      out.reward = run + ctrl;
      out.infos[0] = vx;
      out.infos[1] = run;
      out.infos[2] = ctrl;
      break;
    }
    case FamilyId::kAntRandDirec:
    case FamilyId::kAntRandDirec2D: {
      const double vel = fm.id == FamilyId::kAntRandDirec ? task[0] * vx : task[0] * vx + task[1] * vy;
      const double ctrl = 0.5 * a2, contact = 0.5 * 1e-3 * contact_sq(m, d, true), survive = 1.0;
      out.reward = vel - ctrl - contact + survive;
      out.terminated = !(d->qpos[2] >= 0.0 && d->qpos[2] <= 1.0);
      out.infos[0] = fm.id == FamilyId::kAntRandDirec ? vx : vel;
      out.infos[1] = vel;
      out.infos[2] = -ctrl;
      out.infos[3] = -contact;
      out.infos[4] = survive;
      break;
    }
    case FamilyId::kAntRandGoal: {
      const double dx = after[0] - task[0], dy = after[1] - task[1];
      const double goal = -(std::abs(dx) + std::abs(dy));
      const double ctrl = 0.1 * a2, contact = 0.5 * 1e-3 * contact_sq(m, d, true);
      out.reward = goal - ctrl - contact;
      out.infos[0] = std::hypot(dx, dy);
      out.infos[1] = goal;
      out.infos[2] = -ctrl;
      out.infos[3] = -contact;
      break;
    }
    case FamilyId::kHumanoidRandDirec:
    case FamilyId::kHumanoidRandDirec2D: {
      // 0.25·d·Δx_com / opt.timestep (not dt): the papers' code, = 1.25 · velocity at frame_skip 5
      const double dxy = fm.id == FamilyId::kHumanoidRandDirec
                             ? task[0] * (after[0] - before[0])
                             : task[0] * (after[0] - before[0]) + task[1] * (after[1] - before[1]);
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
      break;
    }
    case FamilyId::kWalker2DRandDirec:
    case FamilyId::kHopperRandParams:
    case FamilyId::kWalker2DRandParams: {
      const double forward = fm.id == FamilyId::kWalker2DRandDirec ? task[0] * vx : vx;
      const double ctrl = 1e-3 * a2;
      out.reward = forward + 1.0 - ctrl;
      const double height = d->qpos[1], ang = d->qpos[2];
      if (fm.id == FamilyId::kHopperRandParams) {
        bool ok = true;  // |state_vector()[2:]| < 100
        for (int i = 2; i < m->nq; ++i) ok = ok && std::abs(d->qpos[i]) < 100;
        for (int i = 0; i < m->nv; ++i) ok = ok && std::abs(d->qvel[i]) < 100;
        out.terminated = !(ok && height > 0.7 && std::abs(ang) < 0.2);
      } else {
        out.terminated = !(height > 0.8 && height < 2.0 && ang > -1.0 && ang < 1.0);
      }
      if (fm.id == FamilyId::kWalker2DRandDirec) {
        out.infos[0] = vx;
        out.infos[1] = forward;
        out.infos[2] = -ctrl;
        out.infos[3] = 1.0;
      } else {
        out.infos[0] = vx;
        out.infos[1] = -ctrl;
        out.infos[2] = 1.0;
      }
      break;
    }
    case FamilyId::kAntGoalArc:
    case FamilyId::kAntGoalArcSparse: {
      // GMPS's AntEnvRandGoalRing: the torso's subtree centre of mass (rllab's get_body_com)
      const double* com = d->subtree_com + 3 * fm.torso;
      const double dx = com[0] - task[0], dy = com[1] - task[1];
      const double dist = std::hypot(dx, dy);
      double goal = -(std::abs(dx) + std::abs(dy)) + 4.0;
      if (fm.id == FamilyId::kAntGoalArcSparse && dist > 0.8) goal = -(std::abs(task[0]) + std::abs(task[1])) + 4.0;
      // ctrl cost 0.5e-2·Σ(a/scaling)², scaling = half the control range
      double ctrl = 0;
      for (int j = 0; j < m->nu; ++j) {
        const double scaling = 0.5 * (m->actuator_ctrlrange[2 * j + 1] - m->actuator_ctrlrange[2 * j]);
        ctrl += (action[j] / scaling) * (action[j] / scaling);
      }
      ctrl *= 0.5e-2;
      const double contact = 0.5 * 1e-3 * contact_sq(m, d, true), survive = 0.05;
      out.reward = goal - ctrl - contact + survive;
      out.terminated = !(d->qpos[2] >= 0.2 && d->qpos[2] <= 1.0);
      out.infos[0] = dist;
      out.infos[1] = goal;
      out.infos[2] = -ctrl;
      out.infos[3] = -contact;
      out.infos[4] = survive;
      break;
    }
    default: break;
  }
  return out;
}

}  // namespace metarl
