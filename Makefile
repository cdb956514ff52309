# Shoal's two commands: `make run` serves the real model locally, `make test` runs every test.
# `make serve` serves the model folder directly (no store, no gateway); `make bench` benchmarks the engine.
SHELL := /bin/bash
SWIFT ?= swift
MODELS ?= .shoal/models
PORT ?= 8080
THREADS ?= $(shell nproc)

.PHONY: run serve test setup build bench models

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product shoal

# Links the installed all-MiniLM-L6-v2 into the models folder the server reads.
models: setup
	@mkdir -p $(MODELS)
	@ln -sfn "$$(scripts/model-path.sh)" $(MODELS)/all-MiniLM-L6-v2

# Imports the model into .shoal/store, packs it, deploys it behind the gateway on :8000, benchmarks it for
# 5 s and serves until Ctrl-C.
run: build
	.build/release/shoal run --duration 5

serve: build models
	.build/release/shoal serve --models $(MODELS) --port $(PORT) --threads $(THREADS)

bench: build models
	.build/release/shoal bench engine --model $(MODELS)/all-MiniLM-L6-v2 --threads $(THREADS)

# The whole suite, then again on every fallback path this CPU has, then the C kernels (aarch64 under qemu).
test: setup
	SWIFT=$(SWIFT) scripts/test.sh
