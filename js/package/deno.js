// Deno entry: the wasm is loaded as a module with a source-phase import (a
// WebAssembly.Module; the glue supplies its imports), so like any import it needs no
// --allow-read, and it is instantiated before any export is usable.
import source wasmModule from './automagik_telemetry_bg.wasm';
import { initSync } from './automagik_telemetry.js';

initSync({ module: wasmModule });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
