// Meta-World v3 environments: push, push-wall, push-back, pick-place, pick-place-wall, reach,
// reach-wall, pick-out-of-hole, bin-picking, hand-insert, sweep, sweep-into
// (metaworld/envs/sawyer_*_v3.py). Each class mirrors its Python class: constructor values,
// reset_model, _get_pos_objects / _get_quat_objects, compute_reward (v2) and evaluate_state.
#include <algorithm>

#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {
namespace {

// ---- push-v3 (sawyer_push_v3.py): push the puck to the goal on the table
class PushV3 final : public SawyerEnv {
 public:
  PushV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.8, 0.01};
    c.goal_high = {0.1, 0.9, 0.02};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr Vec3 kObjInitPos{0.0, 0.6, 0.02};  // init_config["obj_init_pos"]

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    // fix_extreme_obj_pos: the configured x, y (+ a zero difference) at the object's height
    const double obj_z = body_com(d, obj_)[2];
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], obj_z};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], obj_z};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    const double target_to_obj = np_norm(obj - s.target_pos);
    const double target_to_obj_init = np_norm(s.obj_init_pos - s.target_pos);
    const double radius = config().target_radius;
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = 2 * object_grasped;
    if (tcp_to_obj < 0.02 && tcp_opened > 0) reward += 1.0 + reward + 5.0 * in_place;
    if (target_to_obj < radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= radius;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- helpers shared by the environments below

// np.linalg.norm((a + [0, -a[1], 0]) - (b + [0, -b[1], 0]), ord=2): the x-z distance of the
// environments' own _gripper_caging_reward, a norm of a 3-vector whose middle is zero.
double xz_norm(const Vec3& a, const Vec3& b) {
  const Vec3 a_xz{a[0] + 0.0, a[1] + -a[1], a[2] + 0.0};
  const Vec3 b_xz{b[0] + 0.0, b[1] + -b[1], b[2] + 0.0};
  return np_norm(a_xz - b_xz);
}

// The environments of this file that override _gripper_caging_reward share these two versions.
class PushPickEnv : public SawyerEnv {
 protected:
  using SawyerEnv::SawyerEnv;

  // _gripper_caging_reward of push-back, sweep and sweep-into: y caging and gripping by the pads,
  // x-z caging by the tool centre; the gripper's effort is not used. init_left_pad/init_right_pad
  // are views (the current pads).
  double caging_and_gripping_yz(const mjData* d, const SawyerState& s, const Vec3& obj_pos, double obj_radius,
                                double grip_success_margin, double x_z_success_margin) const {
    constexpr double pad_success_margin = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 left_pad = init_left_pad(d);  // get_body_com("leftpad")
    const Vec3 right_pad = init_right_pad(d);
    const double delta_object_y_left_pad = left_pad[1] - obj_pos[1];
    const double delta_object_y_right_pad = obj_pos[1] - right_pad[1];
    const double right_caging_margin = std::abs(std::abs(obj_pos[1] - init_right_pad(d)[1]) - pad_success_margin);
    const double left_caging_margin = std::abs(std::abs(obj_pos[1] - init_left_pad(d)[1]) - pad_success_margin);
    const double right_caging =
        long_tail(delta_object_y_right_pad, obj_radius, pad_success_margin, right_caging_margin);
    const double left_caging = long_tail(delta_object_y_left_pad, obj_radius, pad_success_margin, left_caging_margin);
    const double right_gripping =
        long_tail(delta_object_y_right_pad, obj_radius, grip_success_margin, right_caging_margin);
    const double left_gripping =
        long_tail(delta_object_y_left_pad, obj_radius, grip_success_margin, left_caging_margin);
    const double y_caging = hamacher_product(right_caging, left_caging);
    const double y_gripping = hamacher_product(right_gripping, left_gripping);
    const double tcp_obj_norm_x_z = xz_norm(tcp, obj_pos);
    const double tcp_obj_x_z_margin = xz_norm(s.obj_init_pos, s.init_tcp) - x_z_success_margin;
    const double x_z_caging = long_tail(tcp_obj_norm_x_z, 0, x_z_success_margin, tcp_obj_x_z_margin);
    const double caging = hamacher_product(y_caging, x_z_caging);
    const double gripping = caging > 0.95 ? y_gripping : 0.0;
    return (caging + gripping) / 2;
  }
};

// ---- reach-v3 (sawyer_reach_v3.py): bring the tool centre to the goal; the puck only sits there.
// near_object and grasp_reward report the distance to the goal, grasp_success is always 1.
class ReachV3 final : public SawyerEnv {
 public:
  ReachV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.8, 0.05};
    c.goal_high = {0.1, 0.9, 0.3};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], goal_pos[5]};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], goal_pos[2]};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double*) const override {
    const double tcp_to_target = np_norm(tcp_center(d) - s.target_pos);
    const double in_place_margin = np_norm(s.hand_init_pos - s.target_pos);
    const double in_place = long_tail(tcp_to_target, 0, 0.05, in_place_margin);
    Evaluation e;
    e.reward = 10 * in_place;
    e.success = tcp_to_target <= 0.05;
    e.near_object = tcp_to_target;
    e.grasp_success = 1.0;
    e.grasp_reward = tcp_to_target;
    e.in_place_reward = in_place;
    e.obj_to_target = tcp_to_target;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- reach-wall-v3 (sawyer_reach_wall_v3.py): reach-v3's reward behind a wall; near_object,
// grasp_success and grasp_reward are always 0.
class ReachWallV3 final : public SawyerEnv {
 public:
  ReachWallV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.05, 0.85, 0.05};
    c.goal_high = {0.05, 0.9, 0.3};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], goal_pos[5]};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], goal_pos[2]};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double*) const override {
    const double tcp_to_target = np_norm(tcp_center(d) - s.target_pos);
    const double in_place_margin = np_norm(s.hand_init_pos - s.target_pos);
    const double in_place = long_tail(tcp_to_target, 0, 0.05, in_place_margin);
    Evaluation e;
    e.reward = 10 * in_place;
    e.success = tcp_to_target <= 0.05;
    e.near_object = 0.0;
    e.grasp_success = 0.0;
    e.grasp_reward = 0.0;
    e.in_place_reward = in_place;
    e.obj_to_target = tcp_to_target;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- push-wall-v3 (sawyer_push_wall_v3.py): push the puck around a wall to the goal. The object
// is the geom's position; the goal's and the object's height is the puck geom's height after the
// hand reset (adjust_initObjPos), read before the object is placed.
class PushWallV3 final : public SawyerEnv {
 public:
  PushWallV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.05, 0.85, 0.01};
    c.goal_high = {0.05, 0.9, 0.02};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, geom_pos(d, obj_geom_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double obj_z = geom_pos(d, obj_geom_)[2];  // adjust_initObjPos(...)[-1]
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], obj_z};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], obj_z};
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    set_obj_xyz(m, d, s.obj_init_pos);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double target_radius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3 midpoint{-0.05, 0.77, obj[2]};
    const Vec3& target = s.target_pos;
    const double tcp_to_obj = np_norm(obj - tcp);
    const Vec3 in_place_scaling{3.0, 1.0, 1.0};
    const double obj_to_midpoint = np_norm((obj - midpoint) * in_place_scaling);
    const double obj_to_midpoint_init = np_norm((s.obj_init_pos - midpoint) * in_place_scaling);
    const double obj_to_target = np_norm(obj - target);
    const double obj_to_target_init = np_norm(s.obj_init_pos - target);
    const double in_place_part1 = long_tail(obj_to_midpoint, 0, target_radius, obj_to_midpoint_init);
    const double in_place_part2 = long_tail(obj_to_target, 0, target_radius, obj_to_target_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = 2 * object_grasped;
    if (tcp_to_obj < 0.02 && tcp_opened > 0) {
      reward = 2.0 * object_grasped + 1.0 + 4.0 * in_place_part1;
      if (obj[1] > 0.75) reward = 2 * object_grasped + 1.0 + 4.0 + 3.0 * in_place_part2;
    }
    if (obj_to_target < target_radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place_part2;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int obj_geom_ = -1, goal_site_ = -1;
};

// ---- push-back-v3 (sawyer_push_back_v3.py): pull the puck back towards the robot. hand_init_pos
// is float32 ([0, 0.6, 0.2] rounded to float), the hand reset aims at those values. The object is
// the geom's position; its and the goal's height is the geom's height after the hand reset. Its own
// _gripper_caging_reward (OBJ_RADIUS 0.007).
class PushBackV3 final : public PushPickEnv {
 public:
  PushBackV3() : PushPickEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0f, 0.6f, 0.2f};  // np.array([0, 0.6, 0.2], dtype=np.float32)
    c.goal_low = {-0.1, 0.6, 0.0199};
    c.goal_high = {0.1, 0.7, 0.0201};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kObjRadius = 0.007;  // OBJ_RADIUS

  void configure_env(const mjModel* m) override {
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, geom_pos(d, obj_geom_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double obj_z = geom_pos(d, obj_geom_)[2];  // adjust_initObjPos(...)[-1]
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], obj_z};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], obj_z};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const double radius = config().target_radius;
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    const double target_to_obj = np_norm(obj - s.target_pos);
    const double target_to_obj_init = np_norm(s.obj_init_pos - s.target_pos);
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double object_grasped = caging_and_gripping_yz(d, s, obj, kObjRadius, kObjRadius + 0.003, 0.01);
    double reward = hamacher_product(object_grasped, in_place);
    if (tcp_to_obj < 0.01 && (0 < tcp_opened && tcp_opened < 0.55) && target_to_obj_init - target_to_obj > 0.01)
      reward += 1.0 + 5.0 * in_place;
    if (target_to_obj < radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int obj_geom_ = -1, goal_site_ = -1;
};

