// Meta-World v3 environments: button-press-topdown, button-press-topdown-wall, button-press,
// button-press-wall, coffee-button, handle-press-side, handle-press, handle-pull-side, handle-pull,
// lever-pull (metaworld/envs/sawyer_*_v3.py). Each class mirrors its Python class: constructor
// values, reset_model, _get_pos_objects / _get_quat_objects, compute_reward (v2) and
// evaluate_state.
//
// Shared by all of them: the object's joint is the one after the arm's 9 (qpos[9], qvel[9]) and
// each class's own _set_obj_xyz writes that one number (coffee-button's writes the mug's free
// joint, see there). The buttons and the lever keep `hand_init_pos` as float32 (their init_config
// says dtype=np.float32), so the hand is reset to the float32 values of 0.4 and 0.2.
#include <algorithm>
#include <cmath>

#include "sim/metaworld/sawyer.h"

namespace metarl::metaworld {
namespace {

// hand_init_pos = np.array([0, 0.4, 0.2], dtype=np.float32)
constexpr Vec3 kHandInitF32{0.0, f32(0.4f), f32(0.2f)};

// The classes' own _set_obj_xyz(pos) with a scalar pos: qpos[9] = pos, qvel[9] = 0, set_state.
void set_joint9(const mjModel* m, mjData* d, double pos) {
  d->qpos[9] = pos;
  d->qvel[9] = 0;
  mj_forward(m, d);
}

// Python's max(a, b) of two numbers: a unless b > a.
inline double py_max(double a, double b) { return b > a ? b : a; }

// ---- The four button environments (sawyer_button_press*_v3.py): a button in a box placed at
// rand_vec; the observed object is the button body's position plus an offset to its face, with its
// xquat (MuJoCo's w, x, y, z). The v2 rewards differ per class; the press axis is z (topdown) or y.
enum ButtonKind { kTopdown, kTopdownWall, kFront, kFrontWall };

class ButtonPressBase : public SawyerEnv {
 protected:
  enum Cache { kObjToTargetInit };

  explicit ButtonPressBase(ButtonKind kind) : SawyerEnv(make_config(kind)), kind_(kind) {}

  static SawyerConfig make_config(ButtonKind) {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = kHandInitF32;
    c.goal_low = c.hand_low;  // goal_low = self.hand_low
    c.goal_high = c.hand_high;
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }

  bool topdown() const { return kind_ == kTopdown || kind_ == kTopdownWall; }
  int axis() const { return topdown() ? 2 : 1; }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    button_ = body(m, "button");
    btn_geom_ = geom(m, "btnGeom");
    hole_ = site(m, "hole");
    button_start_ = site(m, "buttonStart");
  }
  int main_object_geom() const override { return btn_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    const Vec3 offset = topdown() ? Vec3{0.0, 0.0, 0.193} : Vec3{0.0, -0.193, 0.0};
    put_object(out, body_com(d, button_) + offset, body_quat(d, button_));
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * box_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * box_);
    if (topdown())
      mj_forward(m, d);
    else
      set_joint9(m, d, 0.0);  // self._set_obj_xyz(np.array(0))
    s.target_pos = site_pos(d, hole_);
    const int a = axis();
    s.cache[kObjToTargetInit] = std::abs(s.target_pos[a] - site_pos(d, button_start_)[a]);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3 tcp = tcp_center(d);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(obj - s.init_tcp);
    const int a = axis();
    const double obj_to_target = std::abs(s.target_pos[a] - obj[a]);
    const double near_bound = kind_ == kFront ? 0.05 : 0.01;
    const double near_button = long_tail(tcp_to_obj, 0, near_bound, tcp_to_obj_init);
    const double button_pressed = long_tail(obj_to_target, 0, 0.005, s.cache[kObjToTargetInit]);
    double reward = 0.0;
    double success_radius = 0.0;
    switch (kind_) {
      case kTopdown:  // tcp_closed = 1 - obs[3]
        reward = 5 * hamacher_product(1 - obs[3], near_button);
        if (tcp_to_obj <= 0.03) reward += 5 * button_pressed;
        success_radius = 0.024;
        break;
      case kTopdownWall:  // tcp_closed = max(obs[3], 0.0)
        reward = 5 * hamacher_product(py_max(obs[3], 0.0), near_button);
        if (tcp_to_obj <= 0.03) reward += 5 * button_pressed;
        success_radius = 0.024;
        break;
      case kFront:
        reward = 2 * hamacher_product(py_max(obs[3], 0.0), near_button);
        if (tcp_to_obj <= 0.05) reward += 8 * button_pressed;
        success_radius = 0.02;
        break;
      case kFrontWall:
        if (tcp_to_obj > 0.07) {
          const double tcp_status = (1 - obs[3]) / 2.0;
          reward = 2 * hamacher_product(tcp_status, near_button);
        } else {
          reward = 2;
          reward += 2 * (1 + obs[3]);
          reward += 4 * np_square(button_pressed);  // a Python float's ** 2
        }
        success_radius = 0.03;
        break;
    }
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= success_radius;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = obs[3] > 0;
    e.grasp_reward = near_button;
    e.in_place_reward = button_pressed;
    e.obj_to_target = obj_to_target;
    return e;
  }

