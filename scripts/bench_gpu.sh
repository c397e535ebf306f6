#!/usr/bin/env bash
# The throughput benchmarks on an accelerator machine, as run for README's GPU figures:
#   OUT=DIR bash scripts/bench_gpu.sh        (rlx importable: pip install -e . or PYTHONPATH=src)
set -uo pipefail
OUT=${OUT:-scripts/results/gpu}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 scripts/bench_es.py --generations 500 --scale 4096 16384 65536 --out "$OUT/bench_es.json"
python3 scripts/bench_ppo.py --out "$OUT/bench_ppo.json"
python3 scripts/bench_control.py --out "$OUT/bench_control.json"