// ---- pick-place-v3 (sawyer_pick_place_v3.py): pick the puck up and place it at the goal in the
// air. Its own _gripper_caging_reward; init_left_pad/init_right_pad are reassigned views.
class PickPlaceV3 final : public SawyerEnv {
 public:
  PickPlaceV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.8, 0.05};
    c.goal_high = {0.1, 0.9, 0.3};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], goal_pos[5]};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], goal_pos[2]};
    s.init_tcp = tcp_center(d);
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  // SawyerPickPlaceEnvV3._gripper_caging_reward
  double caging_reward(const mjData* d, const SawyerState& s, const double* action, const Vec3& obj_pos) const {
    constexpr double pad_success_margin = 0.05;
    constexpr double x_z_success_margin = 0.005;
    constexpr double obj_radius = 0.015;
    const Vec3 tcp = tcp_center(d);
    const Vec3 left_pad = init_left_pad(d);
    const Vec3 right_pad = init_right_pad(d);
    const double delta_object_y_left_pad = left_pad[1] - obj_pos[1];
    const double delta_object_y_right_pad = obj_pos[1] - right_pad[1];
    const double right_caging_margin = std::abs(std::abs(obj_pos[1] - init_right_pad(d)[1]) - pad_success_margin);
    const double left_caging_margin = std::abs(std::abs(obj_pos[1] - init_left_pad(d)[1]) - pad_success_margin);
    const double right_caging =
        long_tail(delta_object_y_right_pad, obj_radius, pad_success_margin, right_caging_margin);
    const double left_caging = long_tail(delta_object_y_left_pad, obj_radius, pad_success_margin, left_caging_margin);
    const double y_caging = hamacher_product(left_caging, right_caging);
    const double tcp_obj_norm_x_z = xz_norm(tcp, obj_pos);
    const double tcp_obj_x_z_margin = xz_norm(s.obj_init_pos, s.init_tcp) - x_z_success_margin;
    const double x_z_caging = long_tail(tcp_obj_norm_x_z, 0, x_z_success_margin, tcp_obj_x_z_margin);
    const double gripper_closed = std::min(std::max(0.0, action[3]), 1.0);
    const double caging = hamacher_product(y_caging, x_z_caging);
    const double gripping = caging > 0.97 ? gripper_closed : 0.0;
    double caging_and_gripping = hamacher_product(caging, gripping);
    caging_and_gripping = (caging_and_gripping + caging) / 2;
    return caging_and_gripping;
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double target_radius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double obj_to_target = np_norm(obj - target);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    const double in_place = long_tail(obj_to_target, 0, target_radius, in_place_margin);
    const double object_grasped = caging_reward(d, s, action, obj);
    const double in_place_and_object_grasped = hamacher_product(object_grasped, in_place);
    double reward = in_place_and_object_grasped;
    if (tcp_to_obj < 0.02 && tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2]) reward += 1.0 + 5.0 * in_place;
    if (obj_to_target < target_radius) reward = 10.0;
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

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- pick-place-wall-v3 (sawyer_pick_place_wall_v3.py): pick the puck up and place it over a
// wall. The object is the geom's position; the base class's caging reward.
class PickPlaceWallV3 final : public SawyerEnv {
 public:
  PickPlaceWallV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.05, 0.85, 0.05};
    c.goal_high = {0.05, 0.9, 0.3};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, geom_pos(d, obj_geom_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* goal_pos = s.rand_vec;
    s.target_pos = {goal_pos[3], goal_pos[4], goal_pos[5]};
    s.obj_init_pos = {goal_pos[0], goal_pos[1], goal_pos[2]};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    constexpr double target_radius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3 midpoint{s.target_pos[0], 0.77, 0.25};
    const Vec3& target = s.target_pos;
    const double tcp_to_obj = np_norm(obj - tcp);
    const Vec3 in_place_scaling{1.0, 1.0, 3.0};
    const double obj_to_midpoint = np_norm((obj - midpoint) * in_place_scaling);
    const double obj_to_midpoint_init = np_norm((s.obj_init_pos - midpoint) * in_place_scaling);
    const double obj_to_target = np_norm(obj - target);
    const double obj_to_target_init = np_norm(s.obj_init_pos - target);
    const double in_place_part1 = long_tail(obj_to_midpoint, 0, target_radius, obj_to_midpoint_init);
    const double in_place_part2 = long_tail(obj_to_target, 0, target_radius, obj_to_target_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/false);
    const double in_place_and_object_grasped = hamacher_product(object_grasped, in_place_part1);
    double reward = in_place_and_object_grasped;
    if (tcp_to_obj < 0.02 && tcp_opened > 0 && obj[2] - 0.015 > s.obj_init_pos[2]) {
      reward = in_place_and_object_grasped + 1.0 + 4.0 * in_place_part1;
      if (obj[1] > 0.75) reward = in_place_and_object_grasped + 1.0 + 4.0 + 3.0 * in_place_part2;
    }
    if (obj_to_target < target_radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.07;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place_part2;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int obj_geom_ = -1, goal_site_ = -1;
};

// ---- pick-out-of-hole-v3 (sawyer_pick_out_of_hole_v3.py): lift the puck out of a hole to the goal.
// Quirk: the class sets _TARGET_RADIUS = 0.02 but the reward's "success" branch reads
// self.TARGET_RADIUS, the base class's 0.05; the in-place tolerance uses 0.02. Its
// _get_id_main_object calls model.geom_name2id, which MuJoCo's bindings lack, but nothing calls it.
class PickOutOfHoleV3 final : public SawyerEnv {
 public:
  PickOutOfHoleV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, -0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.5, 0.15};
    c.goal_high = {0.1, 0.6, 0.3};
    c.target_radius = 0.05;  // SawyerXYZEnv.TARGET_RADIUS
    c.rand_vec_size = 6;
    return c;
  }

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    goal_site_ = site(m, "goal");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), body_quat(d, obj_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* rv = s.rand_vec;
    s.obj_init_pos = {rv[0], rv[1], rv[2]};
    set_obj_xyz(m, d, s.obj_init_pos);
    s.target_pos = {rv[3], rv[4], rv[5]};
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3 gripper = tcp_center(d);
    const double obj_to_target = np_norm(obj - s.target_pos);
    const double tcp_to_obj = np_norm(obj - gripper);
    const double in_place_margin = np_norm(s.obj_init_pos - s.target_pos);
    constexpr double threshold = 0.03;
    // floor is a 3D funnel centred on the initial object position
    const double radius = np_norm2(gripper[0] - s.obj_init_pos[0], gripper[1] - s.obj_init_pos[1]);
    const double floor = radius <= threshold ? 0.0 : 0.015 * np_log(radius - threshold) + 0.15;
    const double above_floor =
        gripper[2] >= floor ? 1.0 : long_tail(std::max(floor - gripper[2], 0.0), 0.0, 0.01, 0.02);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.02, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.03,
                              /*desired_gripper_effort=*/0.1, /*high_density=*/true);
    const double in_place = long_tail(obj_to_target, 0, 0.02, in_place_margin);
    double reward = hamacher_product(object_grasped, in_place);
    const bool near_object = tcp_to_obj < 0.04;
    const bool pinched_without_obj = obs[3] < 0.33;
    const bool lifted = obj[2] - 0.02 > s.obj_init_pos[2];
    const bool grasp_success = near_object && lifted && !pinched_without_obj;
    if (grasp_success) reward += 1.0 + 5.0 * hamacher_product(in_place, above_floor);
    if (obj_to_target < config().target_radius) reward = 10.0;
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

  int obj_ = -1, goal_site_ = -1;
};

