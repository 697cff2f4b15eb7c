"""Safe runs from the command line: one error line for a user's mistake, run directories that are
never mixed or half-made, resumption that says what it ignores and refuses what it cannot do,
Ctrl-C that says how to resume, files written atomically, and checkpoints that are loaded as data
only (a planted pickle is refused, never run), with a fall-back to the last good snapshot."""
import csv
import os
import pickle

import numpy as np
import pytest
import torch
import yaml

from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.cli import main
from metarl_fast.files import UnsafeFileError, checksum

QUICK = ["--preset", "quick", "--set", "meta_batch_size=3", "--set", "rollouts_per_task=2", "--set", "horizon=10",
         "--set", "hidden=8", "--quiet"]


def _train(out, *extra, iterations=3):
    return main(["train", *QUICK, "--iterations", str(iterations), "--out", str(out), *extra])


def _rows(out):
    with open(os.path.join(out, "progress.csv"), newline="") as f:
        return [{k: v for k, v in r.items() if not k.startswith(("Time", "SPS"))} for r in csv.DictReader(f)]


def test_a_mistake_is_one_error_line_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *QUICK, "--set", "activation=gelu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("metarl-fast train: error: activation must be one of ['tanh', 'relu'], got 'gelu'")
    assert not out.exists()
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: not a run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["eval", str(tmp_path / "empty")]) == 2
    assert "no config.yaml" in capsys.readouterr().err
    with pytest.raises(ValueError, match="activation"):
        main(["train", *QUICK, "--set", "activation=gelu", "--out", str(out), "--traceback"])


def test_a_used_run_directory_is_refused_unless_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    before = _rows(out)
    assert _train(out, iterations=2) == 2
    assert "is not empty (a run is there?)" in capsys.readouterr().err and _rows(out) == before
    (out / "notes.txt").write_text("mine")
    assert _train(out, "--overwrite", iterations=2) == 0
    rows = _rows(out)
    assert [r["Itr"] for r in rows] == ["0", "1"] and rows == before[:2]  # a fresh run, same seed
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are replaced
    assert sorted(os.listdir(out / "checkpoints")) == ["itr_1.pt"]


