// Meta-World v3 environments: door-close, door-lock, door-open, door-unlock, drawer-close,
// drawer-open, faucet-open, faucet-close, window-open, window-close, dial-turn
// (metaworld/envs/sawyer_*_v3.py). Each class mirrors its Python class: constructor values,
// reset_model, _get_pos_objects / _get_quat_objects, compute_reward (v2) and evaluate_state.
//
// Shared Meta-World details these ports reproduce:
//  * several classes keep `init_config["hand_init_pos"]` as a float32 array: the mocap target of
//    the hand reset (and door-close's reward) sees the float32 values widened to float64 (f32());
//  * `_target_site_config` writes data.site_xpos after the physics, which the following mj_forward
//    overwrites: it has no effect and is not reproduced;
//  * resets that write a model body position and then read the data without an mj_forward
//    (drawer-open, faucet-open, window-*, dial-turn) read the kinematics of the hand reset's last
//    step, which already saw the task's body position (Python's first reset_model call wrote it;
//    here set_task_model).
#include <algorithm>
#include <cmath>

#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {
namespace {

// The configuration most of these environments share: hand box (−0.5, 0.4, 0.05)–(0.5, 1, 0.5),
// goal box = hand box, hand reset at (0, 0.6, 0.2), a 3-number rand_vec (the object's position).
SawyerConfig base_config(double hand_low_z = 0.05) {
  SawyerConfig c;
  c.hand_low = {-0.5, 0.40, hand_low_z};
  c.hand_high = {0.5, 1, 0.5};
  c.goal_low = c.hand_low;
  c.goal_high = c.hand_high;
  c.rand_vec_size = 3;
  return c;
}

// ---- doors: door-open-v3 and door-close-v3 share sawyer_door_pull.xml and these methods
class DoorBase : public SawyerEnv {
 protected:
  using SawyerEnv::SawyerEnv;

  void configure_env(const mjModel* m) override {
    door_ = body(m, "door");
    handle_geom_ = geom(m, "handle");
    goal_site_ = site(m, "goal");
    door_qpos_ = joint_qpos(m, "doorjoint");
    door_dof_ = joint_dof(m, "doorjoint");
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * door_);
  }
  // _get_pos_objects: data.geom("handle").xpos; _get_quat_objects: scipy's quaternion of its xmat
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, geom_pos(d, handle_geom_), geom_quat(d, handle_geom_));
  }
  // _set_obj_xyz(angle): the door joint at `angle`, its velocity zero, set_state
  void set_door(const mjModel* m, mjData* d, double angle) const {
    d->qpos[door_qpos_] = angle;
    d->qvel[door_dof_] = 0;
    mj_forward(m, d);
  }
  // reset_model's common part: the hand reset, the door at the task's position, the goal site
  // at target = obj_init_pos + goal_offset, the door joint at `angle`.
  void reset_door(mjModel* m, mjData* d, SawyerState& s, const Vec3& goal_offset, double angle) const {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    s.target_pos = s.obj_init_pos + goal_offset;
    put3(m->body_pos + 3 * door_, s.obj_init_pos);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    set_door(m, d, angle);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  int door_ = -1, handle_geom_ = -1, goal_site_ = -1, door_qpos_ = -1, door_dof_ = -1;
};

// door-close-v3 (sawyer_door_close_v3.py): close the open door. Quirks: hand_init_pos is a
// float32 array that the reward subtracts (widened); evaluate_state reports compute_reward's
// hand_in_place as "in_place_reward".
class DoorCloseV3 final : public DoorBase {
 public:
  DoorCloseV3() : DoorBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.hand_init_pos = {f32(-0.5f), f32(0.6f), f32(0.2f)};
    c.goal_low = {0.2, 0.65, 0.1499};
    c.goal_high = {0.3, 0.75, 0.1501};
    return c;
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    // keep the door open after resetting initial positions
    reset_door(m, d, s, {0.2, -0.2, 0.0}, -1.5708);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    constexpr double kRadius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const Vec3& target = s.target_pos;
    const double tcp_to_target = np_norm(tcp - target);
    const double obj_to_target = np_norm(obj - target);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    const double in_place = tolerance(obj_to_target, 0, kRadius, in_place_margin, Sigmoid::kGaussian);
    const double hand_margin = np_norm(s.hand_init_pos - obj) + 0.1;
    const double hand_in_place = tolerance(tcp_to_target, 0, 0.25 * kRadius, hand_margin, Sigmoid::kGaussian);
    double reward = 3 * hand_in_place + 6 * in_place;
    if (obj_to_target < kRadius) reward = 10;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.08;
    e.near_object = 0.0;
    e.grasp_success = 1.0;
    e.grasp_reward = 1.0;
    e.in_place_reward = hand_in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }
};

