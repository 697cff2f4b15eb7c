#include "sim/metaworld/sawyer.h"

#include <algorithm>
#include <stdexcept>

#include "sim/families/mujoco_common.h"

namespace metarl::metaworld {
namespace {

// SawyerXYZEnv._HAND_SPACE: the bounds of the observed hand position.
constexpr double kHandLow[3] = {-0.525, 0.348, -0.0525};
constexpr double kHandHigh[3] = {+0.525, 1.025, 0.7};
constexpr double kActionScale = 1.0 / 100;  // SawyerXYZEnv's action_scale
constexpr double kMocapQuat[4] = {1, 0, 1, 0};
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

void SawyerEnv::configure(const mjModel* m) {
  hand_ = body(m, "hand");
  rightclaw_ = body(m, "rightclaw");
  leftclaw_ = body(m, "leftclaw");
  leftpad_ = body(m, "leftpad");
  rightpad_ = body(m, "rightpad");
  right_effector_ = site(m, "rightEndEffector");
  left_effector_ = site(m, "leftEndEffector");
  leftpad_geom_ = geom(m, "leftpad_geom");
  rightpad_geom_ = geom(m, "rightpad_geom");
  mocap_ = m->body_mocapid[body(m, "mocap")];
  if (mocap_ < 0) throw std::invalid_argument(name_ + ": the body 'mocap' of the model is not a mocap body");
  if (m->nu != 2) throw std::invalid_argument(name_ + ": the model needs the gripper's 2 actuators");
  if (!config_.mocap_given) {
    config_.mocap_low = config_.hand_low;
    config_.mocap_high = config_.hand_high;
  }
  configure_env(m);
}

int SawyerEnv::body(const mjModel* m, const char* name) const {
  const int id = mj_name2id(m, mjOBJ_BODY, name);
  if (id < 0) throw std::invalid_argument(name_ + ": the model has no body '" + name + "'");
  return id;
}

int SawyerEnv::site(const mjModel* m, const char* name) const {
  const int id = mj_name2id(m, mjOBJ_SITE, name);
  if (id < 0) throw std::invalid_argument(name_ + ": the model has no site '" + name + "'");
  return id;
}

int SawyerEnv::geom(const mjModel* m, const char* name) const {
  const int id = mj_name2id(m, mjOBJ_GEOM, name);
  if (id < 0) throw std::invalid_argument(name_ + ": the model has no geom '" + name + "'");
  return id;
}

int SawyerEnv::joint_qpos(const mjModel* m, const char* name) const {
  const int id = mj_name2id(m, mjOBJ_JOINT, name);
  if (id < 0) throw std::invalid_argument(name_ + ": the model has no joint '" + name + "'");
  return m->jnt_qposadr[id];
}

int SawyerEnv::joint_dof(const mjModel* m, const char* name) const {
  const int id = mj_name2id(m, mjOBJ_JOINT, name);
  if (id < 0) throw std::invalid_argument(name_ + ": the model has no joint '" + name + "'");
  return m->jnt_dofadr[id];
}

void SawyerEnv::set_task_model(mjModel*, const SawyerState&) const {}

Vec3 SawyerEnv::goal(const mjData*, const SawyerState& s) const { return s.target_pos; }

Vec3 SawyerEnv::tcp_center(const mjData* d) const {
  return (site_pos(d, right_effector_) + site_pos(d, left_effector_)) / 2.0;
}

void SawyerEnv::set_state(const mjModel* m, mjData* d, const double* qpos, const double* qvel) {
  if (qpos != d->qpos) std::copy(qpos, qpos + m->nq, d->qpos);
  if (qvel != d->qvel) std::copy(qvel, qvel + m->nv, d->qvel);
  mj_forward(m, d);
}

void SawyerEnv::set_obj_xyz(const mjModel* m, mjData* d, const Vec3& pos) {
  std::copy(pos.begin(), pos.end(), d->qpos + 9);
  std::fill(d->qvel + 9, d->qvel + 15, 0.0);
  mj_forward(m, d);
}

void SawyerEnv::reset_hand(const mjModel* m, mjData* d, SawyerState& s, int steps) const {
  for (int i = 0; i < steps; ++i) {
    std::copy(s.hand_init_pos.begin(), s.hand_init_pos.end(), d->mocap_pos + 3 * mocap_);
    std::copy(kMocapQuat, kMocapQuat + 4, d->mocap_quat + 4 * mocap_);
    d->ctrl[0] = -1;
    d->ctrl[1] = 1;
    for (int k = 0; k < kFrameSkip; ++k) mj_step(m, d);
  }
  s.init_tcp = tcp_center(d);
}

void SawyerEnv::refuse_close_placement(const SawyerState& s, double min_dist) const {
  if (np_norm2(s.rand_vec[0] - s.rand_vec[3], s.rand_vec[1] - s.rand_vec[4]) < min_dist)
    throw MetaWorldError(name_ + ": the task places the object and the goal closer than " + std::to_string(min_dist) +
                         " (Meta-World's reset_model would re-draw its frozen rand_vec forever)");
}

void SawyerEnv::frame(const mjModel* m, const mjData* d, const SawyerState& s, double* out) const {
  const Vec3 hand = hand_pos(d);
  const Vec3 fingers = body_com(d, rightclaw_) - body_com(d, leftclaw_);
  out[0] = hand[0];
  out[1] = hand[1];
  out[2] = hand[2];
  // the fingers are at most about 0.1 apart: normalised to [0, 1]
  out[3] = np_clip(np_norm(fingers) / 0.1, 0.0, 1.0);
  std::fill(out + 4, out + kFrameDim, 0.0);
  objects(m, d, s, out + 4);
}

void SawyerEnv::get_obs(const mjModel* m, const mjData* d, SawyerState& s) const {
  double curr[kFrameDim];
  frame(m, d, s, curr);
  std::copy(curr, curr + kFrameDim, s.obs);
  std::copy(s.prev_obs, s.prev_obs + kFrameDim, s.obs + kFrameDim);
  const Vec3 g = s.partially_observable ? Vec3{0, 0, 0} : goal(d, s);
  std::copy(g.begin(), g.end(), s.obs + 2 * kFrameDim);
  std::copy(curr, curr + kFrameDim, s.prev_obs);
}

void SawyerEnv::reset(mjModel* m, mjData* d, SawyerState& s, const double* task) const {
  s.partially_observable = task[0] != 0;
  std::copy(task + 1, task + 1 + kMaxRandVec, s.rand_vec);
  s.path_length = 0;
  s.forward_pending = false;
  s.hand_init_pos = config_.hand_init_pos;
  set_task_model(m, s);
  mj_resetData(m, d);
  reset_model(m, d, s);
  // SawyerXYZEnv.reset: the first observation's previous frame is its current one
  std::copy(s.obs, s.obs + kFrameDim, s.prev_obs);
  std::copy(s.obs, s.obs + kFrameDim, s.obs + kFrameDim);
}

void SawyerEnv::set_xyz_action(const mjModel* m, mjData* d, const double* action) const {
  for (int i = 0; i < m->nmocap; ++i)
    for (int j = 0; j < 3; ++j) {
      const double x = d->mocap_pos[3 * i + j] + np_clip(action[j], -1, 1) * kActionScale;
      d->mocap_pos[3 * i + j] = i == 0 ? np_clip(x, config_.mocap_low[j], config_.mocap_high[j]) : x;
    }
  for (int i = 0; i < m->nmocap; ++i) std::copy(kMocapQuat, kMocapQuat + 4, d->mocap_quat + 4 * i);
}

void SawyerEnv::physics_step(const mjModel* m, mjData* d, const double* action) const {
  set_xyz_action(m, d, action);
  d->ctrl[0] = action[3];
  d->ctrl[1] = -action[3];
  for (int k = 0; k < kFrameSkip; ++k) mj_step(m, d);
  mj_kinematics(m, d);
}

Evaluation SawyerEnv::step(const mjModel* m, mjData* d, SawyerState& s, const double* action, bool& ok) const {
  if (s.path_length >= kMaxPathLength)
    throw MetaWorldError(name_ + ": an episode lasts at most " + std::to_string(kMaxPathLength) +
                         " steps; reset the environment first");
  const int bad_before = resetting_warnings(d);
  physics_step(m, d, action);
  s.forward_pending = true;
  s.model = m;
  ++s.path_length;
  ok = resetting_warnings(d) == bad_before && state_finite(m, d);
  get_obs(m, d, s);
  // clipped to the observation space before the reward reads it
  for (int f = 0; f < 2; ++f)
    for (int j = 0; j < 4; ++j) {
      double& x = s.obs[f * kFrameDim + j];
      x = j < 3 ? np_clip(x, kHandLow[j], kHandHigh[j]) : np_clip(x, -1.0, 1.0);
    }
  for (int j = 0; j < 3; ++j) {
    double& x = s.obs[2 * kFrameDim + j];
    x = s.partially_observable ? np_clip(x, 0.0, 0.0) : np_clip(x, config_.goal_low[j], config_.goal_high[j]);
  }
  (void)kInf;
  return evaluate_state(m, d, s, s.obs, action);
}

double SawyerEnv::gripper_caging_reward(const mjData* d, const double* action, const Vec3& obj_pos,
                                        const Vec3& obj_init_pos, const Vec3& init_tcp, double obj_radius,
                                        double pad_success_thresh, double object_reach_radius, double xz_thresh,
                                        double desired_gripper_effort, bool high_density, bool medium_density) const {
  if (high_density && medium_density) throw MetaWorldError("Can only be either high_density or medium_density");
  // left/right: the pads' y against the object's current and initial y
  const double pad_y_lr[2] = {body_com(d, leftpad_)[1], body_com(d, rightpad_)[1]};
  double caging_lr[2];
  for (int i = 0; i < 2; ++i) {
    const double pad_to_obj = std::abs(pad_y_lr[i] - obj_pos[1]);
    const double pad_to_objinit = std::abs(pad_y_lr[i] - obj_init_pos[1]);
    const double margin = std::abs(pad_to_objinit - pad_success_thresh);
    caging_lr[i] = long_tail(pad_to_obj, obj_radius, pad_success_thresh, margin);
  }
  const double caging_y = hamacher_product(caging_lr[0], caging_lr[1]);
  // x-z: the tool centre's distance to the object in the x-z plane
  const Vec3 tcp = tcp_center(d);
  const double caging_xz_margin = np_norm2(obj_init_pos[0] - init_tcp[0], obj_init_pos[2] - init_tcp[2]) - xz_thresh;
  const double caging_xz =
      long_tail(np_norm2(tcp[0] - obj_pos[0], tcp[2] - obj_pos[2]), 0, xz_thresh, caging_xz_margin);
  // the gripper's closed extent
  const double gripper_closed = std::min(std::max(0.0, action[3]), desired_gripper_effort) / desired_gripper_effort;
  const double caging = hamacher_product(caging_y, caging_xz);
  const double gripping = caging > 0.97 ? gripper_closed : 0.0;
  double caging_and_gripping = hamacher_product(caging, gripping);
  if (high_density) caging_and_gripping = (caging_and_gripping + caging) / 2;
  if (medium_density) {
    const double tcp_to_obj = np_norm(obj_pos - tcp);
    const double tcp_to_obj_init = np_norm(obj_init_pos - init_tcp);
    // the margin less object_reach_radius: the reach reward starts at 0.1
    const double reach_margin = std::abs(tcp_to_obj_init - object_reach_radius);
    const double reach = long_tail(tcp_to_obj, 0, object_reach_radius, reach_margin);
    caging_and_gripping = (caging_and_gripping + reach) / 2;
  }
  return caging_and_gripping;
}

bool SawyerEnv::touching_object(const mjData* d, SawyerState& s, int object_geom) const {
  if (s.forward_pending) {  // the environment's own data: the rest of the step's forward pass
    mj_forward(s.model, const_cast<mjData*>(d));
    s.forward_pending = false;
  }
  double left = 0, right = 0;
  for (int i = 0; i < d->ncon; ++i) {
    const mjContact& c = d->contact[i];
    const bool has_object = c.geom[0] == object_geom || c.geom[1] == object_geom;
    const bool has_left = c.geom[0] == leftpad_geom_ || c.geom[1] == leftpad_geom_;
    const bool has_right = c.geom[0] == rightpad_geom_ || c.geom[1] == rightpad_geom_;
    if (!has_object || !(has_left || has_right)) continue;
    int addr = c.efc_address;
    if (addr < 0) addr += d->nefc;  // Python's efc_force[-1]: the last constraint's force
    if (addr < 0) throw MetaWorldError(name_ + ": touching_object: index -1 of an empty efc_force");
    if (has_left) left += d->efc_force[addr];
    if (has_right) right += d->efc_force[addr];
  }
  return 0 < left && 0 < right;
}

}  // namespace metarl::metaworld