// ---- bin-picking-v3 (sawyer_bin_picking_v3.py): move the cube from one bin to the other. Quirks:
// _target_pos is get_body_com("bin_goal"), a view (a static body: constant once computed); the
// in-place margin _target_to_obj_init is the object's distance to the goal at the FIRST step of
// the episode (set lazily by compute_reward), not at the reset; the model has no "goal" site and
// _target_site_config is empty.
class BinPickingV3 final : public SawyerEnv {
 public:
  BinPickingV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.07};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {0.1199, 0.699, -0.001};
    c.goal_high = {0.1201, 0.701, +0.001};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }
  enum Cache { kHaveTargetToObjInit, kTargetToObjInit };

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    bin_goal_ = body(m, "bin_goal");
  }
  Vec3 goal(const mjData* d, const SawyerState&) const override { return body_com(d, bin_goal_); }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), body_quat(d, obj_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double obj_height = body_com(d, obj_)[2];
    s.obj_init_pos = {s.rand_vec[0], s.rand_vec[1], obj_height};
    set_obj_xyz(m, d, s.obj_init_pos);
    s.target_pos = body_com(d, bin_goal_);
    s.cache[kHaveTargetToObjInit] = 0;
    s.cache[kTargetToObjInit] = 0;
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 target = body_com(d, bin_goal_);  // the view
    const Vec3 hand = vec3(obs);
    const Vec3 obj = vec3(obs + 4);
    const double target_to_obj = np_norm(obj - target);
    if (s.cache[kHaveTargetToObjInit] == 0) {
      s.cache[kTargetToObjInit] = target_to_obj;
      s.cache[kHaveTargetToObjInit] = 1;
    }
    const double in_place = long_tail(target_to_obj, 0, config().target_radius, s.cache[kTargetToObjInit]);
    constexpr double threshold = 0.03;
    const double radii[2] = {np_norm2(hand[0] - s.obj_init_pos[0], hand[1] - s.obj_init_pos[1]),
                             np_norm2(hand[0] - target[0], hand[1] - target[1])};
    // floor is a pair of 3D funnels centred on the object's initial position and on the goal;
    // Python's min() keeps the first of equal values
    double floor = 0;
    for (int i = 0; i < 2; ++i) {
      const double f = radii[i] > threshold ? 0.02 * np_log(radii[i] - threshold) + 0.2 : 0.0;
      if (i == 0 || f < floor) floor = f;
    }
    const double above_floor = hand[2] >= floor ? 1.0 : long_tail(std::max(floor - hand[2], 0.0), 0.0, 0.01, 0.05);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/0.7, /*high_density=*/true);
    double reward = hamacher_product(object_grasped, in_place);
    const bool near_object = np_norm(obj - hand) < 0.04;
    const bool pinched_without_obj = obs[3] < 0.43;
    const bool lifted = obj[2] - 0.02 > s.obj_init_pos[2];
    const bool grasp_success = near_object && lifted && !pinched_without_obj;
    if (grasp_success) reward += 1.0 + 5.0 * hamacher_product(above_floor, in_place);
    if (target_to_obj < config().target_radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= 0.05;
    e.near_object = near_object;
    e.grasp_success = grasp_success;
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int obj_ = -1, bin_goal_ = -1;
};

