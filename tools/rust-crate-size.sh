#!/bin/sh
# What the automagik-telemetry crate adds to a wasm32 app (issue 16): tests/rust-app built
# as an app that tracks one event (feature one-event) and as one that tracks nothing
# (feature no-telemetry), each through wasm-bindgen; prints gzip -9 sizes and the
# difference. Goal: at most 35 KB.
#
# The JS the crate brings counts too, as a web app pays it: wasm-bindgen's glue and the
# snippets (the shared JS host, crates/host/js), each minified (esbuild) and gzip -9, as trunk and
# cargo-leptos serve them: one file each.
#
# Two baselines. The strict one is an app that does nothing else: every byte of std's
# formatting and panic machinery the crate reaches counts against the crate. The
# realistic one (feature formats) is the same pair of apps that also format a label and
# panic with a message, as every Leptos/Yew/Dioxus app does: there that machinery is the
# app's already, and the difference is what the crate adds to a real app.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/rust-crate-size"
mkdir -p "$out"
opt="$root/node_modules/.bin/wasm-opt"
esbuild="$root/node_modules/.bin/esbuild"
gz() { gzip -9c "$1" | wc -c; }
# js DIR: the app's JS (glue and snippets), each file minified and gzipped, summed.
js() {
  total=0
  for f in $(find "$out/$1" -name '*.js' | sort); do
    total=$((total + $("$esbuild" --minify --log-level=error "$f" | gzip -9c | wc -c)))
  done
  echo "$total"
}
# measure NAME FEATURES: builds the app with FEATURES into $out/NAME (and NAME/opt.wasm).
measure() {
  CARGO_TARGET_DIR="$out/cargo" cargo build --quiet --release \
    --target wasm32-unknown-unknown --manifest-path "$root/tests/rust-app/Cargo.toml" --features "$2"
  rm -rf "${out:?}/$1"
  wasm-bindgen --target web --out-dir "$out/$1" \
    "$out/cargo/wasm32-unknown-unknown/release/rust_app.wasm"
  # As app toolchains ship it (trunk and cargo-leptos run wasm-opt), where binaryen is at
  # hand (the npm package's dev dependency).
  if [ -x "$opt" ]; then
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      "$out/$1/rust_app_bg.wasm" -o "$out/$1/opt.wasm"
  fi
}
# report LABEL NONE ONE: prints the pair's sizes and their difference.
report() {
  none=$(gz "$out/$2/rust_app_bg.wasm")
  one=$(gz "$out/$3/rust_app_bg.wasm")
  echo "rust crate, $1: app tracking nothing ${none} B, app tracking one event ${one} B (gzip -9 wasm): the crate adds $((one - none)) B"
  if [ -x "$opt" ]; then
    none=$(gz "$out/$2/opt.wasm")
    one=$(gz "$out/$3/opt.wasm")
    echo "rust crate, $1, after wasm-opt -Oz: nothing ${none} B, one event ${one} B: the crate adds $((one - none)) B"
    wasm=$((one - none))
    none=$(js "$2")
    one=$(js "$3")
    echo "rust crate, $1, JS (glue and snippets, minified): nothing ${none} B, one event ${one} B: the crate adds $((one - none)) B; wasm (after wasm-opt) and JS: $((wasm + one - none)) B"
  fi
}
measure no-telemetry no-telemetry
measure one-event one-event
measure fmt-no-telemetry "no-telemetry formats"
measure fmt-one-event "one-event formats"
report "strict baseline (an app that does nothing else)" no-telemetry one-event
report "realistic baseline (an app that formats and panics with a message)" fmt-no-telemetry fmt-one-event
