"""`metarl-fast info`: the build and the machine — the policy engine's instruction set, threads,
MuJoCo, CUDA, torch, Meta-World."""
from __future__ import annotations

import argparse

HELP = "print build and machine facts"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """info takes no arguments of its own."""


def run(args: argparse.Namespace) -> int:
    import torch

    import metarl_fast
    from metarl_fast import _C
    from metarl_fast._build_info import MUJOCO_VERSION

    print(f"metarl_fast {metarl_fast.__version__}")
    print(f"  policy engine ISA : {_C.policy_isa()}")
    print(f"  thread pool       : {metarl_fast.get_num_threads()} threads (CPUs available: {_C.default_num_threads()})")
    print(f"  MuJoCo            : {_C.mujoco_version_string()} (built against mujoco-core {MUJOCO_VERSION}, headers "
          f"{_C.mujoco_header_version()})")
    if _C.has_cuda:
        cuda = (f"CUDA kernels built ({_C.cuda_versions()}, {_C.cuda_device_count()} devices); opt-in "
                "(backend='cuda'), not yet verified on a GPU")
    else:
        cuda = "no CUDA kernels in this build (CUDA tensors use the torch reference)"
    print(f"  CUDA              : {cuda}")
    print(f"  torch             : {torch.__version__} ({torch.get_num_threads()} threads)")
    from metarl_fast.envs.metaworld_family import CPP_METAWORLD_VERSION
    from metarl_fast.envs.metaworld_tasks import metaworld_version

    try:
        installed = metaworld_version()
    except ImportError:
        installed = None
    cpp = f"{len(_C.metaworld_envs())} environments in C++ (Meta-World {CPP_METAWORLD_VERSION}'s)"
    if installed is None:
        meta = f"not installed ({cpp}; docs/metaworld.md says how to install it)"
    elif installed == CPP_METAWORLD_VERSION:
        meta = f"{installed}, {cpp}"
    else:
        meta = f"{installed}: stepped from Python (the {cpp} reproduce {CPP_METAWORLD_VERSION})"
    print(f"  Meta-World        : {meta}")
    return 0
