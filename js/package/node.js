// Node.js entry: the wasm is compiled from the file beside this one before any export
// is usable, so callers need no init().
import { readFileSync } from 'node:fs';
import { initSync } from './automagik_telemetry.js';

initSync({ module: readFileSync(new URL('./automagik_telemetry_bg.wasm', import.meta.url)) });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
