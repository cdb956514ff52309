#!/usr/bin/env python3
"""Times asynchronous requests against a running `shoal serve --async-dir DIR`: how long the 202 takes (the
durable write), how long the queue takes to drain, and the same texts sent synchronously for comparison.

    scripts/bench-async.py --url http://127.0.0.1:8080 --model minilm --requests 500
"""
import argparse
import json
import statistics
import time
import urllib.request


def post(url, body, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--requests", type=int, default=500)
    arguments = parser.parse_args()
    body = lambda i: {"model": arguments.model, "input": [f"request {i}: a man is eating food in the park"]}

    started = time.perf_counter()
    for i in range(arguments.requests):
        post(f"{arguments.url}/v1/embeddings", body(i))
    synchronous = time.perf_counter() - started

    accepted, ids = [], []
    started = time.perf_counter()
    for i in range(arguments.requests):
        began = time.perf_counter()
        status, answer = post(f"{arguments.url}/v1/embeddings", body(i), {"Prefer": "respond-async"})
        accepted.append(time.perf_counter() - began)
        assert status == 202, answer
        ids.append(answer["id"])
    submitted = time.perf_counter() - started
    for request_id in ids:
        while get(f"{arguments.url}/v2/async/{request_id}")["status"] not in ("succeeded", "failed", "expired"):
            time.sleep(0.005)
    drained = time.perf_counter() - started
    failed = sum(get(f"{arguments.url}/v2/async/{i}")["status"] != "succeeded" for i in ids)

    print(json.dumps({
        "requests": arguments.requests,
        "synchronous_requests_per_s": round(arguments.requests / synchronous, 1),
        "accepted_ms_p50": round(1e3 * statistics.median(accepted), 2),
        "accepted_ms_p99": round(1e3 * percentile(accepted, 0.99), 2),
        "submitted_s": round(submitted, 2),
        "asynchronous_requests_per_s": round(arguments.requests / drained, 1),
        "not_succeeded": failed,
    }, indent=2))


if __name__ == "__main__":
    main()
