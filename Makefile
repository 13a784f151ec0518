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

FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
CHAOS_RUNS ?= 3

.PHONY: help setup build dashboard models test demo bench clean fuzz fuzz-smoke chaos soak

help:
	@echo "make demo   - simulated bin on the sample photos, publishing to a local MQTT broker"
	@echo "make test   - build, generate test models, run all tests"
	@echo "make bench  - fp32 latency against ONNX Runtime (1 and 2 threads)"
	@echo "make build  - release build of smartbin"
	@echo "make dashboard - release build of smartbin-dashboard"
	@echo "make fuzz   - libFuzzer (-sanitize=fuzzer,address) on the JPEG, ONNX, compiled-model, config, cmd and outbox parsers, FUZZ_SECONDS each (60)"
	@echo "make fuzz-smoke - the same libFuzzer build, FUZZ_SMOKE_SECONDS (5) per target (the last step of make test)"
	@echo "make chaos  - the chaos test (2000 events, 10 broker restarts, 5 SIGKILLs) CHAOS_RUNS times (3) with fresh seeds"
	@echo "make soak   - 1,000,000 controller cycles with RSS sampling (make test runs 100,000)"

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
	@# Reliability step (~45 s): the chaos test (2000 events, 10 broker restarts, 5 SIGKILLs) and
	@# the 100,000-cycle soak, apart from the other suites so neither starves the other.
	SMARTBIN_HEAVY_TESTS=1 $(SWIFT) test --skip-build --no-parallel --filter 'ChaosTests|SoakTests'
	@# libFuzzer smoke run: the fuzz executables built (release, ASan) and run for a few seconds each.
	tools/fuzz.sh $(FUZZ_SMOKE_SECONDS)

demo: build models
	@tools/demo.sh

bench: build models
	$(PYTHON) tools/bench_vs_ort.py --model $(MODELS)/resnet50-v1.5-torch-1000.onnx --smartbin $(SMARTBIN) --threads 1 2 --iterations 20 --rounds 3

# Reliability extras (README, "Reliability and security"). `make test` already runs the chaos
# test at full size, the 100k-cycle soak (its second step) and the fuzz corpus/regression replay.
fuzz: setup
	tools/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: setup
	tools/fuzz.sh $(FUZZ_SMOKE_SECONDS)

chaos: build models
	@for i in $$(seq $(CHAOS_RUNS)); do SMARTBIN_HEAVY_TESTS=1 $(SWIFT) test --filter ChaosTests || exit 1; done

soak: models
	SMARTBIN_HEAVY_TESTS=1 SMARTBIN_SOAK_CYCLES=1000000 $(SWIFT) test --filter SoakTests

clean:
	rm -rf .build .build-fuzz out
