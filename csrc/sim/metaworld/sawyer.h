// Meta-World's Sawyer environments in C++ (metaworld/sawyer_xyz_env.py, v3): the shared base —
// the mocap arm, the 39-number observation with its previous frame, the hand reset, the gripper
// caging reward — and the interface each of the 50 environments implements (envs/*.cc, one file
// per group of environments; registry.cc lists them).
//
// Everything follows Meta-World 3.1.1's Python code operation for operation, with numpy's and
// scipy's arithmetic (np_ops.h, numpy_math.h), so that an environment gives Meta-World's
// observations, rewards and infos bit for bit; both link the same libmujoco. Where Meta-World's
// Python keeps a *view* into MuJoCo's data rather than a copy (`init_left_pad`, `init_right_pad`
// and some environments' `_target_pos` are `data.body(...).xpos` views that follow the simulation),
// the C++ reads the current value where Python reads the view.
//
// Differences, by design (docs/metaworld.md):
//  * a reset runs `reset_model` once, after mj_resetData, with the model fields the task moves
//    already written (`set_task_model`): Python's `reset` runs `reset_model` twice, the first time
//    from the previous episode's state, whose only lasting effect is those model fields;
//  * a step whose physics went unstable (a MuJoCo warning that resets the data, or a non-finite
//    state) ends the trajectory flagged `nonfinite`; Meta-World continues from MuJoCo's reset data.
#pragma once

#include <mujoco/mujoco.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sim/families/family.h"
#include "sim/metaworld/np_ops.h"
#include "sim/metaworld/reward_utils.h"

namespace metarl::metaworld {

constexpr int kObsDim = 39;      // hand 3, gripper 1, objects 14, previous frame 18, goal 3
constexpr int kFrameDim = 18;    // one frame: hand, gripper, objects
constexpr int kActDim = 4;       // mocap Δxyz in [−1, 1]³, gripper effort in [−1, 1]
constexpr int kMaxRandVec = 6;   // task: the environment's rand_vec (object and goal placement)
constexpr int kTaskDim = 1 + kMaxRandVec;  // [partially_observable, rand_vec (zero padded)]
constexpr int kMaxPathLength = 500;
constexpr int kFrameSkip = 5;
constexpr int kNumInfos = 6;

// The infos of a step, in the order of FamilyOps::infos.
struct Evaluation {
  double reward = 0;
  double success = 0, near_object = 0, grasp_success = 0, grasp_reward = 0, in_place_reward = 0,
         obj_to_target = 0;
};

// One environment's state beyond MuJoCo's data: what Meta-World's env object carries between
// steps, plus named slots for what an environment caches at reset for its reward.
struct SawyerState final : FamilyState {
  int path_length = 0;
  bool partially_observable = true;
  double obs[kObsDim] = {};        // the current observation (after reset: unclipped; after a step: clipped)
  double prev_obs[kFrameDim] = {};  // _prev_obs
  Vec3 hand_init_pos{}, obj_init_pos{}, target_pos{}, init_tcp{};
  double rand_vec[kMaxRandVec] = {};
  std::array<double, 16> cache{};  // scalars an environment keeps from reset (it names the indices)
  std::array<Vec3, 6> cache_vec{};  // vectors likewise
  // The step's forward pass ran only the kinematics: touching_object runs the rest (on `model`,
  // the model this environment stepped on) when a reward first asks for contacts.
  bool forward_pending = false;
  const mjModel* model = nullptr;
};

// Constructor arguments of an environment (its __init__'s values).
struct SawyerConfig {
  Vec3 hand_low{-0.2, 0.55, 0.05}, hand_high{0.2, 0.75, 0.3};
  Vec3 mocap_low{}, mocap_high{};  // = hand_low / hand_high unless an environment sets them
  bool mocap_given = false;
  Vec3 hand_init_pos{0, 0.6, 0.2};
  Vec3 goal_low{}, goal_high{};    // goal_space (the observation's goal bounds when fully observable)
  double target_radius = 0.05;     // TARGET_RADIUS
  int rand_vec_size = 0;           // _random_reset_space's size: 3 or 6
};

// One Meta-World environment over one loaded model: the constants resolved from the model (ids)
// and the environment's methods. Const while stepping; per-environment state is in SawyerState.
class SawyerEnv {
 public:
  virtual ~SawyerEnv() = default;

  // Resolves the shared ids (hand, fingers, pads, mocap) and then the environment's own
  // (configure_env); throws std::invalid_argument naming what the model lacks.
  void configure(const mjModel* m);
  const SawyerConfig& config() const { return config_; }

