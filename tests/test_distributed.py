"""Sharding over devices and processes: the same run on 1 device, on 4 forced host
devices and on two processes (jax.distributed on 127.0.0.1, gloo collectives).

Evaluation returns agree exactly. Parameters and losses agree to float32
rounding, not bit for bit: XLA's CPU code generator vectorises a reduction over
a [b, n] batch differently for different per-device batch sizes b, so sums are
associated differently (measured: max |Δparam| ≈ 1e-7).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import rlx, jax
    from rlx.run import distributed as dist
    from rlx.run.checkpoint import to_storable
    from rlx.run.runner import seed_mesh
    out, n, pid, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if n > 1:
        dist.initialize(f"127.0.0.1:{port}", n, pid)
    r = rlx.train("ppo", "CartPole-v1", num_seeds=8, total_steps=4 * 2048, chunks=2,
                  eval_episodes=3, out=out, show_progress=False)
    leaves = dist.fetch(jax.tree_util.tree_leaves(to_storable(r.state.params)))
    np.savez(f"{out}.p{pid}.npz", *leaves, **{"m_" + k: v for k, v in r.metrics.items()})
    json.dump(dict(returns=r.summary["final_return_per_seed"], devices=seed_mesh(8).devices.size,
                   processes=jax.process_count(), main=dist.is_main()), open(f"{out}.p{pid}.json", "w"))
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("dist")
    (d / "child.py").write_text(CHILD)

    def start(name, devices, n=1, pid=0, port=0):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
        return subprocess.Popen([sys.executable, str(d / "child.py"), str(d / name), str(n), str(pid),
                                 str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def finish(procs):
        for p in procs:
            out, _ = p.communicate(timeout=600)
            assert p.returncode == 0, out.decode()[-3000:]

    finish([start("single", 1)])
    finish([start("sharded", 4)])
    port = free_port()
    finish([start("multi", 2, 2, 0, port), start("multi", 2, 2, 1, port)])

    def load(name, pid=0):
        return json.loads((d / f"{name}.p{pid}.json").read_text()), np.load(d / f"{name}.p{pid}.npz")

    return d, load


def assert_close(a, b):
    for k in a.files:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_sharded_equals_single_device(runs):
    _, load = runs
    (s_info, s), (p_info, p) = load("single"), load("sharded")
    assert s_info["devices"] == 1 and p_info["devices"] == 4
    assert p_info["returns"] == s_info["returns"]
    assert_close(p, s)


def test_two_processes_equal_single_device(runs):
    d, load = runs
    (s_info, s), (m0_info, m0), (m1_info, m1) = load("single"), load("multi", 0), load("multi", 1)
    assert m0_info["processes"] == 2 and m0_info["devices"] == 4
    assert m0_info["main"] and not m1_info["main"]
    assert m0_info["returns"] == m1_info["returns"] == s_info["returns"]
    assert_close(m0, s)
    for k in m0.files:  # every process sees the whole batch
        np.testing.assert_array_equal(m0[k], m1[k])
    # process 0 wrote one run folder: 8 seeds × 4 updates of metrics, a summary, checkpoints
    rows = (d / "multi" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 8 * 4
    assert json.loads((d / "multi" / "summary.json").read_text())["num_seeds"] == 8


def test_checkpoint_of_two_processes_loads_in_one(runs):
    from rlx.run.runner import evaluate_run

    d, load = runs
    returns, step = evaluate_run(d / "multi", episodes=3)
    assert step == 4
    np.testing.assert_array_equal(returns.mean(axis=1), load("multi")[0]["returns"])