// door-open-v3 (sawyer_door_v3.py): pull the door open. _target_site_config is empty.
class DoorOpenV3 final : public DoorBase {
 public:
  DoorOpenV3() : DoorBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.3, 0.4, 0.1499};
    c.goal_high = {-0.2, 0.5, 0.1501};
    return c;
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_door(m, d, s, {-0.3, -0.45, 0.0}, 0.0);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const double theta = d->qpos[door_qpos_];
    const double reward_grab = (np_clip(action[3], -1, 1) + 1.0) / 2.0;
    // _reward_pos(obs, theta)
    const Vec3 hand = vec3(obs);
    const Vec3 door = vec3(obs + 4) + Vec3{-0.05, 0, 0};
    constexpr double threshold = 0.12;
    // floor is a 3D funnel centered on the door handle
    const double radius = np_norm2(hand[0] - door[0], hand[1] - door[1]);
    const double floor = radius <= threshold ? 0.0 : 0.04 * np_log(radius - threshold) + 0.4;
    const double above_floor =
        hand[2] >= floor ? 1.0 : long_tail(floor - hand[2], 0.0, 0.01, floor / 2.0);
    const double in_place = long_tail(np_norm(hand - door - Vec3{0.05, 0.03, -0.01}), 0, threshold / 2.0, 0.5);
    const double ready_to_open = hamacher_product(above_floor, in_place);
    const double door_angle = -theta;
    constexpr double a = 0.2, b = 0.8;
    const double opened = a * static_cast<double>(theta < -kPi / 90.0) +
                          b * long_tail(kPi / 2.0 + kPi / 6 - door_angle, 0, 0.5, kPi / 3.0);
    // sum((2.0 * hamacher_product(...), 8.0 * opened)): 0 + x + y
    double reward = (0.0 + 2.0 * hamacher_product(ready_to_open, reward_grab)) + 8.0 * opened;
    const bool success = std::abs(obs[4] - s.target_pos[0]) <= 0.08;
    if (success) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = ready_to_open;
    e.grasp_success = reward_grab >= 0.5;
    e.grasp_reward = reward_grab;
    e.in_place_reward = opened;
    e.obj_to_target = 0;
    return e;
  }
};

// ---- door lock and unlock: sawyer_door_lock.xml
class LockBase : public SawyerEnv {
 protected:
  using SawyerEnv::SawyerEnv;

  void configure_env(const mjModel* m) override {
    door_ = body(m, "door");
    door_link_ = body(m, "door_link");
    lock_link_ = body(m, "lock_link");
    lock_site_ = site(m, lock_site_name());
  }
  virtual const char* lock_site_name() const = 0;
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * door_);
  }
  // _get_pos_objects: the lock's start site; _get_quat_objects: data.body("door_link").xquat
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, site_pos(d, lock_site_), body_quat(d, door_link_));
  }

  int door_ = -1, door_link_ = -1, lock_link_ = -1, lock_site_ = -1;
};

