#!/usr/bin/env python3
"""Compare SmartBin's inference latency with ONNX Runtime's on the same model.

For each thread count, ``--rounds`` rounds alternate between

1. ours: ``SMARTBIN bench --model M --threads N --iterations K --json`` in a subprocess,
   whose last JSON line on stdout must hold at least ``median_ms``, ``p90_ms``,
   ``threads`` and ``precision``, and
2. ONNX Runtime in this process: CPU execution provider, ``intra_op_num_threads=N``,
   ``inter_op_num_threads=1``, sequential, all graph optimizations, a warm-up, then K
   timed single-image runs on a random input of the model's input shape.

Alternating spreads machine noise over both sides. The result per thread count is the
median of the per-round medians (and of the p90s). It prints a markdown table, and with
``--json`` a machine-readable object as well.

This is a report, not a test: it never fails because one side was slow or the machine
was noisy. A round whose SmartBin command fails is recorded and skipped; the exit
status is nonzero only for bad arguments or when the SmartBin command never succeeded.

Example::

    bench_vs_ort.py --model models/resnet50-v1.5-torch-1000.onnx \\
        --smartbin .build/release/smartbin --threads 1 2 --iterations 20 --rounds 3
"""

from __future__ import annotations

import os

# This process times ORT itself; keep NumPy's own BLAS out of the way.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort


def ort_session(model: str, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def ort_round(sess: ort.InferenceSession, feed: dict, iterations: int, warmup: int) -> dict:
    """Time ``iterations`` runs after ``warmup`` untimed ones; milliseconds."""
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "p90_ms": percentile(times, 90)}


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (NumPy's default method)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def last_json_line(text: str) -> dict | None:
    """The last line of ``text`` that parses as a JSON object, if any."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    return None


def ours_round(cmd: list[str], timeout: float) -> tuple[dict | None, str | None]:
    """Run our bench once; (parsed JSON, None) or (None, error message)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return None, f"not found: {cmd[0]}"
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    except OSError as e:
        return None, str(e)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"exit status {proc.returncode}: {' | '.join(tail)}"
    obj = last_json_line(proc.stdout)
    if obj is None:
        return None, "no JSON object on stdout"
    if not isinstance(obj.get("median_ms"), (int, float)):
        return None, f"JSON lacks a numeric median_ms: {obj}"
    return obj, None


def fmt(v: float | None) -> str:
    """Milliseconds or a ratio for the table: three decimals below 10, two above."""
    if v is None:
        return "n/a"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="ONNX model both sides run")
    p.add_argument("--smartbin", required=True, help="path to the smartbin executable")
    p.add_argument("--smartbin-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for 'smartbin bench' (repeatable), e.g. "
                        "--smartbin-arg=--precision --smartbin-arg=int8")
    p.add_argument("--threads", type=int, nargs="+", default=[1], help="thread counts (default 1)")
    p.add_argument("--iterations", type=int, default=20, help="timed runs per round (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--warmup", type=int, default=3, help="ORT untimed runs per round (default 3)")
    p.add_argument("--timeout", type=float, default=600, help="per smartbin run, seconds (default 600)")
    p.add_argument("--seed", type=int, default=0, help="seed of ORT's random input (default 0)")
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    a = p.parse_args(argv)
    if min(a.threads) < 1 or a.iterations < 1 or a.rounds < 1 or a.warmup < 0:
        p.error("--threads, --iterations and --rounds must be positive, --warmup non-negative")

    results = []
    any_ours = False
    for n in a.threads:
        sess = ort_session(a.model, n)
        inp = sess.get_inputs()[0]
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        feed = {inp.name: np.random.default_rng(a.seed).standard_normal(shape).astype(np.float32)}
        cmd = [a.smartbin, "bench", "--model", a.model, "--threads", str(n),
               "--iterations", str(a.iterations), "--json", *a.smartbin_arg]
        ours, theirs, errors, precision = [], [], [], set()
        for r in range(a.rounds):
            obj, err = ours_round(cmd, a.timeout)
            if err:
                errors.append(f"round {r + 1}: {err}")
                print(f"bench_vs_ort: smartbin, {n} thread(s), {errors[-1]}", file=sys.stderr)
            else:
                ours.append(obj)
                precision.add(str(obj.get("precision", "?")))
                if obj.get("threads") not in (None, n):
                    print(f"bench_vs_ort: smartbin reported threads={obj.get('threads')}, asked {n}",
                          file=sys.stderr)
            theirs.append(ort_round(sess, feed, a.iterations, a.warmup))
        del sess
        any_ours |= bool(ours)
        o_med = median_or_none([o["median_ms"] for o in ours])
        o_p90 = median_or_none([o["p90_ms"] for o in ours if isinstance(o.get("p90_ms"), (int, float))])
        t_med = median_or_none([t["median_ms"] for t in theirs])
        t_p90 = median_or_none([t["p90_ms"] for t in theirs])
        results.append({
            "threads": n, "precision": "/".join(sorted(precision)) or None,
            "ours_median_ms": o_med, "ours_p90_ms": o_p90,
            "ort_median_ms": t_med, "ort_p90_ms": t_p90,
            "ratio": (o_med / t_med) if (o_med is not None and t_med) else None,
            "rounds_ok": len(ours), "rounds": a.rounds,
            "ours_round_medians_ms": [o["median_ms"] for o in ours],
            "ort_round_medians_ms": [t["median_ms"] for t in theirs],
            "errors": errors,
        })

    print(f"model: {os.path.basename(a.model)}, {a.iterations} iterations x {a.rounds} rounds, "
          f"onnxruntime {ort.__version__}\n")
    print("| threads | precision | ours median ms | ours p90 ms | ORT median ms | ORT p90 ms "
          "| ratio (ours/ORT) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        ok = "" if r["rounds_ok"] == r["rounds"] else f" ({r['rounds_ok']}/{r['rounds']} rounds)"
        print(f"| {r['threads']} | {r['precision'] or 'n/a'} | {fmt(r['ours_median_ms'])}{ok} "
              f"| {fmt(r['ours_p90_ms'])} | {fmt(r['ort_median_ms'])} | {fmt(r['ort_p90_ms'])} "
              f"| {fmt(r['ratio'])} |")
    if a.json:
        print(json.dumps({"model": a.model, "iterations": a.iterations, "rounds": a.rounds,
                          "onnxruntime": ort.__version__, "results": results}))
    return 0 if any_ours else 1


if __name__ == "__main__":
    sys.exit(main())
