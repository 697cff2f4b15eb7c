"""Task families: alignment with gymnasium's MuJoCo envs, determinism, the recorded log-probs,
task distributions, error handling and bad input."""
import math
import re

import gymnasium
import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast import envs, kernels

STEPS = 100


def _rel_close(a, b, tol=1e-6):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))), np.max(np.abs(a - b))


def _run_aligned(family_name, task, gym_id, gym_kwargs, compare):
    """Same start state and actions in our env and gymnasium's; compare(step, ours, theirs) each step,
    ours/theirs = (obs, reward, terminated, info); theirs also carries gymnasium's env last."""
    family = envs.make(family_name)
    ours = family.gym_env(task)
    ours.reset(seed=0)
    theirs = gymnasium.make(gym_id, **gym_kwargs).unwrapped
    theirs.reset(seed=1)
    qpos, qvel = theirs.data.qpos.copy(), theirs.data.qvel.copy()
    ours.set_state(qpos, qvel)
    rng = np.random.default_rng(3)
    low, high = theirs.action_space.low, theirs.action_space.high
    for step in range(STEPS):
        a = rng.uniform(low, high)
        o1, r1, t1, _, i1 = ours.step(a)
        o2, r2, t2, _, i2 = theirs.step(a)
        compare(step, (o1, r1, t1, i1), (o2, r2, t2, i2, theirs))
        if t1 or t2:
            assert t1 == t2
            break


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_half_cheetah_rand_direc_aligns_with_gymnasium(direction):
    def compare(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, r2, _, i2, _ = theirs
        _rel_close(o1, o2)
        _rel_close(i1["forward_velocity"], i2["x_velocity"])
        _rel_close(i1["reward_ctrl"], i2["reward_ctrl"])
        _rel_close(i1["reward_run"], direction * i2["x_velocity"])
        _rel_close(r1, direction * i2["x_velocity"] + i2["reward_ctrl"])

    _run_aligned("HalfCheetahRandDirec", [direction], "HalfCheetah-v5", dict(ctrl_cost_weight=0.05), compare)


def test_half_cheetah_rand_vel_aligns_with_gymnasium():
    target = 1.7

    def compare(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, _, _, i2, _ = theirs
        _rel_close(o1, o2)
        _rel_close(r1, -abs(i2["x_velocity"] - target) + i2["reward_ctrl"])

    _run_aligned("HalfCheetahRandVel", [target], "HalfCheetah-v5", dict(ctrl_cost_weight=0.05), compare)


ANT_GYM = dict(ctrl_cost_weight=0.5, contact_cost_weight=5e-4, healthy_reward=1.0, healthy_z_range=(0.0, 1.0),
               include_cfrc_ext_in_observation=True)


def _ant_obs_compare(o1, o2, n_qpos):
    """Ours: [qpos part, qvel, clip(cfrc_ext) of all 14 bodies]; gymnasium v5 drops the world body's."""
    head = n_qpos + 14
    _rel_close(o1[:head], o2[:head])
    assert np.all(o1[head:head + 6] == 0)  # the world body feels no external force
    _rel_close(o1[head + 6:], o2[head:])


def test_ant_rand_direc_aligns_with_gymnasium():
    def compare(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, r2, _, i2, _ = theirs
        _ant_obs_compare(o1, o2, 13)
        for k in ("reward_forward", "reward_ctrl", "reward_contact"):
            _rel_close(i1[k], i2[k])
        # The papers' code pays the survive bonus on the terminating step too; gymnasium v5 does not.
        gap = 1.0 if theirs[2] else 0.0
        _rel_close(i1["reward_survive"], i2["reward_survive"] + gap)
        _rel_close(r1, r2 + gap)

    _run_aligned("AntRandDirec", [1.0], "Ant-v5", ANT_GYM, compare)


def test_ant_rand_direc_2d_and_goal_align_with_gymnasium():
    u = np.array([0.6, -0.8])

    def compare_2d(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, _, _, i2, _ = theirs
        _ant_obs_compare(o1, o2, 13)
        v = u[0] * i2["x_velocity"] + u[1] * i2["y_velocity"]
        _rel_close(r1, v + i2["reward_ctrl"] + i2["reward_contact"] + 1.0)

    _run_aligned("AntRandDirec2D", u, "Ant-v5", ANT_GYM, compare_2d)
    goal = np.array([1.5, -2.0])

    def compare_goal(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, _, _, i2, gym_env = theirs
        _ant_obs_compare(o1, o2, 15)
        xy = gym_env.data.body("torso").xpos[:2]  # the papers' get_body_com (gymnasium's info has qpos)
        ctrl = 0.2 * i2["reward_ctrl"]  # gymnasium's weight here is 0.5, AntRandGoal's 0.1
        _rel_close(i1["reward_goal"], -np.abs(xy - goal).sum())
        _rel_close(i1["reward_ctrl"], ctrl)
        _rel_close(i1["reward_contact"], i2["reward_contact"])
        _rel_close(r1, -np.abs(xy - goal).sum() + ctrl + i2["reward_contact"])

    _run_aligned("AntRandGoal", goal, "Ant-v5", dict(ANT_GYM, exclude_current_positions_from_observation=False,
                                                     terminate_when_unhealthy=False), compare_goal)


# ---- rollouts ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cheetah():
    family = envs.make("HalfCheetahRandDirec")
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (32, 32))
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    return family, spec, params


def test_rollout_is_deterministic_across_thread_counts(cheetah):
    family, spec, params = cheetah
    tasks = family.sample_tasks(5, seed=1)
    per_task = params + 0.01 * torch.randn(5, spec.num_params, generator=torch.Generator().manual_seed(1),
                                           dtype=torch.float64)
    before = metarl_fast.get_num_threads()
    try:
        batches = []
        for n in (1, 2, 3):
            metarl_fast.set_num_threads(n)
            batches.append(family.rollout(spec, per_task, tasks, 3, 40, seed=7))
    finally:
        metarl_fast.set_num_threads(before)
    for b in batches[1:]:
        for name in ("obs", "actions", "rewards", "mask", "log_prob", "returns", "lengths"):
            assert torch.equal(getattr(b, name), getattr(batches[0], name)), name
    other = family.rollout(spec, per_task, tasks, 3, 40, seed=8)
    assert not torch.equal(other.obs, batches[0].obs)


def test_rollout_shapes_and_log_probs(cheetah):
    family, spec, params = cheetah
    tasks = family.sample_tasks(3, seed=2)
    for dtype in (torch.float64, torch.float32):
        b = family.rollout(spec, params.to(dtype), tasks, 4, 25, seed=3)
        assert b.obs.shape == (3, 4, 25, family.obs_dim) and b.obs.dtype == dtype
        assert b.actions.shape == (3, 4, 25, family.act_dim)
        assert set(b.infos) == set(family.info_names)
        assert b.num_steps == 3 * 4 * 25 and bool((b.mask == 1).all())
        lp = kernels.log_prob(spec, params.to(dtype), b.obs.flatten(1, 2), b.actions.flatten(1, 2)).reshape(3, 4, 25)
        tol = 1e-9 if dtype == torch.float64 else 1e-4
        assert torch.allclose(lp, b.log_prob, rtol=tol, atol=tol)
        assert torch.allclose(b.returns.to(dtype), b.rewards.sum(-1), rtol=1e-5)


def test_deterministic_zero_policy_matches_a_gymnasium_loop(cheetah):
    family, spec, _ = cheetah
    zero = torch.zeros(spec.num_params, dtype=torch.float64)
    tasks = family.tasks([[1.0], [-1.0]])
    b = family.rollout(spec, zero, tasks, 2, 60, seed=5, deterministic=True)
    assert torch.equal(b.actions, torch.zeros_like(b.actions))
    gym_env = gymnasium.make("HalfCheetah-v5", ctrl_cost_weight=0.05).unwrapped
    for t, d in enumerate((1.0, -1.0)):
        for j in range(2):
            gym_env.reset(seed=0)
            o0 = b.obs[t, j, 0].numpy()
            qpos = np.concatenate([[0.0], o0[:8]])  # HalfCheetah does not observe x; its dynamics do not depend on it
            gym_env.set_state(qpos, o0[8:])
            for h in range(60):
                _rel_close(b.obs[t, j, h].numpy(), gym_env._get_obs())
                _, _, _, _, info = gym_env.step(np.zeros(6))
                _rel_close(b.rewards[t, j, h].item(), d * info["x_velocity"])


def test_ant_trajectories_terminate_and_are_masked():
    family = envs.make("AntRandDirec")
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (16,))
    params = spec.init_params(init_std=3.0, seed=torch.Generator().manual_seed(0))
    b = family.rollout(spec, params, family.sample_tasks(4, seed=0), 5, 200, seed=0)
    lengths = b.lengths
    assert bool((lengths <= 200).all()) and bool((lengths >= 1).all())
    steps = torch.arange(200)
    assert torch.equal(b.mask, (steps < lengths.unsqueeze(-1)).to(b.mask.dtype))
    assert bool((b.obs[b.mask == 0] == 0).all())


def test_nonfinite_states_end_only_their_trajectory(tmp_path):
    src = open(envs.gymnasium_asset("half_cheetah.xml")).read()
    unstable = tmp_path / "unstable.xml"
    unstable.write_text(re.sub(r'timestep="[0-9.]+"', 'timestep="0.3"', src))
    family = envs.make("HalfCheetahRandDirec", xml=str(unstable))
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    b = family.rollout(spec, spec.init_params(), family.sample_tasks(3, seed=0), 2, 30, seed=0)
    assert bool(b.nonfinite.all())
    assert bool(torch.isfinite(b.obs).all()) and bool(torch.isfinite(b.rewards).all())
    assert bool((b.lengths < 30).all())
    # a normal family still works afterwards
    good = envs.make("HalfCheetahRandDirec")
    assert good.rollout(spec, spec.init_params(), good.sample_tasks(2, seed=0), 2, 10, seed=0).num_steps == 40


def test_mujoco_error_in_a_worker_surfaces_and_the_pool_survives(tmp_path):
    src = open(envs.gymnasium_asset("half_cheetah.xml")).read()
    small = tmp_path / "small_stack.xml"
    small.write_text(src.replace("<option", '<size memory="3K"/>\n  <option', 1))
    family = envs.make("HalfCheetahRandDirec", xml=str(small))
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    with pytest.raises(metarl_fast.MujocoError, match="stack"):
        family.rollout(spec, spec.init_params(), family.sample_tasks(4, seed=0), 3, 50, seed=0)
    good = envs.make("HalfCheetahRandDirec")
    b = good.rollout(spec, spec.init_params(), good.sample_tasks(4, seed=0), 3, 50, seed=0)
    assert b.num_steps == 4 * 3 * 50
    assert kernels.score_vjp(spec, spec.init_params(), b.obs.flatten(1, 2), b.actions.flatten(1, 2),
                             b.rewards.flatten(1)).shape == (4, spec.num_params)


# ---- task distributions --------------------------------------------------------------------------

def test_task_distributions():
    n = 20000
    d = envs.make("HalfCheetahRandDirec").sample_tasks(n, seed=0).params[:, 0]
    assert set(np.unique(d)) == {-1.0, 1.0} and abs((d > 0).mean() - 0.5) < 4 * 0.5 / math.sqrt(n)
    v = envs.make("HalfCheetahRandVel").sample_tasks(n, seed=1).params[:, 0]
    assert v.min() >= 0 and v.max() <= 3 and abs(v.mean() - 1.5) < 4 * math.sqrt(0.75 / n)
    assert abs((v < 1.0).mean() - 1 / 3) < 0.02
    u = envs.make("AntRandDirec2D").sample_tasks(n, seed=2).params
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-12)
    angle = np.arctan2(u[:, 1], u[:, 0])
    hist = np.histogram(angle, bins=8, range=(-math.pi, math.pi))[0] / n
    assert np.all(np.abs(hist - 1 / 8) < 0.02)
    g = envs.make("AntRandGoal").sample_tasks(n, seed=3).params
    r = np.linalg.norm(g, axis=1)
    assert r.max() <= 3.0
    for q in (0.5, 1.5, 2.5):  # uniform on the disk: P(r ≤ q) = (q/3)²
        assert abs((r <= q).mean() - (q / 3) ** 2) < 0.02
    assert abs(np.cos(np.arctan2(g[:, 1], g[:, 0])).mean()) < 0.03


def test_task_batch_is_serialisable_and_printable():
    family = envs.make("AntRandGoal")
    tasks = family.sample_tasks(6, seed=4)
    again = envs.TaskBatch.from_dict(tasks.to_dict())
    assert again == tasks and len(tasks[2:4]) == 2
    assert "AntRandGoal" in repr(tasks) and "goal_x" in repr(tasks)
    assert family.sample_tasks(6, seed=4) == tasks and family.sample_tasks(6, seed=5) != tasks


# ---- gymnasium adapters --------------------------------------------------------------------------

def test_registered_with_gymnasium_and_vector_env_autoresets():
    env = gymnasium.make("metarl_fast/HalfCheetahRandDirec-v0")
    obs, info = env.reset(seed=0)
    assert obs.shape == (17,) and "task" in info
    family = envs.make("AntRandGoal")
    venv = family.vector_env(3, family.sample_tasks(3, seed=0), max_episode_steps=4)
    assert venv.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.NEXT_STEP
    venv.reset(seed=0)
    truncated_seen = False
    for k in range(6):
        obs, rew, term, trunc, info = venv.step(np.zeros((3, family.act_dim)))
        if k == 3:
            assert trunc.all()
            truncated_seen = True
        if k == 4:
            assert np.all(rew == 0)  # the autoreset step
    assert truncated_seen
    venv.set_tasks(family.sample_tasks(3, seed=1))


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input_is_rejected(cheetah):
    family, spec, params = cheetah
    tasks = family.sample_tasks(2, seed=0)
    with pytest.raises(ValueError, match="valid names.*HalfCheetahRandDirec"):
        envs.make("HalfCheetahFlying")
    with pytest.raises(ValueError, match="unknown options"):
        envs.make("HalfCheetahRandDirec", frame_skip=3)
    with pytest.raises(ValueError, match="params must have shape"):
        family.rollout(spec, params[:-1], tasks, 2, 10, seed=0)
    with pytest.raises(ValueError, match="params contain NaN"):
        family.rollout(spec, params * float("nan"), tasks, 2, 10, seed=0)
    with pytest.raises(ValueError, match="horizon"):
        family.rollout(spec, params, tasks, 2, -1, seed=0)
    with pytest.raises(ValueError, match="obs_dim"):
        family.rollout(metarl_fast.PolicySpec(5, 6), torch.zeros(metarl_fast.PolicySpec(5, 6).num_params), tasks, 2,
                       10, seed=0)
    with pytest.raises(ValueError, match="family"):
        family.rollout(spec, params, envs.make("AntRandGoal").sample_tasks(2, seed=0), 2, 10, seed=0)
    with pytest.raises(ValueError, match="params must be \\[n, 1\\]"):
        family.tasks([[1.0, 2.0]])
    env = family.gym_env([1.0])
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.full(6, np.nan))
    with pytest.raises(ValueError, match="action must have shape"):
        env.step(np.zeros(5))
    with pytest.raises(FileNotFoundError, match="xml"):
        envs.make("HalfCheetahRandDirec", xml="/nonexistent/model.xml")


# ---- Walker, Hopper, Humanoid, RandParams, point families ----------------------------------------

def _planar_compare(direction, frame_skip):
    def compare(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, r2, t2, i2, _ = theirs
        _rel_close(o1, o2)
        gap = 1.0 if t2 else 0.0  # the papers' code pays the alive bonus on the terminating step too
        _rel_close(r1, direction * i2["x_velocity"] + i2["reward_ctrl"] + i2["reward_survive"] + gap)
    return compare


def test_walker2d_rand_direc_aligns_with_gymnasium():
    xml = envs.gymnasium_asset("walker2d.xml")  # the papers' model (gymnasium's v5 default is walker2d_v5.xml)
    for d in (1.0, -1.0):
        _run_aligned("Walker2DRandDirec", [d], "Walker2d-v5", dict(xml_file=xml, frame_skip=8), _planar_compare(d, 8))


def test_rand_params_with_unit_multipliers_align_with_gymnasium():
    hopper = envs.make("HopperRandParams")
    _run_aligned("HopperRandParams", np.ones(hopper.task_dim), "Hopper-v5", {}, _planar_compare(1.0, 4))
    walker = envs.make("Walker2DRandParams")
    _run_aligned("Walker2DRandParams", np.ones(walker.task_dim), "Walker2d-v5",
                 dict(xml_file=envs.gymnasium_asset("walker2d.xml"), frame_skip=5), _planar_compare(1.0, 5))


def test_rand_params_multipliers_change_the_model_as_rand_param_envs():
    family = envs.make("HopperRandParams")
    task = family.sample_tasks(1, seed=3)
    mult = task.params[0]
    theirs = gymnasium.make("Hopper-v5").unwrapped
    theirs.reset(seed=1)
    m = theirs.model
    nb, nv, ng = m.nbody, m.nv, m.ngeom
    m.body_mass[:] *= mult[:nb]
    m.body_inertia[:] *= mult[nb:4 * nb].reshape(nb, 3)
    m.dof_damping[:] *= mult[4 * nb:4 * nb + nv]
    m.geom_friction[:] *= mult[4 * nb + nv:].reshape(ng, 3)
    ours = family.gym_env(task)
    ours.reset(seed=0)
    ours.set_state(theirs.data.qpos.copy(), theirs.data.qvel.copy())
    rng = np.random.default_rng(0)
    nominal = envs.make("HopperRandParams").gym_env(np.ones(family.task_dim))
    nominal.reset(seed=0)
    nominal.set_state(theirs.data.qpos.copy(), theirs.data.qvel.copy())
    differs = False
    for _ in range(30):
        a = rng.uniform(-1, 1, 3)
        o1, *_ = ours.step(a)
        o2, _, t2, _, _ = theirs.step(a)
        o3, *_ = nominal.step(a)
        _rel_close(o1, o2)
        differs = differs or not np.allclose(o1, o3)
        if t2:
            break
    assert differs


def test_humanoid_rand_direc_aligns_with_gymnasium():
    def compare(step, ours, theirs):
        o1, r1, _, i1 = ours
        o2, _, t2, i2, gym_env = theirs
        m = gym_env.model
        nq, nv, nb = m.nq - 2, m.nv, m.nbody
        sl = np.cumsum([0, nq, nv, 10 * nb, 6 * nb, nv, 6 * nb])
        parts1 = [o1[a:b] for a, b in zip(sl[:-1], sl[1:])]
        gym_sl = np.cumsum([0, nq, nv, 10 * (nb - 1), 6 * (nb - 1), nv - 6, 6 * (nb - 1)])
        parts2 = [o2[a:b] for a, b in zip(gym_sl[:-1], gym_sl[1:])]
        _rel_close(parts1[0], parts2[0])
        _rel_close(parts1[1], parts2[1])
        _rel_close(parts1[2][10:], parts2[2])  # gymnasium v5 drops the world body's rows
        _rel_close(parts1[3][6:], parts2[3])
        _rel_close(parts1[4][6:], parts2[4])   # ... and the free joint's actuator forces
        _rel_close(parts1[5][6:], parts2[5])
        _rel_close(i1["reward_linvel"], i2["reward_forward"])
        _rel_close(i1["reward_quadctrl"], i2["reward_ctrl"])
        _rel_close(i1["reward_impact"], i2["reward_contact"])
        _rel_close(r1, i2["reward_forward"] + i2["reward_ctrl"] + i2["reward_contact"] + 5.0)

    _run_aligned("HumanoidRandDirec", [1.0], "Humanoid-v5", {}, compare)


def test_rand_params_distribution():
    family = envs.make("Walker2DRandParams")
    mult = family.sample_tasks(4000, seed=0).params
    names = family.definition.fields
    damping = np.array([n.startswith("dof_damping") for n in names])
    for base, cols in ((1.5, ~damping), (1.3, damping)):
        logs = np.log(mult[:, cols]) / np.log(base)
        assert logs.min() >= -3 and logs.max() <= 3
        assert abs(logs.mean()) < 0.05 and abs(logs.var() - 3.0) < 0.1  # U(−3, 3): mean 0, variance 3
    corr = np.corrcoef(np.log(mult[:, :6]).T)
    assert np.all(np.abs(corr[~np.eye(6, dtype=bool)]) < 0.06)  # elements drawn independently


def _point_reference(name, goal, start, actions):
    """The papers' point envs written out in numpy (ProMP's point_env_2d_corner / _momentum,
    SG-MRL's 2D navigation)."""
    corners = np.array([[-2, -2], [2, -2], [-2, 2], [2, 2]], float)
    pos, vel = np.array(start[:2], float), np.array(start[2:], float) if len(start) > 2 else np.zeros(2)
    out = []
    for a in actions:
        prev = pos.copy()
        if name == "Point2DNav":
            pos = np.clip(pos + np.clip(a, -0.1, 0.1), -0.5, 0.5)
            r = -np.linalg.norm(goal - pos)
        elif name == "MetaPointEnvCorner":
            pos = pos + np.clip(a, -0.2, 0.2)
            d = np.linalg.norm(pos - goal)
            if np.abs(pos).sum() < 0.5:
                r = 0.0
            elif d == min(np.linalg.norm(pos - c) for c in corners):
                r = np.linalg.norm(prev - goal) - d
            else:
                r = 0.0
        else:
            vel = vel + np.clip(a, -0.1, 0.1)
            pos = pos + vel
            r = max(2 - np.linalg.norm(pos - goal), 0.0)
        out.append((np.concatenate([pos, vel]) if name == "MetaPointEnvMomentum" else pos.copy(), r))
    return out


@pytest.mark.parametrize("name", ["Point2DNav", "MetaPointEnvCorner", "MetaPointEnvMomentum"])
def test_point_families_follow_the_papers_code(name):
    family = envs.make(name)
    goal = family.sample_tasks(1, seed=2).params[0]
    env = family.gym_env(goal)
    obs0, _ = env.reset(seed=0)
    rng = np.random.default_rng(1)
    actions = rng.uniform(-0.3, 0.3, size=(60, 2))
    for (o_ref, r_ref), a in zip(_point_reference(name, goal, obs0, actions), actions):
        o, r, term, _, _ = env.step(np.clip(a, env.action_space.low, env.action_space.high))
        _rel_close(o, o_ref, 1e-12)
        _rel_close(r, r_ref, 1e-12)
        if term:
            break
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    b = family.rollout(spec, spec.init_params(), family.sample_tasks(3, seed=0), 4, family.default_horizon, seed=0)
    assert b.obs.shape[-1] == family.obs_dim and bool(torch.isfinite(b.rewards).all())


def test_point_task_distributions():
    g = envs.make("Point2DNav").sample_tasks(5000, seed=0).params
    assert g.min() >= -0.5 and g.max() <= 0.5 and np.all(np.abs(g.mean(0)) < 0.02)
    c = envs.make("MetaPointEnvCorner").sample_tasks(4000, seed=1).params
    assert set(map(tuple, c)) == {(-2.0, -2.0), (2.0, -2.0), (-2.0, 2.0), (2.0, 2.0)}
    counts = np.unique(c, axis=0, return_counts=True)[1] / 4000
    assert np.all(np.abs(counts - 0.25) < 0.03)


@pytest.mark.parametrize("sparse", [False, True])
def test_ant_goal_arc_matches_gmps_code_written_with_mujoco_python(sparse):
    """GMPS's AntEnvRandGoalRing (rllab): gym's ant with gear 30, frame_skip 1, reset to the model's
    init_qpos, model.forward() after each step, subtree-COM goal reward, torso xmat in the obs."""
    import mujoco

    name = "AntGoalArcSparse" if sparse else "AntGoalArc"
    goal = np.array([1.2, 1.6])
    ours = envs.make(name).gym_env(goal)
    obs, _ = ours.reset(seed=0)
    m = mujoco.MjModel.from_xml_path(envs.gymnasium_asset("ant.xml"))
    m.actuator_gear[:, 0] = 30.0
    d = mujoco.MjData(m)
    d.qpos[:] = m.numeric("init_qpos").data
    torso = m.body("torso").id

    def refresh():
        mujoco.mj_forward(m, d)
        mujoco.mj_rnePostConstraint(m, d)
        return np.concatenate([d.qpos, d.qvel, np.clip(d.cfrc_ext, -1, 1).ravel(), d.xmat[torso]])

    _rel_close(obs, refresh())
    rng = np.random.default_rng(0)
    for _ in range(80):
        a = rng.uniform(-1, 1, m.nu)
        o, r, term, _, info = ours.step(a)
        d.ctrl[:] = a
        mujoco.mj_step(m, d)
        ref_obs = refresh()
        com = d.subtree_com[torso][:2]
        far = np.linalg.norm(com - goal) > 0.8
        goal_r = (-np.abs(goal).sum() if sparse and far else -np.abs(com - goal).sum()) + 4.0
        ref_r = goal_r - 0.5e-2 * np.sum(a**2) - 0.5e-3 * np.sum(np.clip(d.cfrc_ext, -1, 1) ** 2) + 0.05
        _rel_close(o, ref_obs)
        _rel_close(r, ref_r)
        assert term == (not 0.2 <= d.qpos[2] <= 1.0)
        if term:
            break


def test_ant_goal_arc_tasks():
    arc = envs.make("AntGoalArc").sample_tasks(3000, seed=0).params
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 2.0, atol=1e-12)
    angle = np.arctan2(arc[:, 1], arc[:, 0])
    assert angle.min() >= 0 and angle.max() <= math.pi / 2 and abs(angle.mean() - math.pi / 4) < 0.03
    fixed = envs.gmps_arc_goals()
    assert fixed.shape == (40, 2) and np.allclose(fixed[0], [2, 0]) and np.allclose(fixed[-1], [0, 2])


def test_vector_envs_draw_tasks_truncate_at_the_horizon_and_report_the_task():
    cheetah = envs.make("HalfCheetahRandDirec").vector_env(6)
    with pytest.raises(RuntimeError, match="reset"):
        cheetah.step(np.zeros((6, 6)))
    _, info = cheetah.reset(seed=3)
    assert set(np.abs(info["task"][:, 0])) == {1.0}  # directions ±1, never 0
    _, again = envs.make("HalfCheetahRandDirec").vector_env(6).reset(seed=3)
    assert np.array_equal(info["task"], again["task"])  # from the reset's stream
    hopper = envs.make("HopperRandParams")
    _, info = hopper.vector_env(2).reset(seed=0)
    assert info["task"].shape == (2, hopper.task_dim) and (info["task"] > 0).all() and not (info["task"] == 1).all()
    # the family's horizon truncates by default (Point2DNav: 100), 0 never does
    nav = envs.make("Point2DNav")
    for limit, expected in ((None, 100), (0, None), (7, 7)):
        venv = nav.vector_env(2, max_episode_steps=limit)
        venv.reset(seed=0)
        first = None
        for k in range(1, 121):
            _, _, term, trunc, info = venv.step(np.zeros((2, 2)))
            assert info["task"].shape == (2, 2)
            if trunc.any() and first is None:
                first = k
        assert first == expected, (limit, first)
    # an autoreset draws a new task, unless the tasks were set
    ant = envs.make("AntRandGoal")
    venv = ant.vector_env(3, max_episode_steps=2)
    _, info = venv.reset(seed=1)
    before = info["task"].copy()
    for _ in range(3):
        _, _, _, _, info = venv.step(np.zeros((3, ant.act_dim)))
    assert not np.allclose(info["task"], before)
    fixed = ant.sample_tasks(3, seed=9)
    venv.set_tasks(fixed)
    for _ in range(6):
        _, _, _, _, info = venv.step(np.zeros((3, ant.act_dim)))
        assert np.array_equal(info["task"], fixed.params)
    single = ant.gym_env()
    tasks = {tuple(single.reset(seed=s)[1]["task"]) for s in range(4)}
    assert len(tasks) == 4 and single.step(np.zeros(ant.act_dim))[4]["task"].shape == (2,)


def test_a_vector_env_takes_one_seed_per_environment():
    """reset(seed=[s0, s1, ...]) seeds environment i with s_i (as gymnasium's SyncVectorEnv does), so
    the same seed gives the same start wherever the environment sits in the vector."""
    family = envs.make("HalfCheetahRandDirec")
    tasks = family.sample_tasks(3, seed=0)
    a = family.vector_env(3, tasks)
    b = family.vector_env(3, tasks)
    obs_a, _ = a.reset(seed=[5, 9, 11])
    obs_b, _ = b.reset(seed=[11, 5, 9])
    assert np.array_equal(obs_a[[2, 0, 1]], obs_b) and not np.array_equal(obs_a[0], obs_a[1])
    with pytest.raises(ValueError, match="a list of seeds needs 3 non-negative ints"):
        a.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="a list of seeds needs 3 non-negative ints"):
        a.reset(seed=[1, -2, 3])


