"""The phase recorder behind `bench e2e`'s breakdown: it attributes every compiled-kernel call to
the phase that made it, changes no result, leaves metarl_fast._C as it found it, and replays the
recorded calls for the kernel floor."""
import pytest
import torch

import metarl_fast
from metarl_fast import _C, kernels, phases
from metarl_fast.algos.run import Runner, TrainConfig


def _inputs(T=3, N=50, seed=0):
    spec = metarl_fast.PolicySpec(4, 2, (8, 8))
    g = torch.Generator().manual_seed(seed)
    params = spec.init_params(seed=g) + 0.1 * torch.randn(T, spec.num_params, generator=g)
    obs, act = torch.randn(T, N, 4, generator=g), torch.randn(T, N, 2, generator=g)
    return spec, params, obs, act, torch.rand(T, N, generator=g) / N


def test_kernel_calls_are_attributed_to_their_phase_and_change_nothing():
    spec, params, obs, act, w = _inputs()
    plain = (kernels.score_vjp(spec, params, obs, act, w), kernels.log_prob(spec, params, obs, act))
    with phases.recording() as rec:
        with phases.phase("a"):
            grad = kernels.score_vjp(spec, params, obs, act, w)
            with phases.phase("b"):
                lp = kernels.log_prob(spec, params, obs, act)
                lp2 = kernels.log_prob(spec, params, obs, act)
        with phases.phase("c"):
            torch.ones(3).sum()  # no kernel
    assert torch.equal(grad, plain[0]) and torch.equal(lp, plain[1]) and torch.equal(lp2, plain[1])
    assert [c.name for c in rec.calls] == ["score_vjp", "log_prob", "log_prob"]
    assert [c.path for c in rec.calls] == [("a",), ("a", "b"), ("a", "b")]
    s = rec.stats
    assert (s["a"].calls, s["a"].kernel_calls, s["a/b"].calls, s["a/b"].kernel_calls) == (1, 3, 1, 2)
    assert s["c"].kernel_calls == 0 and s["c"].kernel == 0.0
    assert s[""].kernel_calls == 3 and s[""].calls == 1
    for key in ("a", "a/b", ""):
        assert 0 < s[key].kernel <= s[key].wall
    assert s["a"].kernel == pytest.approx(sum(c.seconds for c in rec.calls))
    assert [k for k, _ in rec.rows()] == ["", "a", "a/b", "c"]
    assert all(v.floor is None for v in s.values())
    rec.measure_floor(repeats=2)
    assert s["a/b"].floor > 0 and s["a"].floor > s["a/b"].floor and s["c"].floor == 0.0
    assert s[""].floor == pytest.approx(s["a"].floor)


def test_the_module_is_restored_and_recordings_do_not_nest():
    before = {name: getattr(_C, name) for name in phases.KERNELS + phases.OPERATORS}
    with pytest.raises(ValueError, match="boom"):
        with phases.recording():
            assert _C.log_prob is not before["log_prob"]
            with pytest.raises(RuntimeError, match="already active"):
                with phases.recording():
                    pytest.fail("a second recording must not start")
            raise ValueError("boom")
    assert {name: getattr(_C, name) for name in before} == before
    with phases.phase("outside"):  # no recording: nothing to record into
        assert phases._recording is None


def test_fused_operator_products_and_cg_loops_are_recorded():
    spec, params, obs, act, w = _inputs(T=2)
    post = params + 0.01

    def solve():
        op = kernels.MamlTrpoFvpOperator(spec, params, obs, act, w, 0.1, post, obs, "naive")
        b = torch.ones(spec.num_params)
        return kernels.conjugate_gradient(op, b, 5), op(b)

    plain = solve()
    with phases.recording() as rec:
        with phases.phase("cg"):
            recorded = solve()
        op = kernels.KlFvpOperator(spec, post, obs, cache=False)
        op(torch.ones(2, spec.num_params))
        assert op.compiled()._op.cache is False  # settings reach the operator behind the timing proxy
    assert torch.equal(recorded[0], plain[0]) and torch.equal(recorded[1], plain[1])
    assert [c.name for c in rec.calls] == ["operator.conjugate_gradient", "operator.matvec", "operator.matvec"]
    rec.measure_floor(repeats=1)
    assert rec.stats["cg"].floor > 0


