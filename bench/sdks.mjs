// Adapters: every SDK behind one shape, so child.mjs drives them identically.
//   const sdk = await SDKS[name]();
//   const t = sdk.create(endpoint, { batchSize, flushInterval, queueCapacity });
//   t.track(name, attrs); await t.flush(); await t.shutdown();
//   t.checkOn();   // throws if the SDK would silently do nothing (kept out of timings)
// `endpoint` is the sink's base URL (http://127.0.0.1:PORT), no path.
import { pathToFileURL } from 'node:url';

const SERVICE = { projectName: 'bench', version: '1.0.0' };

// "ours" and @automagik/telemetry@0.1.3 share one public API; `extra` is more config.
async function automagikApi(load, extra = {}) {
  const { AutomagikTelemetry } = await load();
  return {
    create(endpoint, { batchSize, flushInterval }) {
      // 0.1.3 appends /v1/traces itself; `enabled` is ignored by it (only the
      // AUTOMAGIK_TELEMETRY_ENABLED env var, set by run.mjs, turns it on).
      const t = new AutomagikTelemetry({ ...SERVICE, endpoint, batchSize, flushInterval, enabled: true, ...extra });
      return {
        // A disabled SDK would "win" every column by doing nothing.
        checkOn: () => {
          if (!t.getStatus().enabled) throw new Error('SDK reports enabled=false');
        },
        track: (name, attrs) => t.trackEvent(name, attrs),
        flush: () => t.flush(),
        // disable() is the only public way to stop its flush timer; it flushes first.
        shutdown: () => t.disable(),
      };
    },
  };
}

async function opentelemetry() {
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return {
    create(endpoint, { batchSize, flushInterval, queueCapacity }) {
      const exporter = new OTLPTraceExporter({
        url: `${endpoint}/v1/traces`, // the -http exporter sends OTLP/JSON
        // Default 30 in-flight exports: forceFlush on a large backlog starts one
        // export per batch at once and fails the rest ("Concurrent export limit reached").
        concurrencyLimit: Math.ceil(queueCapacity / batchSize),
      });
      const provider = new BasicTracerProvider({
        spanProcessors: [
          new BatchSpanProcessor(exporter, {
            maxExportBatchSize: batchSize,
            scheduledDelayMillis: flushInterval,
            // Default 2048 silently drops most of a synchronous burst; size it so
            // OTel can deliver (or hold, sink down) the whole workload like the others.
            maxQueueSize: queueCapacity,
          }),
        ],
      });
      const tracer = provider.getTracer('bench');
      return {
        checkOn: () => {},
        track: (name, attributes) => tracer.startSpan(name, { attributes }).end(),
        flush: () => provider.forceFlush(),
        shutdown: () => provider.shutdown(),
      };
    },
  };
}

export const SDKS = {
  ours: () => automagikApi(() => import(pathToFileURL(process.env.OURS_ENTRY).href)),
  // What personal-data scrubbing (on by default) costs: the same package with it off.
  'ours, scrub off': () => automagikApi(() => import(pathToFileURL(process.env.OURS_ENTRY).href), { scrub: false }),
  'automagik@0.1.3': () => automagikApi(() => import('automagik-telemetry-013')),
  'opentelemetry-js': opentelemetry,
};
