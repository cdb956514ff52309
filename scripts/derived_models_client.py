#!/usr/bin/env python3
"""Sends one request to each derived model of a `shoal serve` in turn and reports first-request latency and
the server's resident memory as models load on demand.

With --revisits N, it then sends N requests to heads drawn from a Zipf distribution (most requests to few
heads, as real traffic does) and reports the hit ratio (requests that found their head in memory), the latency
of hits and of reloads, and the memory held: the figures that matter when the budget holds only some heads.

Usage: scripts/derived_models_client.py --port 18095 --pid SERVER_PID --prefix head- --count 1000 [--revisits 10000]
"""
import argparse
import json
import random
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
    parser.add_argument("--revisits", type=int, default=0, help="requests to Zipf-drawn heads after the first pass")
    parser.add_argument("--zipf", type=float, default=1.1, help="the Zipf exponent of --revisits")
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

    window = min(1000, max(1, len(first) // 10))
    first_window, last_window = statistics.mean(first[:window]), statistics.mean(first[-window:])
    print(f"mean first-request latency: first {window} heads {first_window:.1f} ms, last {window} {last_window:.1f} ms "
          f"(ratio {last_window / first_window:.2f}); p99 of all {percentile(first, 0.99):.1f} ms")
    rss = rss_bytes(args.pid)
    print(f"RSS {rss / 2**20:.1f} MiB: {(rss - base_rss) / max(1, len(first)) / 1024:.1f} KiB per head over the base")

    again = [request(args.port, model, text)[1] for model in models[-50:]]
    print(f"second request to the last 50 models: {summary(again)}")
    metrics = scrape(args.port)
    print(f"/metrics: {len(metrics.encode())} bytes, {len(metrics.splitlines())} lines")
    for line in metrics.splitlines():
        if line.startswith(("shoal_memory_used_bytes", "shoal_memory_budget_bytes", "shoal_models_loaded")):
            print(f"  {line}")
    result = {"models": len(models), "failures": failures, "base_rss_mib": base_rss / 2**20,
              "peak_rss_mib": max(peak, rss) / 2**20, "rss_per_head_kib": (rss - base_rss) / max(1, len(first)) / 1024,
              "first_p50_ms": percentile(first, 0.5), "first_p90_ms": percentile(first, 0.9),
              "first_p99_ms": percentile(first, 0.99), "first_max_ms": max(first),
              "first_window_mean_ms": first_window, "last_window_mean_ms": last_window,
              "metrics_bytes": len(metrics.encode()), "metrics_lines": len(metrics.splitlines())}
    if args.revisits:
        result.update(revisit(args, models, text))
    print(json.dumps(result))


def scrape(port):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()


def cache_misses(port, model):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/{model}/stats", timeout=30) as response:
        return json.load(response)["model_stats"][0]["shoal"]["cache_misses"]


def revisit(args, models, text):
    """Requests to Zipf-drawn heads; a request is a reload when the head's cache misses grew."""
    rng = random.Random(7)
    weights = [1 / (rank + 1) ** args.zipf for rank in range(len(models))]
    order = models[:]
    rng.shuffle(order)  # which heads are popular has nothing to do with the order they were first loaded in
    draws = rng.choices(order, weights=weights, k=args.revisits)
    hits, reloads = [], []
    for model in draws:
        before = cache_misses(args.port, model)
        _, ms = request(args.port, model, text)
        (reloads if cache_misses(args.port, model) > before else hits).append(ms)
    ratio = len(hits) / len(draws)
    metrics = scrape(args.port)
    used = next((float(line.split()[1]) for line in metrics.splitlines() if line.startswith("shoal_memory_used_bytes")), 0)
    budget = next((float(line.split()[1]) for line in metrics.splitlines() if line.startswith("shoal_memory_budget_bytes")), 0)
    print(f"{len(draws)} revisits (Zipf {args.zipf}): hit ratio {ratio:.3f}; hits {summary(hits) if hits else '-'}; "
          f"reloads {summary(reloads) if reloads else '-'}")
    # The heads are classifiers over an embedding base: every load of an embedding model is a load of the base.
    base_loads = sum(float(line.split()[-1]) for line in metrics.splitlines()
                     if line.startswith("shoal_load_duration_seconds_count") and 'task="embedding"' in line)
    print(f"memory held {used / 2**20:.1f} MiB of a {budget / 2**20:.1f} MiB budget; RSS {rss_bytes(args.pid) / 2**20:.1f} MiB; "
          f"the base was loaded {base_loads:.0f} time(s)")
    return {"revisits": len(draws), "hit_ratio": ratio, "base_loads": base_loads,
            "hit_p50_ms": percentile(hits, 0.5) if hits else None,
            "reload_p50_ms": percentile(reloads, 0.5) if reloads else None,
            "reload_p99_ms": percentile(reloads, 0.99) if reloads else None,
            "memory_used_mib": used / 2**20, "budget_mib": budget / 2**20}


if __name__ == "__main__":
    main()
