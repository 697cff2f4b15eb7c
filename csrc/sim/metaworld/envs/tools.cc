// Meta-World v3 environments: assembly, disassemble, hammer, peg-insert-side, peg-unplug-side,
// stick-push, stick-pull, basketball, box-close, shelf-place, soccer
// (metaworld/envs/sawyer_*_v3.py). Each class mirrors its Python class: constructor values,
// reset_model, _get_pos_objects / _get_quat_objects, compute_reward (v2) and evaluate_state.
//
// Shared quirks of this group:
//  * Several reset_models loop `while <object and goal too close>: goal_pos = _get_state_rand_vec()`.
//    With a task set, the rand_vec is frozen, so Meta-World would loop forever on such a task;
//    here the reset throws MetaWorldError instead (no benchmark task comes close).
//  * A float32 `hand_init_pos` / `obj_init_pos` of the Python class (np.array(..., dtype=np.float32))
//    is written into float64 data as the float32 value: those constants are written `f32(x)`.
#include <algorithm>
#include <cmath>
#include <string>

#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {
namespace {

// np.linalg.norm(obs[7:11] - ideal): the observation's first quaternion against an ideal one.
double quat_error(const double* obs, const Quat& ideal) {
  const double diff[4] = {obs[7] - ideal[0], obs[8] - ideal[1], obs[9] - ideal[2], obs[10] - ideal[3]};
  return np_norm(diff, 4);
}

// ---- assembly-v3 (sawyer_assembly_peg_v3.py, SawyerNutAssemblyEnvV3): put the nut on the peg.
// obj_init_pos and _target_pos are slices of the task's rand_vec; the peg body and its pegTop
// site move with the task. _get_id_main_object (model.geom_name2id) is never reached by the v2
// reward.
class AssemblyV3 final : public SawyerEnv {
 public:
  AssemblyV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {-0.1, 0.75, 0.1};
    c.goal_high = {0.1, 0.85, 0.1};
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kWrenchHandleLength = 0.02;

  void configure_env(const mjModel* m) override {
    nut_ = body(m, "RoundNut");
    peg_ = body(m, "peg");
    nut_site_ = site(m, "RoundNut");
    nut8_site_ = site(m, "RoundNut-8");
    peg_top_site_ = site(m, "pegTop");
    wrench_geom_ = geom(m, "WrenchHandle");
  }
  int main_object_geom() const override { return wrench_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, nut8_site_), body_quat(d, nut_));
    return 7;
  }

  void place(mjModel* m, const Vec3& target) const {
    const Vec3 peg_pos = target - Vec3{0.0, 0.0, 0.05};
    put3(m->body_pos + 3 * peg_, peg_pos);
    put3(m->site_pos + 3 * peg_top_site_, target);
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override { place(m, vec3(s.rand_vec + 3)); }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.1);
    s.obj_init_pos = vec3(s.rand_vec);
    s.target_pos = vec3(s.rand_vec + 3);
    set_obj_xyz(m, d, s.obj_init_pos);
    place(m, s.target_pos);  // after the forward pass: the data does not see the peg move yet
    get_obs(m, d, s);
  }

  // _reward_pos(wrench_center, target_pos) -> (in_place, success)
  static double reward_pos(const Vec3& wrench_center, const Vec3& target_pos, bool& success) {
    Vec3 pos_error = target_pos - wrench_center;
    const double radius = np_norm2(pos_error[0], pos_error[1]);
    const bool aligned = radius < 0.02;
    const bool hooked = pos_error[2] > 0.0;
    success = aligned && hooked;
    const double threshold = success ? 0.02 : 0.01;
    double target_height = 0.0;
    if (radius > threshold) target_height = 0.02 * np_log(radius - threshold) + 0.2;
    pos_error[2] = target_height - wrench_center[2];
    const Vec3 scaled = pos_error * Vec3{1.0, 1.0, 3.0};
    const double a = 0.1, b = 0.9;
    const bool lifted = wrench_center[2] > 0.02 || radius < threshold;
    return a * static_cast<double>(lifted) + b * long_tail(np_norm(scaled), 0, 0.02, 0.4);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 hand = vec3(obs);
    const Vec3 wrench = vec3(obs + 4);
    const Vec3 wrench_center = site_pos(d, nut_site_);
    Vec3 wrench_threshed = wrench;
    const double threshold = kWrenchHandleLength / 2.0;
    if (std::abs(wrench[0] - hand[0]) < threshold) wrench_threshed[0] = hand[0];
    const double reward_quat = std::max(1.0 - quat_error(obs, {0.707, 0, 0, 0.707}) / 0.4, 0.0);
    const double reward_grab =
        gripper_caging_reward(d, action, wrench_threshed, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.02, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/false, /*medium_density=*/true);
    bool success = false;
    const double reward_in_place = reward_pos(wrench_center, s.target_pos, success);
    double reward = (2.0 * reward_grab + 6.0 * reward_in_place) * reward_quat;
    if (success) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = reward_quat;
    e.grasp_success = reward_grab >= 0.5;
    e.grasp_reward = reward_grab;
    e.in_place_reward = reward_in_place;
    e.obj_to_target = 0;
    return e;
  }

  int nut_ = -1, peg_ = -1, nut_site_ = -1, nut8_site_ = -1, peg_top_site_ = -1, wrench_geom_ = -1;
};

