#!/usr/bin/env bash
# Builds the publishable npm package into pkg/ (or PKG_DIR): two release wasm builds (the
# lean browser one and the full one with ClickHouse), their wasm-bindgen glue (--target
# web, shared by the runtime entries), the post-link steps wasm-opt -Oz and short names
# (POSTLINK=0 skips both: tests/postlink_diff.test.mjs compares that build with this one),
# the per-runtime entry points (minified), TypeScript declarations and package.json from
# pkg.json.template.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${PKG_DIR:-pkg}
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

# One build of the binding: $dir/<name>.js (glue) and $dir/<name>_bg.wasm, with `features`.
build() {
  local name=$1 features=$2
  local out=$dir/${name}_bg.wasm
  cargo build --quiet --release --lib --target wasm32-unknown-unknown -p automagik-telemetry-npm --features "$features"
  # Every entry hands init its own wasm, so the glue needs no default path (nor a second
  # asset reference for bundlers to resolve).
  wasm-bindgen --target web --no-typescript --omit-default-module-path --out-dir "$dir" --out-name "$name" "$wasm"
  if [ "${POSTLINK:-1}" = 0 ]; then return; fi
  opt "$out" -o "$out"
  node tools/short-names.mjs "$out" "$dir/$name.js"
}

rm -rf "$dir"
# The browser entry ships without the ClickHouse backend: a web page should not hold a
# ClickHouse password, and the encoder is ~2.5 KB gzipped. Every other entry, and
# `@automagik/telemetry/clickhouse` in browsers, loads the full build.
build automagik_telemetry ""
build automagik_telemetry_full clickhouse
cp js/package/api.js js/package/node.js js/package/browser.js js/package/clickhouse.js js/package/deno.js \
  js/package/deno_wasm.js js/package/workerd.js js/package/index.d.ts "$dir"/
# constants.js re-exports LogSeverity from the generated layout (the snippets have their own copy).
cp js/layout.js "$dir"/
sed "s/@VERSION@/$version/" js/package/constants.js > "$dir"/constants.js
# Every shipped module minified in place (ESM kept, no bundling: each entry still imports
# the shared glue): 44 KB -> 25 KB raw. Identifiers are not renamed, so that stack traces
# and the class name stay readable; an app's bundler mangles them anyway. wasm-bindgen's
# import object repeats one snippet key with equal namespace objects: not worth a warning.
mapfile -t modules < <(find "$dir" -name '*.js')
node_modules/.bin/esbuild "${modules[@]}" --minify-whitespace --minify-syntax \
  --outbase="$dir" --outdir="$dir" --allow-overwrite --log-level=warning \
  --log-override:duplicate-object-key=silent
sed "s/@VERSION@/$version/" pkg.json.template > "$dir"/package.json
echo "$dir/ built: @automagik/telemetry $version, wasm $(wc -c < "$dir"/automagik_telemetry_bg.wasm) bytes (browser), $(wc -c < "$dir"/automagik_telemetry_full_bg.wasm) bytes (full)"
