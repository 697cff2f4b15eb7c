#include "sim/sim_pool.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/thread_pool.h"
#include "policy/policy_kernels.h"
#include "sim/mujoco_errors.h"

namespace metarl {
namespace {

mjData* make_data(const mjModel* m) {
  mjData* d = mj_makeData(m);
  if (!d) throw MujocoError("mj_makeData failed (out of memory?)");
  return d;
}

}  // namespace

SimPool::SimPool(const FamilyOps& family, const std::string& xml_path) {
  install_mujoco_handlers();
  if (family.xml[0] != '\0') {
    char error[1000] = "";
    model_ = mj_loadXML(xml_path.c_str(), nullptr, error, sizeof(error));
    if (!model_) throw MujocoError("could not load " + xml_path + ": " + error);
    if (family.adapt_model) family.adapt_model(model_);
  }
  try {
    fm_ = FamilyModel::make(family, model_);
  } catch (...) {
    if (model_) mj_deleteModel(model_);
    throw;
  }
}

SimPool::~SimPool() {
  for (auto& v : worker_slots_)
    for (EnvSlot& e : v) mj_deleteData(e.d);
  for (EnvSlot& e : envs_) mj_deleteData(e.d);
  for (mjModel* m : worker_models_) mj_deleteModel(m);
  for (mjModel* m : env_models_) mj_deleteModel(m);
  if (model_) mj_deleteModel(model_);
}

std::vector<double> SimPool::ctrl_range() const {
  std::vector<double> r(2 * size_t(act_dim()));
  for (int j = 0; j < act_dim(); ++j) {
    r[2 * j] = model_ ? model_->actuator_ctrlrange[2 * j] : fm_.ctrl_lo[j];
    r[2 * j + 1] = model_ ? model_->actuator_ctrlrange[2 * j + 1] : fm_.ctrl_hi[j];
  }
  return r;
}

EnvSlot SimPool::make_slot() {
  EnvSlot e;
  if (model_) e.d = make_data(model_);
  return e;
}

std::vector<EnvSlot>& SimPool::worker_slots(int worker, int64_t count) {
  std::vector<EnvSlot>& v = worker_slots_[worker];
  while (int64_t(v.size()) < count) v.push_back(make_slot());
  return v;
}

void SimPool::prepare_task_models(std::vector<mjModel*>& models, const double* tasks, int64_t n) {
  if (!fm_.rand_params()) return;
  while (int64_t(models.size()) < n) {
    mjModel* copy = mj_copyModel(nullptr, model_);
    if (!copy) throw MujocoError("mj_copyModel failed (out of memory?)");
    models.push_back(copy);
  }
  for (int64_t i = 0; i < n; ++i) apply_rand_params(model_, models[i], tasks + i * task_dim());
}

template <typename T>
void SimPool::rollout(const RolloutCall<T>& c) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const MlpSpec& spec = *c.spec;
  if (spec.obs_dim != fm_.obs_dim || spec.act_dim != fm_.act_dim)
    throw std::invalid_argument("rollout: the policy's obs_dim/act_dim do not match the task family");
  const int od = fm_.obs_dim, ad = fm_.act_dim, ni = num_infos(), td = task_dim();
  const int64_t B = c.trajs, H = c.horizon;
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  if (int(worker_slots_.size()) < pool->num_threads()) worker_slots_.resize(pool->num_threads());
  // Work item = (task, group of up to kGroup trajectories) in lockstep: one policy call per step for
  // the group, and a working set of kGroup mjData that stays in the core's cache.
  const int64_t groups = (B + kRolloutGroup - 1) / kRolloutGroup;
  const int64_t G = std::min<int64_t>(B, kRolloutGroup);
  // Data for every worker is created here, on the calling thread: mj_makeData may raise a MuJoCo
  // error, and allocation order then does not depend on scheduling.
  for (int w = 0; w < pool->num_threads(); ++w) worker_slots(w, G);
  // RandParams: one model copy per worker, set to the task of each work item (a copy per task
  // would grow with the batch); the same values as a copy per task, so the same physics.
  if (fm_.rand_params()) {
    while (int(worker_models_.size()) < pool->num_threads()) {
      mjModel* copy = mj_copyModel(nullptr, model_);
      if (!copy) throw MujocoError("mj_copyModel failed (out of memory?)");
      worker_models_.push_back(copy);
    }
  }
  const std::vector<double> range = ctrl_range();
  const double* lo = range.data();
  const double log_norm = 0.5 * std::log(2.0 * M_PI) * ad;
  const int64_t ls_off = spec.log_std_offset();