 private:
  ButtonKind kind_;
  int box_ = -1, button_ = -1, btn_geom_ = -1, hole_ = -1, button_start_ = -1;
};

// button-press-topdown-v3 (sawyer_button_press_topdown_v3.py): reset_model moves the box and runs
// mj_forward (no _set_obj_xyz: the button's joint keeps what the hand reset left); tcp_closed is
// 1 - obs[3].
class ButtonPressTopdownV3 final : public ButtonPressBase {
 public:
  ButtonPressTopdownV3() : ButtonPressBase(kTopdown) {}
};

// button-press-topdown-wall-v3 (sawyer_button_press_topdown_wall_v3.py): as topdown, with
// tcp_closed = max(obs[3], 0.0).
class ButtonPressTopdownWallV3 final : public ButtonPressBase {
 public:
  ButtonPressTopdownWallV3() : ButtonPressBase(kTopdownWall) {}
};

// button-press-v3 (sawyer_button_press_v3.py): pressed along y; reset_model sets the button's joint
// to 0 (_set_obj_xyz(np.array(0))).
class ButtonPressV3 final : public ButtonPressBase {
 public:
  ButtonPressV3() : ButtonPressBase(kFront) {}
};

// button-press-wall-v3 (sawyer_button_press_wall_v3.py): as button-press, with its own reward
// (4 * button_pressed ** 2 is a Python float's power: libm pow).
class ButtonPressWallV3 final : public ButtonPressBase {
 public:
  ButtonPressWallV3() : ButtonPressBase(kFrontWall) {}
};

// ---- coffee-button-v3 (sawyer_coffee_button_v3.py): press the coffee machine's button.
// Quirk: the class's _set_obj_xyz writes the mug's free joint (qpos[0:3]) but zeroes qvel[9:15],
// which are arm and finger dofs (right_j3 .. l_close), not the mug's; reproduced as is. The goal is
// a function of rand_vec alone; the observed object is the buttonStart site with quaternion
// (1, 0, 0, 0).
class CoffeeButtonV3 final : public SawyerEnv {
 public:
  CoffeeButtonV3() : SawyerEnv(make_config()) {}

