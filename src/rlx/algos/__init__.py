"""Learning algorithms and their registry (``rlx list`` shows it)."""

from __future__ import annotations

import difflib

from rlx.algos import dqn, es, mbrl, pg, sac
from rlx.algos import tabular
from rlx.algos.base import Agent, Algorithm, ConfigError

_CONTINUOUS_PPO = dict(num_envs=16, num_steps=256, epochs=10, minibatches=32, lr=1e-3,
                       gamma=0.95, gae_lambda=0.95, ent_coef=0.0, normalize_obs=True)

# Young & Tian's MinAtar DQN settings (ε to 0.1 over the first 100k of 3M frames), with an MLP on
# the flattened board: XLA's CPU convolutions make their CNN about 5× slower per update here
_MINATAR_DQN = dict(lr=2.5e-4, batch_size=32, buffer_size=100_000, learning_starts=5000, eps_end=0.1,
                    eps_fraction=1 / 30, target_every=250, tau=1.0, torso="mlp", hidden=(256, 256))

# SAC and TD3 on Pendulum: (64, 64) networks learn as fast as the usual (256, 256) here (both
# reach about −150 within 5–8k steps) at a fifteenth of the CPU time
_PENDULUM_SAC = dict(hidden=(64, 64), actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3)
_PENDULUM_TD3 = dict(hidden=(64, 64))

# brax's PPO settings for its inverted pendulum (256 envs, 32 minibatches, 4 epochs; 160 = 32 unrolls of 5)
_MJX_PPO = dict(num_envs=256, num_steps=160, minibatches=32, epochs=4, lr=3e-4, gamma=0.97, gae_lambda=0.95,
                normalize_obs=True)

# PETS-style MPC on Pendulum at a CPU-sized cost: a (64, 64) five-member ensemble, one particle per
# member, CEM with 100 samples × 5 iterations over 20 steps; one 200-step episode per update
_PENDULUM_MBRL = dict(hidden=(64, 64), particles=5, num_samples=100, num_elites=10, horizon=20)

ALGORITHMS: dict[str, Algorithm] = {
    "ppo": Algorithm(
        "ppo", "Proximal policy optimisation (clipped surrogate, GAE)", pg.PPOConfig, pg.build,
        pg.validate, "CartPole-v1", 500_000,
        presets={
            "CartPole-v1": dict(lr=1e-3, gamma=0.98, gae_lambda=0.8, ent_coef=0.0),
            "Acrobot-v1": dict(ent_coef=0.0, num_steps=256),
            "MountainCarContinuous-v0": dict(_CONTINUOUS_PPO, gamma=0.99),
            "Pendulum-v1": _CONTINUOUS_PPO,
            "InvertedPendulum-v5": _MJX_PPO,
        },
    ),
    "a2c": Algorithm(
        "a2c", "Advantage actor-critic (n-step rollouts, GAE)", pg.A2CConfig, pg.build,
        pg.validate, "CartPole-v1", 1_000_000,
        presets={"CartPole-v1": dict(num_envs=8, anneal_lr=True, ent_coef=0.0)},
    ),
    "dqn": Algorithm(
        "dqn", "Deep Q-network (Double, dueling, n-step, prioritised replay, C51; Nature CNN)", dqn.DQNConfig,
        dqn.build, dqn.validate, "CartPole-v1", 100_000,
        presets={"CartPole-v1": dict(eps_fraction=0.1, eps_end=0.01, lr=5e-4, tau=0.01, target_every=1,
                                     prioritized=True, n_step=3),
                 **{f"{game}-MinAtar": _MINATAR_DQN for game in ("Breakout", "SpaceInvaders", "Freeway", "Asterix")}},
    ),
    "sac": Algorithm(
        "sac", "Soft actor-critic: twin Q, target smoothing, automatic entropy tuning, tanh-Gaussian policy",
        sac.SACConfig, sac.build, sac.validate, "Pendulum-v1", 15_000,
        presets={"Pendulum-v1": _PENDULUM_SAC, "InvertedPendulum-v5": dict(hidden=(64, 64))},
    ),
    "td3": Algorithm(
        "td3", "Twin delayed DDPG: target policy smoothing, delayed actor updates", sac.TD3Config, sac.build,
        sac.validate, "Pendulum-v1", 15_000,
        presets={"Pendulum-v1": _PENDULUM_TD3, "InvertedPendulum-v5": dict(hidden=(64, 64))},
    ),
    "mbrl": Algorithm(
        "mbrl", "Model-based RL: a learned dynamics ensemble with MPC (CEM/MPPI/random shooting, PETS sampling)",
        mbrl.MBRLConfig, mbrl.build, mbrl.validate, "Pendulum-v1", 5_000,
        presets={"Pendulum-v1": _PENDULUM_MBRL},
    ),
    "reinforce": Algorithm(
        "reinforce", "REINFORCE (reward-to-go, value baseline)", pg.ReinforceConfig, pg.build,
        pg.validate, "CartPole-v1", 1_000_000, presets={},
    ),
    "qlearning": Algorithm(
        "qlearning", "Tabular Q-learning (ε-greedy, TD(0), discretised Box observations)",
        tabular.QLearningConfig, tabular.build, tabular.validate, "FrozenLake-v1", 200_000,
        presets=tabular.PRESETS,
    ),
    "sarsa": Algorithm(
        "sarsa", "Tabular SARSA (on-policy TD(0), ε-greedy, discretised Box observations)",
        tabular.SarsaConfig, tabular.build, tabular.validate, "FrozenLake-v1", 200_000,
        presets=tabular.SARSA_PRESETS,
    ),
    "es": Algorithm(
        "es", "OpenAI evolution strategy (antithetic, centred ranks, Adam)", es.ESConfig, es.build,
        es.validate, "CartPole-v1", 256 * 500 * 50, presets={},
    ),
    "ars": Algorithm(
        "ars", "Augmented random search (V2-t: top directions, state normalisation)", es.ARSConfig,
        es.build, es.validate, "Pendulum-v1", 64 * 4 * 200 * 1000,
        presets={
            "Pendulum-v1": dict(hidden=(32,), directions=32, top=8, sigma=0.1, lr=0.05, episodes=4),
            "MountainCarContinuous-v0": dict(hidden=(32,), directions=32, top=8, sigma=0.3, lr=0.05),
        },
    ),
    "evosax": Algorithm(
        "evosax", "An evosax strategy (CMA-ES, SNES, PGPE, ...) in rlx's fused population loop",
        es.EvosaxConfig, es.build, es.validate, "CartPole-v1", 64 * 500 * 100, presets={},
    ),
}


def get(name: str) -> Algorithm:
    """The registered algorithm ``name``; a one-line ``ConfigError`` otherwise."""
    if name not in ALGORITHMS:
        close = difflib.get_close_matches(name, ALGORITHMS, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"choose one of {', '.join(ALGORITHMS)}"
        raise ConfigError(f"unknown algorithm {name!r}: {hint}")
    return ALGORITHMS[name]


__all__ = ["ALGORITHMS", "Agent", "Algorithm", "ConfigError", "get"]
