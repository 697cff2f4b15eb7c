// The Ant families (gymnasium's ant.xml): ProMP's ant_rand_direc / ant_rand_direc_2d /
// ant_rand_goal (frame_skip 5) and GMPS's low-gear AntGoalArc / AntGoalArcSparse (frame_skip 1).
//   obs     qpos (without the xy position for the direction families), qvel, clip(cfrc_ext, ±1);
//           AntGoalArc adds the torso's orientation matrix
//   reset   qpos0 + U(±0.1), qvel 0.1·N(0, 1); AntGoalArc: the model's numeric "init_qpos", at rest
//   reward  see each step function; the episode ends when the torso height leaves [0, 1]
//           ([0.2, 1] for AntGoalArc; never for AntRandGoal)
#include <stdexcept>
#include <string>

#include "sim/families/mujoco_common.h"

namespace metarl {
namespace {

enum class Kind { kDirec, kDirec2D, kGoal, kGoalArc, kGoalArcSparse };

constexpr bool goal_arc(Kind k) { return k == Kind::kGoalArc || k == Kind::kGoalArcSparse; }
// AntRandGoal and AntGoalArc observe the full qpos (with the xy position); the others drop it.
constexpr bool full_qpos(Kind k) { return k == Kind::kGoal || goal_arc(k); }

template <Kind kKind>
void configure(FamilyModel& fm, const mjModel* m) {
  fm.torso = mj_name2id(m, mjOBJ_BODY, "torso");
  if (fm.torso < 0) throw std::invalid_argument(std::string(fm.ops->name) + ": the model has no body 'torso'");
  require_root(fm, m, mjJNT_FREE, 7);
  fm.contact_forces = true;
  fm.obs_dim = (full_qpos(kKind) ? m->nq : m->nq - 2) + m->nv + 6 * m->nbody + (goal_arc(kKind) ? 9 : 0);
  if (goal_arc(kKind)) {
    // rllab's MujocoEnv: the model's numeric "init_qpos", no reset noise, zero velocity
    fm.init_qpos.assign(m->qpos0, m->qpos0 + m->nq);
    const int id = mj_name2id(m, mjOBJ_NUMERIC, "init_qpos");
    if (id >= 0 && m->numeric_size[id] == m->nq)
      fm.init_qpos.assign(m->numeric_data + m->numeric_adr[id], m->numeric_data + m->numeric_adr[id] + m->nq);
  }
}

// GMPS's low_gear_ratio_ant.xml is gym's ant with motor gear 30 instead of 150.
void low_gear(mjModel* m) {
  for (int i = 0; i < m->nu; ++i) m->actuator_gear[6 * i] = 30.0;
}

template <Kind kKind>
void reset(const FamilyModel& fm, const mjModel* m, EnvSlot& env, Rng& rng) {
  if (!goal_arc(kKind)) return reset_normal_velocity(fm, m, env.d, rng, 0.1, 0.1);
  mj_resetData(m, env.d);
  std::copy(fm.init_qpos.begin(), fm.init_qpos.end(), env.d->qpos);
  forward(fm, m, env.d);
}

template <Kind kKind>
void observe(const FamilyModel& fm, const mjModel* m, const EnvSlot& env, double* obs) {
  const mjData* d = env.d;
  int k = 0;
  for (int i = full_qpos(kKind) ? 0 : 2; i < m->nq; ++i) obs[k++] = d->qpos[i];
  for (int i = 0; i < m->nv; ++i) obs[k++] = d->qvel[i];
  for (int i = 0; i < 6 * m->nbody; ++i) obs[k++] = clip(d->cfrc_ext[i], -1.0, 1.0);
  if (goal_arc(kKind))
    for (int i = 0; i < 9; ++i) obs[k++] = d->xmat[9 * fm.torso + i];
}

// d·v_x (or u·v_xy) − 0.5‖a‖² − 0.5e-3 Σ clip(cfrc_ext)² + 1
template <Kind kKind>
StepOutcome step_direction(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task,
                           const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kTorso, false, mo)) return nonfinite_outcome();
  StepOutcome out;
  const double vel = kKind == Kind::kDirec ? task[0] * mo.vx : task[0] * mo.vx + task[1] * mo.vy;
  const double ctrl = 0.5 * sum_sq(action, m->nu), contact = 0.5 * 1e-3 * contact_sq(m, env.d, true);
  const double survive = 1.0;
  out.reward = vel - ctrl - contact + survive;
  out.terminated = !(env.d->qpos[2] >= 0.0 && env.d->qpos[2] <= 1.0);
  out.infos[0] = kKind == Kind::kDirec ? mo.vx : vel;
  out.infos[1] = vel;
  out.infos[2] = -ctrl;
  out.infos[3] = -contact;
  out.infos[4] = survive;
  return out;
}