def test_resume_says_what_it_ignores_and_refuses_what_it_cannot_do(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setattr("sys.argv", ["metarl-fast", "train", "--out", str(out)])
    assert _train(out, iterations=2) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.argv", ["metarl-fast", "train", "--resume", str(out)])
    assert main(["train", "--resume", str(out), "--iterations", "3", "--seed", "9", "--set", "inner_lr=1",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "ignored with --resume (the run keeps its own config.yaml): --seed, --set" in err
    assert main(["train", "--resume", str(out), "--quiet"]) == 2
    assert "is at iteration 3 of 3; give --iterations above 3" in capsys.readouterr().err
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["iterations"] == 3 and config["seed"] == 1
    info = config["run_info"]
    assert info["metarl_fast"] and info["torch"] == torch.__version__ and info["mujoco"].startswith("4.")
    assert "command" in info and "git_commit" in info
    # the command that started the run stays (it reproduces the run); each resume is appended
    assert info["command"] == f"metarl-fast train --out {out}"
    (resumed,) = info["resumed"]
    assert resumed["at_iteration"] == 2 and resumed["command"] == f"metarl-fast train --resume {out}"
    assert main(["train", "--resume", str(tmp_path / "empty"), "--iterations", "2"]) == 2
    assert "no config.yaml, so no run to resume" in capsys.readouterr().err


def test_ctrl_c_stops_saved_and_resumes_exactly(tmp_path, capsys, monkeypatch):
    full, part = tmp_path / "full", tmp_path / "part"
    assert _train(full, iterations=4) == 0
    original = Runner.run_iteration

    def interrupted(self):
        if self.iteration == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Runner, "run_iteration", interrupted)
    assert _train(part, iterations=4) == 130
    assert f"interrupted; {part} holds 2 iterations; resume with: metarl-fast train --resume {part}" in \
        capsys.readouterr().err
    monkeypatch.setattr(Runner, "run_iteration", original)
    assert main(["train", "--resume", str(part), "--quiet"]) == 0
    assert _rows(part) == _rows(full)


class _Planted:
    """A pickle that would create a file when loaded unsafely."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoints_load_as_data_only_and_fall_back_to_the_last_good_snapshot(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, "--set", "checkpoint_every=1", iterations=3) == 0
    marker = tmp_path / "ran"
    with open(out / "checkpoint.pt", "wb") as f:
        pickle.dump({"iteration": 3, "config": {}, "x": _Planted(marker)}, f)
    (out / "checkpoints" / "itr_2.pt").write_bytes(b"PK\x03\x04 torn")
    runner = Runner.from_run_dir(str(out), verbose=False, out_dir=str(out))
    assert runner.iteration == 2 and not marker.exists()  # itr_1.pt: the newest good snapshot
    log = (out / "train.log").read_text()
    assert "refused" in log and "checkpoint.pt" in log and "resuming from" in log and "itr_1.pt" in log
    runner.close()  # it holds the run directory until it trains or closes
    # a snapshot whose contents were changed after it was written (a flipped value) is refused
    good = torch.load(out / "checkpoints" / "itr_1.pt", weights_only=True)
    corrupt = {**good, "algorithm": {**good["algorithm"], "theta": good["algorithm"]["theta"].clone()}}
    corrupt["algorithm"]["theta"][3] += 1e-6
    torch.save(corrupt, out / "checkpoints" / "itr_1.pt")
    with pytest.raises(UnsafeFileError, match="do not match its checksum"):
        Runner(Runner.from_run_dir(str(out), verbose=False).config, None, verbose=False)._check_snapshot(
            str(out / "checkpoints" / "itr_1.pt"), corrupt)
    assert Runner.from_run_dir(str(out), verbose=False).iteration == 1  # itr_0.pt
    # a snapshot made with another config is refused too
    good["config"] = {**good["config"], "seed": 5}
    good["checksum"] = checksum({k: v for k, v in good.items() if k != "checksum"})
    with pytest.raises(UnsafeFileError, match="made with another config"):
        Runner.from_run_dir(str(out), verbose=False)._check_snapshot("itr_1.pt", good)
    torch.save(good, out / "checkpoints" / "itr_1.pt")
    assert Runner.from_run_dir(str(out), verbose=False).iteration == 1  # itr_0.pt
    for name in os.listdir(out / "checkpoints"):
        os.remove(out / "checkpoints" / name)
    assert main(["train", "--resume", str(out), "--iterations", "5"]) == 2
    assert "nothing to resume" in capsys.readouterr().err and not marker.exists()


def test_a_torn_progress_row_is_dropped_on_resume(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert _train(full, iterations=3) == 0
    assert _train(part, iterations=2) == 0
    with open(part / "progress.csv", "a") as f:
        f.write("2,1234,-3.5")  # a kill in the middle of a row
    assert main(["train", "--resume", str(part), "--iterations", "3", "--quiet"]) == 0
    assert _rows(part) == _rows(full)


def test_experts_and_demonstrations_are_safe_files(tmp_path):
    from metarl_fast import envs
    from metarl_fast.experts import DemoSet, collect_demos, scripted_expert
    from metarl_fast.experts.sac import SacExpert
    from metarl_fast.files import UnsafeFileError, checksum

    marker = tmp_path / "ran"
    with open(tmp_path / "expert.pt", "wb") as f:
        pickle.dump({"family": "Point2DNav", "agent": _Planted(marker)}, f)
    family = envs.make("Point2DNav")
    with pytest.raises(UnsafeFileError, match="expert.pt: not a readable metarl_fast SAC expert"):
        SacExpert.load(str(tmp_path / "expert.pt"), family)
    assert not marker.exists()
    demos = collect_demos(family, scripted_expert(family), family.sample_tasks(2, seed=0), 2, 10, seed=0)
    path = str(tmp_path / "d.npz")
    demos.save(path)
    before = open(path, "rb").read()
    with pytest.raises(RuntimeError):  # a write that fails half-way leaves the earlier file whole
        with pytest.MonkeyPatch.context() as mp:
            def broken(f, **arrays):
                f.write(b"partial")
                raise RuntimeError("disk full")
            mp.setattr(np, "savez_compressed", broken)
            demos.save(path)
    assert open(path, "rb").read() == before and sorted(os.listdir(tmp_path)) == ["d.npz", "expert.pt"]
    assert DemoSet.load(path).num_demos == 2


def test_bad_invocations_of_every_command_are_one_error_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(run, iterations=1) == 0
    capsys.readouterr()
    nowhere = str(tmp_path / "none")
    bad = [["train", "--iterations", "x"], ["train", "--set", "hidden=a,b"], ["train", "--set", "maml.nope=1"],
           ["train", "--set", "seed=99999999999999999999999"], ["train", "--plugin", "no_such_module"],
           ["train", "--resume", nowhere], ["eval", nowhere], ["eval", str(run), "--seed", "-1"],
           ["eval", str(run), "--tasks-file", nowhere + ".csv"], ["eval", str(run), "--checkpoint", "99"],
           ["plot", nowhere], ["plot", str(run), "--out", nowhere + "/x.png"],
           ["demos", "--env", "Point2DNav", "--expert", "scripted", "--tasks", "0", "--out", str(tmp_path / "d.npz")],
           ["demos", "--env", "HalfCheetahRandDirec", "--expert", "scripted", "--out", str(tmp_path / "d.npz")],
           ["presets", "nope"], ["nope"], ["info", "extra"], ["bench", "nosuite"], ["bench"]]
    for argv in bad:
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors
            code = e.code
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and err and "error:" in err[-1] and "Traceback" not in "\n".join(err), (argv, code, err)


@pytest.mark.parametrize("damage", ["truncated to 40 bytes", "empty", "deleted", "NUL bytes", "random bytes",
                                    "a row changed"])
def test_a_damaged_progress_file_is_rebuilt_from_the_checkpoint_on_resume(tmp_path, capsys, damage):
    full, part = tmp_path / "full", tmp_path / "part"
    assert _train(full, iterations=4) == 0
    assert _train(part, iterations=3) == 0
    path = part / "progress.csv"
    raw = path.read_bytes()
    if damage == "truncated to 40 bytes":
        path.write_bytes(raw[:40])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "deleted":
        path.unlink()
    elif damage == "NUL bytes":
        path.write_bytes(raw[:60] + b"\x00" * 30 + raw[90:])
    elif damage == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(500))
    else:
        lines = raw.decode().splitlines(keepends=True)
        lines[2] = lines[2].replace(",", ",9", 1)
        path.write_text("".join(lines))
    with pytest.warns(UserWarning, match=f"{path}: .*rebuilt from the checkpoint's 3 rows"):
        assert main(["train", "--resume", str(part), "--iterations", "4", "--quiet"]) == 0
    assert _rows(part) == _rows(full)  # every earlier row is back, with every column


def test_a_damaged_progress_file_of_a_checkpoint_without_rows_is_refused_naming_it(tmp_path, capsys):
    part = tmp_path / "part"
    assert _train(part, iterations=2) == 0
    for name in ["checkpoint.pt", *(f"checkpoints/{n}" for n in os.listdir(part / "checkpoints"))]:
        state = torch.load(part / name, weights_only=True)  # as the trainer of earlier versions wrote them
        del state["progress"], state["checksum"]
        torch.save(state, part / name)
    (part / "progress.csv").write_bytes(np.random.default_rng(1).bytes(300))
    assert main(["train", "--resume", str(part), "--iterations", "3", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{part / 'progress.csv'}: damaged" in err and "UnicodeDecodeError" not in err


def test_two_runs_into_one_directory_refuse_the_second_and_a_stale_lock_does_not_block(tmp_path, capsys):
    from metarl_fast.algos.run.runner import RunDirectoryInUse, RunDirectoryLock

    out = tmp_path / "run"
    holder = RunDirectoryLock(str(out))  # a run writing there now
    assert _train(out, iterations=1) == 2
    assert f"is in use by pid {os.getpid()}" in capsys.readouterr().err
    assert not (out / "progress.csv").exists() and not (out / "config.yaml").exists()
    with pytest.raises(RunDirectoryInUse, match=f"pid {os.getpid()}"):
        Runner(TrainConfig(), str(out))
    holder.release()
    # the lock file a killed run leaves (its pid, the lock released by the system) blocks nothing
    (out / ".lock").write_text("pid 999999 (started 2026-01-01 00:00:00)\n")
    assert _train(out, iterations=1) == 0
    assert main(["train", "--resume", str(out), "--iterations", "2", "--quiet"]) == 0
    assert len(_rows(out)) == 2


def test_a_snapshot_a_kill_left_unwritten_is_written_on_resume(tmp_path):
    out = tmp_path / "run"
    assert _train(out, "--set", "checkpoint_every=2", iterations=4) == 0
    kept = out / "checkpoints" / "itr_3.pt"
    good = kept.read_bytes()
    kept.unlink()
    (out / "checkpoints" / ".itr_3.pt.abc123.tmp").write_bytes(good[: len(good) // 2])  # killed before the rename
    # the run is complete (iteration 4 of 4): resuming says so, and writes the missing snapshot
    assert main(["train", "--resume", str(out), "--iterations", "4", "--quiet"]) == 2
    assert kept.exists() and not (out / "checkpoints" / ".itr_3.pt.abc123.tmp").exists()
    state = torch.load(kept, weights_only=True)
    assert state["iteration"] == 4 and torch.equal(state["algorithm"]["theta"],
                                                    torch.load(out / "checkpoint.pt", weights_only=True)["algorithm"]["theta"])


def test_load_and_eval_warn_when_a_corrupted_checkpoint_falls_back(tmp_path, capsys):
    import metarl_fast

    out = tmp_path / "run"
    assert _train(out, "--set", "checkpoint_every=1", iterations=3) == 0
    raw = bytearray((out / "checkpoint.pt").read_bytes())
    raw[len(raw) // 2] ^= 0x10  # a flipped bit
    (out / "checkpoint.pt").write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match=r"refused .*checkpoint.pt.*: using .*itr_2.pt \(iteration 3\) instead"):
        policy = metarl_fast.load(str(out))
    assert policy.iteration == 3
    with pytest.warns(UserWarning, match="refused .*checkpoint.pt"):
        assert main(["eval", str(out), "--tasks", "2", "--no-plot"]) == 0


def test_progress_counts_the_trajectories_ended_by_unstable_physics(tmp_path, monkeypatch):
    from metarl_fast.envs import Batch

    real = Batch.__init__

    def unstable(self, *args, **kwargs):  # every batch has one trajectory flagged non-finite
        real(self, *args, **kwargs)
        if self.nonfinite.numel():
            self.nonfinite.view(-1)[0] = True

    monkeypatch.setattr(Batch, "__init__", unstable)
    out = tmp_path / "run"
    assert _train(out, iterations=2) == 0
    rows = _rows(out)
    assert [int(r["NonFiniteTrajectories"]) for r in rows] == [2, 2]  # the pre- and post-update batches
    assert "2 trajectories ended by an unstable state" in (out / "train.log").read_text()


def test_eval_announces_its_steps_shows_progress_and_samples_with_the_runs_sampler(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, iterations=2) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--tasks", "2", "--steps", "1", "--rollouts-per-task", "3", "--no-plot"]) == 0
    err = capsys.readouterr().err
    total = 2 * 3 * 2 * 10  # tasks × trajectories × (steps + 1) × horizon
    assert f"about {total:,} environment steps" in err and f"{total:,} of {total:,} environment steps" in err
    assert (out / "evals" / "itr1-0" / "summary.csv").exists()  # the first evaluation is number 0
    assert main(["eval", str(out), "--tasks", "2", "--steps", "1", "--rollouts-per-task", "3", "--no-plot",
                 "--sampler", "gymnasium", "--quiet"]) == 0
    assert "environment steps" not in capsys.readouterr().err
    cpp, gym = (_csv_rows(out / "evals" / f"itr1-{k}" / "summary.csv") for k in (0, 1))
    assert cpp[0]["env_steps"] == gym[0]["env_steps"] and cpp[0]["mean_return"] != gym[0]["mean_return"]
    assert main(["eval", str(out), "--sampler", "nonsense", "--no-plot"]) == 2
    assert "sampler must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "task slots per evaluation" in capsys.readouterr().out


def _csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_sizes_beyond_the_machine_and_other_edges_are_one_error_line(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert _train(run, iterations=1) == 0
    capsys.readouterr()
    cases = {("--set", "hidden=100000000"): "hidden", ("--set", "horizon=1000000000"): "horizon",
             ("--set", "meta_batch_size=1000000000"): "meta_batch_size", ("--set", "threads=100000"): "threads=100000",
             ("--set", "hidden=20000,20000"): "hidden"}
    for extra, name in cases.items():
        out = tmp_path / f"x{abs(hash(extra))}"
        assert _train(out, *extra) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0] and "Traceback" not in err[0], (extra, err)
        assert not out.exists(), extra  # nothing created
    assert main(["demos", "--env", "Point2DNav", "--expert", "scripted", "--horizon", "-5",
                 "--out", str(tmp_path / "d.npz")]) == 2
    assert "--horizon must be >= 0" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    assert main(["plot", str(run), "--out", str(tmp_path / "p.png")]) == 2
    assert "needs matplotlib (pip install" in capsys.readouterr().err
    monkeypatch.delitem(__import__("sys").modules, "matplotlib")
    for text in (b"{unclosed: [", b"", b"!!python/object/apply:os.system ['echo no']\n", b"\xff\xfe\x00"):
        (run / "config.yaml").write_bytes(text)
        assert main(["train", "--resume", str(run), "--iterations", "3", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"{run / 'config.yaml'}: not a run config" in err and "Traceback" not in err, (text, err)
    monkeypatch.setenv("METARL_FAST_TRACEBACK", "0")
    assert main(["eval", str(tmp_path / "none")]) == 2  # "0" keeps tracebacks off
    monkeypatch.setenv("METARL_FAST_TRACEBACK", "1")
    with pytest.raises(ValueError):
        main(["eval", str(tmp_path / "none")])


def test_a_full_disk_names_the_file_and_tensorboard_failures_do_not_stop_a_run(tmp_path, capsys, monkeypatch):
    import errno

    real = csv.DictWriter.writerow

    def full(self, row):
        if "Itr" in row and row["Itr"] == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, row)

    monkeypatch.setattr(csv.DictWriter, "writerow", full)
    assert _train(tmp_path / "full", iterations=2) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "progress.csv" in err[0], err
    monkeypatch.setattr(csv.DictWriter, "writerow", real)
    import tensorboardX

    def no_thread(*args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(tensorboardX, "SummaryWriter", no_thread)
    with pytest.warns(UserWarning, match="TensorBoard logging stopped .*can't start new thread"):
        assert _train(tmp_path / "tb", iterations=2) == 0
    assert len(_rows(tmp_path / "tb")) == 2


def test_the_recorded_command_line_is_shell_quoted(monkeypatch):
    import shlex

    from metarl_fast.runtime import run_info

    argv = ["metarl-fast", "train", "--set", "hidden=64, 64", "--out", "my runs/a'b"]
    monkeypatch.setattr("sys.argv", argv)
    assert shlex.split(run_info()["command"]) == argv
