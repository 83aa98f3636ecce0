// The class every entry exports: wasm-bindgen's, plus the `…Async` variants, which track
// and resolve once the item is queued. They live here rather than in the wasm, where each
// export costs a shim on both sides of the boundary.
import { AutomagikTelemetry } from './automagik_telemetry.js';

for (const name of ['trackEvent', 'trackMetric', 'trackLog', 'trackError']) {
  AutomagikTelemetry.prototype[`${name}Async`] = function (...args) {
    this[name](...args);
    return Promise.resolve();
  };
}

export { AutomagikTelemetry, LogSeverity } from './automagik_telemetry.js';
