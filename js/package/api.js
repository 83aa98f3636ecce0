// What every entry adds to wasm-bindgen's class: the `…Async` variants, which track and
// resolve once the item is queued. They live here rather than in the wasm, where each
// export costs a shim on both sides of the boundary.

/** Adds the `…Async` methods to `AutomagikTelemetry` (a glue module's class). */
export function addAsyncMethods(AutomagikTelemetry) {
  for (const name of ['trackEvent', 'trackMetric', 'trackLog', 'trackError']) {
    AutomagikTelemetry.prototype[`${name}Async`] = function (...args) {
      this[name](...args);
      return Promise.resolve();
    };
  }
}
