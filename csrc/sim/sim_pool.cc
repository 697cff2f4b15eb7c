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

mjModel* copy_model(const mjModel* m) {
  mjModel* copy = mj_copyModel(nullptr, m);
  if (!copy) throw MujocoError("mj_copyModel failed (out of memory?)");
  return copy;
}

void free_slots(std::vector<EnvSlot>& slots) {
  for (EnvSlot& e : slots) mj_deleteData(e.d);
  slots.clear();
}

}  // namespace

SimPool::SimPool(const FamilyOps& family, const std::string& xml_path) { load({PoolMember{&family, xml_path}}); }

SimPool::SimPool(const std::vector<PoolMember>& members) { load(members); }

void SimPool::load(const std::vector<PoolMember>& members) {
  install_mujoco_handlers();
  if (members.empty()) throw std::invalid_argument("SimPool: needs at least one member");
  const auto discard = [this] {
    members_.clear();
    for (mjModel* m : models_) mj_deleteModel(m);
    models_.clear();
  };
  try {
    std::vector<std::pair<std::string, void (*)(mjModel*)>> loaded;  // (file, adaptation) of models_
    for (const PoolMember& pm : members) {
      if (!pm.family) throw std::invalid_argument("SimPool: a member has no family");
      auto member = std::make_unique<Member>();
      if (pm.family->xml[0] != '\0') {
        const std::pair<std::string, void (*)(mjModel*)> key{pm.xml_path, pm.family->adapt_model};
        const auto it = std::find(loaded.begin(), loaded.end(), key);
        if (it != loaded.end()) {
          member->model = models_[it - loaded.begin()];
        } else {
          char error[1000] = "";
          mjModel* m = mj_loadXML(pm.xml_path.c_str(), nullptr, error, sizeof(error));
          if (!m) throw MujocoError("could not load " + pm.xml_path + ": " + error);
          models_.push_back(m);
          loaded.push_back(key);
          if (pm.family->adapt_model) pm.family->adapt_model(m);
          member->model = m;
        }
      }
      member->fm = FamilyModel::make(*pm.family, member->model);
      members_.push_back(std::move(member));
    }
  } catch (...) {
    discard();
    throw;
  }
  const FamilyModel& f0 = members_[0]->fm;
  for (const auto& m : members_) {
    const FamilyModel& f = m->fm;
    if (f.obs_dim != f0.obs_dim || f.act_dim != f0.act_dim || f.task_dim != f0.task_dim ||
        f.ops->infos != f0.ops->infos || f.ops->rand_params != f0.ops->rand_params) {
      const std::string a = f0.ops->name, b = f.ops->name;
      discard();
      throw std::invalid_argument("SimPool: members " + a + " and " + b +
                                  " differ in observation, action or task sizes or infos");
    }
  }
}

SimPool::~SimPool() {
  for (EnvSlot& e : envs_) mj_deleteData(e.d);
  for (mjModel* m : env_models_) mj_deleteModel(m);
  env_overlays_.clear();
  for (auto& member : members_) {
    for (auto& v : member->worker_slots) free_slots(v);
    for (mjModel* m : member->worker_models) mj_deleteModel(m);
    member->worker_overlays.clear();
  }
  for (mjModel* m : models_) mj_deleteModel(m);
}

int SimPool::max_episode_steps() const {
  int limit = 0;
  for (const auto& m : members_) {
    const int l = m->fm.ops->max_episode_steps;
    if (l > 0) limit = limit == 0 ? l : std::min(limit, l);
  }
  return limit;
}

std::vector<double> SimPool::ctrl_range() const {
  const FamilyModel& fm = family();
  const mjModel* m = model();
  std::vector<double> r(2 * size_t(act_dim()));
  for (int j = 0; j < act_dim(); ++j) {
    const bool own = fm.own_ctrl_range || !m;
    r[2 * j] = own ? fm.ctrl_lo[j] : m->actuator_ctrlrange[2 * j];
    r[2 * j + 1] = own ? fm.ctrl_hi[j] : m->actuator_ctrlrange[2 * j + 1];
  }
  return r;
}

int64_t SimPool::model_copies() const {
  int64_t n = int64_t(env_models_.size());
  for (const auto& m : members_) n += int64_t(m->worker_models.size());
  return n;
}

int64_t SimPool::rollout_slots() const {
  int64_t n = 0;
  for (const auto& m : members_)
    for (const auto& v : m->worker_slots) n += int64_t(v.size());
  return n;
}

EnvSlot SimPool::make_slot(const Member& member) const {
  EnvSlot e;
  if (member.model) e.d = make_data(member.model);
  if (member.fm.ops->init_slot) member.fm.ops->init_slot(member.fm, e);
  return e;
}

