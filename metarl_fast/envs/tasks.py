"""Task batches: the tasks of one family as an array, printable and serialisable."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np


@dataclass(frozen=True)
class TaskBatch:
    """n tasks of one family: ``params`` [n, task_dim] float64 (a direction, a target velocity, a
    goal...; the meaning of each column is ``fields``).

    Serialise with ``to_dict()`` / ``TaskBatch.from_dict(d)`` (plain lists, JSON/YAML friendly).
    """

    family: str
    fields: tuple[str, ...]
    params: np.ndarray

    def __post_init__(self) -> None:
        params = np.ascontiguousarray(np.asarray(self.params, dtype=np.float64))
        if params.ndim != 2 or params.shape[1] != len(self.fields):
            raise ValueError(f"TaskBatch({self.family}): params must be [n, {len(self.fields)}] "
                             f"(fields {self.fields}), got shape {params.shape}")
        if not np.isfinite(params).all():
            raise ValueError(f"TaskBatch({self.family}): params contain NaN or infinite values")
        params.setflags(write=False)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "fields", tuple(self.fields))

    def __len__(self) -> int:
        return self.params.shape[0]

    def __getitem__(self, index: Union[int, slice, Sequence[int], np.ndarray]) -> "TaskBatch":
        rows = self.params[index]
        return TaskBatch(self.family, self.fields, rows.reshape(-1, len(self.fields)))

    def repeat(self, k: int) -> "TaskBatch":
        """Each task k times in a row ([t0, t0, ..., t1, t1, ...])."""
        return TaskBatch(self.family, self.fields, np.repeat(self.params, k, axis=0))

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "fields": list(self.fields), "params": self.params.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TaskBatch":
        return cls(d["family"], tuple(d["fields"]), np.asarray(d["params"], dtype=np.float64))

    def __repr__(self) -> str:
        n = len(self)
        shown = ", ".join(
            "(" + ", ".join(f"{k}={v:.3g}" for k, v in zip(self.fields, row)) + ")" for row in self.params[:4])
        more = f", ... ({n} tasks)" if n > 4 else ""
        return f"TaskBatch[{self.family}]({shown}{more})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TaskBatch) and self.family == other.family and self.fields == other.fields
                and np.array_equal(self.params, other.params))

    __hash__ = None  # type: ignore[assignment]  # compared by value over an array: unhashable
