"""Continuous control on MJX: PPO and SAC learn InvertedPendulum-v5 (short runs; the full targets
are in experiments/mjx_targets.py), and a run whose state holds MJX physics resumes bit for bit."""

import shutil

import numpy as np
import pytest

pytest.importorskip("mujoco.mjx")
pytest.importorskip("gymnasium")

import rlx  # noqa: E402
from rlx.run.runner import resume  # noqa: E402

# a random policy keeps the pole up for 5–10 steps
SAC_RUN = dict(num_seeds=1, total_steps=5000, chunks=4, checkpoint_every=1, keep_checkpoints=4, eval_episodes=2,
               show_progress=False)


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sac") / "run"
    return rlx.train("sac", "InvertedPendulum-v5", out=out, **SAC_RUN)


def test_sac_learns_to_balance(sac_run):
    late = sac_run.metrics["episode_return"][-500:, 0]
    assert late.mean() > 40, late.mean()
    assert sac_run.summary["final_return_mean"] > 40


def test_mjx_run_resumes_bit_for_bit(sac_run, tmp_path):
    out = tmp_path / "resumed"
    shutil.copytree(sac_run.run_dir, out)
    ckpts = sorted(int(p.name) for p in (out / "checkpoints").iterdir() if p.name.isdigit())
    assert len(ckpts) >= 2
    for step in ckpts[len(ckpts) // 2:]:  # lose the second half of the run
        shutil.rmtree(out / "checkpoints" / str(step))
    (out / "summary.json").unlink()
    resumed = resume(out, show_progress=False)
    for k in ("episode_return", "critic_loss", "actor_loss"):
        np.testing.assert_array_equal(resumed.metrics[k], sac_run.metrics[k])


def test_ppo_runs_unchanged_on_mjx_and_learns():
    r = rlx.train("ppo", "InvertedPendulum-v5", num_seeds=1, total_steps=256 * 160 * 7, chunks=1,
                  eval_episodes=0, show_progress=False)
    returns = r.metrics["episode_return"][:, 0]
    assert returns[-1] > 3 * returns[0] and returns[-1] > 40, returns


def test_gpu_locomotion_configs_build_and_trace():
    """experiments/mjx_locomotion.py's 8192-environment configurations validate, build and trace
    (``eval_shape``: no compile, no memory; the compiled CPU smoke run is its ``--smoke``)."""
    import sys
    from pathlib import Path

    import jax

    sys.path.insert(0, str(Path(__file__).parent.parent / "experiments"))
    from mjx_locomotion import CONFIGS, config

    for task, (steps, _, _) in CONFIGS.items():
        cfg = config(task)
        env, params = rlx.make(task)
        agent = rlx.algos.get("ppo").build(cfg, env, params, steps)
        state = jax.eval_shape(agent.init, jax.random.key(0), cfg)
        _, metrics = jax.eval_shape(agent.update, state)
        assert agent.steps_per_update == 8192 * cfg.num_steps and metrics["episode_return"].shape == ()


def test_gpu_model_based_configs_build_and_trace():
    """experiments/mjx_model_based.py's mbrl configuration on HalfCheetah (150-step episodes) and
    its BC/DAgger configurations validate, and one mbrl update traces (``eval_shape``)."""
    import sys
    from pathlib import Path

    import jax

    sys.path.insert(0, str(Path(__file__).parent.parent / "experiments"))
    from mjx_model_based import BC, DAGGER, MBRL, MBRL_STEPS

    from rlx.algos import imitation, mbrl

    env, params = rlx.make("HalfCheetah-v5-150")
    assert env.max_steps == 150
    agent = mbrl.build(MBRL, env, params, MBRL_STEPS)
    state = jax.eval_shape(agent.init, jax.random.key(0), MBRL)
    _, metrics = jax.eval_shape(agent.update, state)
    assert {"episode_return", "heldout_mse", "rollout_mse", "heldout_mse_4"} <= set(metrics)
    imitation.validate(BC)
    imitation.validate(DAGGER)
