"""The `envs` suite: sampling throughput (environment steps per second) of the C++ task families
with the (64, 64) tanh policy evaluated inside the workers, at the ProMP batch (40 tasks × 20
trajectories × 100 steps), against:

  physics limit     raw mj_step × frame_skip on the same threads, replaying the rollout's initial
                    states and controls (the same trajectories), no policy / observations / rewards
  gymnasium         SyncVectorEnv of gymnasium's v5 env (same MJCF) with a torch policy per step
  envpool           EnvPool with a torch policy per step (when installed; row skipped otherwise)
  mujoco.rollout    MuJoCo's own multi-threaded open-loop rollout (precomputed random controls)

Every implementation does the same number of environment steps per call (physics substeps are
frame_skip per environment step).
"""
from __future__ import annotations


import numpy as np
import torch

from ..runtime import get_num_threads, set_num_threads
from ..policies import PolicySpec, mlp_mean
import statistics

from .harness import Row, machine_info, suite_parser, print_table, rows_from_samples, time_interleaved, write_json

GYM_IDS = {"HalfCheetahRandDirec": ("HalfCheetah-v5", {}), "AntRandDirec": ("Ant-v5", {})}


def _gymnasium_impl(family, spec, params, num_envs, horizon):
    import gymnasium

    gym_id, kwargs = GYM_IDS[family.name]
    venv = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(gym_id, **kwargs) for _ in range(num_envs)])
    # the same network on gymnasium's observation (v5 Ant drops the world body's contact forces)
    spec = PolicySpec(venv.single_observation_space.shape[0], spec.act_dim, spec.hidden, spec.activation)
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    log_std = spec.unflatten(params)["log_std"]
    scale = family.action_scale

    def run():
        obs, _ = venv.reset(seed=0)
        for _ in range(horizon):
            with torch.no_grad():
                o = torch.as_tensor(obs, dtype=params.dtype)
                a = mlp_mean(spec, params, o) + torch.randn(num_envs, spec.act_dim) * torch.exp(log_std)
            obs, *_ = venv.step(np.clip(a.numpy() / scale, -1, 1))

    return run, venv


def _envpool_impl(family, spec, params, num_envs, horizon, threads):
    try:
        import envpool
    except ImportError:
        return None
    gym_id, _ = GYM_IDS[family.name]
    pool = envpool.make_gymnasium(gym_id, num_envs=num_envs, num_threads=threads)
    spec = PolicySpec(pool.observation_space.shape[0], spec.act_dim, spec.hidden, spec.activation)
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    log_std = spec.unflatten(params)["log_std"]

    def run():
        obs, _ = pool.reset()
        for _ in range(horizon):
            with torch.no_grad():
                a = mlp_mean(spec, params, torch.as_tensor(obs, dtype=params.dtype))
                a = a + torch.randn_like(a) * torch.exp(log_std)
            obs, *_ = pool.step(np.clip(a.numpy() / family.action_scale, -1, 1))

    return run


