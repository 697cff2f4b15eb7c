"""The training configuration: typed, documented settings checked by one validator, sections per
algorithm, key resolution (plain, qualified and earlier flat names), --list-keys, presets, and the
config.yaml of earlier versions (every run directory under docs/results)."""
import glob
import os

import pytest
import yaml

from metarl_fast.algos.run import PRESETS, TrainConfig, algorithm_names, list_keys, preset
from metarl_fast.algos.run.config import build
from metarl_fast.algos.run.presets import RESULTS_PRESETS
from metarl_fast.algos.settings import fields_of
from metarl_fast.algos.run.registry import settings_classes
from metarl_fast.cli import main

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_defaults_and_sections():
    c = TrainConfig()
    assert c.algo == "promp" and type(c.section).name == "maml" and c.section.inner_lr == 0.1
    assert type(TrainConfig.build(algo="gmps").section).name == "gmps"
    assert type(TrainConfig.build(algo="bomrl").section).name == "bomrl"
    assert TrainConfig.build(algo="gmps", bc_steps=7).section.bc_steps == 7
    assert TrainConfig.build(algo="gmps", **{"gmps.bc_steps": 7}).section.bc_steps == 7


@pytest.mark.parametrize("settings, fragment", [
    (dict(activation="gelu"), "activation must be one of ['tanh', 'relu'], got 'gelu'"),
    (dict(dtype="float16"), "dtype must be one of"),
    (dict(meta_batch_size=0), "meta_batch_size must be >= 1, got 0"),
    (dict(discount=1.5), "discount must be <= 1"),
    (dict(init_std=0.0), "init_std must be > 0"),
    (dict(env="Nowhere"), "env must be one of"),
    (dict(algo="maml++"), "algo must be one of"),
    (dict(sampler="mpi"), "sampler must be one of ['auto', 'cpp', 'gymnasium', 'processes', 'ray']"),
    (dict(hidden=(8, 0)), "hidden must be a sequence of positive ints"),
    (dict(inner_lr=-1.0), "maml.inner_lr must be > 0"),
    (dict(clip_eps=1.0), "maml.clip_eps must be < 1"),
    (dict(sgmrl_jacobian="exact"), "maml.sgmrl_jacobian must be one of ['pathwise', 'paper_literal']"),
    (dict(inner_steps=1.5), "maml.inner_steps must be an int"),
    (dict(algo="gmps", ratio="episode"), "gmps.ratio must be one of"),
    (dict(algo="gmps", ratio_clip=0.5), "gmps.ratio_clip must be 0 or > 1"),
    (dict(algo="bomrl", distance="w2"), "bomrl.distance must be one of"),
    (dict(algo="trpo-maml", trainable_inner_step_size=True), "trainable_inner_step_size needs an Adam-based"),
    (dict(algo="promp", bc_steps=3), "'bc_steps' belongs to gmps, not to algo 'promp'"),
    (dict(warp_speed=9), "unknown setting 'warp_speed'; valid keys:"),
    (dict(algo="gmps", **{"maml.inner_lr": 0.1}), "'maml' is not this algorithm's section"),
])
def test_every_bad_setting_is_rejected_with_its_key(settings, fragment):
    with pytest.raises((ValueError, TypeError)) as info:
        TrainConfig.build(**settings)
    assert fragment in str(info.value)


def test_command_line_strings_are_parsed_to_each_settings_type():
    c = TrainConfig().with_overrides(["hidden=32,16", "normalize_adv=false", "inner_lr=0.05", "inner_steps=2",
                                      "maml.adaptive_kl=yes", "env=Point2DNav", "seed=7"])
    assert c.hidden == (32, 16) and c.normalize_adv is False and c.section.inner_lr == 0.05
    assert c.section.inner_steps == 2 and c.section.adaptive_kl is True and c.env == "Point2DNav" and c.seed == 7
    with pytest.raises(ValueError, match="inner_steps='two': not a valid int"):
        TrainConfig().with_overrides(["inner_steps=two"])
    with pytest.raises(ValueError, match="--set expects key=value"):
        TrainConfig().with_overrides(["inner_steps"])
    # switching the algorithm keeps the common settings and starts its section from its defaults
    g = c.with_overrides(["algo=gmps"])
    assert g.hidden == (32, 16) and g.section.inner_lr == 0.1


def test_round_trip_and_the_backend_alias():
    for algo in algorithm_names():
        c = TrainConfig.build(algo=algo, seed=4)
        assert TrainConfig.from_dict(yaml.safe_load(yaml.safe_dump(c.to_dict()))) == c
    assert TrainConfig.build(backend="torch").meta_gradient == "autograd"  # the setting's earlier name
    assert TrainConfig().with_overrides(["backend=cpp"]).meta_gradient == "explicit"


