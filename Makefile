# Uplink's two everyday commands, `make run` and `make test`, install what they need on a
# fresh Debian machine with rustup and node/npm, and skip whatever is already there.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO_LEPTOS_VERSION := 0.3.10
# Must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)

.PHONY: run test test-rust test-e2e test-release release-site bench bench-load bench-quick bench-extraction release site tools wasm-target cargo-leptos wasm-bindgen npm chromium poppler clean-data

## Serve the app on http://127.0.0.1:3000 with its data in ./data.
run: tools
	UPLINK_DATA_DIR=$${UPLINK_DATA_DIR:-./data} cargo leptos serve

## Every test: Rust (unit, router, real listener) then Playwright in headless Chromium.
test: tools chromium test-rust test-e2e

test-rust:
	cargo test --workspace --locked

## The debug site: bundle, styles and its server. The server must be cargo-leptos's own
## build: a debug binary built by plain cargo renders pages this bundle cannot hydrate.
site: tools
	cargo leptos build

## Playwright: every spec against the debug build.
test-e2e: npm chromium site
	cd end2end && tsc -p . && npx playwright test

## The build to deploy (`make release`), tested: its dashboard hydrates and follows an
## upload to done. Apart from `make test`, whose time it would nearly double (a release
## build of the server and of the WASM bundle); `make bench` runs it before measuring.
test-release: npm chromium release-site
	cd end2end && tsc -p . && npx playwright test --config playwright.release.config.ts

## Every benchmark, release build: the load tool's four sections (SSE fan-out, idle
## cost, ingest against dd, a PDF end to end; see README "Performance"), then PDF
## extraction against poppler's pdftotext.
bench: bench-load bench-extraction

## The load tool alone; ARGS passes options, e.g. ARGS='fanout --subscribers 20000'
## or ARGS='--url http://127.0.0.1:3000' for a server already running.
bench-load: test-release release
	cargo run --release --locked -q -p bench -- $(ARGS)

## Smaller figures for checking a change: under a minute once built.
bench-quick: release
	cargo run --release --locked -q -p bench -- --quick $(ARGS)

## The build to deploy, offline, and the load tool. Run the server from the workspace
## root: target/release/uplink.
release: release-site
	cargo build --release --locked -p bench

## The release server and its size-optimised WASM bundle in target/site (wasm-opt is npm's
## binaryen on PATH, so cargo-leptos downloads nothing).
release-site: tools
	cargo leptos build --release

## PDF extraction on the corpus against poppler's pdftotext (correctness per file,
## then pages per second as a ratio).
bench-extraction: poppler
	cargo bench --locked -p server --features compare-engines --bench extraction

tools: wasm-target cargo-leptos wasm-bindgen npm

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown

cargo-leptos:
	@cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" \
	  || cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked

# Without --locked: its lockfile pins a crate version the registry no longer serves.
wasm-bindgen:
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)

npm: end2end/node_modules/.install-stamp

end2end/node_modules/.install-stamp: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium; Playwright never downloads a browser of its own.
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }

# Debian's poppler-utils: pdftotext, the reference the benchmark measures against.
poppler:
	@command -v pdftotext >/dev/null || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends poppler-utils; }

clean-data:
	rm -rf data end2end/.data
