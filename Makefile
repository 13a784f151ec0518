# SmartBin — build, test, demo and benchmarks. `make help` lists the targets.
#
# Quick start (README): `make demo` runs the simulated bin against a local broker;
# `make test` runs every test. Both install what is missing first (tools/setup.sh).

PYTHON ?= python3
SWIFT ?= swift
MODELS ?= out/models
SMARTBIN := .build/release/smartbin
export PYTHON
export SMARTBIN_TEST_MODELS := $(abspath $(MODELS))
export SMARTBIN_BINARY := $(abspath $(SMARTBIN))

.PHONY: help setup build dashboard models test demo bench clean

help:
	@echo "make demo   - simulated bin on the sample photos, publishing to a local MQTT broker"
	@echo "make test   - build, generate test models, run all tests"
	@echo "make bench  - fp32 latency against ONNX Runtime (1 and 2 threads)"
	@echo "make build  - release build of smartbin"
	@echo "make dashboard - release build of smartbin-dashboard"

setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build -c release --product smartbin

dashboard: setup
	$(SWIFT) build -c release --product smartbin-dashboard

models: setup
	@tools/make_test_models.sh $(MODELS)

test: build models
	$(SWIFT) test --no-parallel

demo: build models
	@tools/demo.sh

bench: build models
	$(PYTHON) tools/bench_vs_ort.py --model $(MODELS)/resnet50-v1.5-torch-1000.onnx --smartbin $(SMARTBIN) --threads 1 2 --iterations 20 --rounds 3

clean:
	rm -rf .build out
