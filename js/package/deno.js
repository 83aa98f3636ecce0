// Deno entry: reads the wasm beside this module (needs read access to the package) and
// instantiates it before any export is usable.
import { initSync } from './automagik_telemetry.js';

initSync({ module: await Deno.readFile(new URL('./automagik_telemetry_bg.wasm', import.meta.url)) });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
