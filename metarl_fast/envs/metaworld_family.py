"""Meta-World's Sawyer push and door-open tasks (GMPS's manipulation tasks) as GymTaskFamily
instances on the Python sampler path, with Meta-World's own scripted policies as experts.

Optional: ``pip install metaworld``. Meta-World 3.1.1 pins mujoco==3.3.0, and installed beside this
package's MuJoCo 4 with --no-deps it fails when an environment is built (``ValueError: could not
broadcast input array from shape (11,) into shape (12,)`` in SawyerXYZEnv.reset_mocap_welds: MuJoCo 4
stores 12 numbers per equality constraint). ``metaworld_family`` raises that error with this
explanation; the adapter underneath (GymTaskFamily) is tested on gymnasium's Pendulum instead.

Tasks are indices into ML1's 50 training tasks (Meta-World's own goal distributions; ML1 hides the
goal from the observation, as GMPS requires). The scripted expert sees the task's goal, re-inserted
into the observation where Meta-World's fully observable mode puts it (the last three entries).
"""
from __future__ import annotations

import numpy as np
import torch

ENV_NAMES = {"MetaWorldPush": ("push-v3", "SawyerPushV3Policy"),
             "MetaWorldDoorOpen": ("door-open-v3", "SawyerDoorOpenV3Policy")}


def _import_metaworld():
    try:
        import metaworld
    except ImportError as e:
        raise ImportError("the Meta-World task families need the optional package metaworld "
                          "(pip install metaworld; see metarl_fast/envs/metaworld_family.py for its MuJoCo "
                          "version conflict)") from e
    return metaworld


def metaworld_family(name: str, horizon: int | None = None):
    """A GymTaskFamily for "MetaWorldPush" or "MetaWorldDoorOpen" (horizon: 50 push, 100 door, as
    GMPS's launchers)."""
    if name not in ENV_NAMES:
        raise ValueError(f"unknown Meta-World family {name!r}; valid: {list(ENV_NAMES)}")
    metaworld = _import_metaworld()
    import mujoco

    from .python_family import GymTaskFamily

    env_name, _ = ENV_NAMES[name]
    try:
        ml1 = metaworld.ML1(env_name, seed=0)
        probe = ml1.train_classes[env_name]()
        probe.set_task(ml1.train_tasks[0])
        probe.reset(seed=0)
    except Exception as e:  # the MuJoCo version conflict surfaces here
        from importlib.metadata import version

        raise RuntimeError(f"Meta-World {version('metaworld')} does not run beside MuJoCo "
                           f"{mujoco.__version__}: {type(e).__name__}: {e}") from e
    tasks = ml1.train_tasks
    goals = np.zeros((len(tasks), 3))
    for i, task in enumerate(tasks):
        probe.set_task(task)
        probe.reset(seed=0)
        goals[i] = np.asarray(probe._target_pos, dtype=np.float64)
    probe.close()

    def make_env():
        return ml1.train_classes[env_name]()

    def apply_task(env, params):
        env.set_task(tasks[int(params[0])])

    family = GymTaskFamily(name, make_env, apply_task, ("task_index",),
                           lambda rng, n: rng.integers(0, len(tasks), size=(n, 1)).astype(np.float64),
                           horizon or (50 if name == "MetaWorldPush" else 100),
                           f"Meta-World {env_name}, ML1's {len(tasks)} training tasks (goal hidden)")
    family.goals = goals
    return family


class MetaWorldExpert:
    """Meta-World's scripted policy for the family's task, acting on the observation with the task's
    goal put back; actions in the family's policy scale."""

    source = "scripted"
    env_steps = 0

    def __init__(self, family) -> None:
        from metaworld import policies

        self.family = family
        self.policy = getattr(policies, ENV_NAMES[family.name][1])()

    def act(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        flat_obs = obs.reshape(-1, obs.shape[-1]).double().numpy().copy()
        index = task.reshape(-1, task.shape[-1])[:, 0].long().numpy()
        flat_obs[:, -3:] = self.family.goals[index]
        native = np.stack([self.policy.get_action(o) for o in flat_obs])
        native = np.clip(native, self.family.ctrl_range[:, 0], self.family.ctrl_range[:, 1])
        return self.family.policy_actions(native).reshape(*obs.shape[:-1], -1).to(obs.dtype)
