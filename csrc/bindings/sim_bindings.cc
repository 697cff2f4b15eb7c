// Bindings of csrc/sim: task-family metadata and SimPool (rollouts with the policy in the loop,
// and the step API behind the gymnasium adapters). Shapes are validated in Python
// (metarl_fast/envs); sizes are re-checked here and the GIL is released while MuJoCo runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings/array_checks.h"
#include "sim/metaworld/sawyer.h"
#include "sim/mujoco_errors.h"
#include "sim/sim_pool.h"

namespace py = pybind11;

namespace metarl {
namespace {

// SimPool.rollout(spec, params, tasks, trajs, horizon, seed, deterministic, action_scale, keep_means,
// streams=None, members=None) (streams: [T] uint64, the random stream of each task's first
// trajectory; members: [T] int32, the pool member each task runs on)
// -> {"obs", "actions", "rewards", "mask", "log_prob", "means" (or None), "infos", "lengths", "returns",
// "nonfinite"}: new zero-filled arrays [T, B, H, ...] / [T, B] written by the pool.
template <typename T>
py::dict rollout(SimPool& pool, const MlpSpec& spec, const Arr<T>& params, const Arr<double>& tasks, int64_t trajs,
                 int64_t horizon, uint64_t seed, bool deterministic, double action_scale, bool keep_means,
                 const std::optional<Arr<uint64_t>>& streams, const std::optional<Arr<int32_t>>& members) {
  const int64_t P = spec.num_params();
  if (tasks.ndim() != 2 || tasks.shape(1) != pool.task_dim())
    throw std::invalid_argument("rollout: tasks must be [T, " + std::to_string(pool.task_dim()) + "]");
  const int64_t T_ = tasks.shape(0), B = trajs, H = horizon;
  if (T_ < 1 || trajs < 1 || horizon < 0) throw std::invalid_argument("rollout: need T >= 1, B >= 1, H >= 0");
  const bool per_task = params.ndim() == 2;
  if (!(params.ndim() == 1 && params.shape(0) == P) && !(per_task && params.shape(0) == T_ && params.shape(1) == P))
    throw std::invalid_argument("rollout: params must be [P] or [T, P]");
  if (streams && !(streams->ndim() == 1 && streams->shape(0) == T_))
    throw std::invalid_argument("rollout: streams must be [T]");
  if (members && !(members->ndim() == 1 && members->shape(0) == T_))
    throw std::invalid_argument("rollout: members must be [T]");
  const auto zeros = [](std::vector<py::ssize_t> shape, auto tag) {
    using V = decltype(tag);
    Arr<V> a(shape);
    std::fill(a.mutable_data(), a.mutable_data() + a.size(), V(0));
    return a;
  };
  const py::ssize_t od = pool.obs_dim(), ad = pool.act_dim(), ni = pool.num_infos();
  Arr<T> obs = zeros({T_, B, H, od}, T()), actions = zeros({T_, B, H, ad}, T());
  Arr<T> rewards = zeros({T_, B, H}, T()), mask = zeros({T_, B, H}, T()), log_prob = zeros({T_, B, H}, T());
  Arr<T> infos = zeros({T_, B, H, ni}, T());
  std::optional<Arr<T>> means;
  if (keep_means) means = zeros({T_, B, H, ad}, T());
  Arr<int32_t> lengths = zeros({T_, B}, int32_t()), nonfinite = zeros({T_, B}, int32_t());
  Arr<double> returns = zeros({T_, B}, double());
  RolloutCall<T> c;
  c.spec = &spec;
  c.params = params.data();
  c.params_stride = per_task ? P : 0;
  c.tasks = tasks.data();
  c.members = members ? members->data() : nullptr;
  c.num_tasks = T_;
  c.trajs = trajs;
  c.horizon = horizon;
  c.seed = seed;
  c.streams = streams ? streams->data() : nullptr;
  c.deterministic = deterministic;
  c.action_scale = action_scale;
  c.obs = obs.mutable_data();
  c.actions = actions.mutable_data();
  c.rewards = rewards.mutable_data();
  c.mask = mask.mutable_data();
  c.log_prob = log_prob.mutable_data();
  c.means = means ? means->mutable_data() : nullptr;
  c.infos = infos.mutable_data();
  c.lengths = lengths.mutable_data();
  c.returns = returns.mutable_data();
  c.nonfinite = nonfinite.mutable_data();
  {
    py::gil_scoped_release release;
    pool.rollout(c);
  }
  py::dict out;
  out["obs"] = obs;
  out["actions"] = actions;
  out["rewards"] = rewards;
  out["mask"] = mask;
  out["log_prob"] = log_prob;
  out["means"] = means ? py::object(*means) : py::object(py::none());
  out["infos"] = infos;
  out["lengths"] = lengths;
  out["returns"] = returns;
  out["nonfinite"] = nonfinite;
  return out;
}

template <typename T>
void def_rollout(py::class_<SimPool>& cls) {
  cls.def("rollout", &rollout<T>, py::arg("spec"), py::arg("params").noconvert(), py::arg("tasks").noconvert(),
          py::arg("trajs"), py::arg("horizon"), py::arg("seed"), py::arg("deterministic"), py::arg("action_scale"),
          py::arg("keep_means"), py::arg("streams").noconvert() = py::none(),
          py::arg("members").noconvert() = py::none());
}

}  // namespace

void bind_sim(py::module_& m) {
  py::register_exception<MujocoError>(m, "MujocoError", PyExc_RuntimeError);
  m.def("task_family_names", [] {
    std::vector<std::string> names;
    for (const FamilyOps* f : all_families()) names.emplace_back(f->name);
    return names;
  }, "Names of the C++ task families.");
  m.def("task_family_info", [](const std::string& name) {
    const FamilyOps& f = find_family(name);
    return py::dict(py::arg("name") = f.name, py::arg("xml") = f.xml, py::arg("frame_skip") = f.frame_skip,
                    py::arg("task_dim") = f.task_dim, py::arg("infos") = f.infos,
                    py::arg("rand_params") = f.rand_params, py::arg("moves_model") = f.reset_task != nullptr,
                    py::arg("max_episode_steps") = f.max_episode_steps);
  }, py::arg("name"));
  m.def("metaworld_envs", [] {
    std::vector<std::pair<std::string, std::string>> envs;
    for (const metaworld::SawyerEnvDef& d : metaworld::sawyer_env_defs()) envs.emplace_back(d.name, d.xml);
    return envs;
  }, "The Meta-World environments simulated in C++: (name, model file relative to Meta-World's assets); their "
     "pool family is 'metaworld/<name>'.");
  m.def("mujoco_warning_count", &mujoco_warning_count);
  m.def("last_mujoco_warning", &last_mujoco_warning);

  py::class_<SimPool> cls(m, "SimPool");
  cls.def(py::init([](const std::string& family, const std::string& xml) {
            return new SimPool(find_family(family), xml);
          }),
          py::arg("family"), py::arg("xml_path"))
      .def(py::init([](const std::vector<std::pair<std::string, std::string>>& members) {
             std::vector<PoolMember> pm;
             for (const auto& [family, xml] : members) pm.push_back(PoolMember{&find_family(family), xml});
             py::gil_scoped_release r;  // loading 50 Meta-World models takes seconds
             return new SimPool(pm);
           }),
           py::arg("members"), "A pool over several (family, xml_path) members; task t of a rollout runs on "
           "member members[t].")
      .def_property_readonly("num_members", &SimPool::num_members)
      .def_property_readonly("max_episode_steps", &SimPool::max_episode_steps)
      .def_property_readonly("rollout_slots", &SimPool::rollout_slots)
      .def_property_readonly("obs_dim", &SimPool::obs_dim)
      .def_property_readonly("act_dim", &SimPool::act_dim)
      .def_property_readonly("task_dim", &SimPool::task_dim)
      .def_property_readonly("num_infos", &SimPool::num_infos)
      .def_property_readonly("nq", &SimPool::nq)
      .def_property_readonly("nv", &SimPool::nv)
      .def_property_readonly("dt", [](const SimPool& p) { return p.family().dt; })
      .def_property_readonly("name", [](const SimPool& p) { return std::string(p.family().ops->name); })
      .def_property_readonly("model_sizes", [](const SimPool& p) {
        const mjModel* m = p.model();
        if (!m) return py::dict();
        return py::dict(py::arg("nbody") = m->nbody, py::arg("nv") = m->nv, py::arg("ngeom") = m->ngeom,
                        py::arg("nq") = m->nq, py::arg("nu") = m->nu);
      })
      .def_property_readonly("ctrl_range", [](const SimPool& p) {
        py::array_t<double> r({p.act_dim(), 2});
        const std::vector<double> range = p.ctrl_range();
        std::copy(range.begin(), range.end(), r.mutable_data());
        return r;
      })
      .def_property_readonly("num_envs", &SimPool::num_envs)
      .def_property_readonly("model_copies", &SimPool::model_copies)
      .def("raw_physics", [](SimPool& p, int64_t num_envs, int64_t steps, uint64_t seed,
                             const std::optional<Arr<double>>& controls, const std::optional<Arr<int32_t>>& lengths,
                             const std::optional<Arr<int32_t>>& members, const std::optional<Arr<double>>& tasks) {
        if (num_envs < 1 || steps < 0) throw std::invalid_argument("raw_physics: need num_envs >= 1, steps >= 0");
        require_size("raw_physics", "controls", controls, num_envs * steps * p.act_dim(), false);
        require_size("raw_physics", "lengths", lengths, num_envs, false);
        require_size("raw_physics", "members", members, num_envs, false);
        require_size("raw_physics", "tasks", tasks, num_envs * p.task_dim(), false);
        py::gil_scoped_release r;
        p.raw_physics(num_envs, steps, seed, ptr_or_null(controls), ptr_or_null(lengths), ptr_or_null(members),
                      ptr_or_null(tasks));
      }, py::arg("num_envs"), py::arg("steps"), py::arg("seed") = 0, py::arg("controls").noconvert() = py::none(),
         py::arg("lengths").noconvert() = py::none(), py::arg("members").noconvert() = py::none(),
         py::arg("tasks").noconvert() = py::none())
      .def("resize", [](SimPool& p, int64_t n) { py::gil_scoped_release r; p.resize(n); }, py::arg("n"))
      .def("set_tasks", [](SimPool& p, const Arr<double>& tasks, const std::optional<Arr<int32_t>>& members) {
        require_size("set_tasks", "tasks", tasks, p.num_envs() * p.task_dim());
        require_size("set_tasks", "members", members, p.num_envs(), false);
        p.set_tasks(tasks.data(), ptr_or_null(members));
      }, py::arg("tasks").noconvert(), py::arg("members").noconvert() = py::none())
      .def("env_state", [](const SimPool& p, int64_t i) {
        if (i < 0 || i >= p.num_envs()) throw std::out_of_range("env_state: environment index out of range");
        const mjModel* m = p.env_model(i);
        const mjData* d = p.env_data(i);
        if (!m || !d) throw std::invalid_argument("env_state: the point families have no MuJoCo state");
        const auto copy = [](const mjtNum* x, py::ssize_t rows, py::ssize_t cols) {
          py::array_t<double> a(cols == 1 ? std::vector<py::ssize_t>{rows} : std::vector<py::ssize_t>{rows, cols});
          std::copy(x, x + rows * cols, a.mutable_data());
          return a;
        };
        return py::dict(py::arg("member") = p.env_member(i), py::arg("time") = d->time,
                        py::arg("qpos") = copy(d->qpos, m->nq, 1), py::arg("qvel") = copy(d->qvel, m->nv, 1),
                        py::arg("qacc_warmstart") = copy(d->qacc_warmstart, m->nv, 1),
                        py::arg("ctrl") = copy(d->ctrl, m->nu, 1),
                        py::arg("mocap_pos") = copy(d->mocap_pos, m->nmocap, 3),
                        py::arg("mocap_quat") = copy(d->mocap_quat, m->nmocap, 4),
                        py::arg("body_pos") = copy(m->body_pos, m->nbody, 3),
                        py::arg("site_pos") = copy(m->site_pos, m->nsite, 3));
      }, py::arg("i"), "Environment i's MuJoCo state and the poses of its model (a copy).")
      .def("reset", [](SimPool& p, const std::optional<Arr<uint8_t>>& which, const std::optional<Arr<uint64_t>>& seeds,
                       Arr<double> obs) {
        require_size("reset", "which", which, p.num_envs(), false);
        require_size("reset", "seeds", seeds, p.num_envs(), false);
        require_size("reset", "obs", obs, p.num_envs() * p.obs_dim());
        py::gil_scoped_release r;
        p.reset(ptr_or_null(which), ptr_or_null(seeds), obs.mutable_data());
      }, py::arg("which").noconvert().none(true), py::arg("seeds").noconvert().none(true), py::arg("obs").noconvert())
      .def("set_state", [](SimPool& p, int64_t i, const Arr<double>& qpos, const Arr<double>& qvel, Arr<double> obs) {
        require_size("set_state", "qpos", qpos, p.nq());
        require_size("set_state", "qvel", qvel, p.nv());
        require_size("set_state", "obs", obs, p.obs_dim());
        p.set_state(i, qpos.data(), qvel.data(), obs.mutable_data());
      }, py::arg("i"), py::arg("qpos").noconvert(), py::arg("qvel").noconvert(), py::arg("obs").noconvert())
      .def("step", [](SimPool& p, const Arr<double>& actions, Arr<double> obs, Arr<double> rewards,
                      Arr<uint8_t> terminated, Arr<uint8_t> nonfinite, Arr<double> infos) {
        const int64_t n = p.num_envs();
        require_size("step", "actions", actions, n * p.act_dim());
        require_size("step", "obs", obs, n * p.obs_dim());
        require_size("step", "rewards", rewards, n);
        require_size("step", "terminated", terminated, n);
        require_size("step", "nonfinite", nonfinite, n);
        require_size("step", "infos", infos, n * p.num_infos());
        py::gil_scoped_release r;
        p.step(actions.data(), obs.mutable_data(), rewards.mutable_data(), terminated.mutable_data(),
               nonfinite.mutable_data(), infos.mutable_data());
      }, py::arg("actions").noconvert(), py::arg("obs").noconvert(), py::arg("rewards").noconvert(),
         py::arg("terminated").noconvert(), py::arg("nonfinite").noconvert(), py::arg("infos").noconvert());
  def_rollout<float>(cls);
  def_rollout<double>(cls);
}

}  // namespace metarl
