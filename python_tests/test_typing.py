"""The API as a type checker and a caller read it: the package is typed (py.typed) and its compiled
core has a stub (_C.pyi) naming what the module binds; mypy passes on the public API
(pyproject.toml's [tool.mypy]) and catches a wrong call; and the API uses one name per concept,
the old names still working with a DeprecationWarning that names the new one."""
from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast import _C, envs, kernels, reference
from metarl_fast.policies import GaussianMLPPolicy, PolicySpec

REPO = Path(__file__).resolve().parents[1]
PKG = Path(metarl_fast.__file__).resolve().parent
STUB = PKG / "_C.pyi"
MYPY_INSTALL = 'pip install "metarl_fast[test]" (or pip install mypy)'


# ---- the stub of the compiled core ---------------------------------------------------------------

def _stub() -> ast.Module:
    return ast.parse(STUB.read_text(encoding="utf-8"))


def _defined(body: list[ast.stmt]) -> dict[str, list[ast.stmt]]:
    """{public name: its definitions (overloads)} of a module or class body (imports excluded)."""
    out: dict[str, list[ast.stmt]] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue
        for name in names:
            if not name.startswith("_") or name == "__init__":
                out.setdefault(name, []).append(node)
    return out


def test_the_package_is_typed_and_ships_the_stub():
    assert (PKG / "py.typed").is_file() and (PKG / "py.typed").read_text() == ""
    assert STUB.is_file()


def test_the_stub_names_every_public_binding_and_nothing_else():
    public = {n for n in dir(_C) if not n.startswith("_")}
    stubbed = set(_defined(_stub().body))
    assert sorted(public - stubbed) == [], "bound in C++ but missing from metarl_fast/_C.pyi"
    assert sorted(stubbed - public) == [], "in metarl_fast/_C.pyi but not bound"


def test_the_stub_classes_name_their_members():
    classes = {n.name: n for n in _stub().body if isinstance(n, ast.ClassDef)}
    for name, node in classes.items():
        cls = getattr(_C, name)
        members = {k for k in vars(cls) if not k.startswith("_")}
        stubbed = set(_defined(node.body)) - {"__init__"}
        assert members == stubbed, name


def _runtime_signatures(obj) -> set[tuple[str, ...]]:
    """The parameter names of each overload pybind11 wrote in obj's docstring (self dropped)."""
    name = obj.__name__
    found = set()
    for line in (obj.__doc__ or "").splitlines():
        m = re.match(r"^(?:\d+\. )?" + re.escape(name) + r"\((.*)\) -> ", line)
        if m and m.group(1) != "*args, **kwargs":
            params = re.findall(r"(?:^|, )(\w+):", m.group(1))
            found.add(tuple(p for p in params if p != "self"))
    return found


def _stub_signatures(defs: list[ast.stmt]) -> set[tuple[str, ...]]:
    return {tuple(a.arg for a in (d.args.posonlyargs + d.args.args) if a.arg != "self")
            for d in defs if isinstance(d, ast.FunctionDef)}


def test_the_stub_functions_take_the_bound_parameters():
    """Every overload of every bound function and method has the parameter names of the stub's."""
    checked = 0
    for name, defs in _defined(_stub().body).items():
        obj = getattr(_C, name)
        if isinstance(defs[0], ast.ClassDef):
            for member, mdefs in _defined(defs[0].body).items():
                fn = getattr(obj, member, None)
                if callable(fn) and not isinstance(mdefs[0], ast.AnnAssign) and _runtime_signatures(fn):
                    assert _stub_signatures(mdefs) == _runtime_signatures(fn), f"{name}.{member}"
                    checked += 1
        elif isinstance(defs[0], ast.FunctionDef):
            assert _stub_signatures(defs) == _runtime_signatures(obj), name
            checked += 1
    assert checked > 50


# ---- annotations -----------------------------------------------------------------------------------

def _public_callables():
    for module in (kernels, reference):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif isinstance(obj, type) and issubclass(obj, kernels.PolicyOperator):
                yield f"{module.__name__}.{name}", obj.__init__
    for name in ("make", "register_family", "family_names", "register_gymnasium", "rollout_actor",
                 "rollout_gymnasium", "sync_vector_env"):
        yield f"envs.{name}", getattr(envs, name)
    for name, fn in vars(envs.TaskFamily).items():
        if inspect.isfunction(fn) and not name.startswith("_"):
            yield f"envs.TaskFamily.{name}", fn
    for cls in (envs.TaskBatch, envs.Batch, PolicySpec):
        for name, fn in vars(cls).items():
            if inspect.isfunction(fn) and not name.startswith("_"):
                yield f"{cls.__name__}.{name}", fn
    yield "metarl_fast.load", metarl_fast.load
    yield "GaussianMLPPolicy.sample", GaussianMLPPolicy.sample


