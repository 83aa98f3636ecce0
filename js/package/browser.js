// Browser (and default) entry: fetches and instantiates the wasm with top-level await,
// so callers need no init(). Bundlers resolve the `new URL(..., import.meta.url)` asset.
import init from './automagik_telemetry.js';

await init({ module_or_path: new URL('./automagik_telemetry_bg.wasm', import.meta.url) });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
