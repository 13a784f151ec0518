#!/usr/bin/env python3
"""Write a seeded, random-weight ResNet as an ONNX file, shaped like a real export.

The models stand in for trained ResNet50s in SmartBin's tests and benchmarks. They
reproduce the graph shapes the two common exporters write:

* ``--style torch``: what ``torch.onnx.export`` writes for torchvision's resnet50 --
  NCHW input ``input``, Conv without bias followed by BatchNormalization (eps 1e-5),
  MaxPool with pads 1, GlobalAveragePool, Flatten, Gemm(transB=1), raw logits.
  ``--fold-bn`` writes the constant-folded eval-mode form instead: Conv with bias, no BN.
* ``--style keras``: what tf2onnx writes for ``keras.applications.ResNet50`` -- NHWC
  input ``input_1``, a Transpose to NCHW, explicit zero Pad nodes (ZeroPadding2D) in
  front of conv1 and the max pool, Conv with bias followed by BatchNormalization
  (eps 1.001e-5), ReduceMean (or GlobalAveragePool), MatMul + Add, Softmax.

``--variant v1`` puts a downsampling block's stride on its first 1x1 conv (Keras, the
original paper); ``v1.5`` puts it on the 3x3 conv (torchvision).

Weights are He-normal. BatchNormalization statistics are not trivial (0/1): a NumPy
float64 forward pass over a small fixed calibration batch measures each conv's
per-channel output mean and variance, and the running stats are set from those,
perturbed by a factor in [0.8, 1.2]. Gamma is drawn from U(0.5, 1.5) -- U(0.2, 0.5)
for the last BN of a residual branch, so residual sums stay O(1) -- and beta from
N(0, 0.1). The classifier bias cancels most (``--head-centering``) of the calibration
batch's mean pooled feature, so different inputs win different classes, and the
classifier is scaled so logits have a standard deviation of about ``--logit-std`` on
the calibration batch (a photo-like image, noise and a flat gradient). Activations
therefore neither vanish nor explode through all 16 blocks, for random inputs and for
real images preprocessed the way the style expects (torch: RGB, /255, ImageNet
mean/std; keras: BGR "caffe" mean subtraction). ``check_models.py --activations``
shows it.

The same arguments always produce a byte-identical file: all randomness comes from
``--seed``, the calibration runs single-threaded in float64, and measured statistics
are rounded before use.

Examples::

    make_resnet.py --arch resnet50 --variant v1.5 --style torch --classes 1000 -o r50.onnx
    make_resnet.py --arch resnet50 --variant v1 --style keras --classes 6 -o r50k.onnx
    make_resnet.py --arch tiny --style torch --fold-bn --classes 6 --opset 17 -o tiny.onnx
"""

from __future__ import annotations

import os

# Single-threaded BLAS: keeps CPU use modest on shared machines and makes the
# calibration's floating-point summation order -- and so the output bytes -- fixed.
# Must happen before NumPy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: ImageNet channel statistics used by torchvision preprocessing (RGB, on [0, 1]).
TORCH_MEAN = np.array([0.485, 0.456, 0.406])
TORCH_STD = np.array([0.229, 0.224, 0.225])
#: Keras "caffe" preprocessing subtracts these from BGR pixels on [0, 255].
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])

TORCH_BN_EPS = 1e-5
KERAS_BN_EPS = 1.001e-5


@dataclass(frozen=True)
class Stage:
    """One residual stage: ``blocks`` bottleneck blocks, the first one projecting."""

    mid: int  # width of the 1x1 -> 3x3 -> 1x1 bottleneck
    out: int  # output channels (mid * expansion)
    blocks: int
    stride: int  # stride of the first block


@dataclass(frozen=True)
class Arch:
    """A bottleneck ResNet: stem width and its stages."""

    stem: int
    stages: tuple[Stage, ...]
    default_size: int