void SimPool::check_member(const char* fn, int32_t k) const {
  if (k < 0 || k >= num_members())
    throw std::invalid_argument(std::string(fn) + ": member " + std::to_string(k) + " out of range [0, " +
                                std::to_string(num_members()) + ")");
}

void SimPool::prepare_workers(int threads) {
  if (int(worker_clock_.size()) < threads) worker_clock_.resize(threads, 0);
  for (auto& m : members_) {
    if (int(m->worker_slots.size()) < threads) m->worker_slots.resize(threads);
    if (int(m->worker_used.size()) < threads) m->worker_used.resize(threads, 0);
  }
}

void SimPool::prepare_worker_models(int k, int threads) {
  Member& m = *members_[k];
  if (m.fm.rand_params())
    while (int(m.worker_models.size()) < threads) m.worker_models.push_back(copy_model(m.model));
  if (m.fm.moves_model())
    while (int(m.worker_overlays.size()) < threads) m.worker_overlays.push_back(std::make_unique<ModelOverlay>(m.model));
}

std::vector<EnvSlot>& SimPool::worker_slots(int k, int worker, int64_t count) {
  Member& member = *members_[k];
  member.worker_used[worker] = ++worker_clock_[worker];
  std::vector<EnvSlot>& v = member.worker_slots[worker];
  if (int64_t(v.size()) >= count) return v;
  int64_t held = 0;
  for (const auto& m : members_) held += int64_t(m->worker_slots[worker].size());
  while (held + count - int64_t(v.size()) > kWorkerSlotLimit) {  // free the least recently used other member's
    Member* oldest = nullptr;
    for (auto& m : members_)
      if (m.get() != &member && !m->worker_slots[worker].empty() &&
          (!oldest || m->worker_used[worker] < oldest->worker_used[worker]))
        oldest = m.get();
    if (!oldest) break;
    held -= int64_t(oldest->worker_slots[worker].size());
    free_slots(oldest->worker_slots[worker]);
  }
  while (int64_t(v.size()) < count) v.push_back(make_slot(member));
  return v;
}

mjModel* SimPool::item_model(int k, int worker, const double* task) {
  Member& m = *members_[k];
  if (m.fm.rand_params()) {
    apply_rand_params(m.model, m.worker_models[worker], task);
    return m.worker_models[worker];
  }
  if (m.fm.moves_model()) return m.worker_overlays[worker]->get();
  return m.model;
}

template <typename T>
void SimPool::rollout(const RolloutCall<T>& c) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const MlpSpec& spec = *c.spec;
  if (spec.obs_dim != obs_dim() || spec.act_dim != act_dim())
    throw std::invalid_argument("rollout: the policy's obs_dim/act_dim do not match the task family");
  const int limit = max_episode_steps();
  if (limit > 0 && c.horizon > limit)
    throw std::invalid_argument("rollout: horizon " + std::to_string(c.horizon) + " exceeds the episode length " +
                                std::to_string(limit) + " of " + family().ops->name);
  const int od = obs_dim(), ad = act_dim(), ni = num_infos(), td = task_dim();
  const int64_t B = c.trajs, H = c.horizon;
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  const int threads = pool->num_threads();
  prepare_workers(threads);
  std::vector<char> used(members_.size(), 0);
  for (int64_t t = 0; t < c.num_tasks; ++t) {
    const int32_t k = c.members ? c.members[t] : 0;
    check_member("rollout", k);
    used[k] = 1;
  }
  // Model copies and overlays are made here, on the calling thread (a MuJoCo error then surfaces
  // before any work); environments are made by the workers as they need them.
  for (int k = 0; k < num_members(); ++k)
    if (used[k]) prepare_worker_models(k, threads);
  // Work item = (task, group of up to kGroup trajectories) in lockstep: one policy call per step for
  // the group, and a working set of kGroup mjData that stays in the core's cache.
  const int64_t groups = (B + kRolloutGroup - 1) / kRolloutGroup;
  const int64_t G = std::min<int64_t>(B, kRolloutGroup);
  const std::vector<double> range = ctrl_range();
  const double* lo = range.data();
  const double log_norm = 0.5 * std::log(2.0 * M_PI) * ad;
  const int64_t ls_off = spec.log_std_offset();

  pool->parallel_for(c.num_tasks * groups, [&](int64_t item, int worker) {
    const int64_t t = item / groups, b0 = (item % groups) * kRolloutGroup;
    const int64_t n = std::min<int64_t>(kRolloutGroup, B - b0);  // trajectories b0 .. b0+n-1
    const int k = c.members ? c.members[t] : 0;
    const FamilyModel& fm = members_[k]->fm;
    std::vector<EnvSlot>& data = worker_slots(k, worker, G);
    const T* theta = c.params + c.params_stride * t;
    const double* task = c.tasks + t * td;
    mjModel* mt = item_model(k, worker, task);
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
    for (int64_t b = 0; b < n; ++b) rng[b] = Rng(c.seed, stream0 + uint64_t(b0 + b));
    reset_group(fm, mt, data.data(), n, task, rng.data());
    for (int64_t b = 0; b < n; ++b) {
      observe_env(fm, mt, data[b], obs_d.data());
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
          r = step_env(fm, mt, data[b], task, native.data());
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
        for (int q = 0; q < ni; ++q) c.infos[step * ni + q] = T(r.infos[q]);
        c.returns[traj] += r.reward;
        c.lengths[traj] = int32_t(h + 1);
        if (r.terminated) {
          active[b] = 0;
          --remaining;
          continue;
        }
        observe_env(fm, mt, data[b], obs_d.data());
        for (int i = 0; i < od; ++i) obs_t[b * od + i] = T(obs_d[i]);
      }
    }
  });
}

