#!/usr/bin/env python3
"""Writes COUNT classifier head folders (head.json, head.safetensors) for a base embedding model.

Each head has random float32 weights `classifier.weight` [labels, dims] and `classifier.bias` [labels], seeded
by its index, in the format `shoal models derive --heads` publishes. Pure Python: no numpy needed.
Usage: scripts/derived_heads.py --count 1000 --dims 384 --labels 4 --out ./heads
"""
import argparse
import json
import os
import random
import struct


def write_head(folder, labels, dims, seed):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    weight = [rng.uniform(-0.5, 0.5) for _ in range(labels * dims)]
    bias = [rng.uniform(-0.1, 0.1) for _ in range(labels)]
    header = {
        "classifier.weight": {"dtype": "F32", "shape": [labels, dims], "data_offsets": [0, 4 * len(weight)]},
        "classifier.bias": {"dtype": "F32", "shape": [labels], "data_offsets": [4 * len(weight), 4 * (len(weight) + len(bias))]},
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(folder, "head.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        out.write(struct.pack(f"<{len(weight)}f", *weight))
        out.write(struct.pack(f"<{len(bias)}f", *bias))
    with open(os.path.join(folder, "head.json"), "w") as out:
        json.dump({"labels": [f"label-{i}" for i in range(labels)]}, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--labels", type=int, default=4)
    parser.add_argument("--prefix", default="head-")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    width = len(str(args.count - 1))
    for index in range(args.count):
        write_head(os.path.join(args.out, f"{args.prefix}{index:0{width}d}"), args.labels, args.dims, index)


if __name__ == "__main__":
    main()
