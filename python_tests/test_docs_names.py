"""The names the docs cite exist: files (test files, modules, sources), dotted Python names, the
functions and classes they call, the command line's subcommands and flags, and the `--set` keys.
Scans README.md and docs/*.md: every `backticked` token, and every command line in code blocks."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import metarl_fast

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").rglob("*.md")) + [REPO / "README.md"]

# Files a run, an evaluation or a benchmark writes (the docs name them; the repository holds none),
# and the tutorial's own module.
RUN_OUTPUTS = {"config.yaml", "progress.csv", "eval.yaml", "eval.png", "summary.csv", "tasks.csv", "test_tasks.csv",
               "per_env.csv", "protocol.csv", "diagnose.csv", "diagnose.png", "fig3.png", "sac_progress.csv",
               "bench-e2e-cuda.json", "my_families.py", "frozen_lake.json", "checkpoint.pt", "demos.npz",
               "sac_expert.pt", "FILE.expert.pt"}
# Files of other projects the docs cite (Meta-World's evaluation protocol, its baselines' MAML-TRPO script).
EXTERNAL_FILES = {"metaworld/evaluation.py", "examples/meta_learning/maml_trpo_ml10.py"}
# Names of other libraries the docs call: Meta-World's benchmarks, torch, math.
EXTERNAL_CALLS = {"ML1", "ML10", "ML45", "current_stream", "exp"}
PATH_RE = re.compile(r"(?<![\w./-])[\w./-]+\.(py|pyi|cc|h|cu|cuh|md|sh|cmake|txt|toml|json|yaml|csv|png|npz|pt)(?![\w])")


def _read(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _backticked() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for doc in DOCS:
        text = re.sub(r"```.*?```", "", _read(doc), flags=re.S)  # code blocks are commands, not names
        for m in re.finditer(r"`([^`\n]+)`", text):
            found.setdefault(m.group(1), set()).add(doc.name)
    return found


def _repository_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("needs the git checkout (git ls-files)")
    return out.stdout.split()


def test_the_files_the_docs_name_exist():
    files = _repository_files()
    missing = []
    for token, docs in sorted(_backticked().items()):
        for path in {m.group(0) for m in PATH_RE.finditer(token)} if " " in token else (
                [token] if PATH_RE.fullmatch(token) else []):
            name = path.rsplit("/", 1)[-1]
            if name in RUN_OUTPUTS or path in EXTERNAL_FILES or "*" in path:
                continue
            # relative to the repository, or to the package directory the text is about (a suffix)
            if not any(f == path or f.endswith("/" + path) for f in files):
                missing.append(f"{path} (cited in {', '.join(sorted(docs))})")
    assert not missing, "files cited by the docs that the repository lacks:\n" + "\n".join(missing)


def _our_names() -> set[str]:
    names = set(dir(metarl_fast._C))
    for info in pkgutil.walk_packages(metarl_fast.__path__, "metarl_fast."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency (Ray, Meta-World) this environment lacks
            continue
        names |= set(vars(module))
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__.startswith("metarl_fast"):
                names |= set(vars(value))
    for source in (REPO / "csrc").rglob("*"):
        if source.suffix in (".h", ".cc", ".cu", ".cuh"):
            names |= set(re.findall(r"\b(?:class|struct)\s+(\w+)", source.read_text(errors="replace")))
    return names


def test_the_python_names_the_docs_cite_exist():
    """Dotted names (`kernels.surrogate_hvp`, `metarl_fast.envs.make`) resolve, and every
    `name(...)` the docs call is a function, class or method of the package or its C++ core."""
    ours = _our_names()
    missing = []
    for token, docs in sorted(_backticked().items()):
        where = f"`{token}` (in {', '.join(sorted(docs))})"
        dotted = re.fullmatch(r"((?:metarl_fast|kernels|reference|envs|sampling|algos|_C|runtime)(?:\.\w+)+)(\(.*\))?",
                              token)
        if dotted:
            parts = dotted.group(1).split(".")
            parts = parts if parts[0] == "metarl_fast" else ["metarl_fast"] + parts
            obj, i = None, len(parts)
            while i > 0:
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                    break
                except ImportError:
                    i -= 1
            for attr in parts[i:]:
                if not hasattr(obj, attr):
                    missing.append(where)
                    break
                obj = getattr(obj, attr)
            continue
        call = re.match(r"^([A-Za-z_][\w.]*)\(", token)
        if call:
            name = call.group(1).split(".")[-1]
            if name not in ours and name not in EXTERNAL_CALLS:
                missing.append(where)
    assert not missing, "names cited by the docs that do not exist:\n" + "\n".join(missing)


EXTERNAL_MODULES = {"np", "numpy", "torch", "gymnasium", "ray", "mujoco", "metaworld"}
CODE_NAME_RE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+|[A-Z][a-z]+([A-Z][a-z0-9]*)+|[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def test_the_code_names_the_docs_cite_appear_in_the_code():
    """A backticked snake_case, CamelCase or dotted name (`post_update_gradients`, `CgInfo.curvature`)
    is a word of the package, its C++ core, its tests or tools: a renamed function, setting,
    column or info key shows up here (names of other libraries: dotted under their module)."""
    words: set[str] = set()
    for folder in ("metarl_fast", "csrc", "python_tests", "tools", "cmake"):
        for source in (REPO / folder).rglob("*"):
            if source.suffix in (".py", ".pyi", ".cc", ".h", ".cu", ".cuh", ".sh", ".cmake", ".txt", ".in"):
                words |= set(re.findall(r"\w+", source.read_text(errors="replace")))
    missing = []
    for token, docs in sorted(_backticked().items()):
        if not CODE_NAME_RE.fullmatch(token) or PATH_RE.fullmatch(token) or token.endswith(".xml"):
            continue
        parts = token.split(".")
        if parts[0] not in EXTERNAL_MODULES and not all(p in words for p in parts):
            missing.append(f"`{token}` (in {', '.join(sorted(docs))})")
    assert not missing, "names cited by the docs that no code holds:\n" + "\n".join(missing)


def _command_lines() -> list[tuple[str, str]]:
    """(doc, the text after `metarl-fast ` or `python -m metarl_fast.bench `) for every command the
    docs show, in code blocks (continuation lines joined) and in backticks."""
    lines = []
    for doc in DOCS:
        text = _read(doc)
        blocks = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
        inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for chunk in [b.replace("\\\n", " ") for b in blocks] + inline:
            for line in chunk.splitlines():
                line = line.split(" #")[0]
                for m in re.finditer(r"(?:metarl-fast|python -m metarl_fast\.bench|metarl_fast\.bench) +(.*)", line):
                    prefix = "bench " if "metarl_fast.bench" in m.group(0) else ""
                    lines.append((doc.name, prefix + m.group(1).split("&&")[0].split("|")[0].strip()))
    return lines


def _subcommand_flags() -> dict[str, set[str]]:
    from metarl_fast import cli

    flags = {}
    for name, module in cli.COMMANDS.items():
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        flags[name] = {s for a in parser._actions for s in a.option_strings} | {"--plugin", "--traceback", "--help"}
    from metarl_fast.bench.__main__ import SUITES

    for suite in SUITES:
        text = subprocess.run([sys.executable, "-m", "metarl_fast.bench", suite, "--help"], capture_output=True,
                              text=True, timeout=120).stdout
        flags[f"bench {suite}"] = set(re.findall(r"--[\w-]+", text)) | {"--help"}
    return flags


def _setting_keys() -> set[str]:
    from metarl_fast.algos.run.registry import algorithm_names
    from metarl_fast.cli import main

    keys = set()
    for algo in algorithm_names():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["train", "--list-keys", "--algo", algo])
        keys |= set(re.findall(r"^\s+(\w+) = ", out.getvalue(), flags=re.M))
    return keys


def test_the_commands_the_docs_show_use_existing_subcommands_flags_and_settings():
    flags, keys = _subcommand_flags(), _setting_keys()
    lines = _command_lines()
    assert len(lines) > 50, lines  # the scan found the docs' commands
    bad = []
    for doc, line in lines:
        words = line.split()
        if not words or not re.fullmatch(r"[a-z]+", words[0]):
            continue  # prose like "metarl-fast's ..." or a placeholder
        command = " ".join(words[:2]) if words[0] == "bench" and len(words) > 1 else words[0]
        if command == "bench" or command not in flags:
            if command not in ("bench",) and command not in flags:
                bad.append(f"{doc}: unknown subcommand in `metarl-fast {line}`")
            continue
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", line):
            if flag not in flags[command]:
                bad.append(f"{doc}: {command} has no {flag} (`{line}`)")
        for key in ([] if "--plugin" in line else re.findall(r"--set[ =]+(\w+)=", line)):  # a plugin's own keys
            if key not in keys:
                bad.append(f"{doc}: no setting {key!r} (`{line}`)")
    assert not bad, "\n".join(bad)


def test_benchmark_records_live_under_docs_bench_and_name_their_commit():
    """docs/ holds pages; raw benchmark rows are docs/bench/<suite>/<what>-<date>[-runN].json, each
    with the git commit it was recorded with (the bench harness writes it)."""
    assert not list((REPO / "docs").glob("*.json")), "benchmark JSON beside the pages: move it to docs/bench/<suite>/"
    records = sorted((REPO / "docs" / "bench").rglob("*.json"))
    assert records
    for path in records:
        assert re.fullmatch(r"[a-z0-9-]+-\d{4}-\d{2}-\d{2}(-run\d+)?\.json", path.name), path
        commit = __import__("json").loads(path.read_text()).get("git_commit")
        assert isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit), (path, commit)


def test_the_bench_harness_records_the_commit(tmp_path):
    import json

    from metarl_fast.bench.harness import write_json
    from metarl_fast.runtime import git_commit

    out = tmp_path / "rows.json"
    write_json(str(out), "kernels", [])
    doc = json.loads(out.read_text())
    assert (doc["git_commit"], doc["git_dirty"]) == git_commit()
    if (REPO / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", doc["git_commit"])
