"""Fixed-seed short runs of every algorithm: the record a refactor must reproduce.

    python tools/fixed_seed_runs.py record     # (re)write python_tests/data/fixed_seed_runs.json
    python tools/fixed_seed_runs.py record NAME ...   # re-record these runs only
    python tools/fixed_seed_runs.py check      # rerun every case and compare (relative 1e-9)
    python tools/fixed_seed_runs.py refresh-legacy NAME ...   # new numbers into legacy run directories

Each case is a `metarl-fast train` command line (a few iterations on a cheap family) followed by a
`metarl-fast eval` of the run; the record holds every logged iteration's n_timesteps and
per-step average returns, and the meta-test returns. python_tests/test_fixed_seed_runs.py runs
the same comparison in the test suite. Re-record only when a change is meant to alter the random
stream or the numbers, and say so where the change is described.

python_tests/data/legacy_runs/<case> holds the first iterations of a case written by an earlier
version (its on-disk format: flat config keys, the trainer's checkpoint); the tests resume it and
compare with the record. When a change is meant to alter a case's numbers, `refresh-legacy`
rewrites those directories' numbers (parameters, optimizer state, step sizes, KL coefficient and
the progress rows' values) with the current code's, keeping their format.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile

RECORD = os.path.join(os.path.dirname(__file__), "..", "python_tests", "data", "fixed_seed_runs.json")
LEGACY = os.path.join(os.path.dirname(__file__), "..", "python_tests", "data", "legacy_runs")

_SMALL = ["--env", "Point2DNav", "--iterations", "3", "--set", "meta_batch_size=6", "--set", "rollouts_per_task=5",
          "--set", "horizon=20", "--set", "hidden=16,16"]

# name → (train arguments, eval arguments)
CASES: dict[str, list[str]] = {
    "promp": ["--algo", "promp", *_SMALL],
    "promp-2steps-f64": ["--algo", "promp", *_SMALL, "--set", "inner_steps=2", "--set", "dtype=float64"],
    "promp-gymnasium-sampler": ["--algo", "promp", *_SMALL, "--sampler", "gymnasium"],
    "promp-halfcheetah": ["--preset", "quick-halfcheetah", "--iterations", "2", "--set", "meta_batch_size=4",
                          "--set", "rollouts_per_task=3", "--set", "horizon=30"],
    "vpg-maml": ["--algo", "vpg-maml", *_SMALL],
    "vpg-maml-trainable-alpha": ["--algo", "vpg-maml", *_SMALL, "--set", "trainable_inner_step_size=true"],
    "trpo-maml": ["--algo", "trpo-maml", *_SMALL],
    "trpo-maml-autograd-f64": ["--algo", "trpo-maml", *_SMALL, "--backend", "torch", "--set", "dtype=float64",
                               "--set", "cg_damping=0.1"],
    "emaml-trpo": ["--algo", "emaml-trpo", *_SMALL],
    "emaml-vpg": ["--algo", "emaml-vpg", *_SMALL],
    "lvc-vpg": ["--algo", "lvc-vpg", *_SMALL],
    "lvc-trpo-2steps": ["--algo", "lvc-trpo", *_SMALL, "--set", "inner_steps=2"],
    "dice-vpg": ["--algo", "dice-vpg", *_SMALL],
    "sgmrl": ["--algo", "sgmrl", *_SMALL],
    "sgmrl-paper-literal": ["--algo", "sgmrl", *_SMALL, "--set", "sgmrl_jacobian=paper_literal"],
    "sgmrl-first-order-returns": ["--algo", "sgmrl", *_SMALL, "--set", "first_order=true", "--set",
                                  "advantages=returns", "--set", "reduction=trajectories", "--set", "inner_lr=0.02"],
    "bomrl": ["--algo", "bomrl", *_SMALL, "--set", "bomrl_lower_iters=10", "--set", "dtype=float64"],
    "bomrl-l2-advantage": ["--algo", "bomrl", *_SMALL, "--set", "bomrl_lower_iters=10", "--set",
                           "bomrl_distance=l2", "--set", "bomrl_q=advantage"],
    "gmps": ["--preset", "gmps-point", "--iterations", "2", "--set", "gmps_bc_steps=5", "--set", "gmps_num_tasks=4",
             "--set", "meta_batch_size=3", "--set", "gmps_demos_per_task=3", "--set", "rollouts_per_task=4",
             "--set", "hidden=16,16"],
    "gmps-dagger-nll": ["--preset", "gmps-point", "--iterations", "2", "--set", "gmps_bc_steps=4", "--set",
                        "gmps_num_tasks=3", "--set", "gmps_demos_per_task=2", "--set", "rollouts_per_task=3",
                        "--set", "hidden=16,16", "--set", "gmps_dagger=true", "--set", "gmps_bc_loss=nll",
                        "--set", "gmps_adapt=bias_transform", "--set", "dtype=float64"],
}
EVAL = ["--tasks", "3", "--steps", "2", "--seed", "7"]


def rollout_record(family_name: str) -> dict:
    """A float64 rollout of every C++ task family with fixed parameters (2 tasks × 3 trajectories ×
    the family's horizon, sampled and then with the deterministic policy): sums and the last entry
    of every Batch field."""
    import torch

    import metarl_fast
    from metarl_fast import envs

    family = envs.make(family_name)
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    tasks = family.sample_tasks(2, seed=4)
    out = {}
    for deterministic in (False, True):
        batch = family.rollout(spec, params, tasks, 3, family.default_horizon, seed=11, deterministic=deterministic)
        fields = dict(obs=batch.obs, actions=batch.actions, rewards=batch.rewards, mask=batch.mask,
                      log_prob=batch.log_prob, returns=batch.returns, lengths=batch.lengths.double(),
                      **{f"info.{k}": v for k, v in batch.infos.items()})
        for k, v in fields.items():
            flat = v.reshape(-1).double()
            key = f"{'mean' if deterministic else 'sampled'}.{k}"
            out[key + ".sum"] = float(flat.sum())
            out[key + ".abs_sum"] = float(flat.abs().sum())
            out[key + ".last"] = float(flat[-1])
    return out


def _rows(path: str) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def run_case(name: str, workdir: str) -> dict:
    """Trains and meta-tests one case; returns its record."""
    from metarl_fast.cli import main

    out = os.path.join(workdir, name)
    with contextlib.redirect_stdout(io.StringIO()):
        if main(["train", *CASES[name], "--seed", "3", "--out", out, "--quiet"]) != 0:
            raise RuntimeError(f"{name}: training failed")
        if main(["eval", out, *EVAL, "--no-plot"]) != 0:
            raise RuntimeError(f"{name}: eval failed")
    train = []
    for r in _rows(os.path.join(out, "progress.csv")):
        keep = {"n_timesteps": int(r["n_timesteps"])}
        keep.update({k: float(v) for k, v in r.items() if k.startswith("Step_") and k.endswith("-AverageReturn")})
        train.append(keep)
    meta_test = [{"step": int(r["step"]), "mean_return": float(r["mean_return"]), "env_steps": int(r["env_steps"])}
                 for r in _rows(os.path.join(out, "evals", f"itr{len(train) - 1}-0", "summary.csv"))]
    return {"argv": CASES[name], "train": train, "eval": meta_test}


def compare(name: str, expected: dict, got: dict, rel: float = 1e-9) -> list[str]:
    """Differences between two records of one case (empty when they agree)."""
    problems = []
    for part in ("train", "eval"):
        a, b = expected[part], got[part]
        if len(a) != len(b):
            problems.append(f"{name}/{part}: {len(a)} rows recorded, {len(b)} now")
            continue
        for i, (ra, rb) in enumerate(zip(a, b)):
            if set(ra) != set(rb):
                problems.append(f"{name}/{part}[{i}]: columns {sorted(ra)} recorded, {sorted(rb)} now")
                continue
            for k in ra:
                x, y = ra[k], rb[k]
                if math.isnan(x) or math.isnan(y):
                    same = math.isnan(x) and math.isnan(y)
                else:
                    same = abs(x - y) <= rel * max(abs(x), abs(y), 1e-300)
                if not same:
                    problems.append(f"{name}/{part}[{i}].{k}: recorded {x!r}, now {y!r}")
    return problems


def compare_rollouts(expected: dict, got: dict, rel: float = 1e-12) -> list[str]:
    """Differences between two rollout records (every family, every statistic)."""
    problems = []
    for family, stats in expected.items():
        if family not in got:
            problems.append(f"rollouts/{family}: missing")
            continue
        for k, x in stats.items():
            y = got[family].get(k)
            if y is None or abs(x - y) > rel * max(abs(x), abs(y), 1e-300):
                problems.append(f"rollouts/{family}.{k}: recorded {x!r}, now {y!r}")
    return problems


def refresh_legacy(name: str) -> None:
    """Rewrites python_tests/data/legacy_runs/<name> with the numbers of the current code's run of the
    case to the same iteration, keeping the directory's format (see the module docstring)."""
    import torch

    from metarl_fast.cli import main as cli

    legacy = os.path.join(LEGACY, name)
    old_rows = _rows(os.path.join(legacy, "progress.csv"))
    argv = list(CASES[name])
    argv[argv.index("--iterations") + 1] = str(len(old_rows))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, name)
        with contextlib.redirect_stdout(io.StringIO()):
            if cli(["train", *argv, "--seed", "3", "--out", out, "--quiet"]) != 0:
                raise RuntimeError(f"{name}: training failed")
        new = torch.load(os.path.join(out, "checkpoint.pt"), weights_only=False)
        new_rows = _rows(os.path.join(out, "progress.csv"))
    path = os.path.join(legacy, "checkpoint.pt")
    old = torch.load(path, weights_only=False)
    if (old["iteration"], old["timesteps"]) != (new["iteration"], new["timesteps"]):
        raise RuntimeError(f"{name}: the legacy run is at {old['iteration']}, {old['timesteps']} steps; "
                           f"the new one at {new['iteration']}, {new['timesteps']}")
    for key in ("theta", "optimizer", "alpha", "kl_coeff"):  # what the legacy format holds (GMPS: no kl_coeff)
        if key in new["algorithm"]:
            old[key] = new["algorithm"][key]
    torch.save(old, path)
    fields = list(old_rows[0])
    for o, n in zip(old_rows, new_rows):
        o.update({k: n[k] for k in fields if k in n and not k.startswith(("Time", "SPS"))})
    with open(os.path.join(legacy, "progress.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(old_rows)


def main(argv: list[str]) -> int:
    if argv[:1] == ["refresh-legacy"] and len(argv) > 1:
        unknown = set(argv[1:]) - set(os.listdir(LEGACY))
        if unknown:
            print(f"no legacy run directories for {sorted(unknown)}")
            return 2
        for name in argv[1:]:
            refresh_legacy(name)
        print(f"refreshed the legacy run directories of {', '.join(argv[1:])}")
        return 0
    if argv[:1] == ["record"] and len(argv) > 1:
        unknown = set(argv[1:]) - set(CASES)
        if unknown:
            print(f"unknown cases {sorted(unknown)}")
            return 2
        with open(RECORD) as f:
            record = json.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            for name in argv[1:]:
                record["runs"][name] = run_case(name, tmp)
        with open(RECORD, "w") as f:
            json.dump(record, f, indent=1)
        print(f"re-recorded {', '.join(argv[1:])}")
        return 0
    if argv not in (["record"], ["check"]):
        print(__doc__)
        return 2
    from metarl_fast.envs import FAMILY_NAMES

    with tempfile.TemporaryDirectory() as tmp:
        got = {"runs": {name: run_case(name, tmp) for name in CASES},
               "rollouts": {name: rollout_record(name) for name in FAMILY_NAMES}}
    if argv == ["record"]:
        with open(RECORD, "w") as f:
            json.dump(got, f, indent=1)
        print(f"wrote {os.path.normpath(RECORD)} ({len(CASES)} runs, {len(FAMILY_NAMES)} families)")
        return 0
    with open(RECORD) as f:
        expected = json.load(f)
    problems = [p for name in CASES for p in compare(name, expected["runs"][name], got["runs"][name])]
    problems += compare_rollouts(expected["rollouts"], got["rollouts"])
    print("\n".join(problems) if problems else f"all {len(CASES)} fixed-seed runs and {len(FAMILY_NAMES)} family "
                                               "rollouts reproduce the record")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