// door-lock-v3 (sawyer_door_lock_v3.py): push the lock down. Quirks: reset_model steps the
// physics frame_skip times after moving the door (mj_step, the controls of the hand reset);
// obj_init_pos is a view of data.body("lock_link").xpos (unused by the v2 reward); the reward's
// tcp_to_obj_init uses init_left_pad, a view of the left pad, so it equals tcp_to_obj.
class DoorLockV3 final : public LockBase {
 public:
  DoorLockV3() : LockBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config(-0.15);
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    return c;
  }
  const char* lock_site_name() const override { return "lockStartLock"; }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * door_);
    for (int i = 0; i < kFrameSkip; ++i) mj_step(m, d);
    s.obj_init_pos = body_com(d, lock_link_);
    s.target_pos = s.obj_init_pos + Vec3{0.0, -0.04, -0.1};
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3 tcp = init_left_pad(d);  // get_body_com("leftpad")
    const Vec3 scale{0.25, 1.0, 0.5};
    const double tcp_to_obj = np_norm((obj - tcp) * scale);
    const double tcp_to_obj_init = np_norm((obj - init_left_pad(d)) * scale);
    const double obj_to_target = std::abs(s.target_pos[2] - obj[2]);
    const double tcp_opened = std::max(obs[3], 0.0);
    const double near_lock = long_tail(tcp_to_obj, 0, 0.01, tcp_to_obj_init);
    const double lock_pressed = long_tail(obj_to_target, 0, 0.005, /*_lock_length=*/0.1);
    double reward = 2 * hamacher_product(tcp_opened, near_lock);
    reward += 8 * lock_pressed;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.02;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = obs[3] > 0;
    e.grasp_reward = near_lock;
    e.in_place_reward = lock_pressed;
    e.obj_to_target = obj_to_target;
    return e;
  }
};

// door-unlock-v3 (sawyer_door_unlock_v3.py): push the lock sideways open. Quirk: obj_init_pos is a
// view of data.body("lock_link").xpos, so the reward's shoulder_to_lock_init follows the lock.
class DoorUnlockV3 final : public LockBase {
 public:
  DoorUnlockV3() : LockBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config(-0.15);
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {0.0, 0.64, 0.2100};
    c.goal_high = {0.2, 0.7, 0.2111};
    return c;
  }
  const char* lock_site_name() const override { return "lockStartUnlock"; }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * door_);
    // _set_obj_xyz(1.5708): qpos[9], qvel[9] = 0, set_state
    d->qpos[9] = 1.5708;
    d->qvel[9] = 0;
    mj_forward(m, d);
    s.obj_init_pos = body_com(d, lock_link_);
    s.target_pos = s.obj_init_pos + Vec3{0.1, -0.04, 0.0};
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 gripper = vec3(obs);
    const Vec3 lock = vec3(obs + 4);
    // offset to track the gripper's shoulder rather than the fingers
    const Vec3 offset{0.0, 0.055, 0.07};
    const Vec3 scale{0.25, 1.0, 0.5};
    const Vec3 shoulder_to_lock = (gripper + offset - lock) * scale;
    const Vec3 obj_init_pos = body_com(d, lock_link_);  // a view of the lock's current position
    const Vec3 shoulder_to_lock_init = (s.init_tcp + offset - obj_init_pos) * scale;
    const double ready_to_push = long_tail(np_norm(shoulder_to_lock), 0, 0.02, np_norm(shoulder_to_lock_init));
    const double obj_to_target = std::abs(s.target_pos[0] - lock[0]);
    const double pushed = long_tail(obj_to_target, 0, 0.005, /*_lock_length=*/0.1);
    const double reward = 2 * ready_to_push + 8 * pushed;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.02;
    e.near_object = np_norm(shoulder_to_lock) <= 0.05;
    e.grasp_success = obs[3] > 0;
    e.grasp_reward = ready_to_push;
    e.in_place_reward = pushed;
    e.obj_to_target = obj_to_target;
    return e;
  }
};

// ---- drawers: sawyer_drawer.xml
class DrawerBase : public SawyerEnv {
 protected:
  using SawyerEnv::SawyerEnv;

  static SawyerConfig drawer_config() {
    SawyerConfig c = base_config();
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    return c;
  }
  void configure_env(const mjModel* m) override {
    drawer_ = body(m, "drawer");
    drawer_link_ = body(m, "drawer_link");
    goal_site_ = site(m, "goal");
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * drawer_);
  }

  int drawer_ = -1, drawer_link_ = -1, goal_site_ = -1;
};

// drawer-close-v3 (sawyer_drawer_close_v3.py): push the open drawer shut. Quirks: the class
// attribute `_TARGET_RADIUS = 0.04` is never read; the reward and success read `self.TARGET_RADIUS`,
// the base class's 0.05; its _set_obj_xyz sets qpos[9] and keeps qvel.
class DrawerCloseV3 final : public DrawerBase {
 public:
  DrawerCloseV3() : DrawerBase(make_config()) {}

