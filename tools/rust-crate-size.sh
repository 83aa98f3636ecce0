#!/bin/sh
# What the automagik-telemetry crate adds to a wasm32 app (issue 16): tests/rust-app built
# as an app that tracks one event (feature one-event) and as one that tracks nothing
# (feature no-telemetry), each through wasm-bindgen; prints gzip -9 sizes and the
# difference. Goal: at most 35 KB.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/rust-crate-size"
mkdir -p "$out"
for variant in no-telemetry one-event; do
  CARGO_TARGET_DIR="$root/target/rust-crate-size/cargo" cargo build --quiet --release \
    --target wasm32-unknown-unknown --manifest-path "$root/tests/rust-app/Cargo.toml" --features "$variant"
  wasm-bindgen --target web --out-dir "$out/$variant" \
    "$root/target/rust-crate-size/cargo/wasm32-unknown-unknown/release/rust_app.wasm"
done
none=$(gzip -9c "$out/no-telemetry/rust_app_bg.wasm" | wc -c)
one=$(gzip -9c "$out/one-event/rust_app_bg.wasm" | wc -c)
echo "rust crate: app tracking nothing ${none} B, app tracking one event ${one} B (gzip -9 wasm): the crate adds $((one - none)) B"
# As app toolchains ship it (trunk and cargo-leptos run wasm-opt): the same two through
# wasm-opt -Oz, where binaryen is at hand (the npm package's dev dependency).
opt="$root/node_modules/.bin/wasm-opt"
if [ -x "$opt" ]; then
  for variant in no-telemetry one-event; do
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      "$out/$variant/rust_app_bg.wasm" -o "$out/$variant/opt.wasm"
  done
  none=$(gzip -9c "$out/no-telemetry/opt.wasm" | wc -c)
  one=$(gzip -9c "$out/one-event/opt.wasm" | wc -c)
  echo "rust crate after wasm-opt -Oz: nothing ${none} B, one event ${one} B: the crate adds $((one - none)) B"
fi
