import os
from pathlib import Path

import rlx  # noqa: F401  (applies rlx's XLA defaults before JAX starts)
import jax
import pytest

# Identical programs compiled by several tests (and CLI subprocesses) hit the cache.
_cache = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(__file__).parent.parent / ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", _cache)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture(scope="session")
def step_both():
    """``run(raw, env, params, keys [B], actions [B, T, ...])``: a raw brax/playground-style
    env (``reset(key)``, ``step(state, a)``) and its rlx adapter from the same key, on the
    same actions, vmapped over the batch. Returns ``(raw first obs, adapter first obs,
    (raw obs, raw reward, raw done, adapter TimeSteps))``, the last stacked over steps."""
    def run(raw, env, params, keys, actions):
        def both(key, acts):
            s_ref, (state, ts) = raw.reset(key), env.reset(key, params)

            def body(carry, a):
                s_ref, state = carry
                s_ref = raw.step(s_ref, a)
                state, ts = env.step(key, state, a, params)
                return (s_ref, state), (s_ref.obs, s_ref.reward, s_ref.done, ts)

            return s_ref.obs, ts.obs, jax.lax.scan(body, (s_ref, state), acts)[1]

        return jax.jit(jax.vmap(both))(keys, actions)
    return run