// ---- disassemble-v3 (sawyer_disassemble_peg_v3.py, SawyerNutDisassembleEnvV3): lift the nut off
// the peg. The peg and its pegTop site move with the nut's placement (before a forward pass).
class DisassembleV3 final : public SawyerEnv {
 public:
  DisassembleV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {f32(0.0f), f32(0.4f), f32(0.2f)};
    c.goal_low = {-0.1 + 0.0, 0.6 + 0.0, 0.1699 + 0.005};
    c.goal_high = {0.1 + 0.0, 0.75 + 0.0, 0.1701 + 0.005};
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kWrenchHandleLength = 0.02;

  void configure_env(const mjModel* m) override {
    nut_ = body(m, "RoundNut");
    peg_ = body(m, "peg");
    nut_site_ = site(m, "RoundNut");
    nut8_site_ = site(m, "RoundNut-8");
    peg_top_site_ = site(m, "pegTop");
    wrench_geom_ = geom(m, "WrenchHandle");
  }
  int main_object_geom() const override { return wrench_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, nut8_site_), body_quat(d, nut_));
    return 7;
  }

  void place(mjModel* m, const Vec3& obj_init_pos) const {
    put3(m->body_pos + 3 * peg_, obj_init_pos + Vec3{0.0, 0.0, 0.03});
    put3(m->site_pos + 3 * peg_top_site_, obj_init_pos + Vec3{0.0, 0.0, 0.08});
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override { place(m, vec3(s.rand_vec)); }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.1);
    s.obj_init_pos = vec3(s.rand_vec);
    s.target_pos = vec3(s.rand_vec) + Vec3{0, 0, 0.15};
    place(m, s.obj_init_pos);
    mj_forward(m, d);
    set_obj_xyz(m, d, s.obj_init_pos);
    get_obs(m, d, s);
  }

  static double reward_pos(const Vec3& wrench_center, const Vec3& target_pos) {
    const Vec3 pos_error = (target_pos + Vec3{0.0, 0.0, 0.1}) - wrench_center;
    const double a = 0.1, b = 0.9;
    const bool lifted = wrench_center[2] > 0.02;
    return a * static_cast<double>(lifted) + b * long_tail(np_norm(pos_error), 0, 0.02, 0.2);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 hand = vec3(obs);
    const Vec3 wrench = vec3(obs + 4);
    const Vec3 wrench_center = site_pos(d, nut_site_);
    Vec3 wrench_threshed = wrench;
    const double threshold = kWrenchHandleLength / 2.0;
    if (std::abs(wrench[0] - hand[0]) < threshold) wrench_threshed[0] = hand[0];
    const double reward_quat = std::max(1.0 - quat_error(obs, {0.707, 0, 0, 0.707}) / 0.4, 0.0);
    const double reward_grab =
        gripper_caging_reward(d, action, wrench_threshed, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.02, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    const double reward_in_place = reward_pos(wrench_center, s.target_pos);
    double reward = (2.0 * reward_grab + 6.0 * reward_in_place) * reward_quat;
    const bool success = obs[6] > s.target_pos[2];
    if (success) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = reward_quat;
    e.grasp_success = reward_grab >= 0.5;
    e.grasp_reward = reward_grab;
    e.in_place_reward = reward_in_place;
    e.obj_to_target = 0;
    return e;
  }

  int nut_ = -1, peg_ = -1, nut_site_ = -1, nut8_site_ = -1, peg_top_site_ = -1, wrench_geom_ = -1;
};

// ---- hammer-v3 (sawyer_hammer_v3.py): hammer the nail in. _target_pos is the goal site's
// position (a copy) read after the hand reset; the box is written back to its XML position.
// Success is the nail joint's position; the v2 reward never reaches _get_id_main_object.
class HammerV3 final : public SawyerEnv {
 public:
  HammerV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.4, 0.2};
    c.goal_low = {0.2399, 0.7399, 0.109};
    c.goal_high = {0.2401, 0.7401, 0.111};
    c.rand_vec_size = 3;
    return c;
  }
  static constexpr double kHammerHandleLength = 0.14;
  static constexpr Vec3 kBoxPos{0.24, 0.85, 0.0};

  void configure_env(const mjModel* m) override {
    hammer_ = body(m, "hammer");
    nail_ = body(m, "nail_link");
    box_ = body(m, "box");
    goal_site_ = site(m, "goal");
    nail_qpos_ = joint_qpos(m, "NailSlideJoint");
    handle_geom_ = geom(m, "HammerHandle");
  }
  int main_object_geom() const override { return handle_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, body_com(d, hammer_), body_quat(d, hammer_));
    put_object(out + 7, body_com(d, nail_), body_quat(d, nail_));
    return 14;
  }

  void set_task_model(mjModel* m, const SawyerState&) const override { put3(m->body_pos + 3 * box_, kBoxPos); }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    put3(m->body_pos + 3 * box_, kBoxPos);
    s.target_pos = site_pos(d, goal_site_);
    s.obj_init_pos = vec3(s.rand_vec);  // hammer_init_pos
    set_obj_xyz(m, d, s.obj_init_pos);  // _set_hammer_xyz
    get_obs(m, d, s);
  }

  static double reward_pos(const Vec3& hammer_head, const Vec3& target_pos) {
    const Vec3 pos_error = target_pos - hammer_head;
    const double a = 0.1, b = 0.9;
    const bool lifted = hammer_head[2] > 0.02;
    return a * static_cast<double>(lifted) + b * long_tail(np_norm(pos_error), 0, 0.02, 0.2);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 hand = vec3(obs);
    const Vec3 hammer = vec3(obs + 4);
    const Vec3 hammer_head = hammer + Vec3{0.16, 0.06, 0.0};
    Vec3 hammer_threshed = hammer;
    const double threshold = kHammerHandleLength / 2.0;
    if (std::abs(hammer[0] - hand[0]) < threshold) hammer_threshed[0] = hand[0];
    const double reward_quat = std::max(1.0 - quat_error(obs, {1.0, 0.0, 0.0, 0.0}) / 0.4, 0.0);
    const double reward_grab =
        gripper_caging_reward(d, action, hammer_threshed, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.02, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    const double reward_in_place = reward_pos(hammer_head, s.target_pos);
    double reward = (2.0 * reward_grab + 6.0 * reward_in_place) * reward_quat;
    const bool success = d->qpos[nail_qpos_] > 0.09;
    if (success && reward > 5.0) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = reward_quat;
    e.grasp_success = reward_grab >= 0.5;
    e.grasp_reward = reward_grab;
    e.in_place_reward = reward_in_place;
    e.obj_to_target = 0;
    return e;
  }

  int hammer_ = -1, nail_ = -1, box_ = -1, goal_site_ = -1, nail_qpos_ = -1, handle_geom_ = -1;
};

