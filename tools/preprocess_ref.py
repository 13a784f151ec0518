#!/usr/bin/env python3
"""Reference preprocessing for SmartBin, in numpy, written independently of the Swift code.

The Swift `Imaging.Preprocessor` must agree with this script; `ImagingTests` runs it.

    preprocess_ref.py tensor INPUT.npy OUTPUT.npy --preset torch|caffe --resize shorter:256:224
    preprocess_ref.py tensor ... --resize direct:224x224
    preprocess_ref.py batch JOBS.txt        # one "INPUT OUTPUT PRESET RESIZE" per line
    preprocess_ref.py pil JPEG OUTPUT.npy [WIDTH HEIGHT]   # needs Pillow; see below

`tensor`: INPUT is an RGB image as uint8 [H, W, 3]; OUTPUT is float32 [1, 3, H', W'] (NCHW).
Geometry follows torchvision: Resize(shorter) keeps the aspect ratio, the long side becoming
int(shorter * long / short); CenterCrop(crop) starts at int(round((size - crop) / 2)) (Python's
round: halves to even) after zero-padding when the crop is larger than the image. Resampling is
Pillow's BILINEAR (what torchvision's Resize does to PIL images): a triangle filter with
half-pixel centres whose support grows with the downscale factor, separable, horizontal pass
first, each pass in fixed point (weights * 2**22, rounded) and rounded + clamped to uint8.
Normalisation: torch = (x / 255 - mean) / std in RGB order; caffe = BGR order, x - mean(B,G,R).

`pil`: decodes JPEG with Pillow (convert("RGB")), optionally resizes with Image.BILINEAR, and
writes uint8 [H, W, 3], so a test can compare the Swift decoder and resampler with Pillow's.
"""

import argparse
import sys

import numpy as np

PRECISION_BITS = 22

TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def triangle(x):
    """Bilinear (tent) filter with support 1."""
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def weight_matrix(in_size, out_size):
    """[out_size, in_size] int64 fixed-point weights of the antialiased bilinear filter.

    Row i covers the input samples whose centres lie within `support` of the output centre
    (i + 0.5) * scale. Weights are computed in Python floats (IEEE double), summed in order and
    normalised, then rounded half away from zero to PRECISION_BITS fractional bits.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale
    inverse = 1.0 / filter_scale
    matrix = np.zeros((out_size, in_size), dtype=np.int64)
    for i in range(out_size):
        center = (i + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), in_size)
        taps = [triangle((j - center + 0.5) * inverse) for j in range(first, last)]
        total = 0.0
        for t in taps:
            total += t
        for offset, t in enumerate(taps):
            w = t / total if total != 0.0 else t
            fixed = w * (1 << PRECISION_BITS)
            matrix[i, first + offset] = int(fixed - 0.5) if w < 0 else int(fixed + 0.5)
    return matrix


def resample_axis(image, weights, axis):
    """Applies one pass along `axis` (0 rows, 1 columns) and rounds/clamps to uint8."""
    data = image.astype(np.int64)
    if axis == 1:
        acc = np.einsum("hwc,xw->hxc", data, weights)
    else:
        acc = np.einsum("hwc,yh->ywc", data, weights)
    acc = (acc + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS
    return np.clip(acc, 0, 255).astype(np.uint8)


def resize(image, width, height):
    """Bilinear resize of uint8 [H, W, 3] to [height, width, 3]; unchanged axes are skipped."""
    in_height, in_width = image.shape[:2]
    out = image
    if width != in_width:
        out = resample_axis(out, weight_matrix(in_width, width), axis=1)
    if height != in_height:
        out = resample_axis(out, weight_matrix(in_height, height), axis=0)
    return out


def center_crop(image, width, height):
    """torchvision.transforms.functional.center_crop on uint8 [H, W, 3]."""
    in_height, in_width = image.shape[:2]
    if width > in_width or height > in_height:
        pad_left = (width - in_width) // 2 if width > in_width else 0
        pad_top = (height - in_height) // 2 if height > in_height else 0
        pad_right = (width - in_width + 1) // 2 if width > in_width else 0
        pad_bottom = (height - in_height + 1) // 2 if height > in_height else 0
        image = np.pad(image, ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
        in_height, in_width = image.shape[:2]
    top = int(round((in_height - height) / 2.0))
    left = int(round((in_width - width) / 2.0))
    return image[top:top + height, left:left + width]


def parse_resize(text):
    """'shorter:256:224' -> ('shorter', 256, 224); 'direct:224x224' -> ('direct', 224, 224)."""
    kind, _, rest = text.partition(":")
    if kind == "shorter":
        shorter, crop = rest.split(":")
        return kind, int(shorter), int(crop)
    if kind == "direct":
        width, height = rest.split("x")
        return kind, int(width), int(height)
    raise ValueError(f"unknown resize mode {text!r} (use shorter:S:C or direct:WxH)")


def geometry(image, resize_mode):
    kind, a, b = resize_mode
    if kind == "direct":
        return resize(image, a, b)
    height, width = image.shape[:2]
    shorter, crop = a, b
    if width <= height:
        new_width, new_height = shorter, int(shorter * height / width)
    else:
        new_width, new_height = int(shorter * width / height), shorter
    return center_crop(resize(image, new_width, new_height), crop, crop)


def normalise(image, preset):
    """uint8 [H, W, 3] RGB -> float32 [1, 3, H, W] for the preset."""
    x = image.astype(np.float32)
    if preset == "torch":
        x = (x / np.float32(255.0) - TORCH_MEAN) / TORCH_STD
    elif preset == "caffe":
        x = x[:, :, ::-1] - CAFFE_MEAN_BGR
    else:
        raise ValueError(f"unknown preset {preset!r} (use torch or caffe)")
    return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis].astype(np.float32))


def tensor(input_path, output_path, preset, resize_text):
    image = np.load(input_path)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{input_path}: expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
    np.save(output_path, normalise(geometry(image, parse_resize(resize_text)), preset))


def pil(jpeg_path, output_path, size):
    from PIL import Image  # optional dependency, only for this command

    with Image.open(jpeg_path) as opened:
        image = opened.convert("RGB")
    if size is not None:
        image = image.resize(size, Image.BILINEAR)
    np.save(output_path, np.asarray(image, dtype=np.uint8))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("tensor", help="preprocess one uint8 RGB .npy")
    one.add_argument("input")
    one.add_argument("output")
    one.add_argument("--preset", required=True, choices=["torch", "caffe"])
    one.add_argument("--resize", default="shorter:256:224")
    batch = commands.add_parser("batch", help="run 'INPUT OUTPUT PRESET RESIZE' lines")
    batch.add_argument("jobs")
    reference = commands.add_parser("pil", help="decode (and resize) a JPEG with Pillow")
    reference.add_argument("jpeg")
    reference.add_argument("output")
    reference.add_argument("size", nargs="*", type=int)
    args = parser.parse_args(argv)

    if args.command == "tensor":
        tensor(args.input, args.output, args.preset, args.resize)
    elif args.command == "batch":
        with open(args.jobs) as jobs:
            for number, line in enumerate(jobs, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 4:
                    raise ValueError(f"{args.jobs}:{number}: expected INPUT OUTPUT PRESET RESIZE")
                tensor(*fields)
    else:
        if args.size and len(args.size) != 2:
            raise ValueError("pil: give both WIDTH and HEIGHT, or neither")
        pil(args.jpeg, args.output, tuple(args.size) if args.size else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
