#!/usr/bin/env python3
"""Check every ONNX model in a directory and print its output statistics.

For each ``*.onnx`` file (sorted by name) this runs the full ``onnx.checker`` check,
loads the model in ONNX Runtime (CPU), and feeds it a few deterministic inputs:

* ``randn``  -- N(0, 1) noise, the "random input" tests typically use; for NHWC
  (Keras-style) models scaled by 60 to match caffe-preprocessed pixel ranges,
* ``noise``  -- a uniform-noise image, preprocessed the way the model's style expects,
* ``smooth`` -- a blocky, photo-like random image, preprocessed likewise,
* ``gray``   -- a flat mid-gray image, preprocessed likewise.

Preprocessing: NCHW models get torchvision's (RGB, /255, ImageNet mean/std); NHWC models
get Keras "caffe" (BGR, minus the ImageNet means in 0..255).

For each input it prints the logit mean and standard deviation, the top-5 classes and
the smallest gap between consecutive top-5 logits. A model ending in Softmax is
reported in log-probabilities (the logits up to a constant). With ``--activations`` it
also prints the RMS of every residual block's output for the ``smooth`` input. Any
NaN/inf output, a failed check, a top-5 tie (gap below ``--min-gap``) or block
activations outside [1e-3, 1e3] mark the model as failing; the exit status is 1 if any
model fails.

Example::

    check_models.py models/
    check_models.py models/ --json > stats.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def pixel_images(size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """RGB HWC float32 images on [0, 255]."""
    coarse = rng.uniform(0, 255, size=(6, 6, 3))
    idx = np.arange(size) * 6 // size
    smooth = coarse[idx][:, idx] + rng.normal(0, 8, size=(size, size, 3))
    return {
        "noise": rng.uniform(0, 255, size=(size, size, 3)).astype(np.float32),
        "smooth": np.clip(smooth, 0, 255).astype(np.float32),
        "gray": np.full((size, size, 3), 128.0, dtype=np.float32),
    }


def preprocess(img: np.ndarray, nhwc: bool) -> np.ndarray:
    """Pixel-space RGB HWC -> a batch of one in the model's layout and normalisation."""
    if nhwc:
        return (img[..., ::-1] - CAFFE_MEAN_BGR)[None].astype(np.float32)
    chw = ((img / 255.0 - TORCH_MEAN) / TORCH_STD).transpose(2, 0, 1)
    return np.ascontiguousarray(chw[None], dtype=np.float32)


def model_inputs(shape: list, seed: int) -> tuple[bool, dict[str, np.ndarray]]:
    """Decide the layout from the input shape and build the named test inputs."""
    dims = [d if isinstance(d, int) and d > 0 else 1 for d in shape]
    nhwc = len(dims) == 4 and dims[3] == 3 and dims[1] != 3
    size = dims[1] if nhwc else dims[2]
    rng = np.random.default_rng(seed)
    randn = rng.standard_normal(dims).astype(np.float32)
    if nhwc:
        randn *= 60.0
    inputs = {"randn": randn}
    for name, img in pixel_images(size, rng).items():
        inputs[name] = preprocess(img, nhwc)
    return nhwc, inputs


def stats(out: np.ndarray, softmax: bool) -> dict:
    """Mean, std, top-5 and the smallest consecutive top-5 gap of one output vector."""
    v = out.astype(np.float64).ravel()
    finite = bool(np.all(np.isfinite(v)))
    if softmax and finite:
        v = np.log(np.maximum(v, 1e-30))
    order = np.argsort(-v, kind="stable")[:5]
    top = v[order]
    gaps = -np.diff(top) if len(top) > 1 else np.array([np.inf])
    return {"finite": finite, "mean": float(np.mean(v)), "std": float(np.std(v)),
            "top5": [int(i) for i in order], "min_gap": float(gaps.min()),
            "top1_minus_top2": float(gaps[0])}


def block_activations(path: str, so: ort.SessionOptions, feed: dict[str, np.ndarray]) -> list[float]:
    """RMS of each residual block's output (the Relu after each Add), in graph order.

    Shows whether activations vanish or explode with depth."""
    model = onnx.load(path)  # with external data, so the copy below is self-contained
    producers = {n.output[0]: n for n in model.graph.node}
    names = [n.output[0] for n in model.graph.node
             if n.op_type == "Relu" and n.input[0] in producers
             and producers[n.input[0]].op_type == "Add"]
    del model.graph.output[:]
    for name in names:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return [float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) for a in sess.run(names, feed)]