// ---- peg-insert-side-v3 (sawyer_peg_insertion_side_v3.py): insert the peg into the box's hole.
// peg_head_pos_init is the pegHead site read after the hand reset, before the peg is placed (where
// the hand reset's physics left the peg). The box moves with the task (after the forward pass).
class PegInsertSideV3 final : public SawyerEnv {
 public:
  PegInsertSideV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.35 + 0.03, 0.4 + 0.0, -0.001 + 0.13};
    c.goal_high = {-0.25 + 0.03, 0.7 + 0.0, 0.001 + 0.13};
    c.target_radius = 0.07;
    c.rand_vec_size = 6;
    return c;
  }
  enum CacheVec { kPegHeadPosInit };

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    goal_site_ = site(m, "goal");
    peg_grasp_site_ = site(m, "pegGrasp");
    peg_head_site_ = site(m, "pegHead");
    brc1_ = site(m, "bottom_right_corner_collision_box_1");
    tlc1_ = site(m, "top_left_corner_collision_box_1");
    brc2_ = site(m, "bottom_right_corner_collision_box_2");
    tlc2_ = site(m, "top_left_corner_collision_box_2");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    const Quat q = scipy_quat_from_xmat(d->site_xmat + 9 * peg_grasp_site_);
    put_object(out, site_pos(d, peg_grasp_site_), q);
    return 7;
  }

  void place(mjModel* m, const Vec3& pos_box) const {
    put3(m->body_pos + 3 * box_, pos_box);
    put3(m->site_pos + 3 * goal_site_, pos_box + Vec3{0.03, 0.0, 0.13});
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override { place(m, vec3(s.rand_vec + 3)); }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.1);
    const Vec3 pos_peg = vec3(s.rand_vec), pos_box = vec3(s.rand_vec + 3);
    s.obj_init_pos = pos_peg;
    s.cache_vec[kPegHeadPosInit] = site_pos(d, peg_head_site_);
    set_obj_xyz(m, d, s.obj_init_pos);
    s.target_pos = pos_box + Vec3{0.03, 0.0, 0.13};
    place(m, pos_box);
    get_obs(m, d, s);
  }

  struct Reward {
    double reward, tcp_to_obj, tcp_opened, obj_to_target, object_grasped, in_place;
  };
  Reward compute_reward(const mjData* d, const SawyerState& s, const double* obs, const double* action) const {
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const Vec3 obj_head = site_pos(d, peg_head_site_);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double tcp_to_obj = np_norm(obj - tcp);
    const Vec3 scale{1.0, 2.0, 2.0};
    const double obj_to_target = np_norm((obj_head - target) * scale);
    const double in_place_margin = np_norm((s.cache_vec[kPegHeadPosInit] - target) * scale);
    double in_place = long_tail(obj_to_target, 0, config().target_radius, in_place_margin);
    const double collision_box_bottom_1 = rect_prism_tolerance(obj_head, site_pos(d, brc1_), site_pos(d, tlc1_));
    const double collision_box_bottom_2 = rect_prism_tolerance(obj_head, site_pos(d, brc2_), site_pos(d, tlc2_));
    const double collision_boxes = hamacher_product(collision_box_bottom_2, collision_box_bottom_1);
    in_place = hamacher_product(in_place, collision_boxes);
    double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.0075,
                              /*pad_success_thresh=*/0.03, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    const bool lifted = tcp_to_obj < 0.08 && tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2];
    if (lifted) object_grasped = 1.0;
    double reward = hamacher_product(object_grasped, in_place);
    if (lifted) reward += 1.0 + 5 * in_place;
    if (obj_to_target <= 0.07) reward = 10.0;
    return {reward, tcp_to_obj, tcp_opened, obj_to_target, object_grasped, in_place};
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const Reward r = compute_reward(d, s, obs, action);
    Evaluation e;
    e.reward = r.reward;
    e.success = r.obj_to_target <= 0.07;
    e.near_object = r.tcp_to_obj <= 0.03;
    e.grasp_success = r.tcp_to_obj < 0.02 && r.tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2];
    e.grasp_reward = r.object_grasped;
    e.in_place_reward = r.in_place;
    e.obj_to_target = r.obj_to_target;
    return e;
  }

  int box_ = -1, goal_site_ = -1, peg_grasp_site_ = -1, peg_head_site_ = -1, brc1_ = -1, tlc1_ = -1, brc2_ = -1,
      tlc2_ = -1;
};

