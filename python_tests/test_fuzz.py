"""Fuzz test of the public kernels, advantage kernels and rollouts: 600 random calls (a quarter
valid, the rest with one or two arguments replaced by None, another dtype (float16, int64, bool),
numpy, a list, a scalar, a dropped, added, empty or wrong-sized dimension, NaN, inf, huge values,
strides, or a bad scalar), run in a worker process that a crash or hang cannot take down with the
test (the parent restarts it and classifies the call). Target: 0 crashes, 0 hangs, 0 silent wrong
results (a valid call's result equals the pure-torch reference), 0 unclear messages (fuzz_calls.py
defines them)."""
from __future__ import annotations

import collections
import json
import os
import selectors
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fuzz_calls import OPS, make_calls  # noqa: E402

CALLS = 600
HANG_S = 120


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fuzz_calls.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def call(self, call: dict) -> dict:
        self.proc.stdin.write(json.dumps(call) + "\n")
        self.proc.stdin.flush()
        if not self.sel.select(timeout=HANG_S):
            self.proc.kill()
            return {"id": call["id"], "outcome": "hang"}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            return {"id": call["id"], "outcome": "crash", "detail": f"worker exit status {code}"}
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def test_fuzz_kernels_and_rollouts():
    calls = make_calls(CALLS, seed=20261126)
    outcomes = []
    worker = Worker()
    try:
        for call in calls:
            result = worker.call(call)
            outcomes.append((call, result))
            if result["outcome"] in ("crash", "hang"):
                worker = Worker()
    finally:
        worker.close()
    table = collections.Counter((c["op"], r["outcome"]) for c, r in outcomes)
    summary = "\n".join(f"{op:<24}" + "  ".join(f"{k}={table[(op, k)]}" for k in
                                                 ("ok", "clear_error", "unclear_error", "wrong", "crash", "hang")
                                                 if table[(op, k)]) for op in OPS)
    bad = [(c, r) for c, r in outcomes if r["outcome"] in ("unclear_error", "wrong", "crash", "hang")]
    assert not bad, summary + "\n\n" + "\n".join(f"{c} -> {r}" for c, r in bad[:25])
    valid = [r for c, r in outcomes if not c["mutations"]]
    assert len(valid) > 40 and all(r["outcome"] == "ok" for r in valid), summary
    errors = sum(r["outcome"] == "clear_error" for _, r in outcomes)
    assert errors > CALLS // 3, summary  # the mutations do reach the checks
    print(summary)
