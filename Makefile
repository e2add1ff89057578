# Uplink's two everyday commands, `make run` and `make test`, install what they need on a
# fresh Debian machine with rustup and node/npm, and skip whatever is already there.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO_LEPTOS_VERSION := 0.3.10
# Must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)

.PHONY: run test test-rust test-e2e test-release release-site bench bench-load bench-quick bench-extraction release site tools wasm-target cargo-leptos wasm-bindgen npm chromium processing-tools postgresql nginx moto clean-data

## Serve the app on http://127.0.0.1:3000 with its data in ./data.
run: tools processing-tools
	UPLINK_DATA_DIR=$${UPLINK_DATA_DIR:-./data} cargo leptos serve

## Every test: Rust (unit, router, real listener) then Playwright in headless Chromium.
## The Rust tests of several nodes get a throwaway PostgreSQL cluster and moto's S3
## server from scripts/with-services, or use those UPLINK_TEST_DATABASE_URL and
## UPLINK_TEST_S3_ENDPOINT name.
test: tools chromium processing-tools postgresql nginx moto test-rust test-e2e

test-rust: postgresql nginx moto
	scripts/with-services cargo test --workspace --locked

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

## Every benchmark, release build: the load tool's seven sections (SSE fan-out, idle
## cost, ingest against dd, a PDF end to end, slow headers, tus ingest against dd and
## @tus/server, and one node against several on PostgreSQL and S3 behind nginx, with the
## services of scripts/with-services; see README "Performance"), then PDF extraction
## against poppler's pdftotext.
bench: bench-load bench-extraction

## The load tool alone; ARGS passes options, e.g. ARGS='fanout --subscribers 20000'
## or ARGS='--url http://127.0.0.1:3000' for a server already running.
bench-load: test-release release target/bench/tus-node/.stamp postgresql nginx moto
	scripts/with-services cargo run --release --locked -q -p bench -- $(ARGS)

## Smaller figures for checking a change: under a minute once built.
bench-quick: release target/bench/tus-node/.stamp postgresql nginx moto
	scripts/with-services cargo run --release --locked -q -p bench -- --quick $(ARGS)

## tus's Node.js reference server, from npm, for the tus section to compare with: in the
## bench's own folder under target/, never in the repository.
target/bench/tus-node/.stamp: bench/tus-node/server.mjs bench/tus-node/package.json
	mkdir -p target/bench/tus-node
	cp bench/tus-node/server.mjs bench/tus-node/package.json target/bench/tus-node/
	cd target/bench/tus-node && npm install --no-audit --no-fund --no-package-lock
	touch $@

## The build to deploy, offline, and the load tool. Run the server from the workspace
## root: target/release/uplink.
release: release-site
	cargo build --release --locked -p bench

## The release server and its size-optimised WASM bundle in target/site (wasm-opt is npm's
## binaryen on PATH, so cargo-leptos downloads nothing).
release-site: tools
	cargo leptos build --release

## PDF extraction against poppler's pdftotext, word by word and in pages per second: on
## the corpus in the repository, then on the PDF manuals of three of Debian's TeX Live
## packages (about 2,850 pages, fetched once with apt-get download into target/).
bench-extraction: processing-tools target/manuals/.stamp
	cargo bench --locked -p server --bench extraction -- $(CURDIR)/target/manuals

MANUAL_PACKAGES := texlive-fonts-recommended-doc texlive-xetex texlive-luatex

target/manuals/.stamp:
	rm -rf target/manuals && mkdir -p target/manuals/debs
	cd target/manuals/debs && apt-get download $(MANUAL_PACKAGES)
	for deb in target/manuals/debs/*.deb; do dpkg-deb -x "$$deb" target/manuals/unpacked; done
	find target/manuals/unpacked -name '*.pdf' -exec mv -t target/manuals {} + 2>/dev/null || true
	rm -rf target/manuals/debs target/manuals/unpacked
	touch $@

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

# What the server runs, confined, to process files: poppler's utilities (the text of
# PDFs, and pages drawn for OCR) with poppler-data's encodings for CJK fonts, the
# standard PostScript fonts for PDFs that do not embed theirs, and Tesseract with English
# (UPLINK_OCR_LANGS names more; each is tesseract-ocr-<lang>).
PROCESSING_PACKAGES := poppler-utils poppler-data fonts-urw-base35 tesseract-ocr tesseract-ocr-eng

processing-tools:
	@dpkg -s $(PROCESSING_PACKAGES) >/dev/null 2>&1 || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(PROCESSING_PACKAGES); }

# PostgreSQL's server, for the tests of several nodes: scripts/with-services runs its
# initdb and pg_ctl as the package's `postgres` user, in a temporary directory.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends postgresql; }

# nginx in front of several nodes, for the tests that run deploy/nginx.conf (started by
# the tests themselves, in a temporary directory; the package's own service stays off).
nginx:
	@test -x /usr/sbin/nginx || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends nginx-light; }

# moto's S3 server, from PyPI, in a virtual environment in the project's ignored
# .services/ (Debian's python3-venv makes it): what the tests of S3 storage run against.
MOTO_VERSION := 5.2.1
moto: .services/moto/.stamp

.services/moto/.stamp:
	@/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends python3-venv; }
	/usr/bin/python3 -m venv .services/moto
	.services/moto/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

clean-data:
	rm -rf data end2end/.data
