# Vigil — the two set-up commands are `make run` and `make test`.
# Every install step below is idempotent: it is skipped when already satisfied.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate exactly (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

# Project-local tools (wasm-opt from npm's binaryen) come first on PATH; Debian's sbin
# (haproxy) last, as an ordinary user's PATH lacks it.
# Tools `cargo install` puts in CARGO_HOME (~/.cargo by default) are found there.
export PATH := $(CURDIR)/node_modules/.bin:$(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH):/usr/sbin:/sbin

# Plain cargo commands use the same flags and compile-time variables as cargo-leptos's
# debug build, so tests reuse its artifacts instead of rebuilding the dependency tree.
CARGO_ENV := LEPTOS_OUTPUT_NAME=vigil RUSTFLAGS="--cfg erase_components"

DEMO_USER := demo
DEMO_PASSWORD := vigil-demo-password
SITE_ADDR := 127.0.0.1:3000

.PHONY: help tools rust-tools wasm-target cargo-leptos wasm-bindgen node-tools chromium wrk oha lighthouse \
        stores cargo-fuzz schemathesis build run run-cluster test test-core test-server test-shared \
        test-fuzz test-api test-e2e check-model \
        fuzz soak lint fmt size release dist test-dist \
        bench bench-browser

help:
	@echo "make run    - install what is missing, build, serve on http://$(SITE_ADDR) (SQLite under data/)"
	@echo "make run-cluster - the same behind haproxy: three instances on Redis and Postgres"
	@echo "make test   - install what is missing, then lint and run every test: core, server, end-to-end"
	@echo "make test-core | test-server | test-shared | test-fuzz | test-api | test-e2e | lint | size | bench | bench-browser"
	@echo "make dist   - target/dist/vigil-<version>-<target>.tar.gz: binary, site, settings, systemd unit (test-dist checks it)"
	@echo "make fuzz   - every fuzz target for FUZZ_SECONDS (300) each, then executions and findings"
	@echo "make check-model - MODEL_HISTORIES random histories per topology checked against the session model"
	@echo "make soak   - SOAK_USERS people for SOAK_SECONDS against three instances while faults are injected"

## ---- installs ---------------------------------------------------------------

tools: rust-tools node-tools chromium stores cargo-fuzz schemathesis

rust-tools: wasm-target cargo-leptos wasm-bindgen

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown

# Its own release profile (fat LTO, one codegen unit) makes this the longest install on a
# fresh machine; a build tool does not need it. It mostly waits on cargo and rustc, so it
# is built unoptimised, without LTO, in parallel codegen units: on 2 cores opt-level 1 took
# 19 of an empty-CARGO_HOME make test's 48 minutes.
cargo-leptos:
	@cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$" \
	  || CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
	    cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked

# Not --locked: the CLI's own lock file names a crate version the registry lacks.
wasm-bindgen:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)

node-tools: node_modules/.installed end2end/node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Playwright drives Debian's Chromium; it never downloads a browser of its own.
end2end/node_modules/.installed: end2end/package.json end2end/package-lock.json
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core; }

