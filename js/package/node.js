// Node.js entry: the wasm is compiled from the file beside this one before any export
// is usable, so callers need no init().
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { initSync } from './automagik_telemetry.js';

// Node 18 has no global WebCrypto: hand the SDK node:crypto's (js/host.js looks for it).
if (typeof globalThis.crypto?.getRandomValues !== 'function') {
  globalThis[Symbol.for('automagik-telemetry.randomFill')] = (buf) => webcrypto.getRandomValues(buf);
}

initSync({ module: readFileSync(new URL('./automagik_telemetry_bg.wasm', import.meta.url)) });

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
export { MetricType, StandardEvents, VERSION } from './constants.js';
