"""The README's quick start and .ci/run stay in step: CI runs exactly the README's test command."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quick_start_commands():
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands():
    cmds = quick_start_commands()
    assert len(cmds) == 2, cmds
    assert "pip install torch==2.13.0" in cmds[0] and "metarl-fast" in cmds[0]
    assert "pip install torch==2.13.0" in cmds[1] and cmds[1].rstrip().endswith("pytest")


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in ci


def test_cli_info_runs(capsys):
    from metarl_fast.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "policy engine ISA" in out and "MuJoCo" in out


def test_readme_python_examples_run(tmp_path, monkeypatch):
    """Every ```python block of the README runs as written (in a scratch directory)."""
    monkeypatch.chdir(tmp_path)
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