void SimPool::raw_physics(int64_t num_envs, int64_t steps, uint64_t seed, const double* controls,
                          const int32_t* lengths, const int32_t* members, const double* tasks) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!model()) throw std::invalid_argument("raw_physics: the point families have no physics engine");
  install_mujoco_handlers();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  const int threads = pool->num_threads();
  prepare_workers(threads);
  for (int64_t i = 0; i < num_envs; ++i) check_member("raw_physics", members ? members[i] : 0);
  for (int k = 0; k < num_members(); ++k) prepare_worker_models(k, threads);
  const int ad = act_dim(), td = task_dim();
  const std::vector<double> range = ctrl_range();
  const std::vector<double> no_task(size_t(std::max(td, 1)), 0.0);
  const auto task_of = [&](int64_t i) { return tasks ? tasks + i * td : no_task.data(); };
  // Work items as a rollout's: runs of up to kRolloutGroup consecutive environments of one member
  // and task, whose resets are shared as the rollout shares them (reset_group).
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < num_envs; ++i) {
    const bool same = !starts.empty() && i - starts.back() < kRolloutGroup &&
                      (members ? members[i] == members[i - 1] : true) &&
                      std::equal(task_of(i), task_of(i) + td, task_of(i - 1));
    if (!same) starts.push_back(i);
  }
  starts.push_back(num_envs);
  pool->parallel_for(int64_t(starts.size()) - 1, [&](int64_t item, int worker) {
    const int64_t i0 = starts[item], n = starts[item + 1] - i0;
    const int k = members ? members[i0] : 0;
    const FamilyModel& fm = members_[k]->fm;
    std::vector<EnvSlot>& envs = worker_slots(k, worker, n);
    const double* task = task_of(i0);
    // RandParams replays on the nominal model, as it always has; an overlay takes the task's fields
    mjModel* m = fm.moves_model() ? item_model(k, worker, task) : members_[k]->model;
    std::vector<Rng> rng;
    for (int64_t b = 0; b < n; ++b) rng.emplace_back(seed, uint64_t(i0 + b));
    reset_group(fm, m, envs.data(), n, task, rng.data());
    std::vector<double> action(ad);
    for (int64_t b = 0; b < n; ++b) {
      const int64_t i = i0 + b;
      EnvSlot& env = envs[b];
      const int64_t n_steps = lengths ? std::min<int64_t>(steps, lengths[i]) : steps;
      for (int64_t s = 0; s < n_steps; ++s) {
        for (int j = 0; j < ad; ++j)
          action[j] = controls ? controls[(i * steps + s) * ad + j] : rng[b].uniform(range[2 * j], range[2 * j + 1]);
        if (fm.ops->raw_step) {
          fm.ops->raw_step(fm, m, env, action.data());
        } else {
          std::copy(action.begin(), action.end(), env.d->ctrl);
          for (int q = 0; q < fm.ops->frame_skip; ++q) mj_step(m, env.d);
        }
      }
    }
  });
}

const mjModel* SimPool::env_model(int64_t i) const {
  if (!env_models_.empty()) return env_models_.at(size_t(i));
  if (!env_overlays_.empty() && env_overlays_.at(size_t(i))) return env_overlays_[size_t(i)].get()->get();
  return members_[env_member_.at(size_t(i))]->model;
}

void SimPool::release_env(int64_t i) {
  mj_deleteData(envs_[i].d);
  envs_[i] = EnvSlot();
  if (!env_overlays_.empty()) env_overlays_[i].reset();
}

void SimPool::assign_env(int64_t i, int32_t k) {
  const Member& m = *members_[k];
  envs_[i] = make_slot(m);
  env_member_[i] = k;
  if (m.fm.moves_model()) {
    if (env_overlays_.size() < envs_.size()) env_overlays_.resize(envs_.size());
    env_overlays_[i] = std::make_unique<ModelOverlay>(m.model);
  }
}

