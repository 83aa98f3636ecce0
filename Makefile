# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Each installs what it needs first (tools/setup.sh), idempotently.

SOURCES := $(shell find src crates/core/src crates/host js -type f) Cargo.toml crates/core/Cargo.toml crates/host/Cargo.toml Cargo.lock \
  rust-toolchain.toml pkg.json.template tools/build-pkg.sh tools/short-names.mjs
BACKEND ?= otlp

.PHONY: setup pkg pkg-plain demo test test-rust test-node lint bench soak clean

setup:
	@tools/setup.sh

pkg: setup pkg/package.json

pkg/package.json: $(SOURCES)
	@tools/build-pkg.sh

# The package without post-link steps, which tests/postlink_diff.test.mjs compares pkg/
# with. After pkg/: both builds go through the one cargo output.
pkg-plain: setup target/pkg-plain/package.json

target/pkg-plain/package.json: $(SOURCES) | pkg/package.json
	@POSTLINK=0 PKG_DIR=target/pkg-plain tools/build-pkg.sh

demo: pkg
	@BACKEND=$(BACKEND) node tools/demo.mjs

lint:
	cargo fmt --all -- --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo clippy --quiet --package automagik-telemetry-core --no-default-features --all-targets -- -D warnings
	cargo clippy --quiet --package automagik-telemetry-core --all-features --all-targets -- -D warnings
	cargo clippy --quiet --package automagik-telemetry-npm --lib --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --quiet --package automagik-telemetry-npm --lib --target wasm32-unknown-unknown --features clickhouse -- -D warnings
	cargo clippy --quiet --package automagik-telemetry --target wasm32-unknown-unknown --all-features -- -D warnings
	cargo clippy --quiet --package automagik-telemetry --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --quiet --package automagik-telemetry-host --target wasm32-unknown-unknown -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --package automagik-telemetry --no-deps --all-features

test-rust:
	cargo test --quiet --workspace
	cargo test --quiet --package automagik-telemetry-core --no-default-features --lib
	cargo test --quiet --package automagik-telemetry-core --features timed-spans --lib
	cargo test --quiet --package automagik-telemetry --all-features

test-node: pkg pkg-plain
	node --test --test-concurrency=1 tests/

test: setup lint test-rust test-node

bench: pkg
	@tools/bench-setup.sh
	@OURS_ENTRY=$(CURDIR)/pkg/node.js OURS_PKG=$(CURDIR)/pkg node bench/run.mjs
	@tools/rust-crate-size.sh

# About a minute of mixed traffic with injected faults (SOAK_SECONDS to change it).
soak: pkg
	node tests/soak.mjs

clean:
	rm -rf pkg target node_modules .venv bench/node_modules tests/deno-lts/node_modules
