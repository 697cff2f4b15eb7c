"""Paper configurations and quick ones: each preset is a set of settings applied on the defaults
(keys resolved as ``--set`` resolves them: common settings, then the algorithm's section)."""
from __future__ import annotations

from .config import TrainConfig, build

# GMPS's shared settings (the paper's §5 and its code): 2 × 100 ReLU, learned per-parameter step sizes from 0.1,
# the code's MSE loss; and the paper-scale batch (20 tasks × 20 trajectories, 500 BC steps).
_GMPS = dict(hidden=(100, 100), activation="relu", trainable_inner_step_size=True, inner_lr=0.1, bc_loss="mse")
_GMPS_PAPER = dict(_GMPS, meta_batch_size=20, rollouts_per_task=20, num_tasks=20, demos_per_task=20,
                   bc_steps=500, iterations=200)
_GMPS_METAWORLD = dict(_GMPS_PAPER, expert_noise=0.1, bc_loss="nll", ratio_clip=2.0)

# Paper configurations (each paper's experiment section and appendix) and quick ones for smoke runs.
PRESETS: dict[str, dict] = {
    "promp-halfcheetah-dir": dict(algo="promp", env="HalfCheetahRandDirec"),
    "maml-trpo-halfcheetah-dir": dict(algo="trpo-maml", env="HalfCheetahRandDirec"),
    "lvc-vpg-halfcheetah-dir": dict(algo="lvc-vpg", env="HalfCheetahRandDirec"),
    "emaml-trpo-halfcheetah-dir": dict(algo="emaml-trpo", env="HalfCheetahRandDirec"),
    "promp-ant-dir": dict(algo="promp", env="AntRandDirec2D"),
    "promp-ant-goal": dict(algo="promp", env="AntRandGoal", inner_steps=2),
    "promp-hopper-params": dict(algo="promp", env="HopperRandParams", inner_lr=0.05, promp_steps=3,
                                adaptive_kl=True, kl_coeff=1e-3),
    "promp-walker-params": dict(algo="promp", env="Walker2DRandParams", inner_lr=0.05, promp_steps=3,
                                adaptive_kl=True, kl_coeff=1e-3),
    "promp-point-momentum": dict(algo="promp", env="MetaPointEnvMomentum", inner_steps=3),
    # SG-MRL (Fallah et al.) as its code ran it: first-order, GAE λ = 0.997, normalised advantages,
    # (100, 100) policy; MAML and E-MAML baselines with the same settings (its code's launchers).
    "sgmrl-2dnav": dict(algo="sgmrl", env="Point2DNav", meta_batch_size=20, rollouts_per_task=20, horizon=100,
                        hidden=(100, 100), gae_lambda=0.997, iterations=500, first_order=True),
    "maml-2dnav": dict(algo="vpg-maml", env="Point2DNav", meta_batch_size=20, rollouts_per_task=20, horizon=100,
                       hidden=(100, 100), gae_lambda=0.997, iterations=500, first_order=True),
    "emaml-2dnav": dict(algo="emaml-vpg", env="Point2DNav", meta_batch_size=20, rollouts_per_task=20,
                        horizon=100, hidden=(100, 100), gae_lambda=0.997, iterations=500, first_order=True),
    "sgmrl-halfcheetah-dir": dict(algo="sgmrl", env="HalfCheetahRandDirec", horizon=200, hidden=(100, 100),
                                  gae_lambda=0.997, iterations=400, first_order=True),
    "sgmrl-halfcheetah-vel": dict(algo="sgmrl", env="HalfCheetahRandVel", horizon=200, hidden=(100, 100),
                                  gae_lambda=0.997, iterations=400, first_order=True),
    # BO-MRL's practical algorithm (App. D): H = 200, 20 roll-outs (40 for Ant direction),
    # (64, 64) tanh, TRPO δ = 1e-3, λ = 0.5 (0.4 for HalfCheetah velocity with D2).
    "bomrl-halfcheetah-dir": dict(algo="bomrl", env="HalfCheetahRandDirec", horizon=200, max_kl=1e-3,
                                  lam=0.5, iterations=500, cg_damping=0.1),
    "bomrl-halfcheetah-vel": dict(algo="bomrl", env="HalfCheetahRandVel", horizon=200, max_kl=1e-3,
                                  lam=0.5, iterations=500, cg_damping=0.1),
    "bomrl-ant-dir": dict(algo="bomrl", env="AntRandDirec", horizon=200, rollouts_per_task=40, max_kl=1e-3,
                          lam=0.5, iterations=400, cg_damping=0.1),
    # GMPS (§5, the public code): 2 × 100 ReLU, bias transformation 4, learned per-parameter step sizes, MSE of
    # the mean as the public code; point tasks with the scripted expert (demonstrations diversified by
    # executed-action noise), Ant with a contextual SAC expert and the code's clip0.5_2.0 ratio option
    # (unclipped 8-dimensional per-step ratios overflowed after 50 BC steps; docs/gmps.md), Meta-World
    # with its scripted policies. The point preset uses the same clip: its 100 BC steps per batch move θ far
    # enough from θ_init that unclipped per-step ratios reached e^50 and the meta-gradient 1e10, and the
    # post-update return collapsed from −6.5 to −12.8 (seed 0) and −19 (seed 1) for several iterations.
    "gmps-point": dict(algo="gmps", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                       **_GMPS, num_tasks=10, demos_per_task=10, bc_steps=100,
                       expert_noise=5.0, iterations=30, ratio_clip=2.0),
    "gmps-ant-goal-arc": dict(algo="gmps", env="AntGoalArc", horizon=200, **_GMPS_PAPER, expert="sac",
                              sac_steps=1_000_000, ratio_clip=2.0),
    # Meta-World v3: the paper's NLL L_BC (the code's MSE leaves σ at its initial 1 on actions in [−1, 1]:
    # no success in docs/gmps.md's push run) with the code's ratio clip (without it the ratios overflowed
    # once σ shrank); H = 100 for push (v3's scripted expert needs 60–100 steps, the code's 50 are too few).
    "gmps-push": dict(algo="gmps", env="MetaWorldPush", horizon=100, **_GMPS_METAWORLD),
    "gmps-door": dict(algo="gmps", env="MetaWorldDoorOpen", horizon=100, **_GMPS_METAWORLD),
    # the baselines of the GMPS comparison, with the point preset's tasks, batch and network
    "vpg-maml-point": dict(algo="vpg-maml", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                           hidden=(100, 100), activation="relu", outer_lr=0.01, iterations=60),
    "promp-point": dict(algo="promp", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                        hidden=(100, 100), activation="relu", iterations=60),
    # ProMP Fig. 3's setting for `metarl-fast diagnose` (LVC vs DiCE relative std along an LVC run):
    # HalfCheetahRandDirec (= FwdBack), 20 tasks × 40 trajectories × H = 100; checkpoints every 5 iterations
    "lvc-fig3": dict(algo="lvc-vpg", env="HalfCheetahRandDirec", meta_batch_size=20, rollouts_per_task=40,
                     horizon=100, iterations=20, checkpoint_every=5),
    # docs/results.md: Meta-World ML10 at its official MAML-TRPO baseline budget (20 M environment steps:
    # 100 iterations of 20 tasks × 10 rollouts × 500 steps, before and after adaptation), a snapshot every
    # 2 M steps for `metarl-fast eval --protocol metaworld`. MAML-TRPO with the baseline's (512, 512) policy,
    # 1 inner step of 0.1, δ = 0.01, γ = 0.99, GAE λ = 1; ProMP at the same budget with its paper's own
    # settings otherwise (the defaults: (64, 64), 5 ProMP steps, ε = 0.3).
    "maml-trpo-ml10": dict(algo="trpo-maml", env="MetaWorldML10", meta_batch_size=20, rollouts_per_task=10,
                           horizon=500, hidden=(512, 512), inner_lr=0.1, max_kl=0.01, discount=0.99,
                           gae_lambda=1.0, iterations=100, checkpoint_every=10),
    "promp-ml10": dict(algo="promp", env="MetaWorldML10", meta_batch_size=20, rollouts_per_task=10, horizon=500,
                       discount=0.99, gae_lambda=1.0, iterations=100, checkpoint_every=10),
    "quick": dict(algo="promp", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                  iterations=20, hidden=(32, 32), checkpoint_every=10),
    "quick-halfcheetah": dict(algo="promp", env="HalfCheetahRandDirec", meta_batch_size=8, rollouts_per_task=5,
                              horizon=50, iterations=5, checkpoint_every=5),
}


