#!/usr/bin/env python3
"""Check SmartBin's int8 engine against ONNX Runtime running the same quantisation.

``smartbin model export-qdq M.sbm -o M.qdq.onnx`` writes the int8 model as a QDQ graph
(QuantizeLinear/DequantizeLinear carrying exactly the engine's scales, zero points, int8
weights and int32 biases, placed where the engine quantises). ``smartbin model trace M.sbm
--input-npy X.npy -o DIR`` writes every uint8 activation the engine stores for one input, under
the same tensor names, plus the logits. This tool runs ONNX Runtime on the QDQ graph with every
one of those tensors added as a graph output and compares, per tensor, in quantised steps
(``|ours - ort|`` of the uint8 codes), and the logits.

It runs ONNX Runtime twice:

* ``reference``: graph optimisations off -- the operators as the ONNX spec defines them
  (float Conv on dequantised values, QuantizeLinear rounding half to even and saturating);
* ``optimized``: all optimisations on -- ORT fuses DQ->Conv->Q into QLinearConv (int32
  accumulation, int32 bias, float requantisation), as a deployment would run it.

Either give the files (``--qdq``, ``--ours``, ``--input``), or ``--sbm`` and ``--smartbin`` to make
them in a temporary folder for each ``--input``. Exit 0 when every tensor is within
``--max-steps`` of ours and the logits within ``--max-logit-rel`` (of max |logit|), 1 when not,
2 on a usage error.

Examples::

    qdq_check.py --sbm r50.sbm --smartbin .build/release/smartbin --input x.npy --json
    qdq_check.py --qdq r50.qdq.onnx --ours trace_dir --input x.npy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def session(model: onnx.ModelProto, optimize: bool, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def with_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` that also outputs the uint8 tensors ``names``."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for name in names:
        if name not in have:
            m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.UINT8, None))
    return m


def fed_ours(model: onnx.ModelProto, names: list[str], shapes: dict) -> onnx.ModelProto:
    """A copy of ``model`` in which every reader of a uint8 tensor in ``names`` reads instead a
    graph input ``<name>__ours`` (fed the engine's own codes): each layer then computes from
    exactly the engine's inputs, so its output differs from ours only by its own arithmetic."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    wanted = set(names)
    for node in m.graph.node:
        for i, name in enumerate(node.input):
            if name in wanted:
                node.input[i] = name + "__ours"
    for name in names:
        m.graph.input.append(helper.make_tensor_value_info(name + "__ours", TensorProto.UINT8, list(shapes[name])))
    return m


def run(model: onnx.ModelProto, optimize: bool, threads: int, feeds: dict) -> dict:
    sess = session(model, optimize, threads)
    outputs = sess.run(None, feeds)
    return dict(zip([o.name for o in sess.get_outputs()], outputs))


def measure(got: dict, names: list[str], mine: dict, logits: np.ndarray) -> dict:
    per_tensor = []
    for n in names:
        theirs = got[n].astype(np.int32).reshape(mine[n].shape)
        d = np.abs(theirs - mine[n])
        per_tensor.append({"name": n, "max_steps": int(d.max()), "differing": int((d > 0).sum()), "count": int(d.size)})
    ort_logits = got["logits"].astype(np.float64).ravel()
    scale = float(np.abs(ort_logits).max()) or 1.0
    delta = float(np.abs(ort_logits - logits).max())
    cos = float(np.dot(ort_logits, logits) / (np.linalg.norm(ort_logits) * np.linalg.norm(logits) or 1.0))
    worst = max(per_tensor, key=lambda t: t["max_steps"]) if per_tensor else None
    last = per_tensor[-1] if per_tensor else None
    return {
        "max_steps": worst["max_steps"] if worst else 0,
        "worst_tensor": worst["name"] if worst else None,
        "last_tensor_max_steps": last["max_steps"] if last else 0,
        "last_tensor_differing": last["differing"] if last else 0,
        "last_tensor_count": last["count"] if last else 0,
        "differing_fraction": (sum(t["differing"] for t in per_tensor) / max(1, sum(t["count"] for t in per_tensor))),
        "logits_max_abs": delta,
        "logits_max_abs_rel": delta / scale,
        "logits_cosine": cos,
        "top1_same": bool(int(np.argmax(ort_logits)) == int(np.argmax(logits))),
        "per_tensor": per_tensor,
    }


def compare(qdq: onnx.ModelProto, ours: str, x: np.ndarray, threads: int) -> dict:
    """Runs ORT on ``x`` (both optimisation levels; layer by layer fed our codes, and end to end)
    and compares with the trace in folder ``ours``."""
    with open(os.path.join(ours, "trace.json")) as f:
        index = json.load(f)
    produced = {n.output[0] for n in qdq.graph.node}
    names = [n for n in index["activations"] if n in produced]
    missing = [n for n in index["activations"] if n not in produced]
    mine = {n: np.load(os.path.join(ours, n + ".npy")).astype(np.int32) for n in names}
    logits = np.load(os.path.join(ours, "logits.npy")).astype(np.float64).ravel()
    input_name = qdq.graph.input[0].name
    result = {"tensors": len(names), "missing_in_graph": missing, "last_tensor": names[-1] if names else None}
    forced = with_outputs(fed_ours(qdq, names, {n: mine[n].shape for n in names}), names)
    free = with_outputs(qdq, names)
    feeds = {n + "__ours": mine[n].astype(np.uint8) for n in names}
    feeds[input_name] = x
    for mode, optimize in (("reference", False), ("optimized", True)):
        result.setdefault("layerwise", {})[mode] = measure(run(forced, optimize, threads, feeds), names, mine, logits)
        result.setdefault("end_to_end", {})[mode] = measure(run(free, optimize, threads, {input_name: x}), names, mine, logits)
    return result


def trace(smartbin: str, sbm: str, x_path: str, folder: str) -> None:
    subprocess.run([smartbin, "model", "trace", sbm, "--input-npy", x_path, "-o", folder],
                   check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--qdq", help="QDQ model from `smartbin model export-qdq`")
    p.add_argument("--ours", help="folder from `smartbin model trace` (with --qdq; one --input)")
    p.add_argument("--sbm", help="compiled int8 model: export and trace it with --smartbin")
    p.add_argument("--smartbin", help="the smartbin binary (with --sbm)")
    p.add_argument("--input", action="append", required=True, help="NCHW float32 .npy input (repeatable with --sbm)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=1, help="bound on |ours - ORT| per uint8 element (default 1)")
    p.add_argument("--max-logit-rel", type=float, default=1e-4,
                   help="layer by layer: bound on max |logit difference| / max |logit| (default 1e-4)")
    p.add_argument("--min-end-to-end-cosine", type=float, default=0.999,
                   help="end to end: bound on the cosine of ORT's and our logits (default 0.999)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--details", action="store_true", help="with --json, include every tensor's numbers")
    a = p.parse_args(argv)
    if a.sbm and not a.smartbin:
        p.error("--sbm needs --smartbin")
    if not a.sbm and not (a.qdq and a.ours):
        p.error("give --qdq and --ours, or --sbm and --smartbin")
    if a.ours and len(a.input) != 1:
        p.error("--ours holds the trace of one --input")

    reports = []
    with tempfile.TemporaryDirectory(prefix="qdq-check-") as tmp:
        qdq_path = a.qdq
        if a.sbm:
            qdq_path = os.path.join(tmp, "model.qdq.onnx")
            subprocess.run([a.smartbin, "model", "export-qdq", a.sbm, "-o", qdq_path], check=True, stdout=subprocess.DEVNULL)
        qdq = onnx.load(qdq_path)
        onnx.checker.check_model(qdq)
        for i, x_path in enumerate(a.input):
            x = np.load(x_path).astype(np.float32)
            if x.ndim == 3:
                x = x[None]
            folder = a.ours
            if a.sbm:
                folder = os.path.join(tmp, f"trace{i}")
                trace(a.smartbin, a.sbm, x_path, folder)
            r = compare(qdq, folder, np.ascontiguousarray(x), a.threads)
            r["input"] = x_path
            reports.append(r)

    ok = all(r["layerwise"][m]["max_steps"] <= a.max_steps and r["layerwise"][m]["logits_max_abs_rel"] <= a.max_logit_rel
             and r["end_to_end"][m]["logits_cosine"] >= a.min_end_to_end_cosine and not r["missing_in_graph"]
             for r in reports for m in ("reference", "optimized"))
    summary = {"model": a.sbm or a.qdq, "inputs": len(reports), "max_steps_bound": a.max_steps,
               "max_logit_rel_bound": a.max_logit_rel, "min_end_to_end_cosine_bound": a.min_end_to_end_cosine, "ok": ok}
    for how in ("layerwise", "end_to_end"):
        for m in ("reference", "optimized"):
            summary.setdefault(how, {})[m] = {
                "max_steps": max(r[how][m]["max_steps"] for r in reports),
                "last_tensor_max_steps": max(r[how][m]["last_tensor_max_steps"] for r in reports),
                "differing_fraction": max(r[how][m]["differing_fraction"] for r in reports),
                "logits_max_abs": max(r[how][m]["logits_max_abs"] for r in reports),
                "logits_max_abs_rel": max(r[how][m]["logits_max_abs_rel"] for r in reports),
                "logits_min_cosine": min(r[how][m]["logits_cosine"] for r in reports),
                "top1_same": all(r[how][m]["top1_same"] for r in reports),
            }
    if not a.details:
        for r in reports:
            for how in ("layerwise", "end_to_end"):
                for m in ("reference", "optimized"):
                    r[how][m].pop("per_tensor")
    summary["per_input"] = reports
    if a.json:
        print(json.dumps(summary))
    else:
        for how, what in (("layerwise", "each layer fed our codes"), ("end_to_end", "from the input alone")):
            print(f"{how} ({what}):")
            for m in ("reference", "optimized"):
                s = summary[how][m]
                print(f"  {m:9s}: max {s['max_steps']} step(s) over {reports[0]['tensors']} uint8 tensors "
                      f"(last tensor {s['last_tensor_max_steps']}), {100 * s['differing_fraction']:.4f}% of codes differ; "
                      f"logits max |d| {s['logits_max_abs']:.3g} ({100 * s['logits_max_abs_rel']:.3g}% of max |logit|), "
                      f"cosine >= {s['logits_min_cosine']:.7f}, top-1 {'same' if s['top1_same'] else 'DIFFERS'}")
        print("ok" if ok else "NOT within bounds")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
