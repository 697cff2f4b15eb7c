"""kernels.shared_forward: the compiled kernels called on one (params, obs) pair share its forward
pass, with results bit-identical to separate calls, and a changed or different pair never reads
another's activations."""
import math
import threading

import pytest
import torch

import metarl_fast
from metarl_fast import kernels as K


def _setup(dtype=torch.float32, T=3, N=300, hidden=(16, 16), seed=0):
    spec = metarl_fast.PolicySpec(5, 3, hidden)
    g = torch.Generator().manual_seed(seed)
    theta = (spec.init_params(seed=g) + 0.1 * torch.randn(T, spec.num_params, generator=g)).to(dtype)
    x = dict(obs=torch.randn(T, N, 5, generator=g).to(dtype), act=torch.randn(T, N, 3, generator=g).to(dtype),
             w=(torch.randn(T, N, generator=g) / N).to(dtype), v=torch.randn(T, spec.num_params, generator=g).to(dtype),
             old_mean=torch.randn(T, N, 3, generator=g).to(dtype), old_log_std=(0.1 * torch.randn(3, generator=g)).to(dtype))
    return spec, theta.contiguous(), x


def _all_ops(spec, theta, x):
    o, a, w, v = x["obs"], x["act"], x["w"], x["v"]
    return [K.policy_mean(spec, theta, o), K.log_prob(spec, theta, o, a), K.score_vjp(spec, theta, o, a, w),
            K.score_jvp(spec, theta, o, a, v), K.surrogate_hvp(spec, theta, o, a, w, v, "lvc"),
            K.surrogate_hvp(spec, theta, o, a, w, v, "naive"), K.kl_fvp(spec, theta, o, v, 0.1),
            K.gaussian_kl(spec, theta, o, x["old_mean"], x["old_log_std"]),
            K.kl_grad(spec, theta, o, x["old_mean"], x["old_log_std"])]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("T,N,hidden", [(1, 1, (4,)), (3, 300, (16, 16)), (2, 3001, (9, 17, 5))])
def test_every_op_gives_the_same_bits_inside_a_block(dtype, T, N, hidden):
    spec, theta, x = _setup(dtype, T, N, hidden)
    plain = _all_ops(spec, theta, x)
    with K.shared_forward() as scope:
        K.policy_mean(spec, theta, x["obs"])
        assert len(scope.entries) == 0  # the samplers' per-step op stays out of the caches
        first = _all_ops(spec, theta, x)   # the first op fills the pair's cache, the rest read it
        again = _all_ops(spec, theta, x)
        assert len(scope.entries) == 1
    for p, f, a in zip(plain, first, again):
        assert torch.equal(p, f) and torch.equal(p, a)
    # a shared [P] parameter row is its own pair
    with K.shared_forward() as scope:
        got = K.score_vjp(spec, theta[0], x["obs"], x["act"], x["w"])
        assert torch.equal(got, K.score_vjp(spec, theta[0], x["obs"], x["act"], x["w"]))
        assert len(scope.entries) == 1
    assert torch.equal(got, K.score_vjp(spec, theta[0], x["obs"], x["act"], x["w"]))


def test_an_in_place_change_or_another_pair_never_reads_stale_activations():
    spec, theta, x = _setup()
    obs2 = x["obs"] + 1.0
    with K.shared_forward(max_entries=2) as scope:
        K.log_prob(spec, theta, x["obs"], x["act"])
        theta.add_(0.05)  # in place: a new version, so a new entry
        after = K.log_prob(spec, theta, x["obs"], x["act"])
        other = K.log_prob(spec, theta, obs2, x["act"])
        assert len(scope.entries) == 2  # the oldest of three pairs was dropped
        assert torch.equal(K.log_prob(spec, theta, obs2, x["act"]), other)
    assert torch.equal(after, K.log_prob(spec, theta, x["obs"], x["act"]))
    assert torch.equal(other, K.log_prob(spec, theta, obs2, x["act"]))
    assert not torch.equal(after, other)


def test_storage_kept_between_blocks_never_serves_old_activations():
    spec, theta, x = _setup()
    with K.shared_forward():
        before = K.log_prob(spec, theta, x["obs"], x["act"])
    theta.data.add_(0.05)  # same storage, same version counter value: the Python key cannot tell
    with K.shared_forward() as scope:
        after = K.log_prob(spec, theta, x["obs"], x["act"])  # reuses the first block's storage
        assert len(scope.entries) == 1
    assert torch.equal(after, K.log_prob(spec, theta, x["obs"], x["act"])) and not torch.equal(after, before)
    K.forward_cache.release_storage()


