"""The thread pool: sizing, and results bit-identical whatever the thread count."""
import pytest
import torch

import metarl_fast
from metarl_fast import kernels as K

from conftest import make_inputs


@pytest.fixture
def restore_threads():
    n = metarl_fast.get_num_threads()
    yield
    metarl_fast.set_num_threads(n)


def test_set_and_get_num_threads(restore_threads):
    for n in (1, 3, 2):
        metarl_fast.set_num_threads(n)
        assert metarl_fast.get_num_threads() == n
    assert metarl_fast._C.default_num_threads() >= 1


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError),
                                      (True, TypeError)])
def test_set_num_threads_rejects_bad_values(bad, exc, restore_threads):
    with pytest.raises(exc, match="set_num_threads"):
        metarl_fast.set_num_threads(bad)


@pytest.mark.parametrize("shape", [(1, 5000), (3, 1100), (40, 300)], ids=lambda s: f"T{s[0]}-N{s[1]}")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_same_result_with_one_and_two_threads(shape, dtype, restore_threads):
    T, N = shape
    spec, x = make_inputs(T, N, 7, 3, (32, 32), "tanh", True, dtype=dtype, seed=29)
    assert metarl_fast._C.chunks_per_task(T, N) > 1 or T > 1  # several work items per call

    def run_all():
        return [
            K.log_prob(spec, x["params"], x["obs"], x["act"]),
            K.score_vjp(spec, x["params"], x["obs"], x["act"], x["weights"]),
            K.score_jvp(spec, x["params"], x["obs"], x["act"], x["v"]),
            K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"], "lvc"),
            K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"], "naive"),
            K.gaussian_kl(spec, x["params"], x["obs"], x["old_mean"], x["old_log_std"]),
            K.kl_grad(spec, x["params"], x["obs"], x["old_mean"], x["old_log_std"]),
            K.kl_fvp(spec, x["params"], x["obs"], x["v"], 0.1),
        ]

    metarl_fast.set_num_threads(1)
    one = run_all()
    metarl_fast.set_num_threads(2)
    two = run_all()
    metarl_fast.set_num_threads(5)  # more threads than cores: still the same order
    five = run_all()
    for a, b, c in zip(one, two, five):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_kernels_release_the_gil(restore_threads):
    """Two Python threads calling kernels at once both finish with correct results."""
    import threading

    spec, x = make_inputs(4, 3000, 7, 3, (32, 32), "tanh", True, dtype=torch.float64, seed=31)
    expected = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"])
    results = []

    def worker():
        results.append(K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"]))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(torch.equal(r, expected) for r in results)


def test_a_pool_the_system_refuses_raises_and_keeps_the_previous_one():
    """With thread stacks capped by a memory limit, asking the C++ pool for 2000 threads (beyond
    set_num_threads' own cap, checked in test_validation) fails after a few dozen: a clear
    RuntimeError (not a hang, not a crash) and the earlier pool keeps working."""
    import subprocess
    import sys

    code = """
import os, resource, torch, metarl_fast
usage = int(open(f"/proc/{os.getpid()}/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (usage + 300 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
before = metarl_fast.get_num_threads()
try:
    metarl_fast._C.set_num_threads(2000)
except RuntimeError as e:
    assert "could not start 2000 threads" in str(e), e
    assert metarl_fast.get_num_threads() == before
    spec = metarl_fast.PolicySpec(3, 2, (4,))
    lp = metarl_fast.kernels.log_prob(spec, spec.init_params(), torch.zeros(1, 2, 3), torch.zeros(1, 2, 2))
    print("refused", tuple(lp.shape))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "refused (1, 2)", out.stdout + out.stderr