ARCHS = {
    # He et al. 2015, table 1: [3, 4, 6, 3] bottleneck blocks, expansion 4.
    "resnet50": Arch(64, (Stage(64, 256, 3, 1), Stage(128, 512, 4, 2),
                          Stage(256, 1024, 6, 2), Stage(512, 2048, 3, 2)), 224),
    # The same topology in miniature: a projecting stride-1 block, a strided
    # projecting block followed by an identity block, and one more strided stage.
    "tiny": Arch(8, (Stage(4, 16, 1, 1), Stage(8, 32, 2, 2), Stage(16, 64, 1, 2)), 64),
}


# --------------------------------------------------------------------------- numpy ops


def pad_nchw(x: np.ndarray, pads: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """Pad the spatial dims of an NCHW array; ``pads`` is (top, left, bottom, right)."""
    t, l, b, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def conv2d(x: np.ndarray, w: np.ndarray, stride: int, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Reference NCHW convolution (cross-correlation) via im2col and one matmul.

    ``w`` is OIHW; ``pads`` is (top, left, bottom, right). Returns N x O x OH x OW.
    """
    n, c, _, _ = x.shape
    o, _, kh, kw = w.shape
    xp = pad_nchw(x, pads)
    if kh == 1 and kw == 1:
        cols = xp[:, :, ::stride, ::stride]
        return np.einsum("nchw,oc->nohw", cols, w[:, :, 0, 0], optimize=True)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # N C OH OW KH KW
    oh, ow = win.shape[2:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = cols @ w.reshape(o, -1).T  # (N*OH*OW) x O
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


def maxpool(x: np.ndarray, k: int, stride: int, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Reference NCHW max pool; padded cells never win (ONNX semantics)."""
    xp = pad_nchw(x, pads, value=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    return win[:, :, ::stride, ::stride].max(axis=(4, 5))


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``padding='same'``: (before, after); the extra cell goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def round_sig(a: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to ``digits`` significant digits, so BLAS summation-order noise in the
    calibration cannot change the stored bytes."""
    a = np.asarray(a, dtype=np.float64)
    mag = np.where(a == 0, 1.0, np.abs(a))
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(mag)))
    return np.round(a * scale) / scale


# --------------------------------------------------------------------------- graph


class Graph:
    """Collects ONNX nodes and initializers in order."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def init(self, name: str, array: np.ndarray) -> str:
        if name in self._names:
            raise ValueError(f"duplicate initializer {name}")
        self._names.add(name)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, output: str | None = None, **attrs) -> str:
        out = output or f"{name}_output_0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out


class ResNetWriter:
    """Walks the architecture once: draws weights, calibrates BN statistics with a
    NumPy forward pass over the calibration batch, and emits ONNX nodes as it goes.

    ``x`` below is always the float64 NCHW activation and ``t`` the ONNX tensor name
    holding the same value.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.arch = ARCHS[args.arch]
        self.size = args.size or self.arch.default_size
        self.keras = args.style == "keras"
        self.eps = KERAS_BN_EPS if self.keras else TORCH_BN_EPS
        self.rng = np.random.default_rng(args.seed)
        self.g = Graph()
        self.conv_count = 0

    # ---------------------------------------------------------------- calibration input

    def calibration_batch(self) -> np.ndarray:
        """Three pixel-space images on [0, 255], RGB, NCHW -- a blocky random image with
        some grain (photo-like), uniform noise, and a grain-free colour gradient (nearly
        flat, like an empty scene) -- then preprocessed as the style's users would."""
        s = self.size
        coarse = self.rng.uniform(0, 255, size=(3, 8, 8))
        idx = np.arange(s) * 8 // s
        blocky = coarse[:, idx][:, :, idx] + self.rng.normal(0, 12, size=(3, s, s))
        noise = self.rng.uniform(0, 255, size=(3, s, s))
        ramp = np.linspace(0.0, 1.0, s)
        lo, hi = self.rng.uniform(40, 215, size=(2, 3, 1, 1))
        gradient = lo + (hi - lo) * 0.5 * (ramp[None, :, None] + ramp[None, None, :])
        px = np.clip(np.stack([blocky, noise, gradient]), 0, 255)
        if self.keras:
            bgr = px[:, ::-1]
            return bgr - CAFFE_MEAN_BGR[None, :, None, None]
        return (px / 255.0 - TORCH_MEAN[None, :, None, None]) / TORCH_STD[None, :, None, None]

    # ---------------------------------------------------------------- names

    def conv_names(self, prefix: str) -> dict[str, str]:
        """Initializer / node names in the exporter's convention."""
        if self.keras:
            base = f"StatefulPartitionedCall/resnet/{prefix}"
            return {
                "conv": f"{prefix}_conv", "bn": f"{prefix}_bn",
                "w": f"{base}_conv/Conv2D/ReadVariableOp:0",
                "b": f"{base}_conv/BiasAdd/ReadVariableOp:0",
                "gamma": f"{base}_bn/ReadVariableOp:0",
                "beta": f"{base}_bn/ReadVariableOp_1:0",
                "mean": f"{base}_bn/FusedBatchNormV3/ReadVariableOp:0",
                "var": f"{base}_bn/FusedBatchNormV3/ReadVariableOp_1:0",
            }
        # torchvision: prefix is e.g. "layer2.0.conv1" / "layer2.0.downsample.0" / "conv1"
        bn = prefix.replace("conv", "bn") if not prefix.endswith("downsample.0") \
            else prefix[:-1] + "1"
        node = "/" + "/".join(_torch_scopes(prefix))
        bn_node = "/" + "/".join(_torch_scopes(bn))
        names = {
            "conv": f"{node}/Conv", "bn": f"{bn_node}/BatchNormalization",
            "w": f"{prefix}.weight", "gamma": f"{bn}.weight", "beta": f"{bn}.bias",
            "mean": f"{bn}.running_mean", "var": f"{bn}.running_var",
        }
        if self.args.fold_bn:
            # Constant folding renames the folded tensors after the Conv's inputs.
            self.conv_count += 1
            names["w"] = f"onnx::Conv_{2 * self.conv_count + 500}"
            names["b"] = f"onnx::Conv_{2 * self.conv_count + 501}"
        return names

    # ---------------------------------------------------------------- layers

    def conv_bn(self, x: np.ndarray, t: str, prefix: str, cout: int, k: int, stride: int,
                pads: tuple[int, int, int, int], gamma_range: tuple[float, float]):
        """Conv (+bias for keras) then BatchNormalization, calibrated on ``x``."""
        cin = x.shape[1]
        names = self.conv_names(prefix)
        w = self.rng.normal(0.0, np.sqrt(2.0 / (cin * k * k)), size=(cout, cin, k, k))
        bias = self.rng.normal(0.0, 0.05, size=cout) if self.keras else np.zeros(cout)
        w = w.astype(np.float32).astype(np.float64)
        bias = bias.astype(np.float32).astype(np.float64)

        y = conv2d(x, w, stride, pads) + bias[None, :, None, None]
        mean = round_sig(y.mean(axis=(0, 2, 3))) * self.rng.uniform(0.8, 1.2, size=cout)
        var = round_sig(y.var(axis=(0, 2, 3))) * self.rng.uniform(0.8, 1.2, size=cout)
        var = np.maximum(var, 1e-4)
        gamma = self.rng.uniform(*gamma_range, size=cout)
        beta = self.rng.normal(0.0, 0.1, size=cout)
        mean, var, gamma, beta = (a.astype(np.float32).astype(np.float64)
                                  for a in (mean, var, gamma, beta))

        # (top, left, bottom, right) is already ONNX's [x1_begin, x2_begin, x1_end, x2_end].
        conv_attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=list(pads),
                          dilations=[1, 1], group=1)
        scale = gamma / np.sqrt(var + self.eps)
        f32 = np.float32
        if self.args.fold_bn:
            wf = w * scale[:, None, None, None]
            bf = (bias - mean) * scale + beta
            t = self.g.node("Conv", [t, self.g.init(names["w"], wf.astype(f32)),
                                     self.g.init(names["b"], bf.astype(f32))],
                            names["conv"], **conv_attrs)
            # Compute the activation from the folded float32 weights, as a runtime would.
            y = conv2d(x, wf.astype(f32).astype(np.float64), stride, pads) \
                + bf.astype(f32).astype(np.float64)[None, :, None, None]
            return y, t
        conv_in = [t, self.g.init(names["w"], w.astype(f32))]
        if self.keras:
            conv_in.append(self.g.init(names["b"], bias.astype(f32)))
        t = self.g.node("Conv", conv_in, names["conv"], **conv_attrs)
        bn_in = [t] + [self.g.init(names[key], arr.astype(f32)) for key, arr in
                       (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
        t = self.g.node("BatchNormalization", bn_in, names["bn"], epsilon=self.eps,
                        momentum=0.99 if self.keras else 0.9)
        y = (y - mean[None, :, None, None]) * scale[None, :, None, None] \
            + beta[None, :, None, None]
        return y, t

    def relu(self, x: np.ndarray, t: str, name: str):
        return np.maximum(x, 0.0), self.g.node("Relu", [t], name)

    def zero_pad(self, x: np.ndarray, t: str, p: int, name: str):
        """Keras ZeroPadding2D as tf2onnx writes it: a Pad node, pads as an input."""
        pads = self.g.init(f"{name}/pads", np.array([0, 0, p, p, 0, 0, p, p], dtype=np.int64))
        t = self.g.node("Pad", [t, pads], name, mode="constant")
        return pad_nchw(x, (p, p, p, p)), t

    def conv_pads(self, size: int, k: int, stride: int) -> tuple[int, int, int, int]:
        """Padding of a block conv: torch symmetric k//2; keras 'same' (asymmetric when
        a strided 3x3 meets an even input, i.e. the v1.5 keras variant)."""
        if k == 1:
            return (0, 0, 0, 0)
        if self.keras:
            b, a = same_pads(size, k, stride)
            return (b, b, a, a)
        return (k // 2,) * 4

    def stem(self, x: np.ndarray, t: str):
        c = self.arch.stem
        if self.keras:
            x, t = self.zero_pad(x, t, 3, "conv1_pad")
            x, t = self.conv_bn(x, t, "conv1", c, 7, 2, (0, 0, 0, 0), (0.5, 1.5))
            x, t = self.relu(x, t, "conv1_relu")
            x, t = self.zero_pad(x, t, 1, "pool1_pad")
            t = self.g.node("MaxPool", [t], "pool1_pool", kernel_shape=[3, 3],
                            strides=[2, 2], pads=[0, 0, 0, 0])
            return maxpool(x, 3, 2, (0, 0, 0, 0)), t
        x, t = self.conv_bn(x, t, "conv1", c, 7, 2, (3, 3, 3, 3), (0.5, 1.5))
        x, t = self.relu(x, t, "/relu/Relu")
        t = self.g.node("MaxPool", [t], "/maxpool/MaxPool", kernel_shape=[3, 3],
                        strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=0, dilations=[1, 1])
        return maxpool(x, 3, 2, (1, 1, 1, 1)), t

    def block(self, x: np.ndarray, t: str, si: int, bi: int, st: Stage):
        """One bottleneck block; the first of a stage projects (and maybe strides)."""
        stride = st.stride if bi == 0 else 1
        s1, s3 = (stride, 1) if self.args.variant == "v1" else (1, stride)
        if self.keras:
            p = f"conv{si + 2}_block{bi + 1}"
            n1, n2, n3, nsc = f"{p}_1", f"{p}_2", f"{p}_3", f"{p}_0"
            r1, r2, add, rout = f"{p}_1_relu", f"{p}_2_relu", f"{p}_add", f"{p}_out"
        else:
            p = f"layer{si + 1}.{bi}"
            n1, n2, n3, nsc = f"{p}.conv1", f"{p}.conv2", f"{p}.conv3", f"{p}.downsample.0"
            s = f"/layer{si + 1}/layer{si + 1}.{bi}"
            r1, r2, add, rout = f"{s}/relu/Relu", f"{s}/relu_1/Relu", f"{s}/Add", f"{s}/relu_2/Relu"

        def shortcut():
            if bi != 0:
                return x, t
            return self.conv_bn(x, t, nsc, st.out, 1, stride, (0, 0, 0, 0), (0.5, 1.5))

        if self.keras:  # Keras builds the shortcut first
            xs, ts = shortcut()
        y, u = self.conv_bn(x, t, n1, st.mid, 1, s1, (0, 0, 0, 0), (0.5, 1.5))
        y, u = self.relu(y, u, r1)
        y, u = self.conv_bn(y, u, n2, st.mid, 3, s3, self.conv_pads(y.shape[2], 3, s3), (0.5, 1.5))
        y, u = self.relu(y, u, r2)
        y, u = self.conv_bn(y, u, n3, st.out, 1, 1, (0, 0, 0, 0), (0.2, 0.5))
        if not self.keras:
            xs, ts = shortcut()
        assert y.shape == xs.shape, (p, y.shape, xs.shape)
        u = self.g.node("Add", [ts, u] if self.keras else [u, ts], add)
        return self.relu(xs + y, u, rout)

    def head(self, x: np.ndarray, t: str, classes: int):
        """Pool, the classifier, and (keras) softmax. Returns the output tensor name."""
        feat = x.mean(axis=(2, 3))
        cin = feat.shape[1]
        w = self.rng.normal(0.0, 1.0 / np.sqrt(cin), size=(classes, cin))
        b = self.rng.normal(0.0, 0.1, size=classes)
        # Post-ReLU features share a large input-independent mean, which would make
        # every input score the same classes. Cancel part of it through the bias so the
        # input-dependent part of the features decides the ranking.
        mu = round_sig(feat.mean(axis=0))
        logits = (feat - self.args.head_centering * mu) @ w.T
        std = float(logits.std()) or 1.0
        gain = float(round_sig(self.args.logit_std / std, 4))
        w = w * gain
        b = b * self.args.logit_std - self.args.head_centering * (w @ mu)
        w, b = w.astype(np.float32), b.astype(np.float32)
        #: Logits of the calibration batch per the NumPy reference (diagnostics and tests).
        self.calibration_logits = feat @ w.T.astype(np.float64) + b
        if self.keras:
            if self.args.keras_pool == "reducemean":
                if self.args.opset >= 18:
                    axes = self.g.init("avg_pool/axes", np.array([2, 3], dtype=np.int64))
                    t = self.g.node("ReduceMean", [t, axes], "avg_pool", keepdims=0)
                else:
                    t = self.g.node("ReduceMean", [t], "avg_pool", axes=[2, 3], keepdims=0)
            else:
                t = self.g.node("GlobalAveragePool", [t], "avg_pool")
                t = self.g.node("Flatten", [t], "avg_pool/Flatten", axis=1)
            base = "StatefulPartitionedCall/resnet/predictions"
            t = self.g.node("MatMul", [t, self.g.init(f"{base}/MatMul/ReadVariableOp:0", w.T.copy())],
                            "predictions/MatMul")
            t = self.g.node("Add", [t, self.g.init(f"{base}/BiasAdd/ReadVariableOp:0", b)],
                            "predictions/BiasAdd")
            # Before opset 13 Softmax coerces to 2-D at `axis`; 1 is right for [N, classes].
            axis = -1 if self.args.opset >= 13 else 1
            return self.g.node("Softmax", [t], "predictions/Softmax", output="predictions", axis=axis)
        t = self.g.node("GlobalAveragePool", [t], "/avgpool/GlobalAveragePool")
        t = self.g.node("Flatten", [t], "/Flatten", axis=1)
        return self.g.node("Gemm", [t, self.g.init("fc.weight", w), self.g.init("fc.bias", b)],
                           "/fc/Gemm", output="output", alpha=1.0, beta=1.0, transB=1)

    # ---------------------------------------------------------------- model

    def build(self) -> onnx.ModelProto:
        a = self.args
        s = self.size
        batch: int | str = "batch_size" if a.dynamic_batch else 1
        if self.keras:
            in_name = "input_1"
            inp = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [batch, s, s, 3])
            t = self.g.node("Transpose", [in_name], "input_1/Transpose", perm=[0, 3, 1, 2])
        else:
            in_name = t = "input"
            inp = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, [batch, 3, s, s])
        x = self.calibration_batch()
        x, t = self.stem(x, t)
        for si, st in enumerate(self.arch.stages):
            for bi in range(st.blocks):
                x, t = self.block(x, t, si, bi, st)
        out = self.head(x, t, a.classes)
        outp = helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, a.classes])
        graph = helper.make_graph(self.g.nodes, "main_graph" if not self.keras else "tf2onnx",
                                  [inp], [outp], initializer=self.g.inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", a.opset)],
            producer_name="pytorch" if not self.keras else "tf2onnx",
            producer_version="2.1.0" if not self.keras else "1.16.1",
            doc_string=f"SmartBin synthetic {a.arch} {a.variant} {a.style} seed={a.seed} "
                       "(random weights, calibrated BN)")
        model.ir_version = 7 if a.opset <= 14 else 8
        onnx.helper.set_model_props(model, {"smartbin.synthetic": "1",
                                            "smartbin.arch": a.arch,
                                            "smartbin.variant": a.variant,
                                            "smartbin.style": a.style,
                                            "smartbin.seed": str(a.seed)})
        return model


def _torch_scopes(prefix: str) -> list[str]:
    """'layer2.0.conv1' -> ['layer2', 'layer2.0', 'conv1'] (torch.onnx scope names)."""
    parts = prefix.split(".")
    if parts[0].startswith("layer"):
        scopes = [parts[0], f"{parts[0]}.{parts[1]}"]
        rest = parts[2:]
        if rest[0] == "downsample":
            scopes += ["downsample", f"downsample.{rest[1]}"]
        else:
            scopes += rest
        return scopes
    return parts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for the exact graph shapes.")
    p.add_argument("--arch", choices=sorted(ARCHS), default="resnet50")
    p.add_argument("--variant", choices=["v1", "v1.5"], default="v1.5",
                   help="v1: stride on the first 1x1 of a downsampling block (Keras); "
                        "v1.5: stride on the 3x3 (torchvision). Default v1.5.")
    p.add_argument("--style", choices=["torch", "keras"], default="torch",
                   help="exporter whose graph shape to reproduce (default torch)")
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    p.add_argument("--size", type=int, default=None,
                   help="input height = width (default 224 for resnet50, 64 for tiny)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--opset", type=int, default=13, choices=range(11, 19), metavar="{11..18}",
                   help="ONNX opset (default 13)")
    p.add_argument("--fold-bn", action="store_true",
                   help="torch style only: Conv with bias, no BatchNormalization nodes")
    p.add_argument("--dynamic-batch", action="store_true",
                   help="symbolic first input dim 'batch_size' instead of 1")
    p.add_argument("--keras-pool", choices=["reducemean", "gap"], default="reducemean",
                   help="keras style pooling: ReduceMean over [2,3] or GlobalAveragePool+Flatten")
    p.add_argument("--logit-std", type=float, default=4.0,
                   help="target logit standard deviation on the calibration batch (default 4)")
    p.add_argument("--head-centering", type=float, default=0.8,
                   help="fraction of the calibration batch's mean feature cancelled by "
                        "the classifier bias (0..1, default 0.8)")
    p.add_argument("--external-data", action="store_true",
                   help="store the weights in '<output>.data' next to the model")
    p.add_argument("-o", "--output", required=True, help="output .onnx path")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.fold_bn and a.style != "torch":
        p.error("--fold-bn is only meaningful with --style torch")
    if a.classes < 1:
        p.error("--classes must be positive")
    size = a.size or ARCHS[a.arch].default_size
    if size < 32:
        p.error("--size must be at least 32")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    model = ResNetWriter(args).build()
    onnx.checker.check_model(model, full_check=True)
    out = args.output
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if args.external_data:
        location = os.path.basename(out) + ".data"
        data_path = os.path.join(os.path.dirname(os.path.abspath(out)), location)
        if os.path.exists(data_path):
            os.remove(data_path)  # onnx appends to an existing side file
        onnx.save_model(model, out, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=location, size_threshold=1024)
        # onnx creates the side file owner-only; give it the model file's permissions.
        os.chmod(data_path, os.stat(out).st_mode & 0o777)
    else:
        onnx.save_model(model, out)
    if not args.quiet:
        params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        print(f"wrote {out}: {args.arch} {args.variant} {args.style}, {args.classes} classes, "
              f"opset {args.opset}, {len(model.graph.node)} nodes, {params:,} parameters, "
              f"{time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
