#!/usr/bin/env python3
"""Sends one request to each derived model of a `shoal serve` in turn and reports first-request latency and
the server's resident memory as models load on demand.

Usage: scripts/derived_models_client.py --port 18095 --pid SERVER_PID --models head-000 head-001 ...
       (or --prefix head- --count 1000)
"""
import argparse
import json
import statistics
import time
import urllib.request


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def request(port, model, text):
    body = json.dumps({"inputs": [text]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/predictions/{model}", data=body,
                                 headers={"content-type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as response:
        response.read()
        status = response.status
    return status, (time.perf_counter() - start) * 1000


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered) + 0.5)) - 1))]


def summary(values):
    return (f"p50 {percentile(values, 0.5):.1f} ms, p90 {percentile(values, 0.9):.1f} ms, "
            f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms, mean {statistics.mean(values):.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--prefix", default="head-")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--warm", default="minilm", help="a model to load first, so that the base is resident")
    args = parser.parse_args()
    width = len(str(args.count - 1))
    models = [f"{args.prefix}{i:0{width}d}" for i in range(args.count)]
    text = "The delivery was late but the support team fixed it quickly."

    idle = rss_bytes(args.pid)
    status, warm_ms = request(args.port, args.warm, text)
    base_rss = rss_bytes(args.pid)
    print(f"server RSS idle {idle / 2**20:.1f} MiB; after loading the base ({args.warm}, {warm_ms:.0f} ms) {base_rss / 2**20:.1f} MiB")

    first, failures, peak = [], 0, base_rss
    checkpoints = []
    for index, model in enumerate(models):
        try:
            status, ms = request(args.port, model, text)
        except Exception as error:  # noqa: BLE001 - counted and reported
            failures += 1
            print(f"{model}: {error}")
            continue
        first.append(ms)
        if (index + 1) % max(1, args.count // 10) == 0:
            rss = rss_bytes(args.pid)
            peak = max(peak, rss)
            window = first[-max(1, args.count // 10):]
            checkpoints.append((index + 1, rss, statistics.mean(window)))
    print(f"first request to each of {len(models)} models (loads on demand): {summary(first)}; failures {failures}")
    for loaded, rss, mean in checkpoints:
        print(f"  after {loaded:5d} models: RSS {rss / 2**20:7.1f} MiB ({(rss - base_rss) / 2**20:+6.1f} MiB over the base); "
              f"mean first-request latency of the last {max(1, args.count // 10)}: {mean:.1f} ms")

    again = [request(args.port, model, text)[1] for model in models[-50:]]
    print(f"second request to the last 50 models: {summary(again)}")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{args.port}/metrics", timeout=10).read().decode()
    for line in metrics.splitlines():
        if line.startswith(("shoal_memory_used_bytes", "shoal_memory_budget_bytes", "shoal_models_loaded")):
            print(f"  {line}")
    print(json.dumps({"models": len(models), "failures": failures, "base_rss_mib": base_rss / 2**20,
                      "peak_rss_mib": peak / 2**20, "first_p50_ms": percentile(first, 0.5),
                      "first_p90_ms": percentile(first, 0.9), "first_max_ms": max(first)}))


if __name__ == "__main__":
    main()