// ---- peg-unplug-side-v3 (sawyer_peg_unplug_side_v3.py): pull the plug out of the wall. Its
// _set_obj_xyz also resets the plug's orientation and zeroes only qvel[9:12]; obj_init_pos is the
// pegEnd site after the plug is placed.
class PegUnplugSideV3 final : public SawyerEnv {
 public:
  PegUnplugSideV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.25 + 0.194, 0.6 + 0.0, -0.001 + 0.131};
    c.goal_high = {-0.15 + 0.194, 0.8 + 0.0, 0.001 + 0.131};
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    plug_ = body(m, "plug1");
    goal_site_ = site(m, "goal");
    peg_end_site_ = site(m, "pegEnd");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, peg_end_site_), body_quat(d, plug_));
    return 7;
  }

  static void set_plug_xyz(const mjModel* m, mjData* d, const Vec3& pos) {
    put3(d->qpos + 9, pos);
    const double quat[4] = {1.0, 0.0, 0.0, 0.0};
    std::copy(quat, quat + 4, d->qpos + 12);
    std::fill(d->qvel + 9, d->qvel + 12, 0.0);
    mj_forward(m, d);
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    const Vec3 pos_box = vec3(s.rand_vec);
    put3(m->body_pos + 3 * box_, pos_box);
    put3(m->site_pos + 3 * goal_site_, (pos_box + Vec3{0.044, 0.0, 0.131}) + Vec3{0.15, 0.0, 0.0});
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const Vec3 pos_box = vec3(s.rand_vec);
    put3(m->body_pos + 3 * box_, pos_box);
    const Vec3 pos_plug = pos_box + Vec3{0.044, 0.0, 0.131};
    set_plug_xyz(m, d, pos_plug);
    s.obj_init_pos = site_pos(d, peg_end_site_);
    s.target_pos = pos_plug + Vec3{0.15, 0.0, 0.0};
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double tcp_to_obj = np_norm(obj - tcp);
    const double obj_to_target = np_norm(obj - target);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.025,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/0.8, /*high_density=*/true);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    const double in_place = long_tail(obj_to_target, 0, 0.05, in_place_margin);
    const bool grasp_success = tcp_opened > 0.5 && (obj[0] - s.obj_init_pos[0] > 0.015);
    double reward = 2 * object_grasped;
    if (grasp_success && tcp_to_obj < 0.035) reward = 1 + 2 * object_grasped + 5 * in_place;
    if (obj_to_target <= 0.05) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = grasp_success;
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int box_ = -1, plug_ = -1, goal_site_ = -1, peg_end_site_ = -1;
};

// ---- stick-push-v3 and stick-pull-v3 (sawyer_stick_push_v3.py, sawyer_stick_pull_v3.py): the
// stick (free joint, qpos[9:16]) and the container (slide joints, qpos[16:18]). Their _set_obj_xyz
// zeroes qvel[16:18], which in this model (nv = 17) is qvel[16] alone: the container's y slide,
// not its x slide (qvel[15]).
class StickEnv : public SawyerEnv {
 protected:
  using SawyerEnv::SawyerEnv;
  enum CacheVec { kStickInitPos };

  void configure_env(const mjModel* m) override {
    stick_ = body(m, "stick");
    object_ = body(m, "object");
    goal_site_ = site(m, "goal");
    insertion_site_ = site(m, "insertion");
    stick_end_site_ = site(m, "stick_end");
    obj_geom_ = geom(m, "objGeom");
  }
  int main_object_geom() const override { return obj_geom_; }

  // [stick pos, stick quat (scipy, from the body's xmat), container pos, 0 0 0 0]
  int stick_objects(const mjData* d, double* out, const Vec3& container_offset) const {
    const Quat q = scipy_quat_from_xmat(d->xmat + 9 * stick_);
    put_object(out, body_com(d, stick_), q);
    put_object(out + 7, site_pos(d, insertion_site_) + container_offset, Quat{0, 0, 0, 0});
    return 14;
  }

  static void set_stick_xyz(const mjModel* m, mjData* d, const Vec3& pos) {
    put3(d->qpos + 9, pos);
    std::fill(d->qvel + 9, d->qvel + 15, 0.0);
    mj_forward(m, d);
  }
  static void set_container_qpos(const mjModel* m, mjData* d, double x, double y) {  // _set_obj_xyz
    d->qpos[16] = x;
    d->qpos[17] = y;
    for (int i = 16; i < std::min(18, static_cast<int>(m->nv)); ++i) d->qvel[i] = 0;
    mj_forward(m, d);
  }

  int stick_ = -1, object_ = -1, goal_site_ = -1, insertion_site_ = -1, stick_end_site_ = -1, obj_geom_ = -1;
};