# Redis, Postgres and haproxy from Debian's packages; tests start private instances of them.
stores:
	@{ command -v redis-server && command -v haproxy && ls /usr/lib/postgresql/*/bin/initdb; } \
	  >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends \
	    redis-server redis-tools postgresql haproxy; }

# Lighthouse (npm), for `make size` only: its own folder, so `make test` never installs it.
lighthouse: end2end/lighthouse/node_modules/.installed

end2end/lighthouse/node_modules/.installed: end2end/lighthouse/package.json end2end/lighthouse/package-lock.json
	cd end2end/lighthouse && npm ci --no-audit --no-fund
	@touch $@

# Schemathesis (PyPI) in a project-local virtual environment, pinned with everything it needs.
schemathesis: .venv/.installed

.venv/.installed: server/tests/schemathesis/requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# Coverage-guided fuzzing of the core's parsers (stable toolchain, no sanitizer).
CARGO_FUZZ_VERSION := 0.13.2
cargo-fuzz:
	@cargo fuzz --version 2>/dev/null | grep -q " $(CARGO_FUZZ_VERSION)$$" \
	  || cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked

# A constant-rate load generator (the latency a steady load sees), for `make bench` only.
OHA_VERSION := 1.16.0
oha:
	@oha --version 2>/dev/null | grep -q " $(OHA_VERSION)$$" \
	  || cargo install oha --version $(OHA_VERSION) --locked

wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends wrk curl; }

## ---- build and run ----------------------------------------------------------

# Every build splits the wasm: each page but sign-in is a lazy route, its own wasm chunk
# (app/src/lib.rs, feature `split`), so the tests run what ships.
SPLIT = --split --features split

build: rust-tools node-tools
	cargo leptos build $(SPLIT)

run: build
	@printf '%s' '$(DEMO_PASSWORD)' | target/debug/server user add $(DEMO_USER) \
	  --display-name "Demo User" --password-stdin --update >/dev/null
	@echo
	@echo "  Vigil is starting on http://$(SITE_ADDR)"
	@echo "  Sign in as:  username $(DEMO_USER)   password $(DEMO_PASSWORD)"
	@echo "  (passkeys work at http://localhost:$(lastword $(subst :, ,$(SITE_ADDR))), the default VIGIL_PUBLIC_URL)"
	@echo "  (idle timeout $${VIGIL_IDLE_TIMEOUT:-30m}, warning $${VIGIL_WARNING_BEFORE:-5m} before; Ctrl-C stops)"
	@echo
	cargo leptos serve $(SPLIT)

# Three instances behind haproxy on Redis and Postgres (docs/operations.md, several instances).
run-cluster: build stores
	deploy/cluster.sh run

# Built only when a source changed since the last release build or the site beside it is
# another build's (a debug build writes the same target/site): cargo-leptos itself would run
# wasm-bindgen and `wasm-opt --converge` again every time (deploy/release-current.sh).
release: rust-tools node-tools
	@if deploy/release-current.sh; then echo "release: target/release and target/site are up to date"; \
	  else deploy/release-current.sh --begin && cargo leptos build --release $(SPLIT) \
	    && node end2end/bench/size.mjs target/site/pkg >/dev/null \
	    && deploy/release-current.sh --record; fi

# target/dist/vigil-<version>-<target>.tar.gz: the release binary, its site, example settings,
# a hardened systemd unit and the operations guide (docs/operations.md, The release).
dist: release
	deploy/dist.sh release

# The release archive unpacked elsewhere and started with only its example settings: every
# file of /login answers and the page hydrates (make test runs the same on the debug build).
test-dist: release node-tools chromium
	cd end2end && VIGIL_DIST_PROFILE=release VIGIL_E2E_ONLY=dist npx playwright test --project=dist

# Bytes shipped to the browser: raw, gzip -9 and Brotli 11 for each wasm, JS and CSS file of
# the release build (the server sends the compressed files it finds beside them), then what
# Chromium transfers for the first load of /login and of the workspace (cache disabled),
# and Lighthouse's scores for both pages (mobile preset, the median of three runs each).
size: release node-tools chromium lighthouse
	node end2end/bench/size.mjs target/site/pkg
	cd end2end && node bench/transfer.mjs
	cd end2end && node bench/lighthouse.mjs

## ---- tests ------------------------------------------------------------------

test: tools lint test-core test-server test-shared test-fuzz test-api test-e2e

test-core:
	$(CARGO_ENV) cargo test -p vigil --features token

test-server:
	$(CARGO_ENV) cargo test -p server -p app

# The API suite again with the stores several instances share: sessions and limits in
# Redis, the rest in Postgres; then once more with a three-node Redis Cluster. Private
# instances on their own ports, stopped however the tests end.
test-shared: stores
	@export VIGIL_SERVICES_REDIS_CLUSTER=1; trap 'deploy/services.sh stop' EXIT; \
	  eval "$$(deploy/services.sh start | sed 's/^/export /')" && \
	  echo "== Redis and Postgres" && $(CARGO_ENV) cargo test -p server --test api && \
	  echo "== Redis Cluster (three nodes) and Postgres" && \
	  VIGIL_TEST_REDIS="$$VIGIL_TEST_REDIS_CLUSTER" $(CARGO_ENV) cargo test -p server --test api

# The session authority's model checker, long: MODEL_HISTORIES (default 1000) random
# histories per topology against real servers (make test runs 200 in each pass).
check-model:
	MODEL_HISTORIES=$${MODEL_HISTORIES:-1000} $(CARGO_ENV) cargo test -p server --test api histories

# Schemathesis against a fresh server from its own OpenAPI document: every phase and check,
# signed in with a bearer token and again with the session cookie; ST_EXAMPLES per operation
# and phase (25 in `make test`).
test-api: build schemathesis
	server/tests/schemathesis/run.sh $${ST_EXAMPLES:-25}

# Every fuzz target for a short while (FUZZ_SECONDS each, default 15): part of `make test`.
# `make fuzz` is the long run (default 300 s each), its corpus kept in target/fuzz.
test-fuzz: cargo-fuzz
	fuzz/run.sh $${FUZZ_SECONDS:-15}

fuzz: cargo-fuzz
	fuzz/run.sh $${FUZZ_SECONDS:-300}

# The cluster project starts deploy/cluster.sh; whatever way Playwright ends, it is stopped.
test-e2e: build node-tools chromium stores
	@cd end2end && npx playwright test; status=$$?; cd .. && \
	  VIGIL_CLUSTER_PORT=3200 VIGIL_CLUSTER_DIR=$(CURDIR)/end2end/.cluster-data \
	  deploy/cluster.sh stop; exit $$status

lint:
	cargo fmt --all --check
	cargo fmt --check --manifest-path bench/peers/Cargo.toml
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	$(CARGO_ENV) cargo clippy -p vigil -p app -p server -p server-benches --all-targets -- -D warnings
	$(CARGO_ENV) cargo clippy -p frontend -p app --target wasm32-unknown-unknown \
	  --target-dir target/front -- -D warnings
	$(CARGO_ENV) cargo clippy -p frontend --features split --target wasm32-unknown-unknown \
	  --target-dir target/front -- -D warnings
	$(CARGO_ENV) cargo clippy -p server --features split -- -D warnings
	cargo clippy --manifest-path fuzz/Cargo.toml --target-dir target/fuzz --all-targets -- -D warnings
	# make bench and make soak build the peers with --locked: a dependency added to the core
	# without their lock file following would stop both, and no test builds them.
	cargo fetch --locked --manifest-path bench/peers/Cargo.toml

fmt:
	cargo fmt --all
	cargo fmt --manifest-path bench/peers/Cargo.toml
	cargo fmt --manifest-path fuzz/Cargo.toml

## ---- figures ----------------------------------------------------------------

# Main-thread script time for 10,000 mouse moves and timer wake-ups in an idle minute,
# measured in Chromium through the DevTools Protocol.
bench-browser: release node-tools chromium
	cd end2end && node bench/browser.mjs

# Throughput and latency of the release server (wrk on loopback) on SQLite and on Redis +
# Postgres beside the peers people would otherwise pick (bench/peers, its own workspace in
# the one target directory), latency at a steady rate (oha and bench/peers' steady), then
# store writes per active session (in-process, manual clock), then session lookup latency
# with 1,000 and 1,000,000 stored sessions in each store, then how soon an ending reaches
# 1, 10 and 100 open streams across three instances and what 1,000 idle streams cost one
# (bench/endings.sh).
# The soak with faults: SOAK_USERS (1000) people for SOAK_SECONDS (600) against three release
# instances behind haproxy while an instance, Redis and Postgres are restarted (bench/soak.sh).
soak: release stores
	cargo build --release --locked --manifest-path bench/peers/Cargo.toml --target-dir target
	bench/soak.sh

# The benches (bench/server, a package of their own so that building them never builds the
# server binary) use the release's flags and features (cargo-leptos builds the server with
# `--cfg erase_components` and `split`), so cargo reuses the release's dependency tree.
BENCH_FEATURES := --features split

bench: release wrk oha stores
	cargo build --release --locked --manifest-path bench/peers/Cargo.toml --target-dir target
	bench/http.sh
	$(CARGO_ENV) cargo bench -q -p server-benches $(BENCH_FEATURES) --bench store_writes
	@trap 'VIGIL_SERVICES_DIR=$(CURDIR)/target/bench-stores deploy/services.sh stop' EXIT; \
	  eval "$$(VIGIL_SERVICES_DIR=$(CURDIR)/target/bench-stores VIGIL_SERVICES_PG_PORT=54349 \
	    VIGIL_SERVICES_REDIS_PORT=63819 deploy/services.sh start | sed 's/^/export /')" && \
	  VIGIL_BENCH_POSTGRES="$$VIGIL_TEST_POSTGRES" $(CARGO_ENV) \
	    cargo bench -q -p server-benches $(BENCH_FEATURES) --bench session_lookup
	bench/endings.sh
	@deploy/release-current.sh || { echo "make bench changed the release build" >&2; exit 1; }
	$(MAKE) --no-print-directory test-dist
