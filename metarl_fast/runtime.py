"""The compiled core's runtime: its thread pool, the MuJoCo it was built against, and keeping
torch's own threads off the cores while C++ works (see docs/kernels.md, "Threads")."""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from typing import Iterator

import torch

from . import _C

__version__ = "0.1.0"


def check_mujoco_link() -> None:
    """Raises ImportError when the loaded libmujoco is not the one the core was compiled against."""
    header, library = _C.mujoco_header_version(), _C.mujoco_library_version()
    if header != library:
        from ._mujoco_check import MujocoVersionError

        raise MujocoVersionError(
            f"metarl_fast was built against MuJoCo headers {header} but loaded libmujoco {library} "
            f"({_C.mujoco_version_string()}): reinstall the mujoco-core it was built with, or rebuild metarl_fast"
        )


def set_num_threads(n: int) -> None:
    """Resize the package's persistent C++ thread pool to ``n`` threads (n >= 1).

    Every compiled kernel runs on this pool with the GIL released. Results never depend on the
    thread count (reductions use a fixed order). Default: the CPUs this process may run on.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    limit = max_num_threads()
    if n > limit:
        raise ValueError(f"set_num_threads: n={n} is more than {limit} threads, 8 per CPU this process may run on "
                         f"({_C.default_num_threads()}) and at least 64")
    _C.set_num_threads(n)


def max_num_threads() -> int:
    """The most threads the pool accepts: 8 per CPU this process may run on, at least 64 (more
    would only oversubscribe the cores; a typo such as 100000 would start that many threads)."""
    return max(64, 8 * _C.default_num_threads())


def get_num_threads() -> int:
    """Number of threads of the package's C++ thread pool (the calling thread counts as one)."""
    return _C.get_num_threads()


@contextlib.contextmanager
def thread_counts(pool: int | None, torch_threads: int | None) -> Iterator[None]:
    """The C++ pool at `pool` threads and torch at `torch_threads` intra-op threads inside the
    block (None or 0 leaves that one as it is); both restored after it."""
    previous = get_num_threads(), torch.get_num_threads()
    if pool:
        set_num_threads(pool)
    if torch_threads:
        torch.set_num_threads(torch_threads)
    try:
        yield
    finally:
        if pool:
            set_num_threads(previous[0])
        if torch_threads:
            torch.set_num_threads(previous[1])


@contextlib.contextmanager
def torch_single_thread() -> Iterator[None]:
    """torch at one thread while C++ samples: its OpenMP workers would otherwise spin on our cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def git_commit() -> tuple[str | None, bool]:
    """(the git commit of the checkout metarl_fast is imported from, whether it has uncommitted
    changes) — (None, False) for an installed wheel or without git. Read from the package's own
    directory, not the current one, so a run started elsewhere still names the code it ran."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if head.returncode != 0 or not head.stdout.strip():
            return None, False
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                capture_output=True, text=True, timeout=10)
        return head.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):  # no git here: the commit stays unknown
        return None, False


def run_info() -> dict:
    """What a run starts with: the package, torch, MuJoCo and Python versions, the command line,
    the git commit of the checkout the package runs from (when it is one; git_dirty: with
    uncommitted changes) and the time."""
    commit, dirty = git_commit()
    return {"metarl_fast": __version__, "torch": str(torch.__version__), "mujoco": _C.mujoco_version_string(),
            "python": sys.version.split()[0], "command": shlex.join(sys.argv), "git_commit": commit,
            "git_dirty": dirty, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
