"""Model-based RL and imitation on the MJX tasks: configurations for one GPU, and a CPU smoke run.

    python experiments/mjx_model_based.py [--only mbrl imitation] [--expert-run RUN_DIR]
    python experiments/mjx_model_based.py --smoke      # CPU: every stage for a few steps

``mbrl``: the iterative learned-ensemble MPC loop (``rlx train mbrl``) on HalfCheetah-v5 with
150-step episodes, PETS's settings (five probabilistic 4×200 models, 20 particles, CEM with 500
samples × 5 iterations over 30 steps), ten random episodes first, 100 episodes in all.
Aim (CS 285's reference point): return ≥ 800 over 150 steps.

``imitation``: behaviour cloning and DAgger on Ant-v5 from a PPO expert loaded from a run folder
(``--expert-run``, e.g. ``experiments/mjx_locomotion.py --only Ant-v5``'s; without it the expert
is trained first with that script's Ant configuration). BC fits 20 expert episodes; DAgger runs
10 iterations of 2 episodes. Aims: BC ≥ 30% of the expert's return, DAgger ≥ 90%.

``--smoke`` shrinks everything (tiny models and planners, 20-step imitation episodes, a
two-update PPO "expert") so that each stage builds, compiles and runs on the CPU; its
returns mean nothing. Writes results.json and results.md to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import jax
import numpy as np

import rlx
from rlx.algos import imitation as im
from rlx.algos.mbrl import MBRLConfig
from rlx.envs import register
from rlx.envs.mujoco_tasks import HalfCheetah

from _report import write_report
import mjx_locomotion

register("HalfCheetah-v5-150", HalfCheetah, max_steps=150)

MBRL = MBRLConfig(hidden=(200, 200, 200, 200), ensemble_size=5, probabilistic=True, particles=20, num_samples=500,
                  num_elites=50, iterations=5, horizon=30, collect_steps=150, random_steps=1500, model_steps=500,
                  batch_size=256)
MBRL_STEPS, MBRL_AIM = 150 * 100, 800.0
MBRL_SMOKE = dataclasses.replace(MBRL, hidden=(32,), ensemble_size=2, particles=2, num_samples=16, num_elites=4,
                                 iterations=1, horizon=5, random_steps=150, model_steps=5, batch_size=32)

BC = im.BCConfig(hidden=(256, 256), activation="silu", steps=20_000, batch_size=512)
DAGGER = im.DAggerConfig(hidden=(256, 256), activation="silu", steps=20_000, batch_size=512, iterations=10,
                         episodes=2, max_steps=1000)
DEMOS, EPISODE = 20, 1000
BC_AIM, DAGGER_AIM = 0.3, 0.9


def run_mbrl(out: Path, smoke: bool) -> dict:
    cfg, steps = (MBRL_SMOKE, 2 * 150) if smoke else (MBRL, MBRL_STEPS)
    r = rlx.train("mbrl", "HalfCheetah-v5-150", cfg, total_steps=steps, out=out / "mbrl-halfcheetah",
                  eval_episodes=1 if smoke else 10, chunks=1 if smoke else 20, show_progress=not smoke)
    s = r.summary
    return dict(stage="mbrl", task="HalfCheetah-v5 (150 steps)", result=s["final_return_mean"],
                aim=None if smoke else MBRL_AIM, met=None if smoke else s["final_return_mean"] >= MBRL_AIM,
                compile_seconds=s["compile_seconds"], wall_seconds=s["wall_seconds"])


def expert_run(out: Path, smoke: bool) -> Path:
    task = "Ant-v5"
    cfg = mjx_locomotion.config(task, smoke)
    steps = 2 * cfg.num_envs * cfg.num_steps if smoke else mjx_locomotion.CONFIGS[task][0]
    run = out / "ppo-ant-expert"
    rlx.train("ppo", task, config=cfg, total_steps=steps, out=run, eval_episodes=0 if smoke else 10,
              chunks=1 if smoke else 50, show_progress=not smoke)
    return run


def run_imitation(out: Path, smoke: bool, expert_dir: Path | None) -> list[dict]:
    t0 = time.time()
    expert_dir = expert_dir or expert_run(out, smoke)
    expert = im.run_expert(expert_dir)
    env, params = rlx.make("Ant-v5")
    demos, episode = (1, 20) if smoke else (DEMOS, EPISODE)
    bc_cfg = dataclasses.replace(BC, steps=10) if smoke else BC
    dagger_cfg = dataclasses.replace(DAGGER, steps=10, iterations=1, episodes=1, max_steps=20) if smoke else DAGGER
    key = jax.random.key(0)
    k_demo, k_bc, k_dagger, k_eval = jax.random.split(key, 4)
    data = im.collect(env, params, expert, k_demo, demos, episode)
    bc_params = im.bc_train(k_bc, data, bc_cfg)
    dagger_params, _, _ = im.dagger(k_dagger, env, params, expert, dagger_cfg)
    n_eval = 2 if smoke else 10
    ret = lambda policy: float(np.mean(im.evaluate(env, params, policy, k_eval, n_eval, episode)))
    spec = im.action_spec(env.action_space(params))
    r_expert = ret(expert)
    r_bc = ret(im.bc_policy(bc_params, bc_cfg, spec))
    r_dagger = ret(im.bc_policy(dagger_params, dagger_cfg, spec))
    wall = time.time() - t0
    rows = []
    for stage, value, aim in (("bc", r_bc, BC_AIM), ("dagger", r_dagger, DAGGER_AIM)):
        frac = value / r_expert if r_expert > 0 else float("nan")
        rows.append(dict(stage=stage, task="Ant-v5", result=value, expert=r_expert, fraction_of_expert=frac,
                         aim=None if smoke else aim, met=None if smoke else frac >= aim, wall_seconds=wall))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=("mbrl", "imitation"), default=["mbrl", "imitation"])
    p.add_argument("--expert-run", type=Path, default=None, help="a PPO run folder on Ant-v5 to imitate")
    p.add_argument("--smoke", action="store_true", help="every stage for a few steps (CPU check)")
    p.add_argument("--out", default=f"experiments/results/mjx-model-based-{time.strftime('%Y%m%d-%H%M%S')}")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if "mbrl" in a.only:
        rows.append(run_mbrl(out, a.smoke))
    if "imitation" in a.only:
        rows += run_imitation(out, a.smoke, a.expert_run)
    lines = ["| stage | task | return | expert | aim | met | wall s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if a.smoke:
            aim = "smoke"
        else:
            aim = f"≥ {r['aim']:.0f}" if r["stage"] == "mbrl" else f"≥ {r['aim']:.0%} of expert"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"| {r['stage']} | {r['task']} | {r['result']:.1f} | {r.get('expert', float('nan')):.1f} | "
                     f"{aim} | {met} | {r['wall_seconds']:.0f} |")
    write_report(out, rows, lines)


if __name__ == "__main__":
    main()