// ---- hand-insert-v3 (sawyer_hand_insert_v3.py): push the block into the hole. hand_init_pos is
// float32 ([0, 0.6, 0.2] rounded to float). The object's height is obj_init_pos's previous height,
// always init_config's 0.05.
class HandInsertV3 final : public SawyerEnv {
 public:
  HandInsertV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, -0.15};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0f, 0.6f, 0.2f};  // np.array([0, 0.6, 0.2], dtype=np.float32)
    c.goal_low = {-0.04, 0.8, -0.0201};
    c.goal_high = {0.04, 0.88, -0.0199};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kObjZ = 0.05;  // init_config["obj_init_pos"][-1]

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), body_quat(d, obj_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* goal_pos = s.rand_vec;
    s.obj_init_pos = {goal_pos[0], goal_pos[1], kObjZ};
    s.target_pos = {goal_pos[3], goal_pos[4], goal_pos[5]};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const double radius = config().target_radius;
    const Vec3 obj = vec3(obs + 4);
    const double target_to_obj = np_norm(obj - s.target_pos);
    const double target_to_obj_init = np_norm(s.obj_init_pos - s.target_pos);
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.015,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.005,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = hamacher_product(object_grasped, in_place);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    if (tcp_to_obj < 0.02 && tcp_opened > 0) reward += 1.0 + 7.0 * in_place;
    if (target_to_obj < radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= 0.05;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2] && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- sweep-v3 (sawyer_sweep_v3.py): sweep the puck off the table's edge. rand_vec has 3 numbers
// (the object); the goal is goal's x and z with the object's y. Its own _gripper_caging_reward
// (OBJ_RADIUS 0.02).
class SweepV3 final : public PushPickEnv {
 public:
  SweepV3() : PushPickEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1.0, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {0.49, 0.6, 0.00};
    c.goal_high = {0.51, 0.7, 0.02};
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }
  static constexpr double kObjRadius = 0.02;  // OBJ_RADIUS
  static constexpr Vec3 kGoal{0.5, 0.65, 0.01};
  static constexpr double kObjZ = 0.02;  // init_config["obj_init_pos"][-1]

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), body_quat(d, obj_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    const double* obj_pos = s.rand_vec;
    s.obj_init_pos = {obj_pos[0], obj_pos[1], kObjZ};
    s.target_pos = {kGoal[0], obj_pos[1], kGoal[2]};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    constexpr double target_radius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3& target = s.target_pos;
    const double obj_to_target = np_norm(obj - target);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    const double in_place = long_tail(obj_to_target, 0, target_radius, in_place_margin);
    const double object_grasped = caging_and_gripping_yz(d, s, obj, kObjRadius, kObjRadius + 0.01, 0.005);
    const double in_place_and_object_grasped = hamacher_product(object_grasped, in_place);
    double reward = (2 * object_grasped) + (6 * in_place_and_object_grasped);
    if (obj_to_target < target_radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.05;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

// ---- sweep-into-v3 (sawyer_sweep_into_goal_v3.py): sweep the puck into the hole. Quirk: the goal
// is always `goal` ([0, 0.84, 0.02]); the goal half of rand_vec is never used. The object's height
// is the puck's height after the hand reset; the reward's target has the object's current height.
// Its own _gripper_caging_reward (OBJ_RADIUS 0.02).
class SweepIntoV3 final : public PushPickEnv {
 public:
  SweepIntoV3() : PushPickEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = {0.0, 0.6, 0.2};
    c.goal_low = {-0.001, 0.8399, 0.0199};
    c.goal_high = {+0.001, 0.8401, 0.0201};
    c.target_radius = 0.05;
    c.rand_vec_size = 6;
    return c;
  }
  static constexpr double kObjRadius = 0.02;  // OBJ_RADIUS
  static constexpr Vec3 kGoal{0.0, 0.84, 0.02};

  void configure_env(const mjModel* m) override {
    obj_ = body(m, "obj");
    obj_geom_ = geom(m, "objGeom");
    goal_site_ = site(m, "goal");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    return put_object(out, body_com(d, obj_), geom_quat(d, obj_geom_));
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.target_pos = kGoal;
    const double obj_z = body_com(d, obj_)[2];  // the view get_body_com("obj"), read before the object moves
    s.obj_init_pos = {s.rand_vec[0], s.rand_vec[1], obj_z};
    set_obj_xyz(m, d, s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    constexpr double target_radius = 0.05;
    const Vec3 tcp = tcp_center(d);
    const Vec3 obj = vec3(obs + 4);
    const double tcp_opened = obs[3];
    const Vec3 target{s.target_pos[0], s.target_pos[1], obj[2]};
    const double obj_to_target = np_norm(obj - target);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double in_place_margin = np_norm(s.obj_init_pos - target);
    const double in_place = long_tail(obj_to_target, 0, target_radius, in_place_margin);
    const double object_grasped = caging_and_gripping_yz(d, s, obj, kObjRadius, kObjRadius + 0.005, 0.01);
    const double in_place_and_object_grasped = hamacher_product(object_grasped, in_place);
    double reward = (2 * object_grasped) + (6 * in_place_and_object_grasped);
    if (obj_to_target < target_radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.05;
    e.near_object = tcp_to_obj <= 0.03;
    e.grasp_success = tcp_opened > 0 && touching_main_object(d, s);
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

}  // namespace

std::vector<SawyerEnvDef> push_pick_envs() {
  return {
      {"push-v3", "sawyer_xyz/sawyer_push_v3.xml", make_env<PushV3>},
      {"reach-v3", "sawyer_xyz/sawyer_reach_v3.xml", make_env<ReachV3>},
      {"reach-wall-v3", "sawyer_xyz/sawyer_reach_wall_v3.xml", make_env<ReachWallV3>},
      {"push-wall-v3", "sawyer_xyz/sawyer_push_wall_v3.xml", make_env<PushWallV3>},
      {"push-back-v3", "sawyer_xyz/sawyer_push_back_v3.xml", make_env<PushBackV3>},
      {"pick-place-v3", "sawyer_xyz/sawyer_pick_place_v3.xml", make_env<PickPlaceV3>},
      {"pick-place-wall-v3", "sawyer_xyz/sawyer_pick_place_wall_v3.xml", make_env<PickPlaceWallV3>},
      {"pick-out-of-hole-v3", "sawyer_xyz/sawyer_pick_out_of_hole.xml", make_env<PickOutOfHoleV3>},
      {"bin-picking-v3", "sawyer_xyz/sawyer_bin_picking.xml", make_env<BinPickingV3>},
      {"hand-insert-v3", "sawyer_xyz/sawyer_table_with_hole.xml", make_env<HandInsertV3>},
      {"sweep-v3", "sawyer_xyz/sawyer_sweep_v3.xml", make_env<SweepV3>},
      {"sweep-into-v3", "sawyer_xyz/sawyer_table_with_hole.xml", make_env<SweepIntoV3>},
  };
}

}  // namespace metarl::metaworld