// stick-push-v3: _target_pos's height is the insertion site's height after the hand reset; the
// class overrides _gripper_caging_reward to measure from stick_init_pos (the base one with
// stick_init_pos for obj_init_pos); info["success"] is `grasp_success and success`.
class StickPushV3 final : public StickEnv {
 public:
  StickPushV3() : StickEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {0.399, 0.55, 0.1319};
    c.goal_high = {0.401, 0.6, 0.1321};
    c.rand_vec_size = 6;
    return c;
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return stick_objects(d, out, {0.0, 0.09, 0.0});
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.1);
    const Vec3 stick_init_pos{s.rand_vec[0], s.rand_vec[1], 0.02};
    s.cache_vec[kStickInitPos] = stick_init_pos;
    s.target_pos = {s.rand_vec[3], s.rand_vec[4], site_pos(d, insertion_site_)[2]};
    set_stick_xyz(m, d, stick_init_pos);
    set_container_qpos(m, d, 0.0, 0.0);
    s.obj_init_pos = body_com(d, object_);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double kTargetRadius = 0.12;
    const Vec3& stick_init_pos = s.cache_vec[kStickInitPos];
    const Vec3 tcp = tcp_center(d);
    const Vec3 stick = vec3(obs + 4) + Vec3{0.015, 0.0, 0.0};
    const Vec3 container = vec3(obs + 11);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double tcp_to_stick = np_norm(stick - tcp);
    const double stick_to_target = np_norm(stick - target);
    const double stick_in_place_margin = np_norm(stick_init_pos - target) - kTargetRadius;
    const double stick_in_place = long_tail(stick_to_target, 0, kTargetRadius, stick_in_place_margin);
    const double container_to_target = np_norm(container - target);
    const double container_in_place_margin = np_norm(s.obj_init_pos - target) - kTargetRadius;
    const double container_in_place = long_tail(container_to_target, 0, kTargetRadius, container_in_place_margin);
    double object_grasped =
        gripper_caging_reward(d, action, stick, stick_init_pos, s.init_tcp, /*obj_radius=*/0.04,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = object_grasped;
    if (tcp_to_stick < 0.02 && tcp_opened > 0 && stick[2] - 0.01 > stick_init_pos[2]) {
      object_grasped = 1;
      reward = 2.0 + 5.0 * stick_in_place + 3.0 * container_in_place;
      if (container_to_target <= kTargetRadius) reward = 10.0;
    }
    // evaluate_state
    const Vec3 stick_obs = vec3(obs + 4);
    const bool success = np_norm(container - s.target_pos) <= 0.12;
    const bool grasp_success =
        tcp_opened > 0 && stick_obs[2] - 0.01 > stick_init_pos[2] && touching_main_object(d, s);
    Evaluation e;
    e.reward = reward;
    e.success = grasp_success && success;
    e.near_object = tcp_to_stick <= 0.03;
    e.grasp_success = grasp_success;
    e.grasp_reward = object_grasped;
    e.in_place_reward = stick_in_place;
    e.obj_to_target = container_to_target;
    return e;
  }
};

// stick-pull-v3: the base class's _gripper_caging_reward, so measured from obj_init_pos (the
// container's body position after placement), not from the stick.
class StickPullV3 final : public StickEnv {
 public:
  StickPullV3() : StickEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.35, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {0.35, 0.45, 0.0199};
    c.goal_high = {0.45, 0.55, 0.0201};
    c.rand_vec_size = 6;
    return c;
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return stick_objects(d, out, {0.0, 0.0, 0.0});
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.1);
    const Vec3 stick_init_pos{s.rand_vec[0], s.rand_vec[1], 0.02};
    s.cache_vec[kStickInitPos] = stick_init_pos;
    s.target_pos = {s.rand_vec[3], s.rand_vec[4], stick_init_pos[2]};
    set_stick_xyz(m, d, stick_init_pos);
    set_container_qpos(m, d, 0.0, 0.09);
    s.obj_init_pos = body_com(d, object_);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  static bool stick_is_inserted(const Vec3& handle, const Vec3& end_of_stick) {
    return end_of_stick[0] >= handle[0] && std::abs(end_of_stick[1] - handle[1]) <= 0.040 &&
           std::abs(end_of_stick[2] - handle[2]) <= 0.060;
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double kTargetRadius = 0.05;
    const Vec3& stick_init_pos = s.cache_vec[kStickInitPos];
    const Vec3 tcp = tcp_center(d);
    const Vec3 stick = vec3(obs + 4);
    const Vec3 end_of_stick = site_pos(d, stick_end_site_);
    const Vec3 container = vec3(obs + 11) + Vec3{0.05, 0.0, 0.0};
    const Vec3 container_init_pos = s.obj_init_pos + Vec3{0.05, 0.0, 0.0};
    const Vec3 handle = vec3(obs + 11);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double tcp_to_stick = np_norm(stick - tcp);
    const double handle_to_target = np_norm(handle - target);
    const Vec3 yz_scaling{1.0, 1.0, 2.0};
    const double stick_to_container = np_norm((stick - container) * yz_scaling);
    const double stick_in_place_margin = np_norm((stick_init_pos - container_init_pos) * yz_scaling);
    const double stick_in_place = long_tail(stick_to_container, 0, kTargetRadius, stick_in_place_margin);
    const double stick_to_target = np_norm(stick - target);
    const double stick_in_place_margin_2 = np_norm(stick_init_pos - target);
    const double stick_in_place_2 = long_tail(stick_to_target, 0, kTargetRadius, stick_in_place_margin_2);
    const double container_to_target = np_norm(container - target);
    const double container_in_place_margin = np_norm(s.obj_init_pos - target);
    const double container_in_place = long_tail(container_to_target, 0, kTargetRadius, container_in_place_margin);
    double object_grasped =
        gripper_caging_reward(d, action, stick, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.014,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    const bool grasp_success = tcp_to_stick < 0.02 && tcp_opened > 0 && stick[2] - 0.01 > stick_init_pos[2];
    if (grasp_success) object_grasped = 1;
    const double in_place_and_object_grasped = hamacher_product(object_grasped, stick_in_place);
    double reward = in_place_and_object_grasped;
    const bool inserted = stick_is_inserted(handle, end_of_stick);
    if (grasp_success) {
      reward = 1.0 + in_place_and_object_grasped + 5.0 * stick_in_place;
      if (inserted) {
        reward = 1.0 + in_place_and_object_grasped + 5.0 + 2.0 * stick_in_place_2 + 1.0 * container_in_place;
        if (handle_to_target <= 0.12) reward = 10.0;
      }
    }
    // evaluate_state
    Evaluation e;
    e.reward = reward;
    e.success = np_norm(handle - s.target_pos) <= 0.12 && inserted;
    e.near_object = tcp_to_stick <= 0.03;
    e.grasp_success = tcp_opened > 0 && stick[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = stick_in_place;
    e.obj_to_target = handle_to_target;
    return e;
  }
};

// ---- basketball-v3 (sawyer_basketball_v3.py): _target_pos is `data.site("goal").xpos`, a view
// that follows the simulation (goal() reads the data). reset_model writes that world position into
// the goal site's *model* pos (body-relative): the site sits at its body's frame
// (site_sameframe = 1), so MuJoCo ignores the written pos and nothing accumulates over resets.
// obj_init_pos's height is float32(0.03), carried over from init_config through every reset.
class BasketballV3 final : public SawyerEnv {
 public:
  BasketballV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {-0.1 + 0, 0.85 + -0.083, 0.0 + 0.2499};
    c.goal_high = {0.1 + 0, (0.9 + 1e-7) + -0.083, 0.0 + 0.2501};
    c.target_radius = 0.08;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    ball_ = body(m, "bsktball");
    basket_ = body(m, "basket_goal");
    goal_site_ = site(m, "goal");
    obj_geom_ = geom(m, "objGeom");
  }
  int main_object_geom() const override { return obj_geom_; }
  Vec3 goal(const mjData* d, const SawyerState&) const override { return site_pos(d, goal_site_); }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, body_com(d, ball_), body_quat(d, ball_));
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    put3(m->body_pos + 3 * basket_, vec3(s.rand_vec + 3));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    refuse_close_placement(s, 0.15);
    s.obj_init_pos = {s.rand_vec[0], s.rand_vec[1], f32(0.03f)};
    put3(m->body_pos + 3 * basket_, vec3(s.rand_vec + 3));
    set_obj_xyz(m, d, s.obj_init_pos);
    put3(m->site_pos + 3 * goal_site_, site_pos(d, goal_site_));
    s.target_pos = site_pos(d, goal_site_);  // for reference only: goal() and the reward read the data
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const double radius = config().target_radius;
    const Vec3 obj = vec3(obs + 4);
    Vec3 target = site_pos(d, goal_site_);
    target[2] = 0.3;
    const Vec3 scale{1.0, 1.0, 2.0};
    const double target_to_obj = np_norm((obj - target) * scale);
    const double target_to_obj_init = np_norm((s.obj_init_pos - target) * scale);
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.025,
                              /*pad_success_thresh=*/0.06, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    const bool lifted = tcp_to_obj < 0.035 && tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2];
    if (lifted) object_grasped = 1.0;
    double reward = hamacher_product(object_grasped, in_place);
    if (lifted) reward += 1.0 + 5.0 * in_place;
    if (target_to_obj < radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= radius;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.03 > s.obj_init_pos[2];
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int ball_ = -1, basket_ = -1, goal_site_ = -1, obj_geom_ = -1;
};

