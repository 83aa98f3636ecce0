// Node.js entry: the full wasm (ClickHouse included) is compiled from the file beside this one before any export
// is usable, so callers need no init().
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AutomagikTelemetry, initSync } from './automagik_telemetry_full.js';
import { addAsyncMethods } from './api.js';

// node:crypto is the SDK's random source here (crates/host/js/host.js looks for it): Node 18 has no
// global WebCrypto, and Node 20 loads it lazily, at a cost the first tracking call paid.
try {
  globalThis[Symbol.for('automagik-telemetry.randomFill')] ??= randomFillSync;
} catch {
  // A host that guards the slot: crates/host/js/host.js falls back to WebCrypto.
}

// Node sets up its timer machinery on first use (~0.3 ms); pay it here, at import, rather
// than in the first tracking call, which arms the flush timer.
clearTimeout(setTimeout(() => {}, 0));

initSync({ module: readFileSync(new URL('./automagik_telemetry_full_bg.wasm', import.meta.url)) });
addAsyncMethods(AutomagikTelemetry);

export { AutomagikTelemetry };
export { LogSeverity, MetricType, StandardEvents, VERSION } from './constants.js';