def test_python_family_envs_draw_tasks_and_truncate_like_the_cpp_ones():
    family = envs.make("PendulumGravity")
    venv = family.vector_env(3)
    _, info = venv.reset(seed=0)
    assert info["task"].shape == (3, 1) and len(set(info["task"][:, 0])) == 3
    assert ((8 <= info["task"]) & (info["task"] <= 12)).all()
    steps = 0
    while True:
        steps += 1
        _, _, _, trunc, _ = venv.step(np.zeros((3, 1)))
        if trunc.any():
            break
    assert steps == family.default_horizon == 200
    env = family.gym_env()
    assert env.reset(seed=1)[1]["task"][0] != env.reset(seed=2)[1]["task"][0]
    env.set_task([9.0])
    assert env.reset(seed=3)[1]["task"][0] == 9.0 and env.unwrapped.g == 9.0


def test_gymnasium_ids_need_only_the_package_import():
    code = ("import gymnasium, metarl_fast; env = gymnasium.make('metarl_fast/Point2DNav-v0'); "
            "obs, info = env.reset(seed=0); assert obs.shape == (2,) and info['task'].shape == (2,); print('ok')")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_mujoco_resets_and_non_finite_policies_end_their_trajectory_flagged():
    """MuJoCo silently resets the data on a position or velocity beyond 1e10 (a warning, not an
    error): that step is flagged non-finite and ends the episode instead of scoring the jump back. A
    policy whose mean, action or log-probability is not finite ends its trajectories the same way,
    with no NaN or inf anywhere in the batch."""
    family = envs.make("HalfCheetahRandDirec")
    env = family.gym_env([1.0])
    env.reset(seed=0)
    env.set_state(np.zeros(9), np.full(9, 1e11))
    _, reward, terminated, _, info = env.step(np.zeros(6))
    assert terminated and info["nonfinite"] and reward == 0.0
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    w0, b0 = spec.layout[0], spec.layout[1]  # every hidden unit at tanh(10) = 1 whatever the observation
    params[w0.offset:w0.offset + w0.size] = 0.0
    params[b0.offset:b0.offset + b0.size] = 10.0
    for block in spec.layout[-3:-1]:  # the output layer's weights and bias: 9 · 3e38 overflows, an infinite mean
        params[block.offset:block.offset + block.size] = 3e38
    batch = family.rollout(spec, params, family.sample_tasks(2, seed=0), 2, 10, seed=0)
    assert bool(batch.nonfinite.all()) and float(batch.mask.sum()) < 4
    for name in ("obs", "actions", "rewards", "log_prob", "means"):
        assert bool(torch.isfinite(getattr(batch, name)).all()), name
    assert torch.equal(batch.lengths.sum(-1).double(), batch.mask.sum((1, 2)))