// ---- box-close-v3 (sawyer_box_close_v3.py): put the lid on the box. The box body moves to the
// goal at the height it has in the data (its constant XML height), then reset_model runs
// frame_skip physics steps before placing the lid. obj_init_pos's height is float32(0.02).
// _target_site_config is empty.
class BoxCloseV3 final : public SawyerEnv {
 public:
  BoxCloseV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {-0.1, 0.7, 0.133};
    c.goal_high = {0.1, 0.8, 0.133};
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "boxbody");
    lid_ = body(m, "top_link");
    goal_site_ = site(m, "goal");
    handle_geom_ = geom(m, "BoxHandleGeom");
  }
  int main_object_geom() const override { return handle_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, body_com(d, lid_), body_quat(d, lid_));
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    // box_height: the static box's data height, i.e. its model height
    put3(m->body_pos + 3 * box_, {s.rand_vec[3], s.rand_vec[4], m->body_pos[3 * box_ + 2]});
    put3(m->site_pos + 3 * goal_site_, vec3(s.rand_vec + 3));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double box_height = body_com(d, box_)[2];
    refuse_close_placement(s, 0.25);
    s.obj_init_pos = {s.rand_vec[0], s.rand_vec[1], f32(0.02f)};
    s.target_pos = vec3(s.rand_vec + 3);
    put3(m->body_pos + 3 * box_, {s.target_pos[0], s.target_pos[1], box_height});
    for (int i = 0; i < kFrameSkip; ++i) mj_step(m, d);
    set_obj_xyz(m, d, s.obj_init_pos);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  // _reward_pos(obs, target_pos) -> (ready_to_lift, lifted)
  static void reward_pos(const double* obs, const Vec3& target_pos, double& ready_to_lift, double& lifted) {
    const Vec3 hand = vec3(obs);
    const Vec3 lid = vec3(obs + 4) + Vec3{0.0, 0.0, 0.02};
    const double threshold = 0.02;
    const double radius = np_norm2(hand[0] - lid[0], hand[1] - lid[1]);
    const double floor = radius <= threshold ? 0.0 : 0.04 * np_log(radius - threshold) + 0.4;
    const double above_floor = hand[2] >= floor ? 1.0 : long_tail(floor - hand[2], 0.0, 0.01, floor / 2.0);
    const double in_place = long_tail(np_norm(hand - lid), 0, 0.02, 0.5);
    ready_to_lift = hamacher_product(above_floor, in_place);
    const Vec3 pos_error = target_pos - lid;
    const Vec3 error_scale{1.0, 1.0, 3.0};
    const double a = 0.2, b = 0.8;
    lifted = a * static_cast<double>(lid[2] > 0.04) + b * long_tail(np_norm(pos_error * error_scale), 0, 0.05, 0.25);
  }

  Evaluation evaluate_state(const mjModel*, const mjData*, SawyerState& s, const double* obs,
                            const double* action) const override {
    const double reward_grab = np_clip((np_clip(action[3], -1, 1) + 1.0) / 2.0, 0.0, 1.0);
    const double reward_quat = std::max(1.0 - quat_error(obs, {0.707, 0, 0, 0.707}) / 0.2, 0.0);
    double ready_to_lift = 0, lifted = 0;
    reward_pos(obs, s.target_pos, ready_to_lift, lifted);
    // sum((a, b)) = (0 + a) + b
    double reward = (0.0 + 2.0 * hamacher_product(reward_grab, ready_to_lift)) + 8.0 * lifted;
    const bool success = np_norm(vec3(obs + 4) - s.target_pos) < 0.08;
    if (success) reward = 10.0;
    reward *= reward_quat;
    Evaluation e;
    e.reward = reward;
    e.success = success;
    e.near_object = ready_to_lift;
    e.grasp_success = reward_grab >= 0.5;
    e.grasp_reward = reward_grab;
    e.in_place_reward = lifted;
    e.obj_to_target = 0;
    return e;
  }

  int box_ = -1, lid_ = -1, goal_site_ = -1, handle_geom_ = -1;
};

