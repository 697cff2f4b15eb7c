// A pool of environments of one task family over one MuJoCo model, run on the package thread pool.
//
// Two ways to use it:
//  * rollout(): whole trajectories with the Gaussian MLP policy evaluated inside the worker threads
//    (no Python per step). Work item = up to kRolloutGroup trajectories of one task advancing in
//    lockstep: the task's θ is packed once per work item (PolicyMean), the policy mean of the group
//    is one forward pass per step, then action noise, rescaling, frame_skip physics steps, reward
//    and termination per environment.
//  * the step API (resize / set_tasks / reset / step): N environments stepped by the caller, the
//    backbone of the gymnasium adapters.
// Every environment draws from its own random stream, seeded by (seed, global environment index),
// so results are bit-identical whatever the thread count.
#pragma once

#include <mujoco/mujoco.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policy/mlp_spec.h"
#include "sim/random.h"
#include "sim/families/family.h"

namespace metarl {

// Trajectories of one task advanced in lockstep by one worker (one forward pass per step for them).
// Small enough that a batch splits into many work items (thread balance; their mjData stay in the
// core's L2 cache), large enough to amortise a forward pass. 4, 8 and 20 sample HalfCheetah at the
// same speed within 1–2 % (docs/benchmarks.md); the size never changes the results.
constexpr int64_t kRolloutGroup = 8;

template <typename T>
struct RolloutCall {
  const MlpSpec* spec = nullptr;
  const T* params = nullptr;   // [T, P] rows or a shared [P] row
  int64_t params_stride = 0;
  const double* tasks = nullptr;  // [T, task_dim]
  int64_t num_tasks = 0, trajs = 0, horizon = 0;
  uint64_t seed = 0;
  // [T] the random stream of each task's first trajectory: trajectory b of task t draws from
  // Rng(seed, streams[t] + b). Null: t·B, the streams of the whole batch. A caller that splits a
  // batch into pieces (Ray's work items) passes each piece its streams in the whole batch.
  const uint64_t* streams = nullptr;
  bool deterministic = false;
  double action_scale = 10.0;  // the policy acts in [−s, s]; rescaled to the control range and clipped
  // Outputs (zero-filled by the caller; only valid steps are written):
  T* obs = nullptr;       // [T, B, H, obs_dim]
  T* actions = nullptr;   // [T, B, H, act_dim] (policy scale, before rescaling)
  T* rewards = nullptr;   // [T, B, H]
  T* mask = nullptr;      // [T, B, H]
  T* log_prob = nullptr;  // [T, B, H]
  T* means = nullptr;     // [T, B, H, act_dim] the policy mean μ_θ(s) at each step (null: not kept)
  T* infos = nullptr;     // [T, B, H, num_infos]
  int32_t* lengths = nullptr;    // [T, B]
  double* returns = nullptr;     // [T, B] undiscounted
  int32_t* nonfinite = nullptr;  // [T, B] 1 where the trajectory ended on a non-finite state
};

class SimPool {
 public:
  // Loads the MJCF file (throws MujocoError with MuJoCo's message on failure); the point families
  // take no model (xml_path is ignored).
  SimPool(const FamilyOps& family, const std::string& xml_path);
  ~SimPool();
  SimPool(const SimPool&) = delete;
  SimPool& operator=(const SimPool&) = delete;

  const FamilyModel& family() const { return fm_; }
  const mjModel* model() const { return model_; }  // null for the point families
  int obs_dim() const { return fm_.obs_dim; }
  int act_dim() const { return fm_.act_dim; }
  int task_dim() const { return fm_.task_dim; }
  int num_infos() const { return int(fm_.ops->infos.size()); }
  int nq() const { return model_ ? model_->nq : 2; }
  int nv() const { return model_ ? model_->nv : (fm_.obs_dim == 4 ? 2 : 0); }
  // Native action bounds [act_dim][2].
  std::vector<double> ctrl_range() const;

  template <typename T>
  void rollout(const RolloutCall<T>& call);

  // The physics limit of a rollout, for benchmarks: num_envs environments, each reset as rollout()
  // resets environment i (same seed and stream) and then stepped `steps` × frame_skip times with
  // the given controls [num_envs, steps, nu] in the native range (e.g. a rollout's actions,
  // rescaled: the same trajectories), or uniform random ones when controls is null; lengths
  // [num_envs] (or null: all `steps`) stops each environment where its trajectory ended. No
  // policy, observations or rewards; same thread pool.
  void raw_physics(int64_t num_envs, int64_t steps, uint64_t seed, const double* controls, const int32_t* lengths);

  // ---- step API over num_envs() environments
  void resize(int64_t n);
  int64_t num_envs() const { return int64_t(envs_.size()); }
  // Model copies held (RandParams: one per rollout worker and one per step-API environment).
  int64_t model_copies() const { return int64_t(worker_models_.size() + env_models_.size()); }
  void set_tasks(const double* tasks);  // [n, task_dim]
  // Resets environments where which[i] != 0 (which == nullptr: all); seeds [n] reseed their streams
  // (nullptr: continue them). Writes obs [n, obs_dim] for the reset environments. RandParams
  // environments use the model of their task (set_tasks).
  void reset(const uint8_t* which, const uint64_t* seeds, double* obs);
  void set_state(int64_t i, const double* qpos, const double* qvel, double* obs);
  // actions [n, act_dim] in the native control range → obs [n, obs_dim], rewards [n],
  // terminated [n], nonfinite [n], infos [n, num_infos].
  void step(const double* actions, double* obs, double* rewards, uint8_t* terminated, uint8_t* nonfinite,
            double* infos);

 private:
  std::vector<EnvSlot>& worker_slots(int worker, int64_t count);
  EnvSlot make_slot();
  // RandParams step API: one model copy per environment (set_tasks), else empty (all use model_).
  void prepare_task_models(std::vector<mjModel*>& models, const double* tasks, int64_t n);
  const mjModel* model_for(const std::vector<mjModel*>& models, int64_t i) const {
    return models.empty() ? model_ : models[i];
  }

  FamilyModel fm_;
  mjModel* model_ = nullptr;
  std::mutex mutex_;  // one call at a time per pool (rollout or step API)
  std::vector<std::vector<EnvSlot>> worker_slots_;
  std::vector<mjModel*> worker_models_;  // RandParams rollouts: one model copy per worker thread
  std::vector<EnvSlot> envs_;
  std::vector<mjModel*> env_models_;
  std::vector<Rng> env_rng_;
  std::vector<double> env_tasks_;
};

}  // namespace metarl
