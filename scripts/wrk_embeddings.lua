-- wrk script: POST /v1/embeddings with one short sentence per request, cycling through a few sentences.
-- Model name from SHOAL_MODEL (default "minilm").
-- Usage: wrk -t1 -c32 -d20s --latency -s scripts/wrk_embeddings.lua http://127.0.0.1:8080

local model = os.getenv("SHOAL_MODEL") or "minilm"
local sentences = {
  "The quick brown fox jumps over the lazy dog.",
  "A man is playing a guitar on stage.",
  "Shoal serves many small models on few machines.",
  "What is the capital of France?",
  "The weather is lovely today.",
  "I would like to cancel my subscription, please.",
  "Embeddings map sentences to vectors.",
  "This movie was surprisingly good.",
}
local bodies = {}
for i, text in ipairs(sentences) do
  bodies[i] = string.format('{"model":"%s","input":"%s"}', model, text)
end

local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/embeddings", { ["Content-Type"] = "application/json" }, bodies[(counter % #bodies) + 1])
end

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.1f  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  non-200 %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status))
end
