#!/usr/bin/env bash
# Build a separate environment with rejax 0.1.3 (it needs jax 0.9.2 and gymnax < 1,
# which rlx's own environment cannot hold) and print its interpreter, for
#   python scripts/bench_ppo.py --rejax-python "$(bash scripts/rejax_env.sh)"
set -euo pipefail
dir=${1:-.rejax-venv}
if [ ! -x "$dir/bin/python" ]; then
  python3.11 -m venv "$dir" >&2
  "$dir/bin/pip" install -q "rejax==0.1.3" "jax[cpu]==0.9.2" "gymnax<1" >&2
fi
echo "$dir/bin/python"
