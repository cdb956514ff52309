#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document. Serves the real all-MiniLM-L6-v2 (`minilm`) and a
# classifier over the same encoder (`classifier`) with `shoal serve` on loopback, runs schemathesis on the served
# /openapi.json (settings in scripts/fuzz-api.toml, hooks in scripts/fuzz_api_hooks.py) with a fixed seed and a
# bounded number of examples per operation, and fails on any 5xx answer, any status, content type or body the
# document does not declare, and a server that is no longer alive and answering /v2/health/live at the end.
#
#   SHOAL_BIN      the executable to serve with (default .build/debug/shoal, which `swift test` builds)
#   FUZZ_SEED      the seed (default 1)
#   FUZZ_EXAMPLES  examples per operation in each phase (default 50)
# Arguments go on to `st run`, e.g. `--report har --report-dir /tmp/fuzz` keeps every request and answer.
set -euo pipefail
cd "$(dirname "$0")/.."
shoal=${SHOAL_BIN:-.build/debug/shoal}
seed=${FUZZ_SEED:-1}
examples=${FUZZ_EXAMPLES:-50}
limit=240  # seconds; the run takes about 75 s on 2 cores
config=$PWD/scripts/fuzz-api.toml
hooks=$PWD/scripts/fuzz_api_hooks.py
[ -x "$shoal" ] || { echo "fuzz-api: $shoal is not built: run swift build, or set SHOAL_BIN" >&2; exit 1; }
python3 -c "import schemathesis" 2>/dev/null \
    || { echo "fuzz-api: schemathesis is missing: run scripts/setup.sh" >&2; exit 1; }
model=$(scripts/model-path.sh)

work=$(mktemp -d)
server=""
stop_server() {
    [ -n "$server" ] || return 0
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
}
trap 'stop_server; rm -rf "$work"' EXIT

# `minilm` is the installed folder; `classifier` has its encoder and tokenizer with a fixed two-label head, as a
# BertForSequenceClassification checkpoint: the model's weights file with classifier.weight and .bias added.
mkdir -p "$work/models/classifier"
ln -s "$model" "$work/models/minilm"
for file in tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json; do
    ln -s "$model/$file" "$work/models/classifier/$file"
done
python3 - "$model" "$work/models/classifier" <<'PYTHON'
import json, struct, sys

source, target = sys.argv[1:]
config = json.load(open(f"{source}/config.json"))
config.update(architectures=["BertForSequenceClassification"], id2label={"0": "NEGATIVE", "1": "POSITIVE"})
json.dump(config, open(f"{target}/config.json", "w"), indent=2)

with open(f"{source}/model.safetensors", "rb") as file:
    header = json.loads(file.read(struct.unpack("<Q", file.read(8))[0]))
    data = file.read()
width = config["hidden_size"]
weight = [((index * 37) % 101 - 50) / 500 for index in range(2 * width)]
bias = [0.1, -0.1]
end = len(data)
header["classifier.weight"] = {"dtype": "F32", "shape": [2, width], "data_offsets": [end, end + 8 * width]}
header["classifier.bias"] = {"dtype": "F32", "shape": [2], "data_offsets": [end + 8 * width, end + 8 * width + 8]}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(f"{target}/model.safetensors", "wb") as file:
    file.write(struct.pack("<Q", len(text)) + text + data)
    file.write(struct.pack(f"<{2 * width}f", *weight) + struct.pack("<2f", *bias))
PYTHON

# Limits low enough for generated requests to reach them (bytes of a body, texts of a request, bytes of a text);
# inputs cut at 128 tokens and requests given up after 10 s, so that no example keeps the run waiting long.
"$shoal" serve --models "$work/models" --host 127.0.0.1 --port 0 --max-body-size 1KiB --max-inputs 8 \
    --max-text-bytes 256 --max-length 128 --request-timeout 10s 2>"$work/server.log" &
server=$!
url=""
for _ in $(seq 600); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n 1 || true)
    [ -n "$url" ] || ! kill -0 "$server" 2>/dev/null && break
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "fuzz-api: the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi

live() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$url/v2/health/live" \
        2>/dev/null
}

version=$(python3 -m schemathesis.cli --version | grep -o '[0-9.]*$')
echo "== fuzzing the API of $url: schemathesis $version, seed $seed, $examples examples per operation"
status=0
# schemathesis runs in the scratch folder, so that nothing it writes lands in the checkout.
(cd "$work" && SCHEMATHESIS_HOOKS=$hooks timeout "$limit" python3 -m schemathesis.cli --config-file "$config" \
    run "$url/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --seed "$seed" --max-examples "$examples" --workers 1 --request-timeout 20 --generation-database none \
    --no-color "$@") || status=$?
[ "$status" -ne 124 ] || echo "fuzz-api: schemathesis ran past $limit s" >&2

if ! kill -0 "$server" 2>/dev/null || ! live; then
    echo "fuzz-api: the server is no longer alive and answering /v2/health/live" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "fuzz-api: failed; the end of the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
