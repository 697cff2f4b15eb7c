"""metarl_fast: C++/CUDA-accelerated gradient-based meta-reinforcement learning.

The compiled core ``metarl_fast._C`` is torch-free; ``metarl_fast.kernels`` validates inputs and
dispatches to it (or to the pure-torch reference in ``metarl_fast.reference``).
"""
from __future__ import annotations

from . import _C

__version__ = "0.1.0"


def _check_mujoco_link() -> None:
    header, library = _C.mujoco_header_version(), _C.mujoco_library_version()
    if header != library:
        raise ImportError(
            f"metarl_fast was built against MuJoCo {header} but loaded libmujoco {library} "
            f"({_C.mujoco_version_string()}); reinstall metarl_fast or the pinned mujoco-core"
        )


_check_mujoco_link()


def set_num_threads(n: int) -> None:
    """Resize the package's persistent C++ thread pool to ``n`` threads (n >= 1).

    Every compiled kernel runs on this pool with the GIL released. Results never depend on the
    thread count (reductions use a fixed order). Default: the CPUs this process may run on.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """Number of threads of the package's C++ thread pool (the calling thread counts as one)."""
    return _C.get_num_threads()


from .policies import GaussianMLPPolicy, PolicySpec, TabularSoftmaxPolicy  # noqa: E402
from . import kernels, reference  # noqa: E402

MujocoError = _C.MujocoError  # a MuJoCo error raised inside the simulator (e.g. in a worker thread)

__all__ = [
    "GaussianMLPPolicy",
    "MujocoError",
    "PolicySpec",
    "TabularSoftmaxPolicy",
    "get_num_threads",
    "kernels",
    "reference",
    "set_num_threads",
]
