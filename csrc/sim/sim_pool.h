// A pool of environments of one task family — or of several, each over its own MuJoCo model (the
// members: Meta-World's ML10 and ML45 mix environments of 15 and 50 kinds) — run on the package
// thread pool.
//
// Two ways to use it:
//  * rollout(): whole trajectories with the Gaussian MLP policy evaluated inside the worker threads
//    (no Python per step). Work item = up to kRolloutGroup trajectories of one task advancing in
//    lockstep: the task's θ is packed once per work item (PolicyMean), the policy mean of the group
//    is one forward pass per step, then action noise, rescaling, frame_skip physics steps, reward
//    and termination per environment. Task t runs on member members[t].
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
#include "sim/families/family.h"
#include "sim/model_overlay.h"
#include "sim/random.h"

namespace metarl {

// Trajectories of one task advanced in lockstep by one worker (one forward pass per step for them).
// Small enough that a batch splits into many work items (thread balance; their mjData stay in the
// core's L2 cache), large enough to amortise a forward pass. 4, 8 and 20 sample HalfCheetah at the
// same speed within 1–2 % (docs/bench/history.md); the size never changes the results.
constexpr int64_t kRolloutGroup = 8;
// Rollout environments a worker keeps over all members: beyond it, the members it used least
// recently give theirs back (ML45's 50 models × 8 environments per worker would otherwise stay).
constexpr int64_t kWorkerSlotLimit = 64;

template <typename T>
struct RolloutCall {
  const MlpSpec* spec = nullptr;
  const T* params = nullptr;   // [T, P] rows or a shared [P] row
  int64_t params_stride = 0;
  const double* tasks = nullptr;  // [T, task_dim]
  const int32_t* members = nullptr;  // [T] the member each task runs on (null: member 0)
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

// One family of a pool and the MJCF file of its model ("" for the point families).
struct PoolMember {
  const FamilyOps* family = nullptr;
  std::string xml_path;
};

class SimPool {
 public:
  // Loads the MJCF file (throws MujocoError with MuJoCo's message on failure); the point families
  // take no model (xml_path is ignored).
  SimPool(const FamilyOps& family, const std::string& xml_path);
  // Several members (at least one), with equal observation, action and task sizes and info names;
  // each MJCF file is loaded once (members of one file and model adaptation share the model).
  // Throws std::invalid_argument otherwise.
  explicit SimPool(const std::vector<PoolMember>& members);
  ~SimPool();
  SimPool(const SimPool&) = delete;
  SimPool& operator=(const SimPool&) = delete;

  int num_members() const { return int(members_.size()); }
  const FamilyModel& family(int k = 0) const { return members_[k]->fm; }
  const mjModel* model(int k = 0) const { return members_[k]->model; }  // null for the point families
  int obs_dim() const { return family().obs_dim; }
  int act_dim() const { return family().act_dim; }
  int task_dim() const { return family().task_dim; }
  int num_infos() const { return int(family().ops->infos.size()); }
  // The longest episode any member allows (0: unbounded).
  int max_episode_steps() const;
  int nq() const { return model() ? model()->nq : 2; }
  int nv() const { return model() ? model()->nv : (family().obs_dim == 4 ? 2 : 0); }
  // Native action bounds [act_dim][2].
  std::vector<double> ctrl_range() const;

  template <typename T>
  void rollout(const RolloutCall<T>& call);

  // The physics limit of a rollout, for benchmarks: num_envs environments, each reset as rollout()
  // resets environment i (same seed and stream; member members[i] and task tasks[i] where given)
  // and then stepped `steps` times with the given actions [num_envs, steps, act_dim] in the native
  // range (e.g. a rollout's actions, rescaled: the same trajectories), or uniform random ones when
  // controls is null, each step being the family's physics alone (FamilyOps::raw_step: its
  // frame_skip physics steps and what the observation needs, no policy, observation or reward);
  // lengths [num_envs] (or null: all `steps`) stops each environment where its trajectory ended.
  // Same thread pool.
  void raw_physics(int64_t num_envs, int64_t steps, uint64_t seed, const double* controls, const int32_t* lengths,
                   const int32_t* members = nullptr, const double* tasks = nullptr);