def test_rand_params_rollouts_hold_one_model_copy_per_worker_whatever_the_batch():
    """A RandParams rollout of 40 tasks keeps one model copy per worker thread (not per task), and
    the batch is the same with 1 and 3 threads."""
    family = envs.make("HopperRandParams")
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    tasks = family.sample_tasks(40, seed=3)
    before = metarl_fast.get_num_threads()
    try:
        batches = []
        for threads in (1, 3):
            metarl_fast.set_num_threads(threads)
            batches.append(family.rollout(spec, params, tasks, 2, 30, seed=5))
            assert family._sim.model_copies <= 3
    finally:
        metarl_fast.set_num_threads(before)
    assert torch.equal(batches[0].obs, batches[1].obs) and torch.equal(batches[0].rewards, batches[1].rewards)
    venv = family.vector_env(5)
    venv.reset(seed=0)
    pool = venv._envs.pool
    assert pool.model_copies == 5
    pool.resize(2)
    assert pool.model_copies == 2  # shrinking gives the copies back


_NO_ACTUATOR = "<mujoco><worldbody><body><joint type='slide' axis='1 0 0'/><geom size='0.1'/></body></worldbody></mujoco>"
_HINGE_ROOT = ("<mujoco><worldbody><body name='torso'><joint name='r' type='hinge'/><joint name='s' type='slide'/>"
               "<geom size='0.1'/></body></worldbody><actuator><motor joint='r' ctrlrange='-1 1'/></actuator></mujoco>")