  pool->parallel_for(c.num_tasks * groups, [&](int64_t item, int worker) {
    const int64_t t = item / groups, b0 = (item % groups) * kRolloutGroup;
    const int64_t n = std::min<int64_t>(kRolloutGroup, B - b0);  // trajectories b0 .. b0+n-1
    std::vector<EnvSlot>& data = worker_slots_[worker];
    const T* theta = c.params + c.params_stride * t;
    const double* task = c.tasks + t * td;
    const mjModel* mt = model_;
    if (fm_.rand_params()) {
      apply_rand_params(model_, worker_models_[worker], task);
      mt = worker_models_[worker];
    }
    std::vector<Rng> rng(n);
    std::vector<char> active(n, 1);
    std::vector<T> obs_t(size_t(n) * od), mean(size_t(n) * ad);
    std::vector<double> obs_d(od), native(ad);
    std::vector<double> std_dev(ad), inv_std(ad);
    double log_std_sum = 0;
    for (int j = 0; j < ad; ++j) {
      const double ls = double(theta[ls_off + j]);
      std_dev[j] = std::exp(ls);
      inv_std[j] = std::exp(-ls);
      log_std_sum += ls;
    }
    const uint64_t stream0 = c.streams ? c.streams[t] : uint64_t(t * B);
    for (int64_t b = 0; b < n; ++b) {
      rng[b] = Rng(c.seed, stream0 + uint64_t(b0 + b));
      reset_env(fm_, mt, data[b], rng[b]);
      observe_env(fm_, mt, data[b], obs_d.data());
      for (int i = 0; i < od; ++i) obs_t[b * od + i] = T(obs_d[i]);
    }
    PolicyMean<T> policy(spec, theta);
    int64_t remaining = n;
    for (int64_t h = 0; h < H && remaining > 0; ++h) {
      policy.mean(obs_t.data(), n, mean.data());
      for (int64_t b = 0; b < n; ++b) {
        if (!active[b]) continue;
        const int64_t traj = t * B + b0 + b;
        const int64_t step = traj * H + h;
        T* a_out = c.actions + step * ad;
        double sq = 0;
        for (int j = 0; j < ad; ++j) {
          const double mu = double(mean[b * ad + j]);
          const T a = c.deterministic ? T(mu) : T(mu + std_dev[j] * rng[b].normal());
          a_out[j] = a;
          const double z = (double(a) - mu) * inv_std[j];
          sq += z * z;
          // the papers' normalize wrapper: [−s, s] → [lo, hi], then clipped
          const double l = lo[2 * j], u = lo[2 * j + 1];
          native[j] = std::min(u, std::max(l, l + (double(a) + c.action_scale) * (u - l) / (2 * c.action_scale)));
        }
        std::copy(obs_t.begin() + b * od, obs_t.begin() + (b + 1) * od, c.obs + step * od);
        if (c.means) std::copy(mean.begin() + b * ad, mean.begin() + (b + 1) * ad, c.means + step * ad);
        StepOutcome r;
        if (std::isfinite(sq)) {
          r = step_env(fm_, mt, data[b], task, native.data());
        } else {  // a non-finite policy mean, action or log-probability: nothing to simulate
          r.nonfinite = true;
          r.terminated = true;
        }
        if (r.nonfinite) {  // the step is not kept: its reward and next state are meaningless
          c.nonfinite[traj] = 1;
          std::fill(c.obs + step * od, c.obs + (step + 1) * od, T(0));
          std::fill(a_out, a_out + ad, T(0));
          if (c.means) std::fill(c.means + step * ad, c.means + (step + 1) * ad, T(0));
          active[b] = 0;
          --remaining;
          continue;
        }
        c.log_prob[step] = T(-0.5 * sq - log_std_sum - log_norm);
        c.rewards[step] = T(r.reward);
        c.mask[step] = T(1);
        for (int k = 0; k < ni; ++k) c.infos[step * ni + k] = T(r.infos[k]);
        c.returns[traj] += r.reward;
        c.lengths[traj] = int32_t(h + 1);
        if (r.terminated) {
          active[b] = 0;
          --remaining;
          continue;
        }
        observe_env(fm_, mt, data[b], obs_d.data());
        for (int i = 0; i < od; ++i) obs_t[b * od + i] = T(obs_d[i]);
      }
    }
  });
}