def _mujoco_rollout_impl(family, num_envs, horizon, threads):
    import mujoco
    from mujoco import rollout

    model = mujoco.MjModel.from_xml_path(family.xml_path)
    datas = [mujoco.MjData(model) for _ in range(threads)]
    nstep = horizon * family.frame_skip
    state_size = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    init = np.zeros((num_envs, state_size))
    d = mujoco.MjData(model)
    mujoco.mj_getState(model, d, init[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
    init[:] = init[0]
    rng = np.random.default_rng(0)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    control = rng.uniform(lo, hi, size=(num_envs, horizon, model.nu)).repeat(family.frame_skip, axis=1)
    with rollout.Rollout(nthread=threads) as r:
        r.rollout(model, datas, init, control, nstep=nstep)  # warm the pool

    runner = rollout.Rollout(nthread=threads)

    def run():
        runner.rollout(model, datas, init, control, nstep=nstep)

    return run, runner


def run(argv: list[str] | None = None) -> list[Row]:
    p = suite_parser("envs", __doc__, "fewer rounds and a smaller batch (a smoke run)")
    p.add_argument("--families", default="HalfCheetahRandDirec,AntRandDirec")
    p.add_argument("--tasks", type=int, default=40)
    p.add_argument("--trajectories", type=int, default=20)
    p.add_argument("--horizon", type=int, default=100)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--floor-only", action="store_true",
                   help="only the C++ rollout and its physics replay (the sampler's floor), no baselines")
    args = p.parse_args(argv)
    if args.quick:
        args.tasks, args.repeats = min(args.tasks, 8), args.repeats or 2
    repeats = args.repeats or 5
    prev = (get_num_threads(), torch.get_num_threads())
    set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    try:
        rows = []
        for name in args.families.split(","):
            rows += _run_family(name, args, repeats)
    finally:
        set_num_threads(prev[0])
        torch.set_num_threads(prev[1])
    if args.json:
        write_json(args.json, "envs", rows)
        print(f"wrote {args.json}")
    return rows


def _run_family(name: str, args, repeats: int) -> list[Row]:
    from .. import envs

    family = envs.make(name)
    spec = PolicySpec(family.obs_dim, family.act_dim, (64, 64), "tanh")
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    T, B, H = args.tasks, args.trajectories, args.horizon
    tasks = family.sample_tasks(T, seed=0)
    n_envs = T * B
    # The physics limit replays the rollout's own physics (same initial states, same controls),
    # so both do the same contacts and solver work.
    reference_batch = family.rollout(spec, params, tasks, B, H, seed=1)
    impls = {
        "cpp rollout (policy in loop)": lambda: family.rollout(spec, params, tasks, B, H, seed=1),
        "physics limit (raw mj_step)": lambda: family.physics_limit(reference_batch, seed=1),
    }
    keep = []
    if not args.floor_only:
        gym_run, venv = _gymnasium_impl(family, spec, params, n_envs, H)
        impls["gymnasium SyncVectorEnv"] = gym_run
        keep.append(venv)
        envpool_run = _envpool_impl(family, spec, params, n_envs, H, args.threads)
        if envpool_run is not None:
            impls["envpool"] = envpool_run
        mj_run, runner = _mujoco_rollout_impl(family, n_envs, H, args.threads)
        impls["mujoco.rollout open-loop"] = mj_run
        keep.append(runner)
    samples = time_interleaved(impls, repeats, warmup=1)
    # env steps per call: the rollout's valid steps (Ant terminates) for it and its replay; the
    # open-loop baselines step every environment for H steps
    steps_of = {k: float(n_envs * H) for k in impls}
    steps_of["cpp rollout (policy in loop)"] = steps_of["physics limit (raw mj_step)"] = float(
        reference_batch.num_steps)
    rows = rows_from_samples(name, samples, "physics limit (raw mj_step)", dict(T=T, B=B, H=H), args.threads)
    limit_rate = steps_of["physics limit (raw mj_step)"] / statistics.median(samples["physics limit (raw mj_step)"])
    for r in rows:
        r.gflops = None
        rate = steps_of[r.implementation] / r.median_s
        r.sizes = dict(r.sizes, env_steps_per_s=rate)
        r.ratio, r.baseline = rate / limit_rate, "physics limit (raw mj_step) env-steps/s"
    info = machine_info()
    title = (f"envs: {name}, {T} tasks × {B} trajectories × {H} steps ({int(reference_batch.num_steps)} valid steps in "
             f"the rollout); {args.threads} threads; {info['cpu']}; speedup = env-steps/s relative to the physics limit")
    print_table(rows, title, [f"  {r.implementation}: {r.sizes['env_steps_per_s']:,.0f} env-steps/s" for r in rows])
    for obj in keep:
        close = getattr(obj, "close", None)
        if close:
            close()
    return rows
