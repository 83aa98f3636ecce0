#!/usr/bin/env bash
# Installs what building and testing need, idempotently and quickly on a second run:
# the wasm32 target, the wasm-bindgen CLI matching the crate's pinned version, npm build
# tools (binaryen's wasm-opt), test tools (bundlers, TypeScript, playwright-core, the edge
# runtimes: workerd via miniflare, deno, Deno 2.5 LTS, bun), the Python venv of the test
# receiver, Debian's chromium for the browser tests and script(1) for a terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m== %s\033[0m\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "cargo install wasm-bindgen-cli $want (one-off, a few minutes)"
  cargo install wasm-bindgen-cli --version "$want"
fi

missing=$(for f in wasm-opt miniflare esbuild deno bun; do [ -x "node_modules/.bin/$f" ] || echo "$f"; done)
if [ -n "$missing" ] || [ package-lock.json -nt node_modules/.stamp ]; then
  step "npm ci (build and test tools)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.stamp
fi

# Deno 2.5 LTS (for linux-x64, its only platform package on the registry), in a tree of
# its own: the Deno entry's fallback for Deno without source-phase wasm imports.
lts=tests/deno-lts
if [ "$lts/package.json" -nt "$lts/node_modules/.stamp" ] || [ "$lts/package-lock.json" -nt "$lts/node_modules/.stamp" ]; then
  step "npm ci (Deno 2.5 LTS)"
  npm ci --prefix "$lts" --no-audit --no-fund --loglevel=error
  touch "$lts/node_modules/.stamp"
fi

if [ ! -x .venv/bin/python ] || [ tests/support/requirements.txt -nt .venv/.stamp ]; then
  step "python venv for the OTLP test receiver"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/support/requirements.txt
  touch .venv/.stamp
fi

# Browser tests drive Debian's chromium (never a browser downloaded by playwright).
if [ ! -x /usr/bin/chromium ]; then
  step "apt-get install chromium (browser tests)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation
fi

# The Deno prompt test runs deno on a terminal made by script(1).
if ! command -v script >/dev/null; then
  step "apt-get install bsdutils (script(1), Deno prompt test)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bsdutils
fi
