// `@automagik/telemetry/clickhouse` in browsers: the full wasm, with the ClickHouse
// backend that the lean browser entry leaves out. A page that uses it hands every
// visitor the ClickHouse credentials it is configured with: use a write-only user, or
// an OTLP collector in front of ClickHouse. Loaded like browser.js.
import init, { AutomagikTelemetry } from './automagik_telemetry_full.js';
import { addAsyncMethods } from './api.js';

await init({ module_or_path: new URL('./automagik_telemetry_full_bg.wasm', import.meta.url) });
addAsyncMethods(AutomagikTelemetry);

export { AutomagikTelemetry };
export { LogSeverity, MetricType, StandardEvents, VERSION } from './constants.js';
