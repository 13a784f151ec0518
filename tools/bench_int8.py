#!/usr/bin/env python3
"""Time SmartBin's int8 engine against its fp32 engine and ONNX Runtime's int8.

Three contestants per thread count, alternating round by round (each round starting with a
different one) so machine noise spreads over all of them:

1. ours int8: ``SMARTBIN bench --model M.sbm --precision int8 --threads N --json``
2. ours fp32: ``SMARTBIN bench --model M.onnx --precision fp32 --threads N --json``
3. ORT int8: a QDQ model made from M.onnx with ``onnxruntime.quantization.quantize_static``
   (``quant_pre_process`` first; QUInt8 activations, QInt8 per-channel weights, QDQ format,
   calibrated on the same JPEG folder with the model's preprocessing), run with
   ``intra_op_num_threads=N``, sequential, all graph optimisations.

The result per thread count is the median of per-round medians, with ratios ours int8 / ours
fp32 and ours int8 / ORT int8, as a markdown table (and JSON with ``--json``). A report, not
a test: it never fails on a slow result.

Example::

    bench_int8.py --onnx out/models/resnet50-v1.5-torch-1000.onnx --sbm out/sbm/torch1000-int8.sbm \\
        --smartbin .build/release/smartbin --calibrate /work/shared/data/trashnet --threads 1 2
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import glob
import json
import statistics
import sys
import tempfile

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_ort import ort_round, ort_session, ours_round, fmt  # noqa: E402


def preprocess(path: str, preset: str, nhwc: bool, size: int) -> np.ndarray:
    """Shorter side to 256/224*size, centre crop, then the preset's normalisation (NCHW, or NHWC)."""
    from PIL import Image
    img = Image.open(path).convert("RGB")
    w, h = img.size
    shorter = 256 * size // 224
    if w < h:
        img = img.resize((shorter, round(h * shorter / w)), Image.BILINEAR)
    else:
        img = img.resize((round(w * shorter / h), shorter), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    x = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32)
    if preset == "caffe":
        x = x[..., ::-1] - np.array([103.939, 116.779, 123.68], dtype=np.float32)
    else:
        x = (x / 255 - np.array([0.485, 0.456, 0.406], dtype=np.float32)) / np.array([0.229, 0.224, 0.225], dtype=np.float32)
    return (x if nhwc else x.transpose(2, 0, 1))[None].astype(np.float32)


