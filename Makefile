# Hexz developer tasks. `make help` lists them; each target's help text is the
# `## ...` comment on its line. Every target is idempotent and cheap to re-run.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Build outputs and tools live outside the clone so fresh clones reuse them.
HEXZ_CACHE ?= $(HOME)/.cache/hexz
export CARGO_TARGET_DIR ?= $(HEXZ_CACHE)/target
VENV ?= $(HEXZ_CACHE)/venv
STAMPS := $(HEXZ_CACHE)/stamps
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
endif

CARGO ?= cargo
# Respect a committed lock file; `make LOCKED= build` lets cargo update it.
LOCKED ?= $(if $(wildcard Cargo.lock),--locked)
# Plain `cargo test` by default (its "test result:" lines are what CI logs show).
NEXTEST ?= 0
HEXZ := $(CARGO_TARGET_DIR)/release/hexz
LOADER := crates/loader
# Cargo features of the Python package that `make develop` and `make python` build (the crate's
# defaults, as the seed's feature table says, leave encryption and signing out).
PY_FEATURES ?= full
export PY_FEATURES

# Debian packages: what building and testing needs (nginx-light: the HTTP Range server the
# hexz-store tests start on 127.0.0.1; squashfs-tools: the peer of the snapshot-fidelity test;
# time: GNU time, which measures the peak memory of the
# CLI on the hostile corpus), and the benchmark peers.
APT_BUILD := build-essential pkg-config nginx-light curl qemu-utils time squashfs-tools
APT_BENCH := squashfs-tools zstd lz4 qemu-utils e2fsprogs hyperfine time squashfuse b3sum wrk

# `make test-python test_reader`: extra goals become a pytest -k filter.
TARGETS := help setup setup-check build test test-rust test-python fmt lint \
           demo bench bench-loader bench-remote bench-fuse bench-crypto develop python clean clean-all apt-build venv \
           bench-ddp bench-thin fuzz
ifneq ($(filter test-python,$(MAKECMDGOALS)),)
PYTEST_FILTER := $(filter-out $(TARGETS),$(MAKECMDGOALS))
ifneq ($(PYTEST_FILTER),)
$(eval $(PYTEST_FILTER):;@:)
endif
endif
empty :=
space := $(empty) $(empty)
PYTEST_K := $(if $(PYTEST_FILTER),-k "$(subst $(space), or ,$(strip $(PYTEST_FILTER)))")

.PHONY: $(TARGETS)

help: ## Show this list
	@echo "Usage: make TARGET   (cargo target dir: $(CARGO_TARGET_DIR))"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

setup: apt-build venv ## One-time setup: apt packages, Python venv with dev tools
	@scripts/ensure-apt.sh $(APT_BENCH)
	@echo "setup done: venv at $(VENV) (activate with: . $(VENV)/bin/activate)"

apt-build: ## Install missing Debian packages needed to build and test
	@scripts/ensure-apt.sh $(APT_BUILD)

venv: ## Create the Python venv and install requirements-dev.txt (skipped when current)
	@scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)" requirements-dev.txt $(STAMPS)/venv

setup-check: ## Report which tools are present; fails if a required one is missing
	@VENV="$(VENV)" PYTHON="$(PYTHON)" CARGO="$(CARGO)" scripts/setup-check.sh $(APT_BENCH)

build: apt-build ## Build the release `hexz` binary
	$(CARGO) build --release -p hexz-cli $(LOCKED)
	@echo "built $(HEXZ)"

test: test-rust test-python ## Run all tests (Rust, fuzz targets build, Python)

test-rust: apt-build venv ## Run the Rust test suite and check that fuzz targets build (NEXTEST=1: use nextest)
	@export HEXZ_MOTO_SERVER="$${HEXZ_MOTO_SERVER:-$(VENV)/bin/moto_server}"; \
	if [ "$(NEXTEST)" = 1 ] && $(CARGO) nextest --version >/dev/null 2>&1; then \
	  set -x; \
	  $(CARGO) nextest run --workspace --release $(LOCKED) && \
	  $(CARGO) test --doc --workspace --release $(LOCKED); \
	else \
	  set -x; \
	  $(CARGO) test --workspace --release $(LOCKED); \
	fi
	@if [ -f fuzz/Cargo.toml ]; then \
	  echo "cargo check fuzz/"; \
	  $(CARGO) check --manifest-path fuzz/Cargo.toml $(if $(wildcard fuzz/Cargo.lock),--locked); \
	fi

