#!/usr/bin/env python3
"""ONNX Runtime's time per node, to set beside ``smartbin bench --layers``.

Runs a model in ONNX Runtime with its profiler on (CPU provider, all graph optimisations,
``intra_op_num_threads`` as given), drops the warm-up runs and prints each executed node's
median kernel time in ms, in execution order, and their sum. Useful to see which of our layers
lose to ORT's and by how much, e.g. on the int8 QDQ model ``bench_int8.py`` makes. The input is
seeded uniform noise in [0, 1) of the model's input shape (batch 1): timings do not depend on
the values. A report, not a test.

Example::

    ort_layers.py --model /tmp/ort-int8.onnx --threads 1 --runs 30
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="ONNX model file")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30, help="profiled runs (>= 2 * warmup)")
    parser.add_argument("--warmup", type=int, default=5, help="runs left out of each node's median")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.runs <= args.warmup:
        parser.error("--runs must exceed --warmup")
    if not os.path.isfile(args.model):
        parser.error(f"{args.model}: no such file")

    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as scratch:
        options.profile_file_prefix = os.path.join(scratch, "ort")
        session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        spec = session.get_inputs()[0]
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        for _ in range(args.runs):
            session.run(None, {spec.name: x})
        with open(session.end_profiling()) as f:
            events = json.load(f)

    times: dict[tuple[str, str], list[float]] = collections.OrderedDict()
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith("_kernel_time"):
            continue
        key = (name[: -len("_kernel_time")], event.get("args", {}).get("op_name", "?"))
        times.setdefault(key, []).append(event["dur"] / 1000.0)
    rows = [(node, op, statistics.median(ms[args.warmup:] or ms)) for (node, op), ms in times.items()]
    total = sum(r[2] for r in rows)
    if args.json:
        print(json.dumps({"model": os.path.basename(args.model), "threads": args.threads,
                          "nodes": [{"node": n, "op": o, "ms": m} for n, o, m in rows], "total_ms": total}))
        return 0
    print(f"{os.path.basename(args.model)}: {len(rows)} nodes, {args.threads} thread(s), "
          f"median of runs {args.warmup + 1}-{args.runs}, onnxruntime {ort.__version__}")
    for i, (node, op, ms) in enumerate(rows):
        print(f"{i:4d} {ms:8.3f} ms  {op:24s} {node}")
    print(f"sum of node medians: {total:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
