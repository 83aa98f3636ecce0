// Deno entry: instantiates the full wasm (ClickHouse included) before any export is usable. Deno ≥ 2.6 loads it as a
// module (deno_wasm.js), which like any import needs no --allow-read; older Deno (2.5
// LTS) cannot parse that import, and reads the file instead.
import { AutomagikTelemetry, initSync } from './automagik_telemetry_full.js';
import { addAsyncMethods } from './api.js';

const module = await import('./deno_wasm.js').then(
  (m) => m.default,
  (e) => {
    if (!(e instanceof SyntaxError)) throw e;
    return Deno.readFile(new URL('./automagik_telemetry_full_bg.wasm', import.meta.url));
  },
);
initSync({ module });
addAsyncMethods(AutomagikTelemetry);

export { AutomagikTelemetry };
export { LogSeverity, MetricType, StandardEvents, VERSION } from './constants.js';