  // ---- step API over num_envs() environments
  void resize(int64_t n);
  int64_t num_envs() const { return int64_t(envs_.size()); }
  // Model copies held (RandParams: one per rollout worker and one per step-API environment).
  int64_t model_copies() const;
  // Rollout environments held over all members and workers.
  int64_t rollout_slots() const;
  // tasks [n, task_dim]; members [n] (null: all member 0). An environment moved to another member
  // gets new data (its state is lost until its next reset).
  void set_tasks(const double* tasks, const int32_t* members = nullptr);
  // Resets environments where which[i] != 0 (which == nullptr: all); seeds [n] reseed their streams
  // (nullptr: continue them). Writes obs [n, obs_dim] for the reset environments. RandParams
  // environments use the model of their task (set_tasks).
  void reset(const uint8_t* which, const uint64_t* seeds, double* obs);
  void set_state(int64_t i, const double* qpos, const double* qvel, double* obs);
  // actions [n, act_dim] in the native control range → obs [n, obs_dim], rewards [n],
  // terminated [n], nonfinite [n], infos [n, num_infos].
  void step(const double* actions, double* obs, double* rewards, uint8_t* terminated, uint8_t* nonfinite,
            double* infos);
  // Environment i's member, model (its overlay or RandParams copy where it has one) and data, for
  // inspection (the alignment tests); valid until the next call that changes the environments.
  int env_member(int64_t i) const { return env_member_.at(size_t(i)); }
  const mjModel* env_model(int64_t i) const;
  const mjData* env_data(int64_t i) const { return envs_.at(size_t(i)).d; }

 private:
  struct Member {
    FamilyModel fm;
    mjModel* model = nullptr;                                  // one of models_
    std::vector<std::vector<EnvSlot>> worker_slots;            // [worker] rollout environments
    std::vector<uint64_t> worker_used;                         // [worker] when it last used them
    std::vector<mjModel*> worker_models;                       // RandParams: a model copy per worker
    std::vector<std::unique_ptr<ModelOverlay>> worker_overlays;  // moves_model: an overlay per worker
  };

  void load(const std::vector<PoolMember>& members);
  EnvSlot make_slot(const Member& member) const;
  // Member k's rollout environments of `worker`, at least `count`; frees the least recently used
  // members' environments of this worker beyond kWorkerSlotLimit. Called by that worker only.
  std::vector<EnvSlot>& worker_slots(int k, int worker, int64_t count);
  // Per-worker storage sized for the pool's threads, and the models of member k's workers.
  void prepare_workers(int threads);
  void prepare_worker_models(int k, int threads);
  // The model a work item of member k on `worker` runs on: its RandParams copy set to `task`, its
  // overlay, or the member's model.
  mjModel* item_model(int k, int worker, const double* task);
  void check_member(const char* fn, int32_t k) const;
  void release_env(int64_t i);
  void assign_env(int64_t i, int32_t k);

  std::vector<std::unique_ptr<Member>> members_;
  // The loaded models, each once: members with the same MJCF file and model adaptation share one
  // (Meta-World's door-open and door-close run on one door model).
  std::vector<mjModel*> models_;
  std::mutex mutex_;  // one call at a time per pool (rollout or step API)
  std::vector<uint64_t> worker_clock_;  // [worker] work items run, for the LRU of its environments
  // step API
  std::vector<EnvSlot> envs_;
  std::vector<int32_t> env_member_;
  std::vector<mjModel*> env_models_;  // RandParams: one copy per environment
  std::vector<std::unique_ptr<ModelOverlay>> env_overlays_;  // moves_model: one overlay per environment
  std::vector<Rng> env_rng_;
  std::vector<double> env_tasks_;
};

}  // namespace metarl
