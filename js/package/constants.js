// Constants of the public API that need no wasm.

/** OTLP log severity numbers, from the core's table (layout.js is generated from it). */
export { LogSeverity } from './layout.js';

/** Metric instrument types; strings are accepted case-insensitively too. */
export const MetricType = Object.freeze({ GAUGE: 'gauge', COUNTER: 'counter', HISTOGRAM: 'histogram' });

/** The ecosystem's standard event names. */
export const StandardEvents = Object.freeze({
  FEATURE_USED: 'automagik.feature.used',
  API_REQUEST: 'automagik.api.request',
  COMMAND_EXECUTED: 'automagik.cli.command',
  OPERATION_LATENCY: 'automagik.performance.latency',
  ERROR_OCCURRED: 'automagik.error',
  SERVICE_HEALTH: 'automagik.health',
});

/** The SDK version (also sent as `telemetry.sdk.version`). */
export const VERSION = '@VERSION@';