def make_ort_int8(onnx_path: str, calibrate: str, out: str, limit: int) -> str:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    nhwc = inp.shape[-1] == 3
    size = inp.shape[2] if not nhwc else inp.shape[1]
    preset = "caffe" if nhwc else "torch"
    photos = sorted(glob.glob(os.path.join(calibrate, "**", "*.jpg"), recursive=True))[:limit]

    try:
        import PIL  # noqa: F401
        tensors = [preprocess(p, preset, nhwc, size) for p in photos]
    except ImportError:
        # Without Pillow: image-like random tensors. The calibrated scales then differ from ours,
        # but the work ORT does per inference (the timed quantity) does not depend on them.
        print("bench_int8: Pillow missing; calibrating ORT on random image-range tensors", file=sys.stderr)
        rng = np.random.default_rng(0)
        shape = [1, size, size, 3] if nhwc else [1, 3, size, size]
        spread = 60.0 if preset == "caffe" else 1.0
        tensors = [(rng.standard_normal(shape) * spread).astype(np.float32) for _ in range(min(limit, 16))]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{inp.name: t} for t in tensors])

        def get_next(self):
            return next(self.items, None)

    pre = out + ".pre.onnx"
    quant_pre_process(onnx_path, pre, skip_symbolic_shape=True)
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True)
    os.remove(pre)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--onnx", required=True)
    p.add_argument("--sbm", required=True, help="our int8 compiled model of the same ONNX file")
    p.add_argument("--smartbin", required=True)
    p.add_argument("--calibrate", required=True, help="JPEG folder for ORT's calibration")
    p.add_argument("--ort-int8", help="reuse this ORT QDQ model instead of making one")
    p.add_argument("--baseline", help="another smartbin (e.g. the previous commit's) timed on the same "
                   ".sbm in the same rounds, for a before/after ratio unaffected by load drifting between runs")
    p.add_argument("--no-fp32", action="store_true", help="skip our fp32 engine (the slowest contestant)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    qdq = a.ort_int8 or make_ort_int8(a.onnx, a.calibrate, os.path.join(tempfile.mkdtemp(), "ort-int8.onnx"), 60)
    results = []
    for n in a.threads:
        sess = ort_session(qdq, n)
        inp = sess.get_inputs()[0]
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        feed = {inp.name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
        cmds = {
            "int8": [a.smartbin, "bench", "--model", a.sbm, "--precision", "int8", "--threads", str(n), "--iterations", str(a.iterations), "--json"],
            "fp32": [a.smartbin, "bench", "--model", a.onnx, "--precision", "fp32", "--threads", str(n), "--iterations", str(a.iterations), "--json"],
        }
        if a.no_fp32:
            del cmds["fp32"]
        if a.baseline:
            cmds["base"] = [a.baseline] + cmds["int8"][1:]
        got = {"int8": [], "fp32": [], "ort": [], "base": []}
        rss = []
        order = list(cmds) + ["ort"]
        for r in range(a.rounds):
            # Each round starts with a different contestant, so none always runs in the same slot
            # (right after ORT, say) while the load on a shared machine drifts.
            for key in order[r % len(order):] + order[:r % len(order)]:
                if key == "ort":
                    got["ort"].append(ort_round(sess, feed, a.iterations, 3)["median_ms"])
                    continue
                obj, err = ours_round(cmds[key], 900)
                if err:
                    print(f"bench_int8: {key}, {n} thread(s): {err}", file=sys.stderr)
                else:
                    got[key].append(obj["median_ms"])
                    if key == "int8":
                        rss.append(obj.get("peak_rss_mb"))
        med = {k: statistics.median(v) if v else None for k, v in got.items()}
        results.append({"threads": n, **{f"{k}_median_ms": v for k, v in med.items()},
                        "int8_over_fp32": med["int8"] / med["fp32"] if med["int8"] and med["fp32"] else None,
                        "int8_over_ort_int8": med["int8"] / med["ort"] if med["int8"] and med["ort"] else None,
                        "int8_peak_rss_mb": max(r for r in rss if r) if any(rss) else None,
                        "baseline_over_ort_int8": med["base"] / med["ort"] if med["base"] and med["ort"] else None,
                        "int8_over_baseline": med["int8"] / med["base"] if med["int8"] and med["base"] else None})
    print(f"model: {os.path.basename(a.onnx)}, {a.iterations} iterations x {a.rounds} rounds, onnxruntime {ort.__version__}\n")
    print("| threads | ours int8 ms | ours fp32 ms | ORT int8 ms | int8/fp32 | int8/ORT int8 | int8 bench peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['threads']} | {fmt(r['int8_median_ms'])} | {fmt(r['fp32_median_ms'])} | {fmt(r['ort_median_ms'])} "
              f"| {fmt(r['int8_over_fp32'])} | {fmt(r['int8_over_ort_int8'])} | {fmt(r['int8_peak_rss_mb'])} |")
    if a.baseline:
        print(f"\nbaseline: {a.baseline}\n")
        print("| threads | baseline int8 ms | ours int8 ms | ORT int8 ms | baseline/ORT | ours/ORT | ours/baseline |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['threads']} | {fmt(r['base_median_ms'])} | {fmt(r['int8_median_ms'])} | {fmt(r['ort_median_ms'])} "
                  f"| {fmt(r['baseline_over_ort_int8'])} | {fmt(r['int8_over_ort_int8'])} | {fmt(r['int8_over_baseline'])} |")
    if a.json:
        print(json.dumps({"model": a.onnx, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
