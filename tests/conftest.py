import os
from pathlib import Path

import rlx  # noqa: F401  (applies rlx's XLA defaults before JAX starts)
import jax

# Identical programs compiled by several tests (and CLI subprocesses) hit the cache.
_cache = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(__file__).parent.parent / ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", _cache)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