void SimPool::raw_physics(int64_t num_envs, int64_t steps, uint64_t seed, const double* controls,
                          const int32_t* lengths) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!model_) throw std::invalid_argument("raw_physics: the point families have no physics engine");
  install_mujoco_handlers();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  if (int(worker_slots_.size()) < pool->num_threads()) worker_slots_.resize(pool->num_threads());
  for (int w = 0; w < pool->num_threads(); ++w) worker_slots(w, 1);
  const mjModel* m = model_;
  pool->parallel_for(num_envs, [&](int64_t i, int worker) {
    EnvSlot& env = worker_slots_[worker][0];
    mjData* d = env.d;
    Rng rng(seed, uint64_t(i));
    reset_env(fm_, m, env, rng);
    const int64_t n_steps = lengths ? std::min<int64_t>(steps, lengths[i]) : steps;
    for (int64_t s = 0; s < n_steps; ++s) {
      for (int j = 0; j < m->nu; ++j)
        d->ctrl[j] = controls ? controls[(i * steps + s) * m->nu + j]
                              : rng.uniform(m->actuator_ctrlrange[2 * j], m->actuator_ctrlrange[2 * j + 1]);
      for (int k = 0; k < fm_.ops->frame_skip; ++k) mj_step(m, d);
    }
  });
}

void SimPool::resize(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (n < 0) throw std::invalid_argument("resize: n must be >= 0");
  const size_t before = envs_.size();
  try {
    while (int64_t(envs_.size()) < n) envs_.push_back(make_slot());
    if (fm_.rand_params()) {
      while (int64_t(env_models_.size()) < n) {
        mjModel* copy = mj_copyModel(nullptr, model_);
        if (!copy) throw MujocoError("mj_copyModel failed (out of memory?)");
        env_models_.push_back(copy);
      }
    }
  } catch (...) {  // out of memory part way: give back what this call took, keep the pool as it was
    while (envs_.size() > before) {
      mj_deleteData(envs_.back().d);
      envs_.pop_back();
    }
    while (env_models_.size() > before) {
      mj_deleteModel(env_models_.back());
      env_models_.pop_back();
    }
    throw;
  }
  while (int64_t(envs_.size()) > n) {
    mj_deleteData(envs_.back().d);
    envs_.pop_back();
  }
  while (int64_t(env_models_.size()) > n) {
    mj_deleteModel(env_models_.back());
    env_models_.pop_back();
  }
  env_rng_.resize(n);
  // RandParams multipliers of 1 (the nominal model) until set_tasks
  env_tasks_.assign(size_t(n) * task_dim(), fm_.rand_params() ? 1.0 : 0.0);
  prepare_task_models(env_models_, env_tasks_.data(), n);
}

void SimPool::set_tasks(const double* tasks) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::copy(tasks, tasks + env_tasks_.size(), env_tasks_.begin());
  prepare_task_models(env_models_, env_tasks_.data(), num_envs());
}

void SimPool::reset(const uint8_t* which, const uint64_t* seeds, double* obs) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const int od = obs_dim();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(num_envs(), [&](int64_t i, int) {
    if (which && !which[i]) return;
    if (seeds) env_rng_[i] = Rng(seeds[i], 0);
    const mjModel* m = model_for(env_models_, i);
    reset_env(fm_, m, envs_[i], env_rng_[i]);
    observe_env(fm_, m, envs_[i], obs + i * od);
  });
}

void SimPool::set_state(int64_t i, const double* qpos, const double* qvel, double* obs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (i < 0 || i >= num_envs()) throw std::out_of_range("set_state: environment index out of range");
  install_mujoco_handlers();
  const mjModel* m = model_for(env_models_, i);
  set_env_state(fm_, m, envs_[i], qpos, qvel);
  observe_env(fm_, m, envs_[i], obs);
}

void SimPool::step(const double* actions, double* obs, double* rewards, uint8_t* terminated, uint8_t* nonfinite,
                   double* infos) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const int od = obs_dim(), ad = act_dim(), ni = num_infos(), td = task_dim();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(num_envs(), [&](int64_t i, int) {
    const mjModel* m = model_for(env_models_, i);
    const StepOutcome r = step_env(fm_, m, envs_[i], env_tasks_.data() + i * td, actions + i * ad);
    rewards[i] = r.reward;
    terminated[i] = r.terminated;
    nonfinite[i] = r.nonfinite;
    std::copy(r.infos, r.infos + ni, infos + i * ni);
    observe_env(fm_, m, envs_[i], obs + i * od);
  });
}

template void SimPool::rollout<float>(const RolloutCall<float>&);
template void SimPool::rollout<double>(const RolloutCall<double>&);

}  // namespace metarl