def test_the_public_api_is_annotated():
    """Every parameter (but self and cls) and every return of the public kernels, operators,
    solvers, reference twins, env helpers and policies is annotated."""
    missing = []
    for where, fn in _public_callables():
        sig = inspect.signature(fn)
        missing += [f"{where}({p})" for p in list(sig.parameters.values())
                    if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{where} -> ?")
    assert missing == []


def test_mujoco_error_is_documented():
    doc = metarl_fast.MujocoError.__doc__
    assert doc and "MuJoCo" in doc and issubclass(metarl_fast.MujocoError, RuntimeError)


def test_make_shows_its_options():
    params = inspect.signature(envs.make).parameters
    for name in ("action_scale", "xml", "benchmark_seed"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY and params[name].default is None
        assert name in envs.make.__doc__
    assert envs.make("Point2DNav", action_scale=3).action_scale == 3.0
    assert envs.make("Point2DNav").action_scale == 10.0  # None: the family's default
    with pytest.raises(ValueError, match=r"make\('PendulumGravity'\): unknown options \['action_scale'\]"):
        envs.make("PendulumGravity", action_scale=3.0)


# ---- mypy ------------------------------------------------------------------------------------------

def _mypy(*args: str) -> subprocess.CompletedProcess:
    from conftest import optional_module

    optional_module("mypy", MYPY_INSTALL)
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900)


def test_mypy_passes_on_the_public_api():
    """`python -m mypy` with pyproject.toml's [tool.mypy] (the modules of the public API)."""
    out = _mypy()
    assert out.returncode == 0, out.stdout + out.stderr


# Checked by mypy, never run. `# E: code` marks a line mypy must reject with that error code,
# `# R: text` a reveal_type whose revealed type must contain `text`; no other line may be reported.
SNIPPET = '''
import torch

import metarl_fast
from metarl_fast import _C, envs, kernels, reference

spec = metarl_fast.PolicySpec(3, 2)
theta = spec.init_params(seed=0)
obs, act, w = torch.zeros(1, 4, 3), torch.zeros(1, 4, 2), torch.zeros(1, 4)
reveal_type(kernels.surrogate_hvp(spec, theta, obs, act, w, theta))  # R: torch._tensor.Tensor
kernels.surrogate_hvp(spec, theta.numpy(), obs, act, w, theta)  # E: arg-type
kernels.surrogate_hvp(spec, theta, obs, act, w, theta, curvature="bfgs")  # E: arg-type
kernels.surrogate_hvp(spec, theta, obs, act, w, theta, backend="gpu")  # E: arg-type
kernels.surrogate_hvp(spec, theta, obs, act, w)  # E: call-arg
kernels.lr_grad(spec, theta, obs, act, w, w, w)
kernels.lr_grad(spec, theta, obs, act, w, w, mask=w, backend="cpp")
kernels.dice_grad(spec, theta, obs, act, w, w, "0.99")  # E: arg-type
op = kernels.MamlTrpoFvpOperator(spec, theta, obs, act, w, 0.1, theta, obs, curvature="lvc")
kernels.KlFvpOperator(spec, theta, obs, damping=0.1, backend="cpu")  # E: arg-type
reveal_type(kernels.conjugate_gradient(op, theta))  # R: torch._tensor.Tensor
x, info = kernels.conjugate_gradient(op, theta, return_info=True)
reveal_type(info)  # R: metarl_fast.reference.solvers.CgInfo
kernels.conjugate_gradient(op, theta, backend="gpu")  # E: call-overload
reveal_type(reference.conjugate_gradient(lambda v: v, theta, 5, 0.0, 0.0, True))  # R: CgInfo
reveal_type(reference.lr_objective(spec, theta, obs, act, w, w))  # R: torch._tensor.Tensor
reveal_type(metarl_fast.load("runs/x"))  # R: metarl_fast.algos.run.meta_policy.MetaPolicy
family = envs.make("Point2DNav", action_scale=5.0)
reveal_type(family)  # R: metarl_fast.envs.base.TaskFamily
envs.make("Point2DNav", action_scale="big")  # E: arg-type
batch = family.rollout(spec, theta, family.sample_tasks(2, seed=0), 4, 10, seed=1)
reveal_type(batch.shape)  # R: tuple[int, int, int]
family.native_actions(batch.actions)
reveal_type(_C.policy_mean(spec.native, theta.numpy(), obs.numpy()))  # R: ndarray
_C.policy_mean(spec.native, theta, obs)  # E: call-overload
'''


def test_mypy_reports_a_wrong_call(tmp_path):
    """The annotations are what a type checker reads: wrong argument types, values outside a
    Literal (curvature, backend) and missing arguments are reported, the results have their types."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out = _mypy("--show-error-codes", str(snippet))
    report = out.stdout
    lines = SNIPPET.splitlines()
    expected_errors = {(i, m.group(1)) for i, line in enumerate(lines, 1) if (m := re.search(r"# E: ([\w-]+)", line))}
    errors = {(int(m.group(1)), m.group(2)) for m in re.finditer(r"snippet\.py:(\d+): error: .*\[([\w-]+)\]$", report,
                                                                  flags=re.M)}
    assert errors == expected_errors, report
    notes = {int(m.group(1)): m.group(2).replace("builtins.", "")
             for m in re.finditer(r'snippet\.py:(\d+): note: Revealed type is "(.*)"$', report, flags=re.M)}
    for i, line in enumerate(lines, 1):
        m = re.search(r"# R: (.+)$", line)
        if m:
            assert m.group(1) in notes.get(i, ""), (line, notes.get(i), report)


# ---- one name per concept, the old names deprecated ----------------------------------------------------

@pytest.fixture(scope="module")
def point():
    family = envs.make("Point2DNav")
    spec = PolicySpec(family.obs_dim, family.act_dim, (8,))
    return family, spec, spec.init_params(seed=0, dtype=torch.float64), family.sample_tasks(2, seed=0)


def _deprecated(call, new: str):
    """call() under warnings: exactly one DeprecationWarning naming `new`; its result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1 and new in str(deprecations[0].message), [str(w.message) for w in caught]
    assert deprecations[0].filename == __file__  # attributed to the caller
    return result


def test_trajs_per_task_is_a_deprecated_rollouts_per_task(point):
    from metarl_fast.sampling import CppSampler, GymnasiumSampler

    family, spec, theta, tasks = point
    new = family.rollout(spec, theta, tasks, rollouts_per_task=3, horizon=5, seed=1)
    old = _deprecated(lambda: family.rollout(spec, theta, tasks, trajs_per_task=3, horizon=5, seed=1),
                      "rollouts_per_task=")
    assert torch.equal(old.obs, new.obs) and old.shape == (2, 3, 5)
    for sampler in (CppSampler(family, spec), GymnasiumSampler(family, spec)):
        want = sampler.sample(theta, tasks, rollouts_per_task=2, horizon=4, seed=3)
        got = _deprecated(lambda: sampler.sample(theta, tasks, trajs_per_task=2, horizon=4, seed=3),
                          "rollouts_per_task=")
        assert torch.equal(got.rewards, want.rewards)
    got = _deprecated(lambda: envs.rollout_gymnasium(family, spec, theta, tasks, trajs_per_task=2, horizon=4, seed=3),
                      "rollouts_per_task=")
    assert got.shape == (2, 2, 4)
    from metarl_fast.algos.run.context import RunContext

    assert RunContext.sample.__deprecated_kwargs__ == {"trajs_per_task": "rollouts_per_task"}
    with pytest.raises(TypeError, match="both trajs_per_task="):
        family.rollout(spec, theta, tasks, 2, trajs_per_task=3, rollouts_per_task=3, horizon=5, seed=1)


def test_generator_is_a_deprecated_seed():
    spec = PolicySpec(3, 2, (4,))
    by_int = spec.init_params(seed=7)
    assert torch.equal(spec.init_params(seed=torch.Generator().manual_seed(7)), by_int)
    old = _deprecated(lambda: spec.init_params(generator=torch.Generator().manual_seed(7)), "seed=")
    assert torch.equal(old, by_int)
    assert torch.equal(GaussianMLPPolicy(spec, seed=7).params.detach(), by_int)
    policy = GaussianMLPPolicy(spec, seed=0)
    obs = torch.zeros(5, 3)
    old = _deprecated(lambda: policy.sample(obs, generator=torch.Generator().manual_seed(1)), "seed=")
    assert torch.equal(old, policy.sample(obs, seed=1))
    with pytest.raises(TypeError, match="seed must be an int, a torch.Generator or None"):
        spec.init_params(seed=1.5)


def test_actions_is_a_deprecated_act(point):
    family = point[0]
    a = np.linspace(-12, 12, 8).reshape(4, 2)
    assert np.array_equal(_deprecated(lambda: family.native_actions(actions=a), "act="), family.native_actions(act=a))


def test_backend_none_is_a_deprecated_auto():
    spec = PolicySpec(3, 2, (4,))
    theta = spec.init_params(seed=0, dtype=torch.float64)
    obs = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = torch.ones(2, spec.num_params, dtype=torch.float64)
    for op_backend in ("auto", "torch"):
        op = kernels.KlFvpOperator(spec, theta, obs, damping=0.1, backend=op_backend)
        auto = kernels.conjugate_gradient(op, b, 5)  # "auto": the operator's own backend
        assert torch.equal(auto, kernels.conjugate_gradient(op, b, 5, backend=op_backend if op_backend != "auto"
                                                            else "cpp"))
        assert torch.equal(_deprecated(lambda: kernels.conjugate_gradient(op, b, 5, backend=None), 'backend="auto"'),
                           auto)
    assert inspect.signature(kernels.conjugate_gradient).parameters["backend"].default == "auto"


def test_mask_is_positional_or_keyword_in_every_estimator():
    """mask is an ordinary parameter of every estimator, kernel and reference twin alike."""
    for module in (kernels, reference):
        for name in ("dice_objective", "dice_grad", "dice_hvp", "lr_objective", "lr_grad", "lr_hvp",
                     "ppo_clip_objective", "ppo_clip_grad", "emaml_credit", "emaml_objective", "emaml_grad"):
            kind = inspect.signature(getattr(module, name)).parameters["mask"].kind
            assert kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (module.__name__, name)
    spec = PolicySpec(3, 2, (4,))
    g = torch.Generator().manual_seed(0)
    theta = spec.init_params(seed=g, dtype=torch.float64)
    obs, act = torch.randn(2, 5, 3, generator=g, dtype=torch.float64), torch.randn(2, 5, 2, generator=g,
                                                                                      dtype=torch.float64)
    olp, adv = kernels.log_prob(spec, theta, obs, act), torch.randn(2, 5, generator=g, dtype=torch.float64)
    mask = torch.ones(2, 5, dtype=torch.float64)
    mask[1, 3:] = 0
    assert torch.equal(kernels.lr_grad(spec, theta, obs, act, olp, adv, mask),
                       kernels.lr_grad(spec, theta, obs, act, olp, adv, mask=mask))
    assert torch.equal(kernels.ppo_clip_objective(spec, theta, obs, act, olp, adv, 0.2, mask),
                       kernels.ppo_clip_objective(spec, theta, obs, act, olp, adv, 0.2, mask=mask))


def _old_keywords(tree: ast.AST) -> list[tuple[int, str]]:
    """The calls in `tree` that pass an old keyword: trajs_per_task=, generator= to init_params or a
    policy's sample, actions= to native_actions, backend=None to conjugate_gradient."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "renamed_kwargs":  # where the old names are declared
            continue
        for kw in node.keywords:
            none = isinstance(kw.value, ast.Constant) and kw.value.value is None
            if (kw.arg == "trajs_per_task" or (kw.arg == "generator" and name in ("init_params", "sample"))
                    or (kw.arg == "actions" and name == "native_actions")
                    or (kw.arg == "backend" and none and name == "conjugate_gradient")):
                found.append((node.lineno, f"{name}({kw.arg}=)"))
    return found


def test_the_package_calls_itself_by_the_new_names():
    """No source of the package, its tools or its tests (but this one) passes an old keyword: no
    DeprecationWarning comes from the repository's own calls. (A user's subclass may still name the
    parameter as it likes: the package passes it positionally.)"""
    sources = [*PKG.rglob("*.py"), *(REPO / "tools").rglob("*.py"), *(REPO / "python_tests").rglob("*.py")]
    found = [f"{path}:{line}: {call}" for path in sorted(sources) if path.resolve() != Path(__file__).resolve()
             for line, call in _old_keywords(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []
    assert _old_keywords(ast.parse("f.rollout(s, p, t, trajs_per_task=2)\nspec.init_params(generator=g)")) == [
        (1, "rollout(trajs_per_task=)"), (2, "init_params(generator=)")]


def test_the_docs_use_the_new_names():
    """The docs call the API by the new names (a line naming an old one as such excepted)."""
    docs = sorted((REPO / "docs").glob("*.md"))
    old = r"\btrajs_per_task\b|init_params\([^)]*generator=|native_actions\(actions=|backend=None"
    stale = [f"{d.name}: {line.strip()}" for d in docs for line in d.read_text(encoding="utf-8").splitlines()
             if re.search(old, line) and not re.search(r"deprecat|former", line, flags=re.I)]
    assert stale == []
