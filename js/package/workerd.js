// Cloudflare Workers entry (the full wasm, ClickHouse included): workerd forbids compiling wasm from bytes, so the module is
// imported as a precompiled WebAssembly.Module.
import wasmModule from './automagik_telemetry_full_bg.wasm';
import { AutomagikTelemetry, initSync } from './automagik_telemetry_full.js';
import { addAsyncMethods } from './api.js';

initSync({ module: wasmModule });
addAsyncMethods(AutomagikTelemetry);

// A module-level client is shared by concurrent requests, and a flush may settle on a
// request another one started (one request per signal is in flight). workerd cancels a
// request's `waitUntil` as soon as nothing of that request's own is pending, so the
// caller's context keeps a timer running until its flush settles.
for (const name of ['flush', 'shutdown', 'disable']) {
  const settle = AutomagikTelemetry.prototype[name];
  AutomagikTelemetry.prototype[name] = function (...args) {
    const settled = settle.apply(this, args);
    let keep;
    try {
      keep = setInterval(() => {}, 50);
    } catch {
      return settled; // outside a request (module scope): nothing to keep alive
    }
    return settled.finally(() => clearInterval(keep));
  };
}

export { AutomagikTelemetry };
export { LogSeverity, MetricType, StandardEvents, VERSION } from './constants.js';