 private:
  static constexpr double kMaxDist = 0.03;  // self.max_dist

  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.4, 0.05};
    c.hand_high = {0.5, 1.0, 0.5};
    c.hand_init_pos = {0.0, 0.4, 0.2};
    const Vec3 obj_low{-0.1, 0.8, -0.001}, obj_high{0.1, 0.9, +0.001};
    // goal_low = obj_low + np.array([-0.001, -0.22 + self.max_dist, 0.299]) (and high likewise)
    c.goal_low = obj_low + Vec3{-0.001, -0.22 + kMaxDist, 0.299};
    c.goal_high = obj_high + Vec3{+0.001, -0.22 + kMaxDist, 0.301};
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    machine_ = body(m, "coffee_machine");
    button_start_ = site(m, "buttonStart");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, button_start_), Quat{1.0, 0.0, 0.0, 0.0});
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * machine_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * machine_);
    const Vec3 pos_mug = s.obj_init_pos + Vec3{0.0, -0.22, 0.0};
    // self._set_obj_xyz(pos_mug): qpos[0:3] = pos, qvel[9:15] = 0, set_state
    std::copy(pos_mug.begin(), pos_mug.end(), d->qpos);
    std::fill(d->qvel + 9, d->qvel + 15, 0.0);
    mj_forward(m, d);
    const Vec3 pos_button = s.obj_init_pos + Vec3{0.0, -0.22, 0.3};
    s.target_pos = pos_button + Vec3{0.0, kMaxDist, 0.0};
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3 tcp = tcp_center(d);
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(obj - s.init_tcp);
    const double obj_to_target = std::abs(s.target_pos[1] - obj[1]);
    const double tcp_closed = py_max(obs[3], 0.0);
    const double near_button = long_tail(tcp_to_obj, 0, 0.05, tcp_to_obj_init);
    const double button_pressed = long_tail(obj_to_target, 0, 0.005, kMaxDist);
    double reward = 2 * hamacher_product(tcp_closed, near_button);
    if (tcp_to_obj <= 0.05) reward += 8 * button_pressed;
    Evaluation e;
    e.reward = reward;
    e.success = obj_to_target <= 0.02;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = obs[3] > 0;
    e.grasp_reward = near_button;
    e.in_place_reward = button_pressed;
    e.obj_to_target = obj_to_target;
    return e;
  }

  int machine_ = -1, button_start_ = -1;
};

// ---- handle-press-v3 and handle-press-side-v3 (sawyer_handle_press_v3.py,
// sawyer_handle_press_side_v3.py): press the handle down to the goalPress site; both classes set
// TARGET_RADIUS = 0.02 (the base class's is 0.05). The reward reads
// the handleStart site from the data (_get_pos_objects), not the observation (the same numbers:
// the object part of the observation is not clipped). The observed quaternion is zeros(4).
class HandlePressBase : public SawyerEnv {
 protected:
  enum CacheVec { kHandleInitPos };

  explicit HandlePressBase(SawyerConfig c) : SawyerEnv(std::move(c)) {}

  static SawyerConfig base_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1.0, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.target_radius = 0.02;  // the class's TARGET_RADIUS
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    handle_start_ = site(m, "handleStart");
    goal_press_ = site(m, "goalPress");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, handle_start_), Quat{0.0, 0.0, 0.0, 0.0});
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * box_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * box_);
    set_joint9(m, d, -0.001);  // self._set_obj_xyz(np.array(-0.001))
    s.target_pos = site_pos(d, goal_press_);
    s.cache_vec[kHandleInitPos] = site_pos(d, handle_start_);  // a copy
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double*,
                            const double*) const override {
    const Vec3 obj = site_pos(d, handle_start_);
    const Vec3 tcp = tcp_center(d);
    const Vec3& target = s.target_pos;
    const Vec3& handle_init = s.cache_vec[kHandleInitPos];
    const double radius = config().target_radius;
    const double target_to_obj = np_norm1(obj[2] - target[2]);
    const double target_to_obj_init = np_norm1(handle_init[2] - target[2]);
    const double in_place = long_tail(target_to_obj, 0, radius, std::abs(target_to_obj_init - radius));
    const double handle_radius = 0.02;
    const double tcp_to_obj = np_norm(obj - tcp);
    const double tcp_to_obj_init = np_norm(handle_init - s.init_tcp);
    const double reach = long_tail(tcp_to_obj, 0, handle_radius, std::abs(tcp_to_obj_init - handle_radius));
    double reward = hamacher_product(reach, in_place);
    reward = target_to_obj <= radius ? 1.0 : reward;
    reward *= 10;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= radius;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = 1.0;
    e.grasp_reward = reach;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

 private:
  int box_ = -1, handle_start_ = -1, goal_press_ = -1;
};

