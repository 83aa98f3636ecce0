// Cloudflare Workers entry: workerd forbids compiling wasm from bytes, so the module is
// imported as a precompiled WebAssembly.Module.
import wasmModule from './automagik_telemetry_bg.wasm';
import { initSync } from './automagik_telemetry.js';

initSync({ module: wasmModule });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