def test_a_recorded_trpo_iteration_logs_what_an_unrecorded_one_does():
    def run(record: bool):
        config = TrainConfig.build(algo="trpo-maml", env="Point2DNav", iterations=1, meta_batch_size=4,
                                   rollouts_per_task=3, horizon=10, hidden=(8, 8))
        runner = Runner(config, verbose=False)
        if not record:
            return runner.train(progress=False), None
        with phases.recording() as rec:
            log = runner.train(progress=False)
        return log, rec

    plain, _ = run(False)
    recorded, rec = run(True)
    same = [k for k in plain[0] if not k.startswith(("Time", "SPS"))]
    assert {k: recorded[0][k] for k in same} == {k: plain[0][k] for k in same}
    keys = set(rec.stats)
    for phase in ("sampling", "advantages", "inner step", "outer step", "outer step/meta-gradient",
                  "outer step/conjugate gradient", "outer step/line search",
                  "outer step/line search/loss", "outer step/line search/KL"):
        assert phase in keys, phase
    assert rec.stats["sampling"].calls == 2  # pre- and post-update batches
    assert rec.stats["outer step/conjugate gradient"].kernel_calls == 1  # the whole CG loop in C++
    assert rec.stats["outer step/line search/loss"].calls >= 1
    outer = rec.stats["outer step"]
    assert outer.kernel_calls == sum(1 for c in rec.calls if c.path[:1] == ("outer step",))


def test_the_e2e_breakdown_has_a_row_per_phase_and_the_physics_replay(capsys):
    from metarl_fast.bench.e2e import BREAKDOWN, phase_breakdown, print_breakdown

    config = TrainConfig.build(algo="promp", env="HalfCheetahRandDirec", iterations=2, meta_batch_size=2,
                               rollouts_per_task=2, horizon=10, hidden=(8, 8))
    rows = phase_breakdown(config, threads=1, iterations=2)
    names = [r.name for r in rows]
    assert names[0] == "iteration" and names[-1] == "sampler vs physics replay"
    assert {"outer step", "outer step/meta-gradient", "outer step/pre-update KL"} <= set(names)
    assert all(r.implementation == BREAKDOWN for r in rows)
    assert all(len(r.samples_s) == 2 for r in rows if r.name != "sampler vs physics replay")
    by_name = {r.name: r for r in rows}
    assert by_name["outer step/meta-gradient"].sizes["calls"] == 5  # ProMP's 5 steps
    assert 0 < by_name["outer step"].sizes["floor_s"] and 0 < by_name["outer step"].ratio
    physics = by_name["sampler vs physics replay"]
    assert physics.sizes["env_steps"] == 2 * 2 * 10 and physics.sizes["physics_s"] > 0
    sampling, total = by_name["sampling"], by_name["iteration"]
    assert sampling.sizes["calls"] == 2 and sampling.sizes["floor_s"] == pytest.approx(2 * physics.sizes["physics_s"])
    kernel_floor = sum(c.sizes["floor_s"] for c in rows if c.name in ("advantages", "inner step", "outer step"))
    assert total.sizes["floor_s"] == pytest.approx(kernel_floor + sampling.sizes["floor_s"])
    print_breakdown(rows, "t")
    out = capsys.readouterr().out
    assert "conjugate" not in out and "meta-gradient" in out and "physics replay / sampler" in out


def test_the_e2e_table_runs_the_implementations_round_by_round_and_pairs_their_ratios(monkeypatch, capsys):
    import statistics

    from metarl_fast.bench import e2e

    order = []
    train = Runner.train

    def recorded_train(self, iterations=None, *args, **kwargs):
        order.append((self.config.sampler, iterations))
        return train(self, iterations, *args, **kwargs)

    monkeypatch.setattr(Runner, "train", recorded_train)
    rows = e2e.run(["--algo", "vpg-maml", "--env", "Point2DNav", "--tasks", "2", "--trajectories", "2",
                    "--horizon", "10", "--iterations", "3", "--threads", "1", "--no-phases"])
    # a warm-up iteration each, then one iteration of each implementation per round
    assert order == [("cpp", 1), ("gymnasium", 1)] + [x for k in (2, 3, 4) for x in (("cpp", k), ("gymnasium", k))]
    total = {r.implementation: r for r in rows if r.name == "total"}
    paired = {r.implementation: r for r in rows if r.name == "total (paired)"}
    ours, ref = (next(n for n in total if n.startswith(p)) for p in ("ours", "reference"))
    assert len(total[ours].samples_s) == len(total[ref].samples_s) == 3
    ratios = [b / a for a, b in zip(total[ours].samples_s, total[ref].samples_s)]
    assert paired[ours].sizes["round_ratios"] == pytest.approx(ratios)
    assert paired[ours].ratio == pytest.approx(statistics.median(ratios))
    assert paired[ref].ratio == 1.0
    assert total[ours].ratio == pytest.approx(statistics.median(total[ref].samples_s) / statistics.median(total[ours].samples_s))
    assert "total (paired)" in capsys.readouterr().out
