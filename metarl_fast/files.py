"""Files a run writes and reads, safely: every write goes to a temporary file in the same folder
and is renamed into place (a kill never leaves a torn file), and torch files are loaded with
``weights_only=True`` (tensors and plain data only: a planted pickle is refused, not run)."""
from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import warnings

import torch


@contextlib.contextmanager
def atomic_path(path: str):
    """Yields a temporary path next to `path`; on success it replaces `path` in one rename, on an
    error it is removed and `path` is untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as e:
        raise named_os_error(e, path) from None
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(e, OSError) and not getattr(e, "filename", None):
            raise named_os_error(e, path) from None
        raise


def named_os_error(e: OSError, path: str) -> OSError:
    """`e` (e.g. "No space left on device", which names no file) as an error naming `path`."""
    return OSError(e.errno, f"{e.strerror or e} while writing", path)


def remove_leftover_temps(folder: str, names) -> list[str]:
    """Removes the temporary files atomic_path left in `folder` for files matching `names` (file
    names or glob patterns; a process killed mid-write leaves ".<name>.<random>.tmp"); returns
    what it removed."""
    import fnmatch

    removed = []
    if not os.path.isdir(folder):
        return removed
    for entry in os.listdir(folder):
        if any(fnmatch.fnmatchcase(entry, f".{name}.*.tmp") for name in names):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, entry))
                removed.append(entry)
    return removed


def save_torch(obj, path: str) -> str:
    """torch.save, atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def write_text(path: str, text: str) -> str:
    """A text file, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    return path


def checksum(obj) -> str:
    """SHA-256 of a nested structure of dicts, lists, tensors and plain values: every key, value,
    tensor dtype, shape and byte (what a checkpoint holds), independent of how it was pickled."""
    import hashlib

    h = hashlib.sha256()

    def walk(x) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, dict):
            h.update(f"D{len(x)}".encode())
            for k in sorted(x, key=repr):
                walk(k)
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(f"L{len(x)}".encode())
            for v in x:
                walk(v)
        else:
            h.update(f"V{type(x).__name__}:{x!r}".encode())

    walk(obj)
    return h.hexdigest()


class UnsafeFileError(ValueError):
    """A file that is not what metarl_fast writes: torn, foreign, or holding arbitrary objects."""


def load_torch(path: str, what: str = "checkpoint"):
    """torch.load with weights_only=True; a file that does not load that way (torn, not a torch
    file, or holding objects other than tensors and plain data) raises UnsafeFileError naming it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        with warnings.catch_warnings():  # torch's note on foreign pickle protocols: the error below says it
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UnsafeFileError(f"{path}: not a readable metarl_fast {what} (torn, foreign, or holding objects other "
                              f"than tensors and plain data, which are not loaded): {first}") from e


def new_numbered_dir(base: str, prefix: str) -> str:
    """BASE/<prefix><k> with k the first number from 0 not taken, created (so two commands started
    at once never share one); BASE is created when missing."""
    os.makedirs(base, exist_ok=True)
    k = 0
    while True:
        path = os.path.join(base, f"{prefix}{k}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            k += 1