void SimPool::resize(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (n < 0) throw std::invalid_argument("resize: n must be >= 0");
  const size_t before = envs_.size();
  const bool rand_params = family().rand_params();
  try {
    while (int64_t(envs_.size()) < n) {
      envs_.emplace_back();
      env_member_.push_back(0);
      assign_env(int64_t(envs_.size()) - 1, 0);
    }
    if (rand_params)
      while (int64_t(env_models_.size()) < n) env_models_.push_back(copy_model(model()));
  } catch (...) {  // out of memory part way: give back what this call took, keep the pool as it was
    while (envs_.size() > before) {
      mj_deleteData(envs_.back().d);
      envs_.pop_back();
      env_member_.pop_back();
    }
    if (env_overlays_.size() > before) env_overlays_.resize(before);
    while (env_models_.size() > before) {
      mj_deleteModel(env_models_.back());
      env_models_.pop_back();
    }
    throw;
  }
  while (int64_t(envs_.size()) > n) {
    mj_deleteData(envs_.back().d);
    envs_.pop_back();
    env_member_.pop_back();
  }
  if (int64_t(env_overlays_.size()) > n) env_overlays_.resize(size_t(n));
  while (int64_t(env_models_.size()) > n) {
    mj_deleteModel(env_models_.back());
    env_models_.pop_back();
  }
  env_rng_.resize(n);
  // RandParams multipliers of 1 (the nominal model) until set_tasks
  env_tasks_.assign(size_t(n) * task_dim(), rand_params ? 1.0 : 0.0);
  if (rand_params)
    for (int64_t i = 0; i < n; ++i) apply_rand_params(model(), env_models_[i], env_tasks_.data() + i * task_dim());
}

void SimPool::set_tasks(const double* tasks, const int32_t* members) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t n = num_envs();
  if (members)
    for (int64_t i = 0; i < n; ++i) check_member("set_tasks", members[i]);
  std::copy(tasks, tasks + env_tasks_.size(), env_tasks_.begin());
  for (int64_t i = 0; i < n; ++i) {
    const int32_t k = members ? members[i] : 0;
    if (k != env_member_[i]) {
      release_env(i);
      assign_env(i, k);
    }
  }
  if (family().rand_params())
    for (int64_t i = 0; i < n; ++i) apply_rand_params(model(), env_models_[i], env_tasks_.data() + i * task_dim());
}

void SimPool::reset(const uint8_t* which, const uint64_t* seeds, double* obs) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const int od = obs_dim(), td = task_dim();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(num_envs(), [&](int64_t i, int) {
    if (which && !which[i]) return;
    if (seeds) env_rng_[i] = Rng(seeds[i], 0);
    const FamilyModel& fm = members_[env_member_[i]]->fm;
    mjModel* m = const_cast<mjModel*>(env_model(i));  // the environment's own model or the member's
    reset_env(fm, m, envs_[i], env_tasks_.data() + i * td, env_rng_[i]);
    observe_env(fm, m, envs_[i], obs + i * od);
  });
}

void SimPool::set_state(int64_t i, const double* qpos, const double* qvel, double* obs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (i < 0 || i >= num_envs()) throw std::out_of_range("set_state: environment index out of range");
  install_mujoco_handlers();
  const FamilyModel& fm = members_[env_member_[i]]->fm;
  const mjModel* m = env_model(i);
  set_env_state(fm, m, envs_[i], qpos, qvel);
  observe_env(fm, m, envs_[i], obs);
}

void SimPool::step(const double* actions, double* obs, double* rewards, uint8_t* terminated, uint8_t* nonfinite,
                   double* infos) {
  std::lock_guard<std::mutex> lock(mutex_);
  install_mujoco_handlers();
  const int od = obs_dim(), ad = act_dim(), ni = num_infos(), td = task_dim();
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  pool->parallel_for(num_envs(), [&](int64_t i, int) {
    const FamilyModel& fm = members_[env_member_[i]]->fm;
    const mjModel* m = env_model(i);
    const StepOutcome r = step_env(fm, m, envs_[i], env_tasks_.data() + i * td, actions + i * ad);
    rewards[i] = r.reward;
    terminated[i] = r.terminated;
    nonfinite[i] = r.nonfinite;
    std::copy(r.infos, r.infos + ni, infos + i * ni);
    observe_env(fm, m, envs_[i], obs + i * od);
  });
}

template void SimPool::rollout<float>(const RolloutCall<float>&);
template void SimPool::rollout<double>(const RolloutCall<double>&);

}  // namespace metarl