// ---- shelf-place-v3 (sawyer_shelf_place_v3.py): put the block on the shelf. _target_pos is the
// goal site's model pos plus the shelf's (model arithmetic, after a forward pass); the block's
// initial height is its height after the hand reset (adjust_initObjPos). reset_model writes the
// goal into the goal site's data position (_set_pos_site), overwritten by the next forward pass.
class ShelfPlaceV3 final : public SawyerEnv {
 public:
  ShelfPlaceV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {f32(0.0f), f32(0.6f), f32(0.2f)};
    c.goal_low = {-0.1, 0.8, 0.299};
    c.goal_high = {0.1, 0.9, 0.301};
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    shelf_ = body(m, "shelf");
    goal_site_ = site(m, "goal");
    obj_geom_ = geom(m, "objGeom");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
    return 7;
  }

  // base_shelf_pos[-3:] = goal_pos[3:] - [0, 0, 0.3]
  static Vec3 shelf_pos(const SawyerState& s) {
    return {s.rand_vec[3] - 0.0, s.rand_vec[4] - 0.0, s.rand_vec[5] - 0.3};
  }
  void set_task_model(mjModel* m, const SawyerState& s) const override {
    put3(m->body_pos + 3 * shelf_, shelf_pos(s));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double obj_height = body_com(d, obj_)[2];  // adjust_initObjPos(...)[-1]
    refuse_close_placement(s, 0.1);
    s.obj_init_pos = {s.rand_vec[0] - 0.0, s.rand_vec[1] - 0.0, obj_height};
    put3(m->body_pos + 3 * shelf_, shelf_pos(s));
    mj_forward(m, d);
    s.target_pos = vec3(m->site_pos + 3 * goal_site_) + vec3(m->body_pos + 3 * shelf_);
    set_obj_xyz(m, d, s.obj_init_pos);
    put3(d->site_xpos + 3 * goal_site_, s.target_pos);  // _set_pos_site
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double kTargetRadius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double obj_to_target = np_norm(obj - target);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    double in_place = long_tail(obj_to_target, 0, kTargetRadius, in_place_margin);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.02,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/false);
    double reward = hamacher_product(object_grasped, in_place);
    const double band = 3 * kTargetRadius;
    if ((0.0 < obj[2] && obj[2] < 0.24) && (target[0] - 0.15 < obj[0] && obj[0] < target[0] + 0.15) &&
        ((target[1] - band) < obj[1] && obj[1] < target[1])) {
      const double z_scaling = (0.24 - obj[2]) / 0.24;
      const double y_scaling = (obj[1] - (target[1] - band)) / band;
      const double bound_loss = hamacher_product(y_scaling, z_scaling);
      in_place = np_clip(in_place - bound_loss, 0.0, 1.0);
    }
    if ((0.0 < obj[2] && obj[2] < 0.24) && (target[0] - 0.15 < obj[0] && obj[0] < target[0] + 0.15) &&
        (obj[1] > target[1]))
      in_place = 0.0;
    if (tcp_to_obj < 0.025 && tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2]) reward += 1.0 + 5.0 * in_place;
    if (obj_to_target < kTargetRadius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int obj_ = -1, shelf_ = -1, goal_site_ = -1, obj_geom_ = -1;
};