def test_storage_of_finished_caches_is_reused_and_bounded():
    """A finished block gives its caches' storage back; the next caches take it instead of fresh
    memory; at most _C.kept_storage_limit bytes are kept; release_storage() frees them."""
    from metarl_fast import _C

    spec, theta, x = _setup()
    K.forward_cache.release_storage()
    assert _C.kept_storage_bytes() == 0
    with K.shared_forward(max_entries=3) as scope:
        for shift in range(3):
            K.log_prob(spec, theta, x["obs"] + shift, x["act"])
        size = next(iter(scope.entries.values()))[2].bytes
    assert size > 0 and _C.kept_storage_bytes() == 3 * size
    with K.shared_forward(max_entries=2):
        for shift in range(3):  # the third pair takes the storage the first one gave back
            K.log_prob(spec, theta, x["obs"] + shift, x["act"])
            assert _C.kept_storage_bytes() == (2 - min(shift, 1)) * size
    assert _C.kept_storage_bytes() == 3 * size
    assert K.forward_cache.release_storage() == 3 * size and _C.kept_storage_bytes() == 0
    # bounded: pairs of more than a third of the limit each, so at most two are kept
    chunks = _C.chunks_per_task(3, 300)  # each (task, chunk) work item stores whole tiles of 64
    tile_bytes = size // (3 * chunks * math.ceil(math.ceil(300 / chunks) / 64))
    n = 64 * int(0.4 * _C.kept_storage_limit / tile_bytes)  # a cache of ≈ 0.4 × the limit
    big = torch.randn(1, n, spec.obs_dim, generator=torch.Generator().manual_seed(0))
    act = torch.randn(1, n, spec.act_dim, generator=torch.Generator().manual_seed(1))
    one = theta[:1].contiguous()
    with K.shared_forward(max_entries=3) as scope:
        for shift in range(3):
            K.log_prob(spec, one, big + shift, act)
        big_size = next(iter(scope.entries.values()))[2].bytes
    assert 3 * big_size > _C.kept_storage_limit >= _C.kept_storage_bytes() == 2 * big_size
    bigger = torch.cat([big, big[:, : n // 4]], 1)  # too large for the kept blocks: fresh storage
    with K.shared_forward(max_entries=1) as scope:
        K.log_prob(spec, one, bigger, torch.cat([act, act[:, : n // 4]], 1))
        bigger_size = next(iter(scope.entries.values()))[2].bytes
    # the longest-kept block made room for it
    assert bigger_size > big_size and _C.kept_storage_bytes() == big_size + bigger_size
    K.forward_cache.release_storage()


def test_blocks_nest_and_are_per_thread():
    spec, theta, x = _setup()
    with K.shared_forward() as outer:
        with K.shared_forward() as inner:
            assert inner is outer
        seen = []

        def worker():
            with K.shared_forward() as mine:
                seen.append(mine is not outer)
                K.log_prob(spec, theta, x["obs"], x["act"])

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert seen == [True] and len(outer.entries) == 0
    with pytest.raises(ValueError, match="max_entries"):
        with K.shared_forward(max_entries=0):
            pytest.fail("an invalid block must not start")


def test_a_maml_iteration_logs_the_same_numbers_with_and_without_sharing(monkeypatch):
    from metarl_fast.algos.run import Runner, TrainConfig
    import metarl_fast.kernels.forward_cache as fc

    def run():
        config = TrainConfig.build(algo="promp", env="Point2DNav", iterations=2, meta_batch_size=4,
                                   rollouts_per_task=3, horizon=10, hidden=(8, 8))
        return Runner(config, verbose=False).train(progress=False)

    shared = run()
    monkeypatch.setattr(fc, "active_cache", lambda params, obs: None)
    monkeypatch.setattr("metarl_fast.kernels.ops.active_cache", lambda params, obs: None)
    separate = run()
    keys = [k for k in shared[0] if not k.startswith(("Time", "SPS"))]
    assert [{k: r[k] for k in keys} for r in shared] == [{k: r[k] for k in keys} for r in separate]