  // ---- what the pool calls (sawyer.cc)
  void reset(mjModel* m, mjData* d, SawyerState& s, const double* task) const;
  // One step: `action` [4] in [−1, 1] (not clipped here beyond what Meta-World clips). Writes the
  // observation into s.obs and returns the reward and infos; `ok` false on an unstable step.
  Evaluation step(const mjModel* m, mjData* d, SawyerState& s, const double* action, bool& ok) const;
  // The physics of a step alone: the action's mocap and gripper controls, frame_skip steps and
  // the forward pass (the benchmarks' floor).
  void physics_step(const mjModel* m, mjData* d, const double* action) const;

 protected:
  explicit SawyerEnv(SawyerConfig config) : config_(std::move(config)) {}

  // ---- what each environment implements (its Python methods)
  virtual void configure_env(const mjModel* m) = 0;
  // The model fields Python's first reset_model call leaves for the second (bodies and sites the
  // task moves), before mj_resetData; most environments write here what reset_model writes.
  virtual void set_task_model(mjModel* m, const SawyerState& s) const;
  // reset_model(): the hand reset, object and goal placement from s.rand_vec, cached values; ends
  // with the observation (get_obs into s.obs).
  virtual void reset_model(mjModel* m, mjData* d, SawyerState& s) const = 0;
  // _get_pos_objects() and _get_quat_objects(), concatenated as the observation pads them:
  // [pos0, quat0, pos1, quat1, ...] into out[14]; returns how many numbers were written.
  virtual int objects(const mjModel* m, const mjData* d, const SawyerState& s, double* out) const = 0;
  // evaluate_state(obs, action) with the v2 reward.
  virtual Evaluation evaluate_state(const mjModel* m, const mjData* d, SawyerState& s, const double* obs,
                                    const double* action) const = 0;
  // _get_id_main_object() (touching_main_object); -1 when the environment has none.
  virtual int main_object_geom() const { return -1; }
  // _get_pos_goal(): the goal of the fully observable observation (s.target_pos; an environment
  // whose _target_pos is a view into the data reads the data).
  virtual Vec3 goal(const mjData* d, const SawyerState& s) const;

  // ---- the base class's methods, as Meta-World names them
  Vec3 body_com(const mjData* d, int body) const { return vec3(d->xpos + 3 * body); }  // get_body_com
  Vec3 site_pos(const mjData* d, int site) const { return vec3(d->site_xpos + 3 * site); }  // _get_site_pos
  Vec3 geom_pos(const mjData* d, int geom) const { return vec3(d->geom_xpos + 3 * geom); }
  // data.body(name).xquat: MuJoCo's quaternion (w, x, y, z), as the environments that observe it
  // report it.
  static Quat body_quat(const mjData* d, int body) {
    const double* q = d->xquat + 4 * body;
    return {q[0], q[1], q[2], q[3]};
  }
  // Rotation.from_matrix(data.geom(name).xmat).as_quat(): scipy's (x, y, z, w).
  static Quat geom_quat(const mjData* d, int geom) { return scipy_quat_from_xmat(d->geom_xmat + 9 * geom); }
  // One object of objects(): its position then its quaternion into out[0:7]; returns 7.
  static int put_object(double* out, const Vec3& pos, const Quat& q) {
    put3(out, pos);
    std::copy(q.begin(), q.end(), out + 3);
    return 7;
  }
  Vec3 tcp_center(const mjData* d) const;
  Vec3 hand_pos(const mjData* d) const { return body_com(d, hand_); }  // get_endeff_pos
  // init_left_pad / init_right_pad: views into the data in Meta-World, hence the current positions.
  Vec3 init_left_pad(const mjData* d) const { return body_com(d, leftpad_); }
  Vec3 init_right_pad(const mjData* d) const { return body_com(d, rightpad_); }
  // set_state(qpos, qvel): copies and runs mj_forward.
  static void set_state(const mjModel* m, mjData* d, const double* qpos, const double* qvel);
  // _set_obj_xyz(pos): qpos[9:12] = pos, qvel[9:15] = 0, set_state (the base class's version).
  static void set_obj_xyz(const mjModel* m, mjData* d, const Vec3& pos);
  // _reset_hand(steps): the mocap held at hand_init_pos with the gripper open for `steps` steps;
  // then init_tcp = tcp_center.
  void reset_hand(const mjModel* m, mjData* d, SawyerState& s, int steps = 50) const;
  // `while np.linalg.norm(goal_pos[:2] - goal_pos[-3:-1]) < min_dist: goal_pos = _get_state_rand_vec()`
  // in a reset_model: with a task's frozen rand_vec Meta-World would draw forever; such a task is
  // refused (MetaWorldError) instead. The benchmarks' tasks were drawn by that loop: none is.
  void refuse_close_placement(const SawyerState& s, double min_dist) const;
  // _get_obs(): [current frame, previous frame, goal (zero when partially observable)] into
  // s.obs; the current frame becomes the previous one.
  void get_obs(const mjModel* m, const mjData* d, SawyerState& s) const;
  // _gripper_caging_reward(action, obj_pos, obj_radius, pad_success_thresh, object_reach_radius,
  // xz_thresh, desired_gripper_effort, high_density, medium_density) of the base class, with the
  // environment's obj_init_pos and init_tcp passed in (an environment may keep either as a view).
  double gripper_caging_reward(const mjData* d, const double* action, const Vec3& obj_pos, const Vec3& obj_init_pos,
                               const Vec3& init_tcp, double obj_radius, double pad_success_thresh,
                               double object_reach_radius, double xz_thresh, double desired_gripper_effort = 1.0,
                               bool high_density = false, bool medium_density = false) const;
  // touching_object(geom): both pads in contact with the geom with positive normal force. Runs
  // the step's pending forward pass first (contacts and constraint forces): the rewards call it
  // last in their conditions (`tcp_opened > 0 and ... and touching`, the same value as Meta-World's
  // order) so that it runs only when it decides the result.
  bool touching_object(const mjData* d, SawyerState& s, int geom) const;
  bool touching_main_object(const mjData* d, SawyerState& s) const {
    return touching_object(d, s, main_object_geom());
  }