// ---- soccer-v3 (sawyer_soccer_v3.py): push the ball into the goal. Its own
// _gripper_caging_reward reads init_left_pad / init_right_pad, views of the pads' current
// positions. The reward's in_place uses the x-scaled distance to the goal; success and the
// obj_to_target info the unscaled one (compute_reward returns it in that place).
class SoccerV3 final : public SawyerEnv {
 public:
  SoccerV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.8, 0.0};
    c.goal_high = {0.1, 0.9, 0.0};
    c.target_radius = 0.07;
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kObjRadius = 0.013;

  void configure_env(const mjModel* m) override {
    ball_ = body(m, "soccer_ball");
    goal_body_ = body(m, "goal_whole");
    goal_site_ = site(m, "goal");
    obj_geom_ = geom(m, "objGeom");
    leftpad_ = body(m, "leftpad");
    rightpad_ = body(m, "rightpad");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    const Quat q = scipy_quat_from_xmat(d->xmat + 9 * ball_);
    put_object(out, body_com(d, ball_), q);
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    put3(m->body_pos + 3 * goal_body_, vec3(s.rand_vec + 3));
    put3(m->site_pos + 3 * goal_site_, vec3(s.rand_vec + 3));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.target_pos = vec3(s.rand_vec + 3);
    refuse_close_placement(s, 0.15);
    s.obj_init_pos = {s.rand_vec[0], s.rand_vec[1], 0.03};
    put3(m->body_pos + 3 * goal_body_, s.target_pos);
    set_obj_xyz(m, d, s.obj_init_pos);
    put3(m->site_pos + 3 * goal_site_, s.target_pos);
    get_obs(m, d, s);
  }

  // SawyerSoccerEnvV3._gripper_caging_reward(action, obj_pos, obj_radius)
  double caging_reward(const mjData* d, const SawyerState& s, const Vec3& obj_pos, double obj_radius) const {
    const double pad_success_margin = 0.05;
    const double grip_success_margin = obj_radius + 0.01;
    const double x_z_success_margin = 0.005;
    const Vec3 tcp = tcp_center(d);
    const Vec3 left_pad = body_com(d, leftpad_);
    const Vec3 right_pad = body_com(d, rightpad_);
    const double delta_object_y_left_pad = left_pad[1] - obj_pos[1];
    const double delta_object_y_right_pad = obj_pos[1] - right_pad[1];
    const double right_caging_margin = std::abs(std::abs(obj_pos[1] - init_right_pad(d)[1]) - pad_success_margin);
    const double left_caging_margin = std::abs(std::abs(obj_pos[1] - init_left_pad(d)[1]) - pad_success_margin);
    const double right_caging = long_tail(delta_object_y_right_pad, obj_radius, pad_success_margin, right_caging_margin);
    const double left_caging = long_tail(delta_object_y_left_pad, obj_radius, pad_success_margin, left_caging_margin);
    const double right_gripping =
        long_tail(delta_object_y_right_pad, obj_radius, grip_success_margin, right_caging_margin);
    const double left_gripping = long_tail(delta_object_y_left_pad, obj_radius, grip_success_margin, left_caging_margin);
    const double y_caging = hamacher_product(right_caging, left_caging);
    const double y_gripping = hamacher_product(right_gripping, left_gripping);
    const Vec3 tcp_xz = tcp + Vec3{0.0, -tcp[1], 0.0};
    const Vec3 obj_position_x_z = obj_pos + Vec3{0.0, -obj_pos[1], 0.0};
    const double tcp_obj_norm_x_z = np_norm(tcp_xz - obj_position_x_z);
    const Vec3 init_obj_x_z = s.obj_init_pos + Vec3{0.0, -s.obj_init_pos[1], 0.0};
    const Vec3 init_tcp_x_z = s.init_tcp + Vec3{0.0, -s.init_tcp[1], 0.0};
    const double tcp_obj_x_z_margin = np_norm(init_obj_x_z - init_tcp_x_z) - x_z_success_margin;
    const double x_z_caging = long_tail(tcp_obj_norm_x_z, 0, x_z_success_margin, tcp_obj_x_z_margin);
    const double caging = hamacher_product(y_caging, x_z_caging);
    const double gripping = caging > 0.95 ? y_gripping : 0.0;
    return (caging + gripping) / 2;
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const double radius = config().target_radius;
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3 x_scaling{3.0, 1.0, 1.0};
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    const double target_to_obj = np_norm((obj - s.target_pos) * x_scaling);
    const double target_to_obj_init = np_norm((obj - s.obj_init_pos) * x_scaling);
    double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double goal_line = s.target_pos[1] - 0.1;
    if (obj[1] > goal_line && std::abs(obj[0] - s.target_pos[0]) > 0.10)
      in_place = np_clip(in_place - 2 * ((obj[1] - goal_line) / (1 - goal_line)), 0.0, 1.0);
    const double object_grasped = caging_reward(d, s, obj, kObjRadius);
    double reward = (3 * object_grasped) + (6.5 * in_place);
    if (target_to_obj < radius) reward = 10.0;
    const double obj_to_target = np_norm(obj - s.target_pos);
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int ball_ = -1, goal_body_ = -1, goal_site_ = -1, obj_geom_ = -1, leftpad_ = -1, rightpad_ = -1;
};

}  // namespace

std::vector<SawyerEnvDef> tools_envs() {
  return {
      {"assembly-v3", "sawyer_xyz/sawyer_assembly_peg.xml", make_env<AssemblyV3>},
      {"basketball-v3", "sawyer_xyz/sawyer_basketball.xml", make_env<BasketballV3>},
      {"box-close-v3", "sawyer_xyz/sawyer_box.xml", make_env<BoxCloseV3>},
      {"disassemble-v3", "sawyer_xyz/sawyer_assembly_peg.xml", make_env<DisassembleV3>},
      {"hammer-v3", "sawyer_xyz/sawyer_hammer.xml", make_env<HammerV3>},
      {"peg-insert-side-v3", "sawyer_xyz/sawyer_peg_insertion_side.xml", make_env<PegInsertSideV3>},
      {"peg-unplug-side-v3", "sawyer_xyz/sawyer_peg_unplug_side.xml", make_env<PegUnplugSideV3>},
      {"soccer-v3", "sawyer_xyz/sawyer_soccer.xml", make_env<SoccerV3>},
      {"stick-push-v3", "sawyer_xyz/sawyer_stick_obj.xml", make_env<StickPushV3>},
      {"stick-pull-v3", "sawyer_xyz/sawyer_stick_obj.xml", make_env<StickPullV3>},
      {"shelf-place-v3", "sawyer_xyz/sawyer_shelf_placing.xml", make_env<ShelfPlaceV3>},
  };
}

}  // namespace metarl::metaworld
