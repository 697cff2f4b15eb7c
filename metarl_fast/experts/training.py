"""Phase 1 in one call: an expert of a given kind for a set of tasks (trained when it is SAC), and
its persistence. Used by GMPS's trainer and by ``metarl-fast demos``."""
from __future__ import annotations

from .scripted import scripted_expert

EXPERT_KINDS = ("scripted", "sac", "sac-per-task")


def train_expert(family, kind: str, tasks, horizon: int, sac_config=None, log_dir: str | None = None,
                 progress: bool | None = None):
    """The expert of `kind` for `tasks`: the family's scripted expert, one contextual SAC agent
    trained on all the tasks (the task parameters visible to it only), or one SAC agent per task.
    sac_config: an experts.sac.SacConfig (defaults when None); log_dir: where SAC writes
    sac_progress.csv."""
    if kind == "scripted":
        return scripted_expert(family)
    if kind not in EXPERT_KINDS:
        raise ValueError(f"expert kind must be one of {EXPERT_KINDS}, got {kind!r}")
    from .sac import SacConfig, train_contextual_sac, train_per_task_sac

    config = sac_config or SacConfig()
    if kind == "sac":
        return train_contextual_sac(family, tasks, horizon, config, log_dir=log_dir, progress=progress)
    return train_per_task_sac(family, tasks, horizon, config, progress=progress)


def load_expert(family, kind: str, path: str):
    """A trained SAC expert saved by ``expert.save(path)`` (kind "sac" or "sac-per-task")."""
    from .sac import PerTaskSacExpert, SacExpert

    if kind not in ("sac", "sac-per-task"):
        raise ValueError(f"only SAC experts are saved; got kind {kind!r}")
    return (SacExpert if kind == "sac" else PerTaskSacExpert).load(path, family)