_UNLIMITED = ("<mujoco><worldbody><body><joint name='x' type='slide' axis='1 0 0'/><joint name='a' type='hinge'/>"
              "<geom size='0.1'/></body></worldbody><actuator><motor joint='a' ctrllimited='false'/></actuator></mujoco>")


@pytest.mark.parametrize("family,xml,message", [
    ("HalfCheetahRandDirec", _NO_ACTUATOR, "it has no actuators"),
    ("HalfCheetahRandDirec", _HINGE_ROOT, "its first joint must be a slide joint"),
    ("HalfCheetahRandDirec", _UNLIMITED, "actuator 0 needs a control range"),
    ("AntRandDirec", _HINGE_ROOT, "its first joint must be a free joint"),
    ("HumanoidRandDirec", _HINGE_ROOT, "its first joint must be a free joint"),
    ("HopperRandParams", _HINGE_ROOT, "its first joint must be a slide joint"),
])
def test_a_model_that_does_not_fit_its_family_is_refused(tmp_path, family, xml, message):
    path = tmp_path / "model.xml"
    path.write_text(xml)
    with pytest.raises(ValueError, match=f"{family}: the model does not fit the family: {message}"):
        envs.make(family, xml=str(path))


def test_a_copy_of_the_familys_own_model_is_the_family(tmp_path, cheetah):
    import shutil

    shutil.copy(envs.gymnasium_asset("half_cheetah.xml"), tmp_path / "cheetah.xml")
    copy = envs.make("HalfCheetahRandDirec", xml=str(tmp_path / "cheetah.xml"))
    family, spec, theta = cheetah
    tasks = family.sample_tasks(2, seed=0)
    a, b = (f.rollout(spec, theta, tasks, 2, 20, seed=3) for f in (family, copy))
    assert torch.equal(a.obs, b.obs) and torch.equal(a.rewards, b.rewards)


