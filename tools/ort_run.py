#!/usr/bin/env python3
"""Run an ONNX model in ONNX Runtime on one NCHW float32 input and emit its first output.

This is the independent reference SmartBin's own engine is checked against. The input
is always given in NCHW (``1x3xHxW``, or ``3xHxW`` for a batch of one); when the model
takes NHWC (a Keras/tf2onnx export, whose input's last dimension is 3) the input is
transposed to NHWC before it is fed. ONNX Runtime runs on the CPU execution provider,
sequentially, with the given number of intra-op threads.

The first output is flattened to float32 and

* written to ``--output`` as a ``.npy`` file, and/or
* printed as one JSON object with ``--json``
  (``{"model", "input", "layout", "output", "shape", "values"}``), or
* printed one value per line (``%.9g``) when neither is given.

Examples::

    ort_run.py --model tiny.onnx --input x.npy --output y.npy
    ort_run.py --model r50.onnx --input x.npy --threads 2 --json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import onnxruntime as ort


def is_nhwc(shape: list) -> bool:
    """True when a 4-D model input looks channels-last: last dim 3, second dim not 3."""
    return len(shape) == 4 and shape[3] == 3 and shape[1] != 3


def make_session(model: str, threads: int, optimize: bool = True) -> ort.InferenceSession:
    """A CPU session: sequential execution, ``threads`` intra-op threads, one inter-op."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def prepare(x: np.ndarray, shape: list) -> tuple[np.ndarray, str]:
    """NCHW (or CHW) array -> contiguous float32 in the model's layout, and that layout."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"input must be NCHW or CHW, got shape {x.shape}")
    if is_nhwc(shape):
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)), "NHWC"
    return np.ascontiguousarray(x), "NCHW"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="ONNX model path")
    p.add_argument("--input", required=True, help=".npy file holding an NCHW (or CHW) float array")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--output", help="write the flattened first output here as float32 .npy")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--no-optimize", action="store_true",
                   help="disable ORT graph optimizations (default: all enabled)")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error("--threads must be at least 1")

    sess = make_session(a.model, a.threads, optimize=not a.no_optimize)
    inp = sess.get_inputs()[0]
    try:
        x, layout = prepare(np.load(a.input), inp.shape)
    except ValueError as e:
        print(f"ort_run: {a.input}: {e}", file=sys.stderr)
        return 2
    out = sess.run(None, {inp.name: x})[0]
    flat = np.asarray(out, dtype=np.float32).ravel()

    if a.output:
        np.save(a.output, flat)
    if a.json:
        print(json.dumps({"model": a.model, "input": inp.name, "layout": layout,
                          "output": sess.get_outputs()[0].name, "shape": list(out.shape),
                          "values": [float(v) for v in flat]}))
    elif not a.output:
        sys.stdout.write("".join(f"{v:.9g}\n" for v in flat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
