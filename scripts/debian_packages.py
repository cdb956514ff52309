#!/usr/bin/env python3
"""Turns `apt-cache dumpavail` into labelled JSON Lines for `shoal train`: one row per package.

The text is the first line of the package's Description, the label its Section (without an area such as
`contrib/`). Packages are de-duplicated by name; a package goes to the test split when the first byte of the
sha256 of its name is below 256 × --test-fraction, so the split is fixed by the names alone.
Usage: scripts/debian_packages.py --out data/   (writes train.jsonl and test.jsonl)
"""
import argparse
import hashlib
import json
import os
import subprocess


def packages(text):
    """Yields (name, section, first description line) of every stanza of a dumpavail listing."""
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Package") and fields.get("Section") and fields.get("Description"):
            yield fields["Package"], fields["Section"].split("/")[-1], fields["Description"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for train.jsonl and test.jsonl")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--input", help="a saved dumpavail listing (default: run apt-cache dumpavail)")
    args = parser.parse_args()
    if args.input:
        with open(args.input, encoding="utf-8", errors="replace") as listing:
            text = listing.read()
    else:
        text = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    seen = set()
    os.makedirs(args.out, exist_ok=True)
    counts = {"train": 0, "test": 0}
    with open(os.path.join(args.out, "train.jsonl"), "w") as train, open(os.path.join(args.out, "test.jsonl"), "w") as test:
        for name, section, description in sorted(packages(text)):
            if name in seen:
                continue
            seen.add(name)
            split = "test" if hashlib.sha256(name.encode()).digest()[0] < 256 * args.test_fraction else "train"
            (test if split == "test" else train).write(json.dumps({"text": description, "label": section}) + "\n")
            counts[split] += 1
    print(f"{counts['train']} train and {counts['test']} test rows in {args.out}")


if __name__ == "__main__":
    main()
