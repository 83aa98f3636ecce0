// Browser (and default) entry: fetches and instantiates the lean wasm (no ClickHouse
// backend: see clickhouse.js) with top-level await, so callers need no init(). Bundlers
// resolve the `new URL(..., import.meta.url)` asset. This module's evaluation is the wasm
// load, so package.json lists every runtime entry in `sideEffects`: a bundler must never
// skip it and import the glue directly. Given a URL, the glue fetches it and compiles
// while streaming when the server sends application/wasm, and falls back to compiling
// the whole body otherwise.
import init, { AutomagikTelemetry } from './automagik_telemetry.js';
import { addAsyncMethods } from './api.js';

await init({ module_or_path: new URL('./automagik_telemetry_bg.wasm', import.meta.url) });
addAsyncMethods(AutomagikTelemetry);

export { AutomagikTelemetry };
export { LogSeverity, MetricType, StandardEvents, VERSION } from './constants.js';