def test_rollout_and_task_arguments_out_of_range_are_clear_errors(cheetah):
    cheetah, spec, theta = cheetah
    tasks = cheetah.sample_tasks(2, seed=0)
    for kwargs, message in ((dict(horizon=0), r"horizon must be an int in \[1, 2\*\*31\)"),
                            (dict(rollouts_per_task=2**31), r"rollouts_per_task must be an int in \[1, 2\*\*31\)"),
                            (dict(seed=2**64), r"seed must be an int in \[0, 2\*\*64\)"),
                            (dict(seed=1.5), r"seed must be an int")):
        args = dict(rollouts_per_task=2, horizon=5, seed=0) | kwargs
        with pytest.raises(ValueError, match=message):
            cheetah.rollout(spec, theta, tasks, **args)
    assert cheetah.rollout(spec, theta, tasks, 1, 2, seed=2**64 - 1).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="sample_tasks: seed must be None or a non-negative int"):
        cheetah.sample_tasks(2, seed=-1)


def test_a_failed_oversized_call_gives_its_memory_back_and_the_family_keeps_working():
    """Under a 1.5 GiB address-space limit: rollouts and vector envs too large to allocate raise a
    memory error; repeating them does not grow the process, and normal calls work after them."""
    import subprocess
    import sys

    code = """
import ctypes, gc, os, resource, torch, metarl_fast
from metarl_fast import envs
def rss():
    return int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
usage = int(open(f"/proc/{os.getpid()}/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (usage + 1536 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
fam = envs.make("AntRandDirec")
spec = metarl_fast.PolicySpec(fam.obs_dim, fam.act_dim, (8,))
theta, tasks = spec.init_params(), fam.sample_tasks(2, seed=0)
sizes = []
for _ in range(7):
    for call in (lambda: fam.rollout(spec, theta, tasks, 2**16, 1000, seed=0), lambda: fam.vector_env(10**5)):
        try:
            call()
            raise SystemExit("an oversized call succeeded")
        except (MemoryError, metarl_fast.MujocoError) as e:
            assert "allocate" in str(e), e
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the allocator caches is not held by us
    sizes.append(rss())
# each round allocated up to 1.5 GiB before failing; what stays is the allocator's noise (tens of MB)
assert max(sizes) - sizes[0] < 64 * 2**20, sizes
b = fam.rollout(spec, theta, tasks, 2, 10, seed=0)
v = fam.vector_env(3)
print("ok", tuple(b.shape), v.reset(seed=0)[0].shape)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok (2, 2, 10) (3, 111)", out.stdout + out.stderr[-2000:]
