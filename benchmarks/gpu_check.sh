#!/usr/bin/env bash
# The GPU checks of issue 19, as one script for a machine with one CUDA GPU. Never run by CI.
#
#   bash benchmarks/gpu_check.sh     # at most ~11 minutes (per-step timeouts); logs in $OUT or gpu_check/
#   PYTHON=/path/to/venv/bin/python bash benchmarks/gpu_check.sh   # a Python with CUDA torch + deps
#
# 1. the test suite's GPU tests (pytest -m gpu): fp16 AMP with GradScaler (overflow -> skipped
#    step and halved scale, resume of the scale), CUDA paths of the optim wrappers;
# 2. the training-overhead benchmark on CUDA, DCGAN-64 batch 16: genforge vs the plain loop
#    (goal: genforge >= 0.97 of the plain loop's images/s, i.e. overhead ratio <= 1.03),
#    eager and with --compile;
# 3. AMP / channels_last / compile variants on CUDA (benchmarks/amp_speed.py).
# Record the printed figures, with the GPU name printed first, in docs/performance.md.
set -u
cd "$(dirname "$0")/.."
LOG=${OUT:-gpu_check}
mkdir -p "$LOG"
PY=${PYTHON:-python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
status=0
step() {  # step NAME TIMEOUT_S CMD...: run, tee the log, remember a failure, go on
    local name=$1 limit=$2
    shift 2
    echo "=== $name: $*" | tee "$LOG/$name.txt"
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc" | tee -a "$LOG/$name.txt"
    [ "$rc" -eq 0 ] || status=1
}
step gpu_info 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step gpu_info_torch 60 "$PY" -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"
step pytest_gpu 180 "$PY" -m pytest -m gpu tests -q -p no:cacheprovider
step overhead_eager 90 "$PY" benchmarks/train_overhead.py --models dcgan --iters 30 --rounds 3
step overhead_compile 150 "$PY" benchmarks/train_overhead.py --models dcgan --iters 30 --rounds 3 --compile
step amp_speed 150 "$PY" benchmarks/amp_speed.py --iters 30 --rounds 3 --no-compile
exit $status