// handle-press-side-v3 (sawyer_handle_press_side_v3.py, model sawyer_handle_press_sideways.xml).
class HandlePressSideV3 final : public HandlePressBase {
 public:
  HandlePressSideV3() : HandlePressBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.goal_low = c.hand_low;  // goal_low = self.hand_low
    c.goal_high = c.hand_high;
    return c;
  }
};

// handle-press-v3 (sawyer_handle_press_v3.py, model sawyer_handle_press.xml).
class HandlePressV3 final : public HandlePressBase {
 public:
  HandlePressV3() : HandlePressBase(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c = base_config();
    c.goal_low = {-0.1, 0.55, 0.04};
    c.goal_high = {0.1, 0.70, 0.08};
    return c;
  }
};

// ---- handle-pull-side-v3 (sawyer_handle_pull_side_v3.py, model sawyer_handle_press_sideways.xml):
// pull the handle up to the goalPull site. reset_model sets the handle's joint to -0.1 and then
// replaces obj_init_pos (rand_vec) by the handleCenter site (a copy), which the gripper caging
// reward and grasp_success read. Observed quaternion zeros(4).
class HandlePullSideV3 final : public SawyerEnv {
 public:
  HandlePullSideV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1.0, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = c.hand_low;
    c.goal_high = c.hand_high;
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    handle_center_ = site(m, "handleCenter");
    goal_pull_ = site(m, "goalPull");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, handle_center_), Quat{0.0, 0.0, 0.0, 0.0});
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * box_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * box_);
    set_joint9(m, d, -0.1);  // self._set_obj_xyz(np.array(-0.1))
    s.target_pos = site_pos(d, goal_pull_);
    s.obj_init_pos = site_pos(d, handle_center_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3& target = s.target_pos;
    const Vec3 scale{1.0, 1.0, 1.0};
    const double radius = config().target_radius;
    const double target_to_obj = np_norm((obj - target) * scale);
    const double target_to_obj_init = np_norm((s.obj_init_pos - target) * scale);
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.032,
                              /*pad_success_thresh=*/0.06, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = hamacher_product(object_grasped, in_place);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    if (tcp_to_obj < 0.035 && tcp_opened > 0 && obj[2] - 0.01 > s.obj_init_pos[2]) reward += 1.0 + 5.0 * in_place;
    if (target_to_obj < radius) reward = 10.0;
    Evaluation e;
    e.reward = reward;
    e.success = target_to_obj <= 0.08;
    e.near_object = tcp_to_obj <= 0.05;
    e.grasp_success = tcp_opened > 0 && obj[2] - 0.03 > s.obj_init_pos[2];
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int box_ = -1, handle_center_ = -1, goal_pull_ = -1;
};

// ---- handle-pull-v3 (sawyer_handle_pull_v3.py, model sawyer_handle_press.xml): pull the handle up
// to goalPull's height. obj_init_pos stays rand_vec (the box's position, z within ±0.001), which the
// reward compares with the handle: target_to_obj_init = |target z − rand_vec z|, and the bonus's
// condition reads obj[1] − 0.01 > obj_init_pos[2] (y against z, as Meta-World has it). The
// observed object is the handleRight site, quaternion zeros(4).
class HandlePullV3 final : public SawyerEnv {
 public:
  HandlePullV3() : SawyerEnv(make_config()) {}

