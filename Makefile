# lexconnector: the two commands a newcomer needs are `make run` and `make test`.
# Each installs what is missing (Debian packages with apt-get, Python test tools
# into .venv with pip) and then builds.

SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
# The tools (lexcall, lex-standin, wsecho, wsbench, floor-server, the benches) are a nested
# package that depends on this one by path: its own build directory is Tools/.build.
TOOLS := --package-path Tools
CONFIG ?= lexmo.conf.template
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENV := .venv
PY := $(VENV)/bin/python
CACHE := .cache

# Build-time libraries (headers + .so).
APT_BUILD := libwebrtc-audio-processing-dev libspeexdsp-dev libcurl4-openssl-dev \
             libssl-dev zlib1g-dev libnghttp2-dev libdeflate-dev pkg-config
# Extra tools the tests use.
APT_TEST := python3-venv espeak-ng sox openssl curl
# Python test tools (pinned).
PIP_TEST := kosoku==0.1.0

.PHONY: help deps deps-test sigv4-suite build build-release tools-release run test unit-test autobahn fuzz bench clean demo

help:
	@echo "make run    - install what is missing, build, start lexconnector with $(CONFIG)"
	@echo "make test   - install what is missing, build, run every test (unit, end-to-end, Autobahn)"
	@echo "make fuzz   - build and run the libFuzzer targets (FUZZ_SECONDS=60 each)"
	@echo "make bench  - run the benchmarks (see BENCHMARKS.md)"
	@echo "make demo   - one call through lexconnector to a Lex stand-in (no AWS account), printing the conversation"

# Installs the Debian packages in $(1) that are not installed yet.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(APT_BUILD))

deps-test: deps
	$(call apt_install,$(APT_TEST))
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check $(PIP_TEST)

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release

tools-release: deps
	$(SWIFT) build -c release $(TOOLS)

run: build-release
	$$($(SWIFT) build -c release --show-bin-path)/lexconnector --config $(CONFIG)

# The AWS SigV4 test suite ships in botocore's source distribution; fetched, never committed.
sigv4-suite: deps-test
	scripts/fixtures/fetch-sigv4-suite.sh $(CACHE)

unit-test: deps-test sigv4-suite
	$(SWIFT) build --build-tests
	SWIFT="$(SWIFT)" scripts/test/swift-test.sh
	$(SWIFT) build --build-tests $(TOOLS)
	SWIFT="$(SWIFT)" scripts/test/swift-test.sh $(TOOLS)

autobahn: deps-test tools-release
	scripts/test/autobahn.sh

test: unit-test autobahn nginx-e2e

fuzz: deps
	scripts/fuzz/run.sh

bench: deps-test build-release tools-release
	$(SWIFT) run -c release $(TOOLS) audio-bench
	scripts/fixtures/make-segmentation-fixtures.sh $(CACHE)/segmentation
	$(SWIFT) run -c release $(TOOLS) segmentation-bench $(CACHE)/segmentation
	$(SWIFT) run -c release $(TOOLS) lex-bench
	LEXCONNECTOR_BENCH=1 $(SWIFT) test -c release --filter HTTP2Benchmark
	scripts/bench/echo.sh
	WRITE=1 scripts/bench/capacity.sh

# One call with lexcall through lexconnector to the Lex stand-in inside lexcall.
demo: build-release tools-release
	scripts/demo/call.sh

clean:
	rm -rf .build .build-* Tools/.build $(CACHE) reports

# A real nginx (TLS, WebSocket upgrade, health checks) in front of the release server and
# a call through it to the Lex stand-in; then systemd-analyze on the systemd unit.
.PHONY: nginx-e2e
nginx-e2e: deps-test build-release tools-release
	$(call apt_install,nginx openssl curl systemd)
	BIN_DIR=$$($(SWIFT) build -c release --show-bin-path) \
	  TOOLS_BIN_DIR=$$($(SWIFT) build -c release $(TOOLS) --show-bin-path) scripts/test/nginx-e2e.sh
	BIN_DIR=$$($(SWIFT) build -c release --show-bin-path) scripts/test/verify-systemd.sh
