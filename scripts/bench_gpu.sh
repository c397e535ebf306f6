#!/usr/bin/env bash
# The accelerator runs behind README's GPU figures:
#   OUT=DIR bash scripts/bench_gpu.sh              ES, PPO and iLQR throughput
#   OUT=DIR SUITE=mjx bash scripts/bench_gpu.sh    MJX throughput and the HalfCheetah/Ant PPO runs
#   OUT=DIR SUITE=model-based bash scripts/bench_gpu.sh   mbrl on HalfCheetah, BC/DAgger on Ant (a PPO expert first)
# (rlx importable: pip install -e . or PYTHONPATH=src; the MJX suite also needs mujoco,
# mujoco-mjx and gymnasium's model files: pip install -e ".[mjx]")
set -uo pipefail
OUT=${OUT:-scripts/results/gpu}
SUITE=${SUITE:-throughput}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
if [ "$SUITE" = model-based ]; then
    python3 experiments/mjx_model_based.py --out "$OUT/mjx_model_based"
elif [ "$SUITE" = mjx ]; then
    python3 scripts/bench_mjx.py --tasks HalfCheetah-v5 Ant-v5 Humanoid-v5 --batches 1024 8192 --ppo-steps 0 \
        --out "$OUT/bench_mjx.json"
    python3 experiments/mjx_locomotion.py --only HalfCheetah-v5 Ant-v5 --out "$OUT/mjx_locomotion"
else
    python3 scripts/bench_es.py --generations 500 --scale 4096 16384 65536 --out "$OUT/bench_es.json"
    python3 scripts/bench_ppo.py --out "$OUT/bench_ppo.json"
    python3 scripts/bench_control.py --out "$OUT/bench_control.json"
fi