  // Ids by name; throw std::invalid_argument naming the environment and the missing element.
  int body(const mjModel* m, const char* name) const;
  int site(const mjModel* m, const char* name) const;
  int geom(const mjModel* m, const char* name) const;
  int joint_qpos(const mjModel* m, const char* name) const;  // the joint's qpos address
  int joint_dof(const mjModel* m, const char* name) const;   // the joint's dof address

  const std::string& name() const { return name_; }

 private:
  friend std::shared_ptr<const SawyerEnv> make_sawyer_env(const std::string& name, const mjModel* m);
  void frame(const mjModel* m, const mjData* d, const SawyerState& s, double* out) const;
  void set_xyz_action(const mjModel* m, mjData* d, const double* action) const;

  SawyerConfig config_;
  std::string name_;  // e.g. "push-v3", for messages
  int hand_ = -1, rightclaw_ = -1, leftclaw_ = -1, leftpad_ = -1, rightpad_ = -1;
  int right_effector_ = -1, left_effector_ = -1, leftpad_geom_ = -1, rightpad_geom_ = -1, mocap_ = -1;
};

// The factory of an environment class, for SawyerEnvDef::make.
template <class Env>
std::unique_ptr<SawyerEnv> make_env() {
  return std::make_unique<Env>();
}

// The environment a Meta-World family row was configured with.
const SawyerEnv& sawyer_env(const FamilyModel& fm);

// One environment of the registry: its name, its model (relative to Meta-World's asset folder)
// and a factory.
struct SawyerEnvDef {
  const char* name;  // e.g. "push-v3"
  const char* xml;   // e.g. "sawyer_xyz/sawyer_push_v3.xml"
  std::unique_ptr<SawyerEnv> (*make)();
};

// Every environment (registry.cc), in Meta-World's ALL_V3_ENVIRONMENTS order where ported.
const std::vector<SawyerEnvDef>& sawyer_env_defs();
// The family rows, one per environment, named "metaworld/<env>" (e.g. "metaworld/push-v3").
const std::vector<const FamilyOps*>& metaworld_families();

// The environment `name` (e.g. "push-v3") configured for model m; std::invalid_argument for an
// unknown name or a model that lacks what the environment reads.
std::shared_ptr<const SawyerEnv> make_sawyer_env(const std::string& name, const mjModel* m);

// Each group file's environments (envs/<group>.cc), gathered by registry.cc.
std::vector<SawyerEnvDef> push_pick_envs();         // push, pick-place, reach, bin, hand-insert, sweep
std::vector<SawyerEnvDef> buttons_handles_envs();   // buttons, coffee button, handles, lever
std::vector<SawyerEnvDef> articulated_envs();       // doors, drawers, faucets, windows, dial
std::vector<SawyerEnvDef> tools_envs();             // assembly, disassemble, hammer, pegs, sticks, basketball, box, shelf, soccer
std::vector<SawyerEnvDef> coffee_plate_envs();      // coffee pull/push, plate slides

}  // namespace metarl::metaworld
