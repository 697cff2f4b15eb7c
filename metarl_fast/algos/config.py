"""Training configuration: one readable dataclass (CleanRL style), paper presets, and `key=value`
overrides from the command line. Defaults are the ProMP code's (digest papers-promp-sgmrl.md A.7)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .variants import VARIANTS


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as config.yaml in the run directory."""

    algo: str = "promp"                 # one of VARIANTS
    env: str = "HalfCheetahRandDirec"   # one of metarl_fast.envs.ALL_FAMILY_NAMES
    seed: int = 1
    iterations: int = 1000
    # sampling
    meta_batch_size: int = 40           # tasks per meta-iteration
    rollouts_per_task: int = 20         # trajectories per task per step
    horizon: int = 0                    # 0: the family's papers' horizon (100 HalfCheetah, 200 Ant, ...)
    # policy
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    init_std: float = 1.0
    dtype: str = "float32"
    # advantages
    discount: float = 0.99
    gae_lambda: float = 1.0
    normalize_adv: bool = True
    advantages: str = "gae"             # "gae" (the papers' code) | "returns" (SG-MRL's R_h from t = 0, no baseline)
    reduction: str = "steps"            # surrogate scale: "steps" mean over N·H (ProMP code) | "trajectories"
    # inner adaptation
    inner_steps: int = 1
    inner_lr: float = 0.1               # α (the initial value when trainable)
    trainable_inner_step_size: bool = False  # the papers' code's option: one learned α per parameter
    first_order: bool = False           # drop the Hessian factors of the meta-gradient (FO-MAML, FO-SG-MRL)
    sgmrl_jacobian: str = "pathwise"    # SG-MRL: "pathwise" (correct) | "paper_literal" (eq. 10/13)
    bomrl_lambda: float = 0.5           # BO-MRL: λ of the lower level (digest B.7: 0.5, or 0.4 HalfCheetah vel D2)
    bomrl_distance: str = "kl_phi_pi"   # BO-MRL: "kl_phi_pi" (D1) | "kl_pi_phi" (D2) | "l2" (D3)
    bomrl_lower_iters: int = 50         # BO-MRL: Adam iterations of the lower level (the paper's 50)
    bomrl_lower_lr: float = 1e-2        # BO-MRL: their learning rate (not given by the paper)
    bomrl_q: str = "q"                  # BO-MRL: "q" Monte-Carlo Q (the paper) | "advantage" (minus a baseline)
    # GMPS (digest papers-gmps-bomrl.md A.5/A.8; the public code's defaults where the paper is silent)
    gmps_expert: str = "scripted"       # "scripted" (point families) | "sac" (contextual SAC, the paper) |
                                        # "sac-per-task" (one SAC per task) | "file" (gmps_demos)
    gmps_demos: str = ""                # a DemoSet .npz for gmps_expert="file"
    gmps_num_tasks: int = 20            # meta-training tasks (the paper sweeps 10, 20)
    gmps_demos_per_task: int = 20       # expert trajectories per task
    gmps_expert_noise: float = 0.0      # Gaussian noise on the executed expert actions (policy scale)
    gmps_demo_batch: int = 0            # expert trajectories per task per BC step (0: all)
    gmps_bc_steps: int = 100            # N_BC: Adam steps per on-policy batch (the code: 500; the paper sweeps 1–2000)
    gmps_bc_loss: str = "nll"           # "nll" (the paper's L_BC) | "mse" (the code: mean-squared error of the mean)
    gmps_ratio: str = "step"            # inner IS ratio: "step" (the code, stop-gradient) | "trajectory" (Eq. 3) |
                                        # "full" (per-step, differentiated: J^LR)
    gmps_ratio_clip: float = 0.0        # clip ρ to [1/c, c] (0: no clipping, the code's default; its option
                                        # clip0.5_2.0 is c = 2); stop-gradient ratios only
    gmps_bias_dim: int = 4              # bias-transformation dimension (0: none; the paper sweeps 2, 4)
    gmps_adapt: str = "all"             # adapted blocks: "all" | "bias_transform" | comma-separated block names
    gmps_dagger: bool = False           # Algorithm 1's aggregation (off in the paper's experiments)
    gmps_dagger_beta: float = 0.5       # β_0 of the expert/adapted-policy mixture (Appendix A)
    gmps_dagger_decay: float = 0.5      # β_j = β_0 · decay^j
    gmps_dagger_trajs: int = 5          # aggregated trajectories per task per iteration
    gmps_eval_every: int = 1            # post-update evaluation rollouts every k iterations (0: never)
    gmps_sac_steps: int = 200000        # SAC experts: environment steps (per task for sac-per-task)
    gmps_sac_hidden: tuple[int, ...] = (256, 256)
    gmps_sac_updates_per_step: float = 1.0  # SAC gradient steps per environment step
    gmps_sac_reward_scale: float = 10.0  # SAC reward scale (the paper sweeps 10, 50, 100)
    sgmrl_baseline: str = "leave_one_out"  # SG-MRL's J̃ minus the mean J̃ of the other tasks (independent
                                            # of the task's own D_in, so unbiased) | "none" (the paper's raw J̃)
    # outer optimisation
    outer_lr: float = 1e-3              # Adam (VPG variants and ProMP)
    promp_steps: int = 5                # ProMP: Adam steps per batch
    clip_eps: float = 0.3               # ProMP: PPO clip
    kl_coeff: float = 5e-4              # ProMP: η (per inner step)
    adaptive_kl: bool = False           # ProMP: η ← η/2 or 2η towards target_kl
    target_kl: float = 0.01
    max_kl: float = 0.01                # TRPO: δ
    cg_iters: int = 10
    cg_damping: float = 0.0
    # execution
    backend: str = "cpp"                # "cpp" explicit kernels | "torch" autograd through the unrolled update
    sampler: str = "auto"               # "cpp": rollouts inside C++ | "gymnasium": a Python loop over the
                                        # families' gymnasium vector envs with a torch policy (reference)
    threads: int = 0                    # 0: every available CPU
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.gmps_sac_hidden = tuple(int(h) for h in self.gmps_sac_hidden)
        self.validate()

    def validate(self) -> None:
        from ..envs import family_names

        if self.algo not in VARIANTS:
            raise ValueError(f"algo must be one of {sorted(VARIANTS)}, got {self.algo!r}")
        if self.env not in family_names():
            raise ValueError(f"env must be one of {list(family_names())}, got {self.env!r}")
        positive = ("iterations", "meta_batch_size", "rollouts_per_task", "inner_steps", "promp_steps",
                    "cg_iters", "checkpoint_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("inner_lr", "outer_lr", "max_kl", "init_std"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not (0 <= self.discount <= 1 and 0 <= self.gae_lambda <= 1):
            raise ValueError("discount and gae_lambda must be in [0, 1]")
        if self.backend not in ("cpp", "torch"):
            raise ValueError(f"backend must be 'cpp' or 'torch', got {self.backend!r}")
        if self.sampler not in ("auto", "cpp", "gymnasium"):
            raise ValueError(f"sampler must be 'auto', 'cpp' or 'gymnasium', got {self.sampler!r}")
        if self.trainable_inner_step_size and VARIANTS[self.algo].optimizer == "trpo":
            raise ValueError("trainable_inner_step_size needs an Adam-based algorithm (not TRPO)")
        if self.advantages not in ("gae", "returns"):
            raise ValueError(f"advantages must be 'gae' or 'returns', got {self.advantages!r}")
        if self.reduction not in ("steps", "trajectories"):
            raise ValueError(f"reduction must be 'steps' or 'trajectories', got {self.reduction!r}")
        if self.sgmrl_jacobian not in ("pathwise", "paper_literal"):
            raise ValueError(f"sgmrl_jacobian must be 'pathwise' or 'paper_literal', got {self.sgmrl_jacobian!r}")
        if self.bomrl_q not in ("q", "advantage"):
            raise ValueError(f"bomrl_q must be 'q' or 'advantage', got {self.bomrl_q!r}")
        if self.bomrl_distance not in ("kl_phi_pi", "kl_pi_phi", "l2"):
            raise ValueError(f"bomrl_distance must be kl_phi_pi, kl_pi_phi or l2, got {self.bomrl_distance!r}")
        if self.algo == "bomrl" and (self.backend != "cpp" or self.trainable_inner_step_size or self.inner_steps != 1):
            raise ValueError("bomrl runs with backend='cpp', one (one-time) adaptation and no trainable step size")
        if self.gmps_expert not in ("scripted", "sac", "sac-per-task", "file"):
            raise ValueError(f"gmps_expert must be scripted, sac, sac-per-task or file, got {self.gmps_expert!r}")
        if self.gmps_bc_loss not in ("nll", "mse"):
            raise ValueError(f"gmps_bc_loss must be 'nll' or 'mse', got {self.gmps_bc_loss!r}")
        if self.gmps_ratio not in ("step", "trajectory", "full"):
            raise ValueError(f"gmps_ratio must be step, trajectory or full, got {self.gmps_ratio!r}")
        for name in ("gmps_num_tasks", "gmps_demos_per_task", "gmps_bc_steps", "gmps_dagger_trajs",
                     "gmps_sac_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("gmps_demo_batch", "gmps_bias_dim", "gmps_eval_every", "gmps_expert_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not (0 <= self.gmps_dagger_beta <= 1 and 0 <= self.gmps_dagger_decay <= 1):
            raise ValueError("gmps_dagger_beta and gmps_dagger_decay must be in [0, 1]")
        if self.gmps_ratio_clip and (self.gmps_ratio_clip <= 1 or self.gmps_ratio == "full"):
            raise ValueError("gmps_ratio_clip must be 0 or > 1, with a stop-gradient ratio (not gmps_ratio='full')")
        if self.algo == "gmps" and self.inner_steps != 1:
            raise ValueError("gmps takes one inner policy-gradient step (inner_steps=1)")
        if self.sgmrl_baseline not in ("none", "leave_one_out"):
            raise ValueError(f"sgmrl_baseline must be 'none' or 'leave_one_out', got {self.sgmrl_baseline!r}")
        if self.sgmrl_jacobian == "paper_literal" and self.backend == "torch":
            raise ValueError("the paper-literal SG-MRL estimator has no autograd form; use backend='cpp'")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.horizon < 0 or self.threads < 0:
            raise ValueError("horizon and threads must be >= 0")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["gmps_sac_hidden"] = list(self.gmps_sac_hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**d)

    def with_overrides(self, items: list[str]) -> "TrainConfig":
        """Applies `key=value` strings, converting each value to the field's type."""
        d = self.to_dict()
        types = {f.name: f.type for f in fields(self)}
        for item in items:
            if "=" not in item:
                raise ValueError(f"--set expects key=value, got {item!r}")
            key, value = item.split("=", 1)
            if key not in types:
                raise ValueError(f"--set: unknown key {key!r}; valid keys: {', '.join(sorted(types))}")
            d[key] = _parse(types[key], value, key)
        return TrainConfig.from_dict(d)


def _parse(type_name, value: str, key: str):
    t = str(type_name)
    try:
        if t.startswith("bool"):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if t.startswith("int"):
            return int(value)
        if t.startswith("float"):
            return float(value)
        if t.startswith("tuple"):
            return tuple(int(v) for v in value.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--set {key}={value!r}: not a valid {t}") from None
    return value


# GMPS's shared settings (digest A.5/A.8): 2 × 100 ReLU, learned per-parameter step sizes from 0.1,
# the code's MSE loss; and the paper-scale batch (20 tasks × 20 trajectories, 500 BC steps).
_GMPS = dict(hidden=(100, 100), activation="relu", trainable_inner_step_size=True, inner_lr=0.1, gmps_bc_loss="mse")
_GMPS_PAPER = dict(_GMPS, meta_batch_size=20, rollouts_per_task=20, gmps_num_tasks=20, gmps_demos_per_task=20,
                   gmps_bc_steps=500, iterations=200)

# Paper configurations (digest A.7) and quick ones for smoke runs.
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
    # (100, 100) policy; MAML and E-MAML baselines with the same settings (digest B.7/B.8).
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
    # BO-MRL's practical algorithm (digest B.7): H = 200, 20 roll-outs (40 for Ant direction),
    # (64, 64) tanh, TRPO δ = 1e-3, λ = 0.5 (0.4 for HalfCheetah velocity with D2).
    "bomrl-halfcheetah-dir": dict(algo="bomrl", env="HalfCheetahRandDirec", horizon=200, max_kl=1e-3,
                                  bomrl_lambda=0.5, iterations=500, cg_damping=0.1),
    "bomrl-halfcheetah-vel": dict(algo="bomrl", env="HalfCheetahRandVel", horizon=200, max_kl=1e-3,
                                  bomrl_lambda=0.5, iterations=500, cg_damping=0.1),
    "bomrl-ant-dir": dict(algo="bomrl", env="AntRandDirec", horizon=200, rollouts_per_task=40, max_kl=1e-3,
                          bomrl_lambda=0.5, iterations=400, cg_damping=0.1),
    # GMPS (digest A.5): 2 × 100 ReLU, bias transformation 4, learned per-parameter step sizes, MSE of
    # the mean as the public code; point tasks with the scripted expert (demonstrations diversified by
    # executed-action noise), Ant with a contextual SAC expert and the code's clip0.5_2.0 ratio option
    # (unclipped 8-dimensional per-step ratios overflowed after 50 BC steps; docs/gmps.md), Meta-World
    # with its scripted policies.
    "gmps-point": dict(algo="gmps", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                       **_GMPS, gmps_num_tasks=10, gmps_demos_per_task=10, gmps_bc_steps=100,
                       gmps_expert_noise=5.0, iterations=30),
    "gmps-ant-goal-arc": dict(algo="gmps", env="AntGoalArc", horizon=200, **_GMPS_PAPER, gmps_expert="sac",
                              gmps_sac_steps=1_000_000, gmps_ratio_clip=2.0),
    "gmps-push": dict(algo="gmps", env="MetaWorldPush", horizon=50, **_GMPS_PAPER, gmps_expert_noise=0.1),
    "gmps-door": dict(algo="gmps", env="MetaWorldDoorOpen", horizon=100, **_GMPS_PAPER, gmps_expert_noise=0.1),
    # the baselines of the GMPS comparison, with the point preset's tasks, batch and network
    "vpg-maml-point": dict(algo="vpg-maml", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                           hidden=(100, 100), activation="relu", outer_lr=0.01, iterations=60),
    "promp-point": dict(algo="promp", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                        hidden=(100, 100), activation="relu", iterations=60),
    "quick": dict(algo="promp", env="Point2DNav", meta_batch_size=10, rollouts_per_task=10, horizon=30,
                  iterations=20, hidden=(32, 32), checkpoint_every=10),
    "quick-halfcheetah": dict(algo="promp", env="HalfCheetahRandDirec", meta_batch_size=8, rollouts_per_task=5,
                              horizon=50, iterations=5, checkpoint_every=5),
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}")
    return TrainConfig(**PRESETS[name])