# where each preset's settings come from (the paper's section; "code" is its public implementation)
_PROMP = "ProMP §4 (its code's settings)"
_SGMRL = "SG-MRL experiments (its code's launchers)"
PRESET_SOURCES: dict[str, str] = {
    **{name: _PROMP for name in ("promp-halfcheetah-dir", "maml-trpo-halfcheetah-dir", "lvc-vpg-halfcheetah-dir",
                                 "emaml-trpo-halfcheetah-dir", "promp-ant-dir", "promp-ant-goal",
                                 "promp-hopper-params", "promp-walker-params", "promp-point-momentum")},
    **{name: _SGMRL for name in ("sgmrl-2dnav", "maml-2dnav", "emaml-2dnav", "sgmrl-halfcheetah-dir",
                                 "sgmrl-halfcheetah-vel")},
    **{name: "BO-MRL §6, App. D" for name in ("bomrl-halfcheetah-dir", "bomrl-halfcheetah-vel", "bomrl-ant-dir")},
    "gmps-ant-goal-arc": "GMPS §5 (its code's settings)",
    **{name: "GMPS §5 on Meta-World v3 (NLL L_BC, ratio clip 2)" for name in ("gmps-push", "gmps-door")},
    "gmps-point": "GMPS §5, point tasks at a small scale",
    "vpg-maml-point": "GMPS §5's baseline, gmps-point's tasks",
    "promp-point": "GMPS §5's baseline, gmps-point's tasks",
    "lvc-fig3": "ProMP Fig. 3 (the estimator-variance experiment; metarl-fast diagnose)",
    "maml-trpo-ml10": "Meta-World's ML10 MAML-TRPO baseline (its baseline code's settings and budget)",
    "promp-ml10": "ProMP §4 at Meta-World's ML10 baseline budget",
    "quick": "a smoke run (~5 s)",
    "quick-halfcheetah": "a smoke run on MuJoCo (~1 min)",
}


# the presets of docs/results.md's rows (a test runs one short iteration of each)
RESULTS_PRESETS: tuple[str, ...] = ("maml-trpo-ml10", "promp-ml10")


def preset_table(markdown: bool = False) -> str:
    """Every preset as one row: name, algorithm, env, source and what it sets besides the defaults
    (plain text aligned in columns, or a Markdown table as docs/presets.md holds it)."""
    rows = [(name, s["algo"], s.get("env", "(default)"), PRESET_SOURCES[name],
             ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("algo", "env")) or "(the defaults)")
            for name, s in sorted(PRESETS.items())]
    head = ("preset", "algo", "env", "source", "other settings")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else r[i] for i in range(len(r))) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    return "\n".join("  ".join(f"{r[i]:<{widths[i]}}" for i in range(4)) + "  " + r[4] for r in [head, *rows])


def preset(name: str, overrides: list[tuple[str, object]] = ()) -> TrainConfig:
    """The preset's config, with (key, value) overrides applied after it (e.g. the command line's)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}")
    return build([*PRESETS[name].items(), *overrides])
