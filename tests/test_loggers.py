"""TensorBoard and W&B loggers: what is written reads back; missing packages are one-line errors."""

import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from rlx.algos.base import ConfigError
from rlx.run.loggers import TensorBoardLogger, WandbLogger, batch_scalars, make_loggers


def read_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the event files under ``logdir``: tag -> [(step, value), ...].
    Parses the TFRecord framing (length, crc, payload, crc) and tensorboardX's Event proto."""
    from tensorboardX.proto.event_pb2 import Event

    out = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def updates(n=3, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1) * 2048
    metrics = {"episode_return": rng.normal(100, 20, (n, batch)), "entropy": rng.uniform(0, 1, (n, batch))}
    return steps, metrics


def test_batch_scalars_are_mean_min_max_over_the_batch():
    m = {"loss": np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])}
    assert batch_scalars(m, 0) == {"loss/mean": 3.0, "loss/min": 1.0, "loss/max": 6.0}
    assert batch_scalars(m, 1) == {"loss/mean": 1.0, "loss/min": 0.0, "loss/max": 3.0}
    assert batch_scalars({"x": np.array([5.0, 7.0])}, 1) == {"x/mean": 7.0, "x/min": 7.0, "x/max": 7.0}


def test_tensorboard_event_file_holds_what_was_logged(tmp_path):
    pytest.importorskip("tensorboardX")
    s1, m1 = updates(3, seed=0)
    s2, m2 = updates(2, seed=1)
    s2 = s2 + s1[-1]
    logger = TensorBoardLogger(tmp_path / "tb")
    logger.append(s1, m1)
    logger.append(s2, m2, times=np.zeros(2))  # MetricsWriter's optional times are ignored
    logger.append(np.zeros(0, int), {k: v[:0] for k, v in m1.items()})  # an empty chunk
    logger.close()

    scalars = read_scalars(tmp_path / "tb")
    assert set(scalars) == {f"{k}/{s}" for k in m1 for s in ("mean", "min", "max")}
    steps = np.concatenate([s1, s2])
    for name in m1:
        values = np.concatenate([m1[name], m2[name]])
        for stat, fn in (("mean", np.mean), ("min", np.min), ("max", np.max)):
            logged = scalars[f"{name}/{stat}"]
            assert [s for s, _ in logged] == steps.tolist()
            np.testing.assert_allclose([v for _, v in logged], fn(values, axis=1), rtol=1e-6)


def test_make_loggers_puts_tensorboard_under_the_run_folder(tmp_path):
    pytest.importorskip("tensorboardX")
    assert make_loggers(tmp_path) == []
    [logger] = make_loggers(tmp_path, tensorboard=True)
    logger.append(*updates(1))
    logger.close()
    assert read_scalars(tmp_path / "tensorboard")["entropy/mean"][0][0] == 2048
    with pytest.raises(ConfigError, match="needs a run folder"):
        make_loggers(None, tensorboard=True)


def test_missing_packages_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes `import wandb` fail
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ConfigError) as e:
        make_loggers(tmp_path, wandb=True)
    assert str(e.value) == "--wandb needs the wandb package: pip install wandb"
    with pytest.raises(ConfigError) as e:
        TensorBoardLogger(tmp_path)
    assert str(e.value) == "--tensorboard needs the tensorboardX package: pip install tensorboardX"


def test_wandb_logger_logs_one_dict_per_update(tmp_path, monkeypatch):
    calls = []

    class Run:
        def log(self, data, step):
            calls.append(("log", data, step))

        def finish(self):
            calls.append(("finish",))

    def init(**kwargs):
        calls.append(("init", kwargs))
        return Run()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    [logger] = make_loggers(tmp_path / "run-1", wandb=True, project="p", config={"lr": 1e-3})
    assert isinstance(logger, WandbLogger)
    steps, metrics = updates(2)
    logger.append(steps, metrics)
    logger.close()
    assert calls[0] == ("init", dict(project="p", name="run-1", config={"lr": 1e-3},
                                     dir=str(tmp_path / "run-1")))
    assert [c[2] for c in calls[1:3]] == steps.tolist() and calls[3] == ("finish",)
    data = calls[2][1]
    assert data["env_steps"] == steps[1]
    np.testing.assert_allclose(data["episode_return/mean"], metrics["episode_return"][1].mean())
    np.testing.assert_allclose(data["entropy/max"], metrics["entropy"][1].max())
