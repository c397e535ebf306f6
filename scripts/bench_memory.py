"""Peak memory against run length: PPO on CartPole-v1 for T and 10·T steps per seed,
each in a fresh process, with a run folder (metrics.csv and orbax checkpoints).

    python scripts/bench_memory.py [--seeds 4] [--total-steps 200000] [--factor 10]
                                   [--chunks 50] [--long-chunks N] [--repeats 3] [--bound 1.10]
                                   [--out scripts/results/bench_memory.json]

Requirement: peak memory is flat in run length — the long run peaks within 10%
of the short one's resident memory. Each child reports its peak resident set
(``ru_maxrss``), and from /proc/self/status the resident set (VmRSS) and its
high-water mark (VmHWM) right after compiling, once each chunk has run (before
that chunk's metrics.csv rows and checkpoint) and at the end (after the final
checkpoint, summary.json and the learning-curve plot), so growth during
training shows apart from what compilation leaves resident. Both runs use the
same number of chunks (the chunk metric buffer is [chunk_len, batch], so the
long run's buffers are ``factor`` times longer); ``--long-chunks`` adds a long
run with more chunks, to see whether chunk length matters. Most of the peak is
resident right after XLA compilation and that varies by a few percent between
fresh processes, so ``--repeats`` runs each configuration several times
(interleaved) and the ratio compares median peaks. Writes JSON and a Markdown
table next to it, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from _child import run_child

CHILD = r"""
import json, os, resource, sys, tempfile, time
seeds, total, chunks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def status():  # KiB
    f = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            f[k] = int(v.split()[0])
    return f

t0 = time.perf_counter()
import jax, rlx
from rlx.run import runner
after_import = status()
marks, trace = {}, []
compile_programs = runner.compile_programs

def compile_and_mark(*a, **k):
    p = compile_programs(*a, **k)
    marks["chunk_len"] = a[7] if len(a) > 7 else k["chunk_len"]
    marks["after_compile"] = status()
    chunk = p.chunk
    def chunk_and_mark(states, n):  # RSS once each chunk has run (before its checkpoint)
        out = jax.block_until_ready(chunk(states, n))
        trace.append(status()["VmRSS"])
        return out
    return p._replace(chunk=chunk_and_mark)

runner.compile_programs = compile_and_mark
with tempfile.TemporaryDirectory() as tmp:
    r = rlx.train("ppo", "CartPole-v1", num_seeds=seeds, total_steps=total, out=os.path.join(tmp, "run"),
                  eval_episodes=0, chunks=chunks, show_progress=False)
    end = status()
    disk = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)
    ckpts = sorted(os.listdir(os.path.join(tmp, "run", "checkpoints")))
s = r.summary
print(json.dumps(dict(
    seeds=seeds, total_steps=total, chunks=chunks, chunk_len=marks["chunk_len"],
    updates=s["updates"], env_steps=s["env_steps"], env_steps_total=s["env_steps_total"],
    compile_seconds=s["compile_seconds"], train_seconds=s["train_seconds"],
    wall_seconds=time.perf_counter() - t0,
    peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    rss_after_import_kib=after_import["VmRSS"],
    rss_after_compile_kib=marks["after_compile"]["VmRSS"],
    hwm_after_compile_kib=marks["after_compile"]["VmHWM"],
    rss_end_kib=end["VmRSS"], hwm_end_kib=end["VmHWM"],
    rss_first_chunk_kib=trace[0], rss_max_chunk_kib=max(trace), rss_last_chunk_kib=trace[-1],
    rss_per_chunk_kib=trace, run_folder_bytes=disk, checkpoints_kept=ckpts)))