 private:
  static constexpr double kTargetRadius = 0.05;  // SawyerXYZEnv.TARGET_RADIUS (not _TARGET_RADIUS = 0.04)
  static constexpr double kMaxDist = 0.15;
  static SawyerConfig make_config() {
    SawyerConfig c = drawer_config();
    c.target_radius = kTargetRadius;
    return c;
  }

  Vec3 pos_objects(const mjData* d) const { return body_com(d, drawer_link_) + Vec3{0.0, -0.16, 0.05}; }
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, pos_objects(d), Quat{0, 0, 0, 0});
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const Vec3 pos = vec3(s.rand_vec);
    put3(m->body_pos + 3 * drawer_, pos);
    s.target_pos = pos + Vec3{0.0, -0.16, 0.09};
    // pull the drawer out all the way and mark its starting position
    d->qpos[9] = -kMaxDist;
    mj_forward(m, d);
    s.obj_init_pos = pos_objects(d);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3 tcp = tcp_center(d);
    const Vec3 target = s.target_pos;
    const double target_to_obj = np_norm(obj - target);
    const double target_to_obj_init = np_norm(s.obj_init_pos - target);
    const double in_place =
        long_tail(target_to_obj, 0, kTargetRadius, std::abs(target_to_obj_init - kTargetRadius));
    constexpr double handle_reach_radius = 0.005;
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(s.obj_init_pos - s.init_tcp);
    double reach = tolerance(tcp_to_obj, 0, handle_reach_radius, std::abs(tcp_to_obj_init - handle_reach_radius),
                             Sigmoid::kGaussian);
    const double gripper_closed = std::min(std::max(0.0, action[3]), 1.0);
    reach = hamacher_product(reach, gripper_closed);
    double reward = hamacher_product(reach, in_place);
    const bool success = target_to_obj <= kTargetRadius + 0.015;
    if (success) reward = 1.0;
    reward *= 10;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = tcp_to_obj <= 0.01;
    e.grasp_success = 1.0;
    e.grasp_reward = reach;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }
};

// drawer-open-v3 (sawyer_drawer_open_v3.py): pull the drawer open. Its reset moves the drawer
// without an mj_forward; the first observation reads the hand reset's kinematics.
class DrawerOpenV3 final : public DrawerBase {
 public:
  DrawerOpenV3() : DrawerBase(drawer_config()) {}

 private:
  static constexpr double kMaxDist = 0.2;

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, drawer_link_) + Vec3{0.0, -0.16, 0.0}, body_quat(d, drawer_link_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    put3(m->body_pos + 3 * drawer_, s.obj_init_pos);
    // the drawer's closed position minus an offset
    s.target_pos = s.obj_init_pos + Vec3{0.0, -0.16 - kMaxDist, 0.09};
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData*, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 gripper = vec3(obs);
    const Vec3 handle = vec3(obs + 4);
    const double handle_error = np_norm(handle - s.target_pos);
    const double reward_for_opening = long_tail(handle_error, 0, 0.02, kMaxDist);
    const Vec3 handle_pos_init = s.target_pos + Vec3{0.0, kMaxDist, 0.0};
    const Vec3 scale{3.0, 3.0, 1.0};
    const Vec3 gripper_error = (handle - gripper) * scale;
    const Vec3 gripper_error_init = (handle_pos_init - s.init_tcp) * scale;
    const double reward_for_caging = long_tail(np_norm(gripper_error), 0, 0.01, np_norm(gripper_error_init));
    double reward = reward_for_caging + reward_for_opening;
    reward *= 5.0;
    Evaluation e;
    e.reward = reward;
    e.success = handle_error <= 0.03;
    e.near_object = np_norm(handle - gripper) <= 0.03;
    e.grasp_success = obs[3] > 0;
    e.grasp_reward = reward_for_caging;
    e.in_place_reward = reward_for_opening;
    e.obj_to_target = handle_error;
    return e;
  }
};