def test_config_files_of_earlier_versions_load():
    """The config.yaml files under docs/results and python_tests/data written before settings had
    sections (flat keys, backend: cpp, gmps_/bomrl_ prefixes) each load, with their values; those
    written since (sections, meta_gradient) load too."""
    paths = glob.glob(os.path.join(ROOT, "docs", "results", "**", "config.yaml"), recursive=True)
    paths += glob.glob(os.path.join(ROOT, "python_tests", "data", "legacy_runs", "*", "config.yaml"))
    legacy = []
    for path in paths:
        with open(path) as f:
            flat = yaml.safe_load(f)
        if "backend" in flat:
            legacy.append((path, flat))
        else:
            c = TrainConfig.from_dict(flat)
            assert c.algo == flat["algo"] and c.meta_gradient == flat["meta_gradient"], path
    assert len(legacy) >= 15
    for path, flat in legacy:
        c = TrainConfig.from_dict(flat)
        assert c.algo == flat["algo"] and c.iterations == flat["iterations"] and c.hidden == tuple(flat["hidden"])
        assert c.meta_gradient == {"cpp": "explicit", "torch": "autograd"}[flat["backend"]]
        section = c.to_dict()[type(c.section).name]
        for key, value in flat.items():
            name = key.removeprefix("gmps_") if c.algo == "gmps" else key
            name = {"bomrl_lambda": "lam"}.get(name, name.removeprefix("bomrl_") if c.algo == "bomrl" else name)
            if name in section:
                assert section[name] == value, (path, key)


def test_list_keys_documents_every_setting(capsys):
    text = list_keys()
    for cls in [TrainConfig, *settings_classes().values()]:
        for f in fields_of(cls):
            assert f"  {f.name} = " in text and f.metadata["doc"] in text
    assert "[gmps] settings of gmps" in text and "[maml] settings of vpg-maml" in text
    assert main(["train", "--list-keys"]) == 0
    assert "meta_gradient = explicit" in capsys.readouterr().out


def test_presets_build_and_command_line_overrides_apply_after_them():
    for name in PRESETS:
        assert preset(name).algo == PRESETS[name]["algo"]
    c = preset("gmps-point", [("bc_steps", "7"), ("seed", "3")])
    assert c.section.bc_steps == 7 and c.seed == 3 and c.section.trainable_inner_step_size
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")
    with pytest.raises(ValueError, match="belongs to gmps"):
        build([*PRESETS["gmps-point"].items(), ("algo", "promp")])


def test_the_docs_preset_table_is_the_registry_and_every_preset_resolves():
    """docs/presets.md holds exactly `metarl-fast presets --markdown`; each preset has a source and a
    valid config (so a preset edited in code but not in the docs, or one that no longer validates,
    fails here)."""
    import os

    from metarl_fast.algos.run.presets import PRESET_SOURCES, PRESETS, preset, preset_table

    assert set(PRESET_SOURCES) == set(PRESETS)
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "presets.md")).read()
    assert preset_table(markdown=True) in doc
    for name, settings in PRESETS.items():
        config = preset(name)
        assert (config.algo, config.env) == (settings["algo"], settings["env"])


def test_seeds_and_clip_out_of_range_are_refused_up_front():
    from metarl_fast.algos.run import TrainConfig

    base = TrainConfig.build(algo="promp")
    for item, message in (("seed=9223372036854775808", r"seed must be < 9223372036854775808, got 9223372036854775808"),
                          ("clip_eps=0", "clip_eps must be > 0"), ("kl_coeff=-1", "kl_coeff must be >= 0"),
                          ("outer_lr=inf", "outer_lr must be a finite number")):
        with pytest.raises(ValueError, match=message):
            base.with_overrides([item])
    assert base.with_overrides(["seed=9223372036854775807"]).seed == 2**63 - 1


@pytest.mark.parametrize("name", RESULTS_PRESETS)
def test_each_results_preset_parses_and_runs_one_short_iteration(name, tmp_path, capsys):
    """docs/results.md's rows run `metarl-fast train --preset NAME`: each preset still resolves and
    trains (one iteration, its algorithm, family and network, at a small batch)."""
    pytest.importorskip("metaworld", reason="the ML10 rows need Meta-World (README)")
    from metarl_fast.algos.run.presets import PRESETS, preset

    config = preset(name)
    assert (config.algo, config.env) == (PRESETS[name]["algo"], PRESETS[name]["env"])
    out = tmp_path / "run"
    code = main(["train", "--preset", name, "--iterations", "1", "--set", "meta_batch_size=2", "--set",
                 "rollouts_per_task=1", "--set", "horizon=20", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = (out / "progress.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[0] == "0"