def check(path: str, seed: int, threads: int, min_gap: float, activations: bool = False) -> dict:
    result = {"model": os.path.basename(path), "ok": True, "problems": []}
    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as e:  # noqa: BLE001 -- report, don't stop
        result["ok"] = False
        result["problems"].append(f"checker: {e}")
        return result
    model = onnx.load(path, load_external_data=False)
    softmax = model.graph.node[-1].op_type == "Softmax"
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    t0 = time.monotonic()
    try:
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        result["ok"] = False
        result["problems"].append(f"onnxruntime load: {e}")
        return result
    load_s = time.monotonic() - t0
    inp = sess.get_inputs()[0]
    nhwc, inputs = model_inputs(inp.shape, seed)
    result.update(opset=opset, input=inp.name, shape=[str(d) for d in inp.shape],
                  layout="NHWC" if nhwc else "NCHW", softmax=softmax, load_s=round(load_s, 3),
                  outputs={})
    for name, x in inputs.items():
        t0 = time.monotonic()
        out = sess.run(None, {inp.name: x})[0]
        ms = (time.monotonic() - t0) * 1e3
        s = stats(out, softmax)
        s["ms"] = round(ms, 2)
        result["outputs"][name] = s
        if not s["finite"]:
            result["ok"] = False
            result["problems"].append(f"{name}: non-finite output")
        elif s["min_gap"] < min_gap:
            result["ok"] = False
            result["problems"].append(f"{name}: top-5 gap {s['min_gap']:.2e} < {min_gap}")
    result["distinct_top1"] = len({s["top5"][0] for s in result["outputs"].values()})
    if activations:
        rms = block_activations(path, so, {inp.name: inputs["smooth"]})
        result["block_rms_smooth"] = [round(v, 4) for v in rms]
        if not all(np.isfinite(rms)) or (rms and (min(rms) < 1e-3 or max(rms) > 1e3)):
            result["ok"] = False
            result["problems"].append("block activations vanish or explode")
    return result


def print_report(r: dict) -> None:
    head = f"{r['model']}: {'OK' if r['ok'] else 'FAIL'}"
    if "layout" in r:
        head += (f"  opset {r['opset']}, {r['input']} {r['layout']} [{', '.join(r['shape'])}]"
                 f"{', softmax (log-probs shown)' if r['softmax'] else ''}, load {r['load_s']:.2f} s,"
                 f" {r['distinct_top1']} distinct top-1 over {len(r['outputs'])} inputs")
    print(head)
    for name, s in r.get("outputs", {}).items():
        print(f"  {name:6s} mean {s['mean']:9.3f}  std {s['std']:7.3f}  top5 {s['top5']}"
              f"  gap1 {s['top1_minus_top2']:.3f}  min top5 gap {s['min_gap']:.3g}  {s['ms']:.1f} ms")
    if "block_rms_smooth" in r:
        print("  block output RMS (smooth input): "
              + " ".join(f"{v:.2f}" for v in r["block_rms_smooth"]))
    for p in r["problems"]:
        print(f"  problem: {p}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="directory holding *.onnx files (or a single .onnx file)")
    p.add_argument("--seed", type=int, default=1, help="seed of the test inputs (default 1)")
    p.add_argument("--threads", type=int, default=1, help="ORT intra-op threads (default 1)")
    p.add_argument("--min-gap", type=float, default=1e-3,
                   help="smallest acceptable gap between consecutive top-5 logits (default 1e-3)")
    p.add_argument("--activations", action="store_true",
                   help="also report the RMS of every residual block's output")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    a = p.parse_args(argv)
    paths = [a.dir] if a.dir.endswith(".onnx") else sorted(glob.glob(os.path.join(a.dir, "*.onnx")))
    if not paths:
        print(f"no .onnx files in {a.dir}", file=sys.stderr)
        return 1
    results = []
    for path in paths:
        r = check(path, a.seed, a.threads, a.min_gap, a.activations)
        results.append(r)
        if not a.json:
            print_report(r)
    failed = [r["model"] for r in results if not r["ok"]]
    if a.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"{len(results) - len(failed)}/{len(results)} models OK"
              + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