// −‖xy − g‖₁ − 0.1‖a‖² − 0.5e-3 Σ clip(cfrc_ext)² (goal uniform on the disk of radius 3)
StepOutcome step_goal(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task,
                      const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kTorso, false, mo)) return nonfinite_outcome();
  StepOutcome out;
  const double dx = mo.after[0] - task[0], dy = mo.after[1] - task[1];
  const double goal = -(std::abs(dx) + std::abs(dy));
  const double ctrl = 0.1 * sum_sq(action, m->nu), contact = 0.5 * 1e-3 * contact_sq(m, env.d, true);
  out.reward = goal - ctrl - contact;  // no termination (ProMP's ant_rand_goal)
  out.infos[0] = std::hypot(dx, dy);
  out.infos[1] = goal;
  out.infos[2] = -ctrl;
  out.infos[3] = -contact;
  return out;
}

// GMPS's AntEnvRandGoalRing: −‖com − g‖₁ + 4 (the sparse variant: −‖g‖₁ + 4 until within 0.8 of
// the goal) − 0.5e-2 Σ(a/scaling)² − 0.5e-3 Σ clip(cfrc_ext)² + 0.05, com the torso's subtree centre
// of mass (rllab's get_body_com); rllab's forward_dynamics ends with model.forward().
template <Kind kKind>
StepOutcome step_goal_arc(const FamilyModel& fm, const mjModel* m, EnvSlot& env, const double* task,
                          const double* action) {
  Motion mo;
  if (!advance(fm, m, env.d, action, Tracked::kTorso, true, mo)) return nonfinite_outcome();
  StepOutcome out;
  const double* com = env.d->subtree_com + 3 * fm.torso;
  const double dx = com[0] - task[0], dy = com[1] - task[1];
  const double dist = std::hypot(dx, dy);
  double goal = -(std::abs(dx) + std::abs(dy)) + 4.0;
  if (kKind == Kind::kGoalArcSparse && dist > 0.8) goal = -(std::abs(task[0]) + std::abs(task[1])) + 4.0;
  double ctrl = 0;  // scaling = half the control range
  for (int j = 0; j < m->nu; ++j) {
    const double scaling = 0.5 * (m->actuator_ctrlrange[2 * j + 1] - m->actuator_ctrlrange[2 * j]);
    ctrl += (action[j] / scaling) * (action[j] / scaling);
  }
  ctrl *= 0.5e-2;
  const double contact = 0.5 * 1e-3 * contact_sq(m, env.d, true), survive = 0.05;
  out.reward = goal - ctrl - contact + survive;
  out.terminated = !(env.d->qpos[2] >= 0.2 && env.d->qpos[2] <= 1.0);
  out.infos[0] = dist;
  out.infos[1] = goal;
  out.infos[2] = -ctrl;
  out.infos[3] = -contact;
  out.infos[4] = survive;
  return out;
}

const std::vector<std::string> kDirectionInfos = {"forward_velocity", "reward_forward", "reward_ctrl",
                                                  "reward_contact", "reward_survive"};
const std::vector<std::string> kArcInfos = {"goal_distance", "reward_goal", "reward_ctrl", "reward_contact",
                                            "reward_survive"};

}  // namespace

extern const FamilyOps kAntRandDirec{"AntRandDirec", "ant.xml", 5, 1, kDirectionInfos, false,
                                     configure<Kind::kDirec>, nullptr, reset<Kind::kDirec>,
                                     observe<Kind::kDirec>, step_direction<Kind::kDirec>};
extern const FamilyOps kAntRandDirec2D{"AntRandDirec2D", "ant.xml", 5, 2, kDirectionInfos, false,
                                       configure<Kind::kDirec2D>, nullptr, reset<Kind::kDirec2D>,
                                       observe<Kind::kDirec2D>, step_direction<Kind::kDirec2D>};
extern const FamilyOps kAntRandGoal{"AntRandGoal", "ant.xml", 5, 2,
                                    {"goal_distance", "reward_goal", "reward_ctrl", "reward_contact"}, false,
                                    configure<Kind::kGoal>, nullptr, reset<Kind::kGoal>, observe<Kind::kGoal>,
                                    step_goal};
extern const FamilyOps kAntGoalArc{"AntGoalArc", "ant.xml", 1, 2, kArcInfos, false, configure<Kind::kGoalArc>,
                                   low_gear, reset<Kind::kGoalArc>, observe<Kind::kGoalArc>,
                                   step_goal_arc<Kind::kGoalArc>};
extern const FamilyOps kAntGoalArcSparse{"AntGoalArcSparse", "ant.xml", 1, 2, kArcInfos, false,
                                         configure<Kind::kGoalArcSparse>, low_gear, reset<Kind::kGoalArcSparse>,
                                         observe<Kind::kGoalArcSparse>, step_goal_arc<Kind::kGoalArcSparse>};

}  // namespace metarl
