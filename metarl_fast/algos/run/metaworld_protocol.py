"""Meta-World's meta-learning evaluation (``metaworld.evaluation.metalearning_evaluation``) for a
trained meta-policy on a Meta-World family's held-out test tasks: ``metarl-fast eval --protocol
metaworld``.

As Meta-World defines it (its defaults): ``num_evals`` = 10 evaluations; in each, a meta-batch of
``meta_batch_size`` = 20 task slots, split evenly over the test environments (ML1: its one
environment; ML10 / ML45: the 5 held-out ones), each slot taking the next task of its own share of
that environment's test tasks in a shuffled order (Meta-World's pseudo-random task selection);
``adaptation_steps`` = 1 adaptation step on ``adaptation_episodes`` = 10 episodes per slot (the
algorithm's own meta-test step, MetaAlgorithm.adapt); then ``evaluation_episodes`` = 3 episodes per
slot with the adapted policy acting with its mean (Meta-World's ``eval_action``), an episode
succeeding when any of its steps succeeds (Meta-World ends evaluation episodes on success). Per
environment: the success rate over its slots' evaluation episodes, averaged over the evaluations;
the mean success rate averages environments, as Meta-World does.

Differences, documented in docs/metaworld.md: episodes last the run's horizon (Meta-World's 500
unless the run trained shorter ones, e.g. GMPS's push presets); every slot's evaluation episodes
are counted (Meta-World counts the first ``evaluation_episodes`` to finish per environment).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ...files import write_text
from .context import derived_seed
from .evaluation import EvalProgress, _csv_text, new_eval_dir
from .meta_policy import MetaPolicy, load, run_dir_of


@dataclass
class ProtocolResult:
    """evals: one row per (evaluation, environment); per_env: {env: success rate averaged over the
    evaluations}; mean_success_rate, mean_return: averaged over environments, then evaluations."""

    evals: list[dict]
    per_env: dict[str, float]
    mean_success_rate: float
    mean_return: float
    settings: dict
    out_dir: str | None = None
    files: list[str] = field(default_factory=list)


def slot_task_orders(family, meta_batch_size: int, seed: int) -> list[tuple[str, list[int]]]:
    """[(environment, its slot's test-task indices in a shuffled order)] for the meta-batch's slots:
    meta_batch_size / (test environments) slots per environment, slot j holding every k-th of that
    environment's test tasks from the j-th (Meta-World's split), shuffled by (seed, environment, j)."""
    envs = family.test_envs
    if meta_batch_size % len(envs):
        raise ValueError(f"meta_batch_size={meta_batch_size} must be a multiple of the {len(envs)} test "
                         f"environments of {family.name}")
    per_env = meta_batch_size // len(envs)
    slots = []
    for e, name in enumerate(envs):
        indices = [i for i in range(family.num_test_tasks) if family.metaworld_task(1, i).env_name == name]
        for j in range(per_env):
            share = np.array(indices[j::per_env])
            np.random.default_rng([seed, e, j]).shuffle(share)
            slots.append((name, [int(i) for i in share]))
    return slots


def metaworld_evaluation(policy: MetaPolicy, seed: int = 12345, num_evals: int = 10, adaptation_steps: int = 1,
                         adaptation_episodes: int = 10, evaluation_episodes: int = 3,
                         meta_batch_size: int = 20, progress: bool = False) -> ProtocolResult:
    """Meta-World's meta-learning evaluation of `policy` (module docstring); rollouts of evaluation
    i seeded by derived_seed(seed, i, ...). progress: announce the environment steps and show
    progress on stderr (EvalProgress)."""
    family = policy.family
    if not hasattr(family, "test_envs"):
        raise ValueError(f"--protocol metaworld evaluates Meta-World families (MetaWorldML1-<env>, MetaWorldML10, "
                         f"MetaWorldML45); {family.name} is not one")
    for name, value in (("num_evals", num_evals), ("adaptation_episodes", adaptation_episodes),
                        ("evaluation_episodes", evaluation_episodes), ("meta_batch_size", meta_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(adaptation_steps, bool) or not isinstance(adaptation_steps, int) or adaptation_steps < 0:
        raise ValueError(f"adaptation_steps must be an int >= 0, got {adaptation_steps!r}")
    slots = slot_task_orders(family, meta_batch_size, seed)
    env_names = list(dict.fromkeys(name for name, _ in slots))
    per_eval = meta_batch_size * (adaptation_episodes * adaptation_steps + evaluation_episodes) * policy.horizon
    bar = EvalProgress(f"Meta-World protocol on {family.name}", num_evals * per_eval, progress)
    rows = []
    for i in range(num_evals):
        tasks = family.tasks([[1.0, order[i % len(order)]] for _, order in slots])
        adapted = policy.adapt(tasks, steps=0, rollouts_per_task=adaptation_episodes, seed=derived_seed(seed, i))
        for _ in range(adaptation_steps):
            adapted = adapted.adapt_on(adapted.rollout())
        batch = adapted.rollout(rollouts_per_task=evaluation_episodes, seed=derived_seed(seed, i, 0xE7),
                                deterministic=True)
        bar.update(per_eval)
        success = batch.successes().double().numpy()  # [T, B]
        returns = batch.returns.numpy()
        for name in env_names:
            mine = [t for t, (n, _) in enumerate(slots) if n == name]
            rows.append({"eval": i, "env": name, "success_rate": float(success[mine].mean()),
                         "mean_return": float(returns[mine].mean()), "slots": len(mine),
                         "episodes": len(mine) * evaluation_episodes})
    bar.close()
    per_env = {name: float(np.mean([r["success_rate"] for r in rows if r["env"] == name])) for name in env_names}
    mean_success = float(np.mean([np.mean([r["success_rate"] for r in rows if r["eval"] == i])
                                  for i in range(num_evals)]))
    mean_return = float(np.mean([np.mean([r["mean_return"] for r in rows if r["eval"] == i])
                                 for i in range(num_evals)]))
    settings = dict(num_evals=num_evals, adaptation_steps=adaptation_steps, adaptation_episodes=adaptation_episodes,
                    evaluation_episodes=evaluation_episodes, meta_batch_size=meta_batch_size, seed=seed,
                    horizon=policy.horizon, test_environments=env_names)
    return ProtocolResult(rows, per_env, mean_success, mean_return, settings)


def evaluate_metaworld(source: str, seed: int = 12345, out_dir: str | None = None, write: bool = True,
                       sampler: str | None = None, **settings) -> ProtocolResult:
    """`metarl-fast eval --protocol metaworld`: loads `source`, runs metaworld_evaluation and writes
    protocol.csv (per evaluation and environment), per_env.csv and eval.yaml to `out_dir` (default:
    a new RUN_DIR/evals/itr<I>-<k>)."""
    import yaml

    from ...runtime import run_info

    policy = load(source, sampler=sampler)
    result = metaworld_evaluation(policy, seed=seed, **settings)
    if not write:
        return result
    if out_dir is None:
        run_dir = run_dir_of(source) or os.path.dirname(os.path.abspath(source))
        out_dir = new_eval_dir(run_dir, policy.iteration - 1)
    elif os.path.exists(out_dir) and os.listdir(out_dir):
        raise ValueError(f"{out_dir}: not empty; an evaluation never replaces another (choose another --out)")
    os.makedirs(out_dir, exist_ok=True)
    info = {"source": os.path.abspath(source), "algo": policy.algorithm, "env": policy.family.name,
            "iterations_trained": policy.iteration, "protocol": "metaworld", **result.settings,
            "mean_success_rate": result.mean_success_rate, "mean_return": result.mean_return,
            "run_info": run_info()}
    files = {"protocol.csv": _csv_text(result.evals),
             "per_env.csv": _csv_text([{"env": k, "success_rate": v} for k, v in result.per_env.items()]),
             "eval.yaml": yaml.safe_dump(info, sort_keys=False)}
    for name, text in files.items():
        write_text(os.path.join(out_dir, name), text)
    result.out_dir, result.files = out_dir, list(files)
    return result


def print_protocol(result: ProtocolResult, title: str) -> None:
    print(title)
    s = result.settings
    print(f"Meta-World protocol: {s['num_evals']} evaluations × {s['meta_batch_size']} task slots; "
          f"{s['adaptation_steps']} adaptation step(s) on {s['adaptation_episodes']} episodes; "
          f"{s['evaluation_episodes']} evaluation episodes per slot (H={s['horizon']})")
    print(f"{'environment':<28}{'success rate':>14}")
    for name, rate in result.per_env.items():
        print(f"{name:<28}{rate:>14.3f}")
    print(f"{'mean':<28}{result.mean_success_rate:>14.3f}   (mean return {result.mean_return:.2f})")