// ---- faucets: sawyer_faucet.xml
class FaucetBase : public SawyerEnv {
 protected:
  FaucetBase(double direction) : SawyerEnv(make_config()), direction_(direction) {}
  static constexpr double kHandleLength = 0.175;
  static constexpr double kTargetRadius = 0.07;
  static SawyerConfig make_config() {
    SawyerConfig c = base_config(-0.15);
    c.hand_init_pos = {0.0, 0.4, 0.2};
    c.target_radius = kTargetRadius;
    return c;
  }
  virtual const char* handle_site_name() const = 0;
  virtual const char* goal_site_name() const = 0;
  void configure_env(const mjModel* m) override {
    faucet_ = body(m, "faucetBase");
    handle_site_ = site(m, handle_site_name());
    goal_site_ = site(m, goal_site_name());
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * faucet_);
  }
  // _get_pos_objects: the handle's start site lowered by 0.01; _get_quat_objects: faucetBase's xquat
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, site_pos(d, handle_site_) + Vec3{0.0, 0.0, -0.01}, body_quat(d, faucet_));
  }
  // reset_model: the faucet at the task's position, the goal a handle's length to the side;
  // faucet-close runs mj_forward before writing the goal site, faucet-open does not.
  void reset_faucet(mjModel* m, mjData* d, SawyerState& s, bool forward) const {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    put3(m->body_pos + 3 * faucet_, s.obj_init_pos);
    s.target_pos = s.obj_init_pos + Vec3{direction_ * kHandleLength, 0.0, 0.125};
    if (forward) mj_forward(m, d);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }
  // compute_reward (v2) with obj = obs[4:7] + obj_offset
  Evaluation faucet_reward(const mjData* d, const SawyerState& s, const double* obs, const Vec3* obj_offset) const {
    const Vec3 obj = obj_offset ? vec3(obs + 4) + *obj_offset : vec3(obs + 4);
    const Vec3 tcp = tcp_center(d);
    const Vec3 target = s.target_pos;
    const double target_to_obj = np_norm(obj - target);
    const double target_to_obj_init = np_norm(s.obj_init_pos - target);
    const double in_place =
        long_tail(target_to_obj, 0, kTargetRadius, std::abs(target_to_obj_init - kTargetRadius));
    constexpr double faucet_reach_radius = 0.01;
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(s.obj_init_pos - s.init_tcp);
    const double reach = tolerance(tcp_to_obj, 0, faucet_reach_radius,
                                   std::abs(tcp_to_obj_init - faucet_reach_radius), Sigmoid::kGaussian);
    double reward = 2 * reach + 3 * in_place;
    reward *= 2;
    reward = target_to_obj <= kTargetRadius ? 10 : reward;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= 0.07;
    e.near_object = tcp_to_obj <= 0.01;
    e.grasp_success = 1.0;
    e.grasp_reward = reach;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  double direction_;
  int faucet_ = -1, handle_site_ = -1, goal_site_ = -1;
};

// faucet-open-v3 (sawyer_faucet_open_v3.py): turn the faucet's handle to the right. Its reset
// reads the hand reset's kinematics (no mj_forward after moving the faucet); its reward offsets
// the handle position by (−0.04, 0, 0.03).
class FaucetOpenV3 final : public FaucetBase {
 public:
  FaucetOpenV3() : FaucetBase(+1.0) {}

 private:
  const char* handle_site_name() const override { return "handleStartOpen"; }
  const char* goal_site_name() const override { return "goal_open"; }
  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override { reset_faucet(m, d, s, false); }
  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 offset{-0.04, 0.0, 0.03};
    return faucet_reward(d, s, obs, &offset);
  }
};

// faucet-close-v3 (sawyer_faucet_close_v3.py): turn the faucet's handle to the left.
class FaucetCloseV3 final : public FaucetBase {
 public:
  FaucetCloseV3() : FaucetBase(-1.0) {}

 private:
  const char* handle_site_name() const override { return "handleStartClose"; }
  const char* goal_site_name() const override { return "goal_close"; }
  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override { reset_faucet(m, d, s, true); }
  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    return faucet_reward(d, s, obs, nullptr);
  }
};

