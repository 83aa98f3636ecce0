// Deno entry: instantiates the wasm before any export is usable. Deno ≥ 2.6 loads it as a
// module (deno_wasm.js), which like any import needs no --allow-read; older Deno (2.5
// LTS) cannot parse that import, and reads the file instead.
import { initSync } from './automagik_telemetry.js';

const module = await import('./deno_wasm.js').then(
  (m) => m.default,
  (e) => {
    if (!(e instanceof SyntaxError)) throw e;
    return Deno.readFile(new URL('./automagik_telemetry_bg.wasm', import.meta.url));
  },
);
initSync({ module });

export { AutomagikTelemetry, LogSeverity } from './api.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
