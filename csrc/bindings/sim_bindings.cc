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
#include "sim/mujoco_errors.h"
#include "sim/sim_pool.h"

namespace py = pybind11;

namespace metarl {
namespace {

template <typename T>
void rollout(SimPool& pool, int obs_dim, int act_dim, const std::vector<int>& hidden, int activation,
             const Arr<T>& params, bool params_per_task, const Arr<double>& tasks, int64_t trajs, int64_t horizon,
             uint64_t seed, bool deterministic, double action_scale, Arr<T> obs, Arr<T> actions, Arr<T> rewards,
             Arr<T> mask, Arr<T> log_prob, Arr<T> infos, Arr<int32_t> lengths, Arr<double> returns,
             Arr<int32_t> nonfinite) {
  const char* fn = "rollout";
  const MlpSpec spec = MlpSpec::make(obs_dim, act_dim, hidden, activation);
  const int64_t P = spec.num_params();
  if (pool.task_dim() == 0 || tasks.size() % pool.task_dim() != 0)
    throw std::invalid_argument("rollout: tasks must be [T, task_dim]");
  const int64_t T_ = tasks.size() / pool.task_dim();
  if (T_ < 1 || trajs < 1 || horizon < 0) throw std::invalid_argument("rollout: need T >= 1, B >= 1, H >= 0");
  const int64_t steps = T_ * trajs * horizon;
  require_size(fn, "params", params, params_per_task ? T_ * P : P);
  require_size(fn, "obs", obs, steps * pool.obs_dim());
  require_size(fn, "actions", actions, steps * pool.act_dim());
  require_size(fn, "rewards", rewards, steps);
  require_size(fn, "mask", mask, steps);
  require_size(fn, "log_prob", log_prob, steps);
  require_size(fn, "infos", infos, steps * pool.num_infos());
  require_size(fn, "lengths", lengths, T_ * trajs);
  require_size(fn, "returns", returns, T_ * trajs);
  require_size(fn, "nonfinite", nonfinite, T_ * trajs);
  RolloutCall<T> c;
  c.spec = &spec;
  c.params = params.data();
  c.params_stride = params_per_task ? P : 0;
  c.tasks = tasks.data();
  c.num_tasks = T_;
  c.trajs = trajs;
  c.horizon = horizon;
  c.seed = seed;
  c.deterministic = deterministic;
  c.action_scale = action_scale;
  c.obs = obs.mutable_data();
  c.actions = actions.mutable_data();
  c.rewards = rewards.mutable_data();
  c.mask = mask.mutable_data();
  c.log_prob = log_prob.mutable_data();
  c.infos = infos.mutable_data();
  c.lengths = lengths.mutable_data();
  c.returns = returns.mutable_data();
  c.nonfinite = nonfinite.mutable_data();
  py::gil_scoped_release release;
  pool.rollout(c);
}

template <typename T>
void def_rollout(py::class_<SimPool>& cls) {
  cls.def("rollout", &rollout<T>, py::arg("obs_dim"), py::arg("act_dim"), py::arg("hidden"), py::arg("activation"),
          py::arg("params").noconvert(), py::arg("params_per_task"), py::arg("tasks").noconvert(), py::arg("trajs"),
          py::arg("horizon"), py::arg("seed"), py::arg("deterministic"), py::arg("action_scale"),
          py::arg("obs").noconvert(), py::arg("actions").noconvert(), py::arg("rewards").noconvert(),
          py::arg("mask").noconvert(), py::arg("log_prob").noconvert(), py::arg("infos").noconvert(),
          py::arg("lengths").noconvert(), py::arg("returns").noconvert(), py::arg("nonfinite").noconvert());
}

}  // namespace

void bind_sim(py::module_& m) {
  py::register_exception<MujocoError>(m, "MujocoError", PyExc_RuntimeError);
  m.def("task_family_names", [] {
    std::vector<std::string> names;
    for (int i = 0;; ++i) {
      try {
        names.push_back(family_info(family_from_int(i)).name);
      } catch (const std::invalid_argument&) {
        return names;
      }
    }
  });
  m.def("task_family_info", [](int id) {
    const FamilyInfo& f = family_info(family_from_int(id));
    return py::dict(py::arg("name") = f.name, py::arg("xml") = f.xml, py::arg("frame_skip") = f.frame_skip,
                    py::arg("task_dim") = f.task_dim, py::arg("infos") = f.infos);
  }, py::arg("id"));
  m.def("mujoco_warning_count", &mujoco_warning_count);
  m.def("last_mujoco_warning", &last_mujoco_warning);

  py::class_<SimPool> cls(m, "SimPool");
  cls.def(py::init([](int family, const std::string& xml) { return new SimPool(family_from_int(family), xml); }),
          py::arg("family"), py::arg("xml_path"))
      .def_property_readonly("obs_dim", &SimPool::obs_dim)
      .def_property_readonly("act_dim", &SimPool::act_dim)
      .def_property_readonly("task_dim", &SimPool::task_dim)
      .def_property_readonly("num_infos", &SimPool::num_infos)
      .def_property_readonly("nq", &SimPool::nq)
      .def_property_readonly("nv", &SimPool::nv)
      .def_property_readonly("dt", [](const SimPool& p) { return p.family().dt; })
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
      .def("raw_physics", [](SimPool& p, int64_t num_envs, int64_t steps, uint64_t seed,
                             const std::optional<Arr<double>>& controls, const std::optional<Arr<int32_t>>& lengths) {
        if (num_envs < 1 || steps < 0) throw std::invalid_argument("raw_physics: need num_envs >= 1, steps >= 0");
        require_size("raw_physics", "controls", controls, num_envs * steps * p.act_dim(), false);
        require_size("raw_physics", "lengths", lengths, num_envs, false);
        py::gil_scoped_release r;
        p.raw_physics(num_envs, steps, seed, ptr_or_null(controls), ptr_or_null(lengths));
      }, py::arg("num_envs"), py::arg("steps"), py::arg("seed") = 0, py::arg("controls").noconvert() = py::none(),
         py::arg("lengths").noconvert() = py::none())
      .def("resize", [](SimPool& p, int64_t n) { py::gil_scoped_release r; p.resize(n); }, py::arg("n"))
      .def("set_tasks", [](SimPool& p, const Arr<double>& tasks) {
        require_size("set_tasks", "tasks", tasks, p.num_envs() * p.task_dim());
        p.set_tasks(tasks.data());
      }, py::arg("tasks").noconvert())
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
