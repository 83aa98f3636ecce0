#!/usr/bin/env bash
# Builds the publishable npm package into pkg/: two release wasm builds (the lean browser
# one and the full one with ClickHouse), their wasm-bindgen glue (--target web, shared by
# the runtime entries), wasm-opt -Oz and the post-link steps (POSTLINK=0 skips them), the per-runtime entry
# points (minified), TypeScript declarations and package.json from pkg.json.template.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
wasm=target/wasm32-unknown-unknown/release/automagik_telemetry_npm.wasm

# The features Rust's wasm32 target emits by default; wasm-opt must know them all (they
# are given here, so the target_features section can go, as can producers: no runtime
# reads either). Functions with one caller are inlined only when small (binaryen inlines
# them all by default): 0.7 KB less gzipped. It once cost cold calls (31 us each instead of
# 8 for the next 99 calls); since the record writer and the tracking path are warmed
# before the first call, `make bench` sees no difference (first call 174-177 us against
# 185-196, next 99 3.55-3.65 us against 3.6). Memory starts zeroed (the module defines
# it), and its first KiB is never used: Rust's stack starts at 1 MiB and grows down, its
# data and heap lie above; so wasm-opt may fold constants into load and store offsets.
opt() {
  node_modules/.bin/wasm-opt -Oz --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-multivalue --enable-mutable-globals \
    --one-caller-inline-max-function-size=20 --zero-filled-memory --low-memory-unused \
    "$@"
}

# One build of the binding: pkg/<name>.js (glue) and pkg/<name>_bg.wasm, with `features`.
build() {
  local name=$1 features=$2
  local out=pkg/${name}_bg.wasm
  # Each piece of static data in its own segment, so tools/drop-dead-data.mjs can tell
  # which are still used once wasm-opt has removed the code that was the only user.
  cargo rustc --quiet --release --lib --target wasm32-unknown-unknown -p automagik-telemetry-npm \
    --features "$features" -- -C link-arg=--no-merge-data-segments
  # Every entry hands init its own wasm, so the glue needs no default path (nor a second
  # asset reference for bundlers to resolve).
  wasm-bindgen --target web --no-typescript --omit-default-module-path --out-dir pkg --out-name "$name" "$wasm"
  if [ "${POSTLINK:-1}" = 0 ]; then return; fi
  node tools/abort-panics.mjs "$out" "$out"
  # The data only panic sites named goes (it needs the segments as linked: no packing
  # yet); the second pass packs what is left.
  opt --skip-pass=memory-packing "$out" -o "$out"
  node tools/drop-dead-data.mjs "$out" "$out"
  opt "$out" -o "$out"
  node tools/short-names.mjs "$out" "pkg/$name.js"
}

rm -rf pkg
# The browser entry ships without the ClickHouse backend: a web page should not hold a
# ClickHouse password, and the encoder is ~2.5 KB gzipped. Every other entry, and
# `@automagik/telemetry/clickhouse` in browsers, loads the full build.
build automagik_telemetry ""
build automagik_telemetry_full clickhouse
cp js/package/api.js js/package/node.js js/package/browser.js js/package/clickhouse.js js/package/deno.js \
  js/package/deno_wasm.js js/package/workerd.js js/package/index.d.ts pkg/
# constants.js re-exports LogSeverity from the generated layout (the snippets have their own copy).
cp js/layout.js pkg/
sed "s/@VERSION@/$version/" js/package/constants.js > pkg/constants.js
# Every shipped module minified in place (ESM kept, no bundling: each entry still imports
# the shared glue): 44 KB -> 25 KB raw. Identifiers are not renamed, so that stack traces
# and the class name stay readable; an app's bundler mangles them anyway. wasm-bindgen's
# import object repeats one snippet key with equal namespace objects: not worth a warning.
mapfile -t modules < <(find pkg -name '*.js')
node_modules/.bin/esbuild "${modules[@]}" --minify-whitespace --minify-syntax \
  --outbase=pkg --outdir=pkg --allow-overwrite --log-level=warning \
  --log-override:duplicate-object-key=silent
sed "s/@VERSION@/$version/" pkg.json.template > pkg/package.json
echo "pkg/ built: @automagik/telemetry $version, wasm $(wc -c < pkg/automagik_telemetry_bg.wasm) bytes (browser), $(wc -c < pkg/automagik_telemetry_full_bg.wasm) bytes (full)"
