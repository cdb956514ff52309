# Shoal's two commands: `make run` serves the real model locally, `make test` runs every test.
SHELL := /bin/bash
SWIFT ?= swift
MODELS ?= .shoal/models
PORT ?= 8080
THREADS ?= $(shell nproc)

.PHONY: run test setup build bench models

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product shoal

# Links the installed all-MiniLM-L6-v2 into the models folder the server reads.
models: setup
	@mkdir -p $(MODELS)
	@ln -sfn "$$(scripts/model-path.sh)" $(MODELS)/all-MiniLM-L6-v2

run: build models
	.build/release/shoal bench engine --model $(MODELS)/all-MiniLM-L6-v2 --threads $(THREADS) --seconds 2
	.build/release/shoal serve --models $(MODELS) --port $(PORT) --threads $(THREADS)

bench: build models
	.build/release/shoal bench engine --model $(MODELS)/all-MiniLM-L6-v2 --threads $(THREADS)

test: setup
	$(SWIFT) test