 private:
  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, 0.05};
    c.hand_high = {0.5, 1.0, 0.5};
    c.hand_init_pos = {0, 0.6, 0.2};
    c.goal_low = {-0.1, 0.55, 0.04};
    c.goal_high = {0.1, 0.70, 0.18};
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    box_ = body(m, "box");
    handle_right_ = site(m, "handleRight");
    goal_pull_ = site(m, "goalPull");
  }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, handle_right_), Quat{0.0, 0.0, 0.0, 0.0});
    return 7;
  }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    std::copy(s.rand_vec, s.rand_vec + 3, m->body_pos + 3 * box_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * box_);
    set_joint9(m, d, -0.1);  // self._set_obj_xyz(np.array(-0.1))
    s.target_pos = site_pos(d, goal_pull_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double* action) const override {
    const Vec3 obj = vec3(obs + 4);
    const Vec3& target = s.target_pos;
    const double radius = config().target_radius;
    const double target_to_obj = std::abs(target[2] - obj[2]);
    const double target_to_obj_init = std::abs(target[2] - s.obj_init_pos[2]);
    const double in_place = long_tail(target_to_obj, 0, radius, target_to_obj_init);
    const double object_grasped =
        gripper_caging_reward(d, action, obj, s.obj_init_pos, s.init_tcp, /*obj_radius=*/0.022,
                              /*pad_success_thresh=*/0.05, /*object_reach_radius=*/0.01, /*xz_thresh=*/0.01,
                              /*desired_gripper_effort=*/1.0, /*high_density=*/true);
    double reward = hamacher_product(object_grasped, in_place);
    const double tcp_opened = obs[3];
    const double tcp_to_obj = np_norm(obj - tcp_center(d));
    if (tcp_to_obj < 0.035 && tcp_opened > 0 && obj[1] - 0.01 > s.obj_init_pos[2]) reward += 1.0 + 5.0 * in_place;
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

  int box_ = -1, handle_right_ = -1, goal_pull_ = -1;
};

// ---- lever-pull-v3 (sawyer_lever_pull_v3.py): lift the lever to point straight up. reset_model
// writes the lever body's and the goal site's model positions without an mj_forward: the reset's
// observation is the data the hand reset's last step left (in Python's second reset_model call the
// lever already stood at the task's position, written by the first). obj_to_target is the
// shoulder-to-lever distance, as Meta-World reports it.
class LeverPullV3 final : public SawyerEnv {
 public:
  LeverPullV3() : SawyerEnv(make_config()) {}

 private:
  static constexpr double kLeverRadius = 0.2;  // LEVER_RADIUS
  enum CacheVec { kLeverPosInit };

  static SawyerConfig make_config() {
    SawyerConfig c;
    c.hand_low = {-0.5, 0.40, -0.15};
    c.hand_high = {0.5, 1, 0.5};
    c.hand_init_pos = kHandInitF32;
    c.goal_low = c.hand_low;
    c.goal_high = c.hand_high;
    c.target_radius = 0.05;
    c.rand_vec_size = 3;
    return c;
  }

  void configure_env(const mjModel* m) override {
    lever_ = body(m, "lever");
    goal_site_ = site(m, "goal");
    lever_start_ = site(m, "leverStart");
    obj_geom_ = geom(m, "objGeom");
    lever_axis_ = joint_qpos(m, "LeverAxis");
  }
  int main_object_geom() const override { return obj_geom_; }

  int objects(const mjModel*, const mjData* d, const SawyerState&, double* out) const override {
    put_object(out, site_pos(d, lever_start_), geom_quat(d, obj_geom_));
    return 7;
  }

  Vec3 target_of(const Vec3& obj_init) const { return obj_init + Vec3{0.12, 0.0, 0.25 + kLeverRadius}; }

  void set_task_model(mjModel* m, const SawyerState& s) const override {
    const Vec3 obj_init = vec3(s.rand_vec);
    const Vec3 target = target_of(obj_init);
    std::copy(obj_init.begin(), obj_init.end(), m->body_pos + 3 * lever_);
    std::copy(target.begin(), target.end(), m->site_pos + 3 * goal_site_);
  }

