#!/usr/bin/env bash
# The one-call GPU check of the CUDA kernels (docs/kernels.md, "CUDA kernels").
#
# On the GPU machine, from the repository root, with the cp312 wheels of what that machine lacks in
# .whl/ (mujoco-core 4.0.0, gymnasium, farama-notifications, tensorboardX; see below):
#     bash tools/gpu_check.sh                 # about 6–8 minutes; logs and JSON in $OUT
# Here, without a GPU:
#     bash tools/gpu_check.sh --dry-run       # every step that needs no GPU, against this checkout
#
# Steps (each under its own time limit; a failed step is reported and the next one still runs):
#   1. install the carried wheels into /tmp/site (PYTHONPATH)
#   2. build the package with CUDA for sm_90 only (editable install)
#   3. what the build and the device are (nvidia-smi, torch, _C.has_cuda, device count)
#   4. pytest -m cuda python_tests/test_cuda_kernels.py: every CUDA kernel against the CPU kernels and
#      the torch reference on the same GPU, determinism, autograd, large N (and the host emulation)
#   5. compute-sanitizer memcheck and racecheck on tools/gpu_small_case.py (every kernel, small inputs)
#   6. python -m metarl_fast.bench kernels --device cuda at the ProMP scale (T=40, N=2000) and at
#      100x (N=200,000), float32, JSON to $OUT
# The summary at the end lists each step's exit status; the call passes when all are 0.
#
# Fetching the wheels (here, once; .whl/ is ignored by git and carried by the device call):
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#       -d .whl mujoco-core==4.0.0 gymnasium==1.4.0 farama-notifications==0.0.6 tensorboardX==2.6.5
set -uo pipefail

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
declare -a SUMMARY=()

step() {  # step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, output to $OUT/NAME.log
  local name=$1 limit=$2
  shift 2
  echo "== $name ($(date +%T), limit ${limit}s): $*"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  SUMMARY+=("$name: exit $rc")
  echo "== $name: exit $rc"
  return 0
}

if [[ $DRY == 0 ]]; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    step wheels 120 $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export METARL_FAST_CUDA=ON METARL_FAST_CUDA_ARCHITECTURES=90-real CMAKE_BUILD_PARALLEL_LEVEL=16
  step build 300 $PY -m pip install --no-build-isolation --no-deps --no-index -e .
  step info 60 bash -c "nvidia-smi; $PY -c 'import torch, metarl_fast; from metarl_fast import _C; \
from metarl_fast.kernels import cuda; print(\"torch\", torch.__version__, torch.version.cuda, \
torch.cuda.get_device_name(0)); print(\"has_cuda\", _C.has_cuda, \"devices\", cuda.device_count(), _C.cuda_versions())'"
  step pytest_cuda 240 $PY -m pytest -q -p no:cacheprovider -m cuda python_tests/test_cuda_kernels.py -rs
  step pytest_emulation 120 $PY -m pytest -q -p no:cacheprovider python_tests/test_cuda_kernels.py -m "not cuda"
  SAN="compute-sanitizer --error-exitcode 1 --print-limit 20"
  step memcheck 180 $SAN --tool memcheck $PY tools/gpu_small_case.py
  step racecheck 180 $SAN --tool racecheck $PY tools/gpu_small_case.py
  step bench_promp 240 $PY -m metarl_fast.bench kernels --device cuda --json "$OUT/bench-kernels-cuda-promp.json"
  step bench_100x 300 $PY -m metarl_fast.bench kernels --device cuda --horizon 10000 --repeats 5 \
    --no-func --json "$OUT/bench-kernels-cuda-100x.json"
else
  # Here: the CUDA build (nvcc compiles; nothing runs on a GPU), the tests (the GPU ones skip), the
  # small-case script on the CPU kernels, and the script's own flow.
  export METARL_FAST_CUDA=ON METARL_FAST_CUDA_ARCHITECTURES=90-real
  step build 600 $PY -m pip install --no-build-isolation --no-deps -e .
  step info 60 $PY -c "from metarl_fast import _C; from metarl_fast.kernels import cuda; \
print('has_cuda', _C.has_cuda, 'devices', cuda.device_count(), _C.cuda_versions())"
  step pytest_cuda 300 $PY -m pytest -q -p no:cacheprovider python_tests/test_cuda_kernels.py -rs
  step small_case_cpu 120 $PY tools/gpu_small_case.py --cpu
fi

echo "== summary"
printf '%s\n' "${SUMMARY[@]}" | tee "$OUT/summary.txt"
! grep -qv "exit 0$" "$OUT/summary.txt"
