#!/usr/bin/env bash
# CI's second MuJoCo release: the README's test command builds against the newest mujoco-core of
# the 4.0.x line (an isolated build); this script builds against another release of the line
# (default 4.0.0) in its own virtual environment, runs the whole suite on it, then replaces
# mujoco-core under that build and checks that the command line stops with one line naming the fix
# (the case of a user's `pip install -U mujoco`). Usage: tools/ci_mujoco_line.sh [VERSION [OTHER]]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-4.0.0}
OTHER=${2:-4.0.1}
ENV=".venv-mujoco-$VERSION"

python3 -m venv "$ENV"
. "$ENV/bin/activate"
pip install torch==2.13.0
pip install scikit-build-core pybind11 ninja "mujoco-core==$VERSION"
# editable, as the README installs it: processes started in the checkout (Ray workers, subprocess tests)
# then import this build, not the source tree without its _C
pip install --no-build-isolation -C build-dir="build/mujoco-$VERSION" -e ".[test]"
pip install --no-deps metaworld==3.1.1
python - "$VERSION" <<'PY'
import sys, importlib.metadata as m
from metarl_fast._build_info import MUJOCO_VERSION
assert MUJOCO_VERSION == sys.argv[1] == m.version("mujoco-core"), (MUJOCO_VERSION, m.version("mujoco-core"))
assert f"mujoco-core=={sys.argv[1]}" in m.requires("metarl_fast"), m.requires("metarl_fast")
print(f"built against mujoco-core {MUJOCO_VERSION}")
PY
# the wheel-building test is the main run's (it builds in isolation, whatever this environment holds)
pytest -k "not test_wheel_installs_into_fresh_venv"

pip install "mujoco-core==$OTHER"
set +e
(cd /tmp && metarl-fast info) 2>"$ENV/mismatch.txt" >/dev/null
status=$?
set -e
cat "$ENV/mismatch.txt"
test "$status" -eq 2
test "$(wc -l <"$ENV/mismatch.txt")" -eq 1
grep -q "pip install mujoco-core==$VERSION" "$ENV/mismatch.txt"
echo "mujoco-core $OTHER under a $VERSION build: one line naming the fix (exit status 2)"