// ---- windows: sawyer_window_horizontal.xml
class WindowBase : public SawyerEnv {
 protected:
  static constexpr double kTargetRadius = 0.05;
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.hand_init_pos = {f32(0.0f), f32(0.4f), f32(0.2f)};
    c.target_radius = kTargetRadius;
    return c;
  }
  WindowBase() : SawyerEnv(make_config()) {}
  enum Cache { kWindowHandlePosInit = 0 };  // cache_vec: window_handle_pos_init

  virtual const char* handle_site_name() const = 0;
  void configure_env(const mjModel* m) override {
    window_ = body(m, "window");
    handle_site_ = site(m, handle_site_name());
    goal_site_ = site(m, "goal");
    slide_qpos_ = joint_qpos(m, "window_slide");
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * window_);
  }
  // _get_pos_objects: the handle's site; _get_quat_objects: zeros
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, site_pos(d, handle_site_), Quat{0, 0, 0, 0});
  }
  // reset_model: the window at the task's position; window_handle_pos_init from the hand reset's
  // kinematics (no mj_forward) plus `handle_offset`; the slide joint's qpos written without a
  // forward pass (its velocity kept).
  void reset_window(mjModel* m, mjData* d, SawyerState& s, const Vec3& goal_offset, const Vec3* handle_offset,
                    double slide) const {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    s.target_pos = s.obj_init_pos + goal_offset;
    put3(m->body_pos + 3 * window_, s.obj_init_pos);
    const Vec3 handle = site_pos(d, handle_site_);
    s.cache_vec[kWindowHandlePosInit] = handle_offset ? handle + *handle_offset : handle;
    d->qpos[slide_qpos_] = slide;
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }
  Evaluation window_reward(const mjData* d, const SawyerState& s, double target_to_obj_init_x,
                           Sigmoid reach_sigmoid) const {
    const Vec3 obj = site_pos(d, handle_site_);
    const Vec3 tcp = tcp_center(d);
    const Vec3 target = s.target_pos;
    const double target_to_obj = np_norm1(obj[0] - target[0]);
    const double target_to_obj_init = np_norm1(target_to_obj_init_x);
    const double in_place =
        long_tail(target_to_obj, 0, kTargetRadius, std::abs(target_to_obj_init - kTargetRadius));
    constexpr double handle_radius = 0.02;
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(s.cache_vec[kWindowHandlePosInit] - s.init_tcp);
    const double reach =
        tolerance(tcp_to_obj, 0, handle_radius, std::abs(tcp_to_obj_init - handle_radius), reach_sigmoid);
    Evaluation e;
    e.reward = 10 * hamacher_product(reach, in_place);
    e.success = target_to_obj <= kTargetRadius;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = 1.0;
    e.grasp_reward = reach;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int window_ = -1, handle_site_ = -1, goal_site_ = -1, slide_qpos_ = -1;
};

// window-open-v3 (sawyer_window_open_v3.py): slide the window open.
class WindowOpenV3 final : public WindowBase {
  const char* handle_site_name() const override { return "handleOpenStart"; }
  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_window(m, d, s, {0.2, 0.0, 0.0}, nullptr, 0.0);
  }
  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double*) const override {
    return window_reward(d, s, s.obj_init_pos[0] - s.target_pos[0], Sigmoid::kLongTail);
  }
};

// window-close-v3 (sawyer_window_close_v3.py): slide the open window shut.
class WindowCloseV3 final : public WindowBase {
  const char* handle_site_name() const override { return "handleCloseStart"; }
  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    const Vec3 handle_offset{0.2, 0.0, 0.0};
    reset_window(m, d, s, {0.0, 0.0, 0.0}, &handle_offset, 0.2);
  }
  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double*) const override {
    return window_reward(d, s, s.cache_vec[kWindowHandlePosInit][0] - s.target_pos[0], Sigmoid::kGaussian);
  }
};

// dial-turn-v3 (sawyer_dial_turn_v3.py): turn the dial. The object position is a point on the
// dial's rim (glibc sin/cos of the knob's angle). Its reset reads the hand reset's kinematics (no
// mj_forward after moving the dial).
class DialTurnV3 final : public SawyerEnv {
 public:
  DialTurnV3() : SawyerEnv(make_config()) {}