test-python: apt-build ## Run Python tests; installs torch, tensorflow-cpu... first (`make test-python NAME` filters with -k)
	@$(MAKE) venv
	@scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)" $(LOADER)/requirements-test.txt $(STAMPS)/venv-test
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@rc=0; (set -x; $(VENV)/bin/python -m pytest $(LOADER)/tests $(PYTEST_K)) || rc=$$?; \
	if [ $$rc = 5 ]; then echo "test-python: no test matches '$(PYTEST_FILTER)'" >&2; fi; \
	[ $$rc != 0 ] || [ -n "$(PYTEST_K)" ] || (set -x; $(VENV)/bin/python -m pytest -q \
	  -p no:cacheprovider benchmarks/test_measure.py benchmarks/test_runs.py) || rc=$$?; \
	exit $$rc

fmt: ## Format Rust (and Python, once it exists)
	$(CARGO) fmt --all
	@if [ -d $(LOADER) ]; then $(MAKE) venv && $(VENV)/bin/ruff format $(LOADER); fi

lint: ## rustfmt --check, clippy -D warnings; ruff, ruff format --check, mypy --strict, stubtest
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets $(LOCKED) -- -D warnings
	@$(MAKE) venv
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	$(VENV)/bin/ruff check crates/loader/python/ $(LOADER)/tests
	$(VENV)/bin/ruff check --config $(LOADER)/pyproject.toml examples
	$(VENV)/bin/ruff format --check $(LOADER)/python $(LOADER)/tests
	$(VENV)/bin/ruff format --check --config $(LOADER)/pyproject.toml examples
	$(VENV)/bin/ruff check --config $(LOADER)/pyproject.toml benchmarks
	$(VENV)/bin/ruff format --check --config $(LOADER)/pyproject.toml benchmarks
	cd $(LOADER) && $(VENV)/bin/mypy
	cd $(LOADER) && $(VENV)/bin/python -m mypy.stubtest hexz._native

demo: build ## CLI on a real tree (Python stdlib), then train a PyTorch CNN streamed from an archive
	@HEXZ="$(HEXZ)" PYTHON="$(PYTHON)" scripts/demo.sh
	@scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)" scripts/requirements-demo.txt $(STAMPS)/venv-demo
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@echo; echo "==> scripts/demo_train.py (PyTorch on scikit-learn's digits, via hexz.Loader)"
	@$(VENV)/bin/python scripts/demo_train.py

bench: build ## Pack/read benchmark vs squashfs, tar+zstd/lz4, qcow2 (BENCH_SIZE_MB=100 for a quick run), then bench-loader
	@HEXZ="$(HEXZ)" PYTHON="$(PYTHON)" benchmarks/pack_read.sh
	@$(MAKE) bench-loader

bench-loader: ## Loader vs LitData, MDS, WebDataset, plain files: samples/s, CPU-s, PSS, shuffle quality (LOADER_BENCH_SAMPLES=20000: quick)
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@"$(PYTHON)" benchmarks/loader_bench.py

bench-ddp: apt-build ## Data-parallel loader: samples/s per rank under torchrun (gloo) vs one process (DDP_BENCH_ROUNDS=1: quick)
	@$(MAKE) venv
	@scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)" $(LOADER)/requirements-test.txt $(STAMPS)/venv-test
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@$(VENV)/bin/python benchmarks/ddp_bench.py