"""


def mib(kib: int) -> str:
    return f"{kib / 1024:,.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--total-steps", type=int, default=200_000, help="steps per seed of the short run")
    p.add_argument("--factor", type=int, default=10, help="the long run is FACTOR × longer")
    p.add_argument("--chunks", type=int, default=50)
    p.add_argument("--long-chunks", type=int, default=None,
                   help="also run the long run with this many chunks (e.g. FACTOR × --chunks for the "
                        "short run's chunk length)")
    p.add_argument("--repeats", type=int, default=3,
                   help="fresh processes per run; the ratio compares median peaks")
    p.add_argument("--bound", type=float, default=1.10, help="max long/short peak RSS ratio")
    p.add_argument("--out", default="scripts/results/bench_memory.json")
    a = p.parse_args()
    long_steps = a.total_steps * a.factor
    runs = [("short", a.total_steps, a.chunks), ("long", long_steps, a.chunks)]
    if a.long_chunks:
        runs.append((f"long, {a.long_chunks} chunks", long_steps, a.long_chunks))
    results = {name: [] for name, _, _ in runs}
    for rep in range(a.repeats):  # interleaved, so drift over time hits every run alike
        for name, steps, chunks in runs:
            r = run_child(CHILD, a.seeds, steps, chunks)
            r["chunks_run"] = len(r["rss_per_chunk_kib"])
            results[name].append(r)
            print(f"{name} #{rep + 1}: {r['env_steps']:,} steps/seed, peak {mib(r['peak_rss_kib'])} MiB, "
                  f"{r['wall_seconds']:.1f} s", flush=True)
    peak = {k: statistics.median(r["peak_rss_kib"] for r in v) for k, v in results.items()}
    growth = {k: statistics.median(r["rss_end_kib"] - r["rss_after_compile_kib"] for r in v)
              for k, v in results.items()}
    ratio = peak["long"] / peak["short"]
    worst = (max(r["peak_rss_kib"] for r in results["long"])
             / min(r["peak_rss_kib"] for r in results["short"]))
    result = dict(benchmark="memory_ppo_cartpole", requirement=f"long/short peak RSS <= {a.bound}",
                  seeds=a.seeds, total_steps=a.total_steps, factor=a.factor, repeats=a.repeats,
                  cpus=os.cpu_count(), time=time.strftime("%Y-%m-%d %H:%M:%S"), runs=results,
                  median_peak_rss_kib=peak, median_rss_growth_after_compile_kib=growth,
                  peak_ratio=ratio, worst_peak_ratio=worst, bound=a.bound, passed=ratio <= a.bound)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)

    cols = ["run", "steps/seed", "updates", "chunks", "chunk_len", "peak RSS MiB", "RSS after compile MiB",
            "RSS last chunk MiB", "RSS end MiB", "run folder MiB", "compile s", "wall s"]
    rows = [[f"{name} #{i + 1}", f"{r['env_steps']:,}", str(r["updates"]), str(r["chunks_run"]),
             str(r["chunk_len"]), mib(r["peak_rss_kib"]), mib(r["rss_after_compile_kib"]),
             mib(r["rss_last_chunk_kib"]), mib(r["rss_end_kib"]), f"{r['run_folder_bytes'] / 2**20:.1f}",
             f"{r['compile_seconds']:.2f}", f"{r['wall_seconds']:.1f}"]
            for name, rs in results.items() for i, r in enumerate(rs)]
    title = (f"PPO CartPole-v1, {a.seeds} seeds, {a.total_steps:,} vs {long_steps:,} steps per seed, "
             f"run folder with metrics.csv + checkpoints, {a.repeats} fresh process(es) each, "
             f"{os.cpu_count()} CPUs, {result['time']}")
    lines = [f"peak RSS long/short (medians) = {ratio:.3f}, bound {a.bound:.2f}: "
             f"{'PASS' if result['passed'] else 'FAIL'}"
             + (f" (worst pair {worst:.3f})" if a.repeats > 1 else ""),
             "RSS growth from after compile to the end (median): "
             + ", ".join(f"{k} {v / 1024:+.1f} MiB" for k, v in growth.items())]
    md = "\n".join([f"# Peak memory vs run length\n\n{title}\n",
                    "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                    *("| " + " | ".join(r) + " |" for r in rows), "", *(ln + "  " for ln in lines), ""])
    md_path = os.path.splitext(a.out)[0] + ".md"
    with open(md_path, "w") as f:
        f.write(md)
    print(md)
    print(f"wrote {a.out} and {md_path}")


if __name__ == "__main__":
    main()