  void reset_model(mjModel* m, mjData* d, SawyerState& s) const override {
    reset_hand(m, d, s);
    s.obj_init_pos = vec3(s.rand_vec);
    std::copy(s.obj_init_pos.begin(), s.obj_init_pos.end(), m->body_pos + 3 * lever_);
    s.cache_vec[kLeverPosInit] = s.obj_init_pos + Vec3{0.12, -kLeverRadius, 0.25};
    s.target_pos = target_of(s.obj_init_pos);
    std::copy(s.target_pos.begin(), s.target_pos.end(), m->site_pos + 3 * goal_site_);
    get_obs(m, d, s);
  }

  Evaluation evaluate_state(const mjModel*, const mjData* d, SawyerState& s, const double* obs,
                            const double*) const override {
    const Vec3 gripper = vec3(obs);
    const Vec3 lever = vec3(obs + 4);
    const Vec3& lever_pos_init = s.cache_vec[kLeverPosInit];
    const Vec3 scale{4.0, 1.0, 4.0};
    const Vec3 offset{0.0, 0.055, 0.07};
    const Vec3 shoulder_to_lever = (gripper + offset - lever) * scale;
    const Vec3 shoulder_to_lever_init = (s.init_tcp + offset - lever_pos_init) * scale;
    const double shoulder_to_lever_norm = np_norm(shoulder_to_lever);
    const double ready_to_lift = long_tail(shoulder_to_lever_norm, 0, 0.02, np_norm(shoulder_to_lever_init));
    const double lever_angle = -d->qpos[lever_axis_];
    const double lever_angle_desired = kPi / 2.0;
    const double lever_error = std::abs(lever_angle - lever_angle_desired);
    const double lever_engagement = long_tail(lever_error, 0, kPi / 48.0, (kPi / 2.0) - (kPi / 12.0));
    const Vec3& target = s.target_pos;
    const double obj_to_target = np_norm(lever - target);
    const double in_place_margin = np_norm(lever_pos_init - target);
    const double in_place = long_tail(obj_to_target, 0, 0.04, in_place_margin);
    Evaluation e;
    e.reward = 10.0 * hamacher_product(ready_to_lift, in_place);
    e.success = lever_error <= kPi / 24;
    e.near_object = shoulder_to_lever_norm < 0.03;
    e.grasp_success = ready_to_lift > 0.9;
    e.grasp_reward = ready_to_lift;
    e.in_place_reward = lever_engagement;
    e.obj_to_target = shoulder_to_lever_norm;
    return e;
  }

  int lever_ = -1, goal_site_ = -1, lever_start_ = -1, obj_geom_ = -1, lever_axis_ = -1;
};

}  // namespace

std::vector<SawyerEnvDef> buttons_handles_envs() {
  return {
      {"button-press-topdown-v3", "sawyer_xyz/sawyer_button_press_topdown.xml", make_env<ButtonPressTopdownV3>},
      {"button-press-topdown-wall-v3", "sawyer_xyz/sawyer_button_press_topdown_wall.xml",
       make_env<ButtonPressTopdownWallV3>},
      {"button-press-v3", "sawyer_xyz/sawyer_button_press.xml", make_env<ButtonPressV3>},
      {"button-press-wall-v3", "sawyer_xyz/sawyer_button_press_wall.xml", make_env<ButtonPressWallV3>},
      {"coffee-button-v3", "sawyer_xyz/sawyer_coffee.xml", make_env<CoffeeButtonV3>},
      {"handle-press-side-v3", "sawyer_xyz/sawyer_handle_press_sideways.xml", make_env<HandlePressSideV3>},
      {"handle-press-v3", "sawyer_xyz/sawyer_handle_press.xml", make_env<HandlePressV3>},
      {"handle-pull-side-v3", "sawyer_xyz/sawyer_handle_press_sideways.xml", make_env<HandlePullSideV3>},
      {"handle-pull-v3", "sawyer_xyz/sawyer_handle_press.xml", make_env<HandlePullV3>},
      {"lever-pull-v3", "sawyer_xyz/sawyer_lever_pull.xml", make_env<LeverPullV3>},
  };
}

}  // namespace metarl::metaworld
