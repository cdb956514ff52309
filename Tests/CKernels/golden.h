// The golden check of kernel_test: the all-MiniLM-L6-v2 forward pass on the kernels against the
// embeddings of the public fixture.
#ifndef SHOAL_KERNEL_TEST_GOLDEN_H
#define SHOAL_KERNEL_TEST_GOLDEN_H

/// Embeds every item of the fixture (fields items[].input_ids and items[].embedding) as one batch with
/// the BERT model in model_dir (config.json, model.safetensors in float32) on a pool of `threads`, mean
/// pooling and L2 normalisation; prints one line per item; returns 0 when every item is within
/// max |Δ| ≤ 1e-4 and cosine ≥ 0.99999, 1 when one is not, 2 when an input cannot be read.
int golden_check(const char *model_dir, const char *fixture_path, int threads, const char *level);

#endif
