#!/usr/bin/env bash
# The GPU check of the CUDA kernels (docs/kernels.md, "CUDA kernels"): build with CUDA, run the
# CUDA tests and compute-sanitizer, then the CUDA benchmarks. For a machine with an NVIDIA GPU
# (sm_90 by default: H100/H200; set METARL_FAST_CUDA_ARCHITECTURES for another), the CUDA toolkit
# (nvcc, compute-sanitizer), CMake, and a Python environment with a CUDA build of torch plus this
# package's build requirements (scikit-build-core, pybind11, ninja, mujoco-core of the 4.0.x line).
#
# From the repository root:
#     bash tools/gpu_check.sh verify          # build, CUDA tests, compute-sanitizer   (about 5 minutes on an H100)
#     bash tools/gpu_check.sh bench           # build (kept from verify), benchmarks   (about 5 minutes)
#     bash tools/gpu_check.sh                 # both
# log.txt (every step's output), summary.txt and the benchmarks' JSON go to $OUT (default
# ./gpu_check_out). Without a GPU, `bash tools/gpu_check.sh --dry-run` runs every step that needs none.
#
# Steps (each under its own time limit; a failed step is reported and the next one still runs):
#   wheels       (a machine without a package index) install the wheels found in .whl/ (below)
#   build        the package with CUDA for the chosen architectures (editable install; the build
#                directory is kept, so a second call rebuilds nothing)
#   info         nvidia-smi, torch, _C.has_cuda, device count
#   verify:  pytest_cuda  pytest -m cuda on test_cuda_kernels.py (every CUDA kernel against the CPU
#                         kernels and the torch reference on the same GPU, determinism, autograd, large N)
#                         and test_cuda_training.py (ProMP, TRPO-MAML, DiCE with device=cuda against the CPU)
#            memcheck, racecheck   compute-sanitizer on tools/gpu_small_case.py (every kernel, small inputs)
#   bench:   bench_promp  bench kernels --device cuda at the ProMP scale (T=40, N=2000)
#            bench_100x   the same at 100x (N=200,000), without the torch.func rows
#            e2e          bench e2e --device cuda: ProMP HalfCheetahRandDirec, the C++ sampler on the
#                         machine's cores, meta-steps on the CPU against the GPU
# The summary at the end lists each step's exit status; the check passes when all are 0. Record the
# numbers in docs/benchmarks.md ("CUDA kernels on a GPU") and the JSON under docs/bench/<suite>/.
#
# A GPU machine without a package index: fetch what it lacks on a machine with one, into .whl/
# (ignored by git), then copy the checkout over (here for Python 3.12):
#     python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#       -d .whl "mujoco-core>=4.0,<4.1" gymnasium==1.4.0 farama-notifications==0.0.6 tensorboardX==2.6.5
set -uo pipefail

DRY=0
PART=all
case "${1:-all}" in
  --dry-run) DRY=1 ;;
  verify | bench | all) PART=${1:-all} ;;
  *) echo "usage: tools/gpu_check.sh [verify | bench | all | --dry-run]" >&2; exit 2 ;;
esac
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
declare -a SUMMARY=()

# The device tool brings back at most 8 files from $OUT: every step's output goes to one log.txt,
# beside summary.txt and the benchmarks' JSON (at most 3).
: >"$OUT/log.txt"
step() {  # step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, output appended to $OUT/log.txt
  local name=$1 limit=$2
  shift 2
  echo "== $name ($(date +%T), limit ${limit}s): $*" | tee -a "$OUT/log.txt"
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT/log.txt"
  local rc=${PIPESTATUS[0]}
  SUMMARY+=("$name: exit $rc")
  echo "== $name: exit $rc" | tee -a "$OUT/log.txt"
  return 0
}

if [[ $DRY == 0 ]]; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    # into python3's own environment: _C finds libmujoco beside it through its RPATH ($ORIGIN/../mujoco)
    step wheels 120 $PY -m pip install -q --no-index --no-deps --no-cache-dir .whl/*.whl
  fi
  export METARL_FAST_CUDA=ON METARL_FAST_CUDA_ARCHITECTURES=90-real CMAKE_BUILD_PARALLEL_LEVEL=16
  step build 300 $PY -m pip install --no-build-isolation --no-deps --no-index -e .
  step info 60 bash -c "nvidia-smi || true; $PY -c 'import torch, metarl_fast; from metarl_fast import _C; \
from metarl_fast.kernels import cuda; print(\"torch\", torch.__version__, torch.version.cuda, \
torch.cuda.get_device_name(0)); print(\"has_cuda\", _C.has_cuda, \"devices\", cuda.device_count(), _C.cuda_versions())'"
  if [[ $PART != bench ]]; then
    step pytest_cuda 240 $PY -m pytest -q -p no:cacheprovider -m cuda python_tests/test_cuda_kernels.py \
      python_tests/test_cuda_training.py -rs
    SAN="compute-sanitizer --error-exitcode 1 --print-limit 20"
    step memcheck 150 $SAN --tool memcheck $PY tools/gpu_small_case.py
    step racecheck 150 $SAN --tool racecheck $PY tools/gpu_small_case.py
  fi
  if [[ $PART != verify ]]; then
    step bench_promp 150 $PY -m metarl_fast.bench kernels --device cuda --repeats 10 \
      --json "$OUT/bench-kernels-cuda-promp.json"
    step bench_100x 200 $PY -m metarl_fast.bench kernels --device cuda --horizon 10000 --repeats 3 --no-func \
      --json "$OUT/bench-kernels-cuda-100x.json"
    step e2e 180 $PY -m metarl_fast.bench e2e --device cuda --threads 16 --iterations 2 \
      --json "$OUT/bench-e2e-cuda.json"
  fi
else
  # Here: the CUDA build (nvcc compiles; nothing runs on a GPU), the tests (the GPU ones skip), the
  # small-case script on the CPU kernels, and the script's own flow.
  export METARL_FAST_CUDA=ON METARL_FAST_CUDA_ARCHITECTURES=90-real
  step build 600 $PY -m pip install --no-build-isolation --no-deps -e .
  step info 60 $PY -c "from metarl_fast import _C; from metarl_fast.kernels import cuda; \
print('has_cuda', _C.has_cuda, 'devices', cuda.device_count(), _C.cuda_versions())"
  step pytest_cuda 300 $PY -m pytest -q -p no:cacheprovider python_tests/test_cuda_kernels.py \
    python_tests/test_cuda_training.py -rs
  step small_case_cpu 120 $PY tools/gpu_small_case.py --cpu
fi

echo "== summary"
printf '%s\n' "${SUMMARY[@]}" | tee "$OUT/summary.txt"
! grep -qv "exit 0$" "$OUT/summary.txt"