 private:
  static constexpr double kTargetRadius = 0.07;
  enum Cache { kDialPushPosition = 0 };  // cache_vec: dial_push_position
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {-0.1, 0.73, 0.0299};
    c.goal_high = {0.1, 0.83, 0.0301};
    c.target_radius = kTargetRadius;
    return c;
  }

  void configure_env(const mjModel* m) override {
    dial_ = body(m, "dial");
    goal_site_ = site(m, "goal");
    knob_qpos_ = joint_qpos(m, "knob_Joint_1");
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * dial_);
  }

  Vec3 pos_objects(const mjData* d) const {
    const Vec3 dial_center = body_com(d, dial_);
    const double angle = d->qpos[knob_qpos_];
    Vec3 offset{np_sin(angle), -np_cos(angle), 0.0};
    constexpr double dial_radius = 0.05;
    offset = offset * dial_radius;
    return dial_center + offset;
  }
  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, pos_objects(d), body_quat(d, dial_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const Vec3 goal_pos = vec3(s.rand_vec);
    s.obj_init_pos = goal_pos;
    s.target_pos = goal_pos + Vec3{0, 0.03, 0.03};
    put3(m->body_pos + 3 * dial_, s.obj_init_pos);
    s.cache_vec[kDialPushPosition] = pos_objects(d) + Vec3{0.05, 0.02, 0.09};
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double* action) const override {
    const Vec3 obj = pos_objects(d);
    const Vec3 dial_push_position = pos_objects(d) + Vec3{0.05, 0.02, 0.09};
    const Vec3 tcp = tcp_center(d);
    const Vec3 target = s.target_pos;
    const Vec3& push_init = s.cache_vec[kDialPushPosition];
    const double target_to_obj = np_norm(obj - target);
    const double target_to_obj_init = np_norm(push_init - target);
    const double in_place =
        long_tail(target_to_obj, 0, kTargetRadius, std::abs(target_to_obj_init - kTargetRadius));
    constexpr double dial_reach_radius = 0.005;
    const double tcp_to_obj = np_norm(dial_push_position - tcp);
    const double tcp_to_obj_init = np_norm(push_init - s.init_tcp);
    double reach = tolerance(tcp_to_obj, 0, dial_reach_radius, std::abs(tcp_to_obj_init - dial_reach_radius),
                             Sigmoid::kGaussian);
    const double gripper_closed = std::min(std::max(0.0, action[3]), 1.0);
    reach = hamacher_product(reach, gripper_closed);
    Evaluation e;
    e.reward = 10 * hamacher_product(reach, in_place);
    e.success = target_to_obj <= kTargetRadius;
    e.near_object = tcp_to_obj <= 0.01;
    e.grasp_success = 1.0;
    e.grasp_reward = reach;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int dial_ = -1, goal_site_ = -1, knob_qpos_ = -1;
};

}  // namespace

std::vector<SawyerEnvDef> articulated_envs() {
  return {
      {"door-close-v3", "sawyer_xyz/sawyer_door_pull.xml", make_env<DoorCloseV3>},
      {"door-lock-v3", "sawyer_xyz/sawyer_door_lock.xml", make_env<DoorLockV3>},
      {"door-open-v3", "sawyer_xyz/sawyer_door_pull.xml", make_env<DoorOpenV3>},
      {"door-unlock-v3", "sawyer_xyz/sawyer_door_lock.xml", make_env<DoorUnlockV3>},
      {"drawer-close-v3", "sawyer_xyz/sawyer_drawer.xml", make_env<DrawerCloseV3>},
      {"drawer-open-v3", "sawyer_xyz/sawyer_drawer.xml", make_env<DrawerOpenV3>},
      {"faucet-open-v3", "sawyer_xyz/sawyer_faucet.xml", make_env<FaucetOpenV3>},
      {"faucet-close-v3", "sawyer_xyz/sawyer_faucet.xml", make_env<FaucetCloseV3>},
      {"window-open-v3", "sawyer_xyz/sawyer_window_horizontal.xml", make_env<WindowOpenV3>},
      {"window-close-v3", "sawyer_xyz/sawyer_window_horizontal.xml", make_env<WindowCloseV3>},
      {"dial-turn-v3", "sawyer_xyz/sawyer_dial.xml", make_env<DialTurnV3>},
  };
}

}  // namespace metarl::metaworld