fuzz: ## Run each fuzz target with libFuzzer (nightly + cargo-fuzz) for FUZZ_SECONDS (default 60), growing and minimizing fuzz/corpus/
	@command -v cargo-fuzz >/dev/null || { echo "fuzz: needs cargo-fuzz (cargo install cargo-fuzz) and a nightly toolchain" >&2; exit 1; }
	@cd fuzz && export CARGO_TARGET_DIR="$(HEXZ_CACHE)/fuzz-target" && \
	for t in $$(cargo +nightly fuzz list); do \
	  mkdir -p corpus/$$t artifacts && \
	  if [ "$${t#open_read}" != "$$t" ] && [ -z "$$(ls corpus/$$t)" ]; then cp ../tests/fixtures/v1/*.hxz corpus/$$t/; fi; \
	  echo "fuzz: $$t for $(or $(FUZZ_SECONDS),60) s"; \
	  cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(or $(FUZZ_SECONDS),60) \
	    -max_len=200000 -print_final_stats=1 > artifacts/$$t.log 2>&1; rc=$$?; \
	  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' artifacts/$$t.log; \
	  [ $$rc = 0 ] || { tail -n 40 artifacts/$$t.log; exit 1; }; \
	  cargo +nightly fuzz cmin $$t corpus/$$t > artifacts/$$t-cmin.log 2>&1 || exit 1; \
	  echo "fuzz: $$t corpus: $$(ls corpus/$$t | wc -l) inputs"; \
	done

bench-remote: apt-build venv ## Remote reads: HTTP (nginx, hexz serve), S3 (moto), DataLoader from s3s-fs + 20 ms vs MDS/LitData (REMOTE_BENCH_MB=100: quick; ARGS=--record)
	$(CARGO) build --release -p hexz-cli -p hexz-faultproxy $(LOCKED)
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@HEXZ="$(HEXZ)" HEXZ_FAULTPROXY="$(CARGO_TARGET_DIR)/release/hexz-faultproxy" \
	  HEXZ_MOTO_SERVER="$(VENV)/bin/moto_server" "$(PYTHON)" benchmarks/remote_bench.py $(ARGS)

bench-fuse: build ## FUSE mount: hexz mount vs squashfuse and kernel squashfs; seq, tar, random 4K (root; FUSE_BENCH_RUNS=1: quick; ARGS=--record)
	@scripts/ensure-apt.sh squashfuse squashfs-tools
	@HEXZ="$(HEXZ)" "$(PYTHON)" benchmarks/fuse_bench.py $(ARGS)

bench-crypto: build ## Encryption: plain vs --encrypt pack, read, verify (vs b3sum), passphrase open (CRYPTO_BENCH_MB=100: quick)
	@scripts/ensure-apt.sh b3sum
	@HEXZ="$(HEXZ)" VENV="$(VENV)" "$(PYTHON)" benchmarks/crypto_bench.py

bench-thin: build ## Thin archives (--parent, fixed and CDC) vs restic, borg, qcow2 backing, zstd --patch-from on 3 version series (THIN_BENCH_QUICK=1: quick)
	@scripts/ensure-apt.sh restic borgbackup qemu-utils zstd e2fsprogs time
	@MAKE="$(MAKE)" scripts/ensure-develop.sh "$(VENV)" $(STAMPS)/develop
	@HEXZ="$(HEXZ)" VENV="$(VENV)" "$(PYTHON)" benchmarks/thin_bench.py

develop: apt-build ## Install the Python package into the venv, editable (PYTHON=python3.X picks the interpreter)
	@$(MAKE) venv
	cd $(LOADER) && VIRTUAL_ENV="$(VENV)" PATH="$(VENV)/bin:$$PATH" \
	  $(VENV)/bin/maturin develop --release --features $(PY_FEATURES)

python: ## Build the wheel users install into target/wheels/: abi3, manylinux2014 (zig), stripped, with the hexz command (WHEEL_FEATURES=full: every feature)
	@if [ ! -d $(LOADER) ]; then \
	  echo "python: no Python package here ($(LOADER) is missing)"; \
	else \
	  $(MAKE) venv && rm -f "$(CURDIR)"/target/wheels/hexz-*.whl && \
	  cd $(LOADER) && PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/maturin build --profile wheel --zig \
	    --compatibility manylinux2014 $(if $(WHEEL_FEATURES),--features $(WHEEL_FEATURES)) \
	    --out "$(CURDIR)/target/wheels" && \
	  ls -l "$(CURDIR)"/target/wheels/*.whl; \
	fi

sdist: venv ## Build the source distribution (pip install hexz-*.tar.gz builds it with cargo) into target/wheels/
	rm -f "$(CURDIR)"/target/wheels/hexz-*.tar.gz
	cd $(LOADER) && $(VENV)/bin/maturin sdist --out "$(CURDIR)/target/wheels"

test-wheel: python sdist ## Check the wheel as a user meets it: manylinux2014 tag, size budget, fresh venv with [torch], the hexz command, the README example; and that the sdist builds
	scripts/check-wheel.sh "$(VENV)/bin/python" "$$(ls -t target/wheels/hexz-*.whl | head -1)" \
	  "$$(ls -t target/wheels/hexz-*.tar.gz | head -1)"

clean: ## Remove this workspace's build outputs (dependencies stay cached) and bench-out/
	-$(CARGO) clean -p hexz-format -p hexz-core -p hexz-cli
	rm -rf bench-out target/wheels

clean-all: ## Remove all of ~/.cache/hexz (HEXZ_CACHE): target dir, venv, stamps, bench data
	rm -rf "$(HEXZ_CACHE)" bench-out target/wheels
