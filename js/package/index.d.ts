/** Metric instrument types. Strings are accepted case-insensitively. */
export declare const MetricType: Readonly<{ GAUGE: 'gauge'; COUNTER: 'counter'; HISTOGRAM: 'histogram' }>;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** OTLP log severity numbers, with reverse mapping (`LogSeverity[13] === 'WARN'`). */
export declare enum LogSeverity {
  TRACE = 1,
  DEBUG = 5,
  INFO = 9,
  WARN = 13,
  ERROR = 17,
  FATAL = 21,
}

/** The ecosystem's standard event names. */
export declare const StandardEvents: Readonly<{
  FEATURE_USED: 'automagik.feature.used';
  API_REQUEST: 'automagik.api.request';
  COMMAND_EXECUTED: 'automagik.cli.command';
  OPERATION_LATENCY: 'automagik.performance.latency';
  ERROR_OCCURRED: 'automagik.error';
  SERVICE_HEALTH: 'automagik.health';
}>;

/** The SDK version. */
export declare const VERSION: string;

/** Client configuration. Times are in milliseconds, sizes in bytes. */
export interface TelemetryConfig {
  /** Project name (`service.name`). Required, non-empty. */
  projectName: string;
  /** Project version (`service.version`). Required, non-empty. */
  version: string;
  /**
   * Where items go: `'otlp'` (default) or `'clickhouse'`; any other value throws at
   * construction. Plain `string` is accepted too because a config object kept in a
   * variable has its literals widened to `string` by TypeScript.
   */
  backend?: 'otlp' | 'clickhouse' | (string & {});
  /** OTLP base URL; a trailing `/v1/traces` is stripped. Default `https://telemetry.namastex.ai`. */
  endpoint?: string;
  /** Metrics URL, used verbatim. Default `<endpoint>/v1/metrics`. */
  metricsEndpoint?: string;
  /** Logs URL, used verbatim. Default `<endpoint>/v1/logs`. */
  logsEndpoint?: string;
  /** `service.organization`. Default `'namastex'`. */
  organization?: string;
  /** Per-attempt request timeout in ms, at least 100. Default 5000. */
  timeout?: number;
  /** Queued items of one signal that trigger a flush. Default 100. */
  batchSize?: number;
  /** Timer flush period in ms; 0 turns the timer off. Default 5000. */
  flushInterval?: number;
  /** Gzip bodies above `compressionThreshold`. Default true. */
  compressionEnabled?: boolean;
  /** Smallest body (bytes) that is compressed. Default 1024. */
  compressionThreshold?: number;
  /** Retries after the first attempt; 0 is honoured. Default 3. */
  maxRetries?: number;
  /** Backoff base in ms (`base · 2^attempt`, ±20 % jitter, capped at 30 s). Default 1000. */
  retryBackoffBase?: number;
  /** Bound on queued bytes across signals; the oldest items give way. Default 4 MiB. */
  maxQueueBytes?: number;
  /** Bound on one request's uncompressed body. Default 512 KiB. */
  maxBatchBytes?: number;
  /**
   * Browsers: bytes of unsent batches kept in `localStorage` (keys starting with
   * `automagik-telemetry:<projectName>:`) for the next page load, the oldest evicted first.
   * 0 turns persistence off. Default 262144 (256 KiB).
   */
  persistBytes?: number;
  /** ClickHouse HTTP interface. Default `http://localhost:8123`. */
  clickhouseEndpoint?: string;
  /** Default `'telemetry'`. */
  clickhouseDatabase?: string;
  /** Spans table. Default `'traces'`. */
  clickhouseTable?: string;
  /** Default `'metrics'`. */
  clickhouseMetricsTable?: string;
  /** Default `'logs'`. */
  clickhouseLogsTable?: string;
  /** Default `'default'`. */
  clickhouseUsername?: string;
  /** Default `''`. Never reported in status, logs or errors. */
  clickhousePassword?: string;
  /** Force telemetry on or off (after a persisted `disable()`, which wins). */
  enabled?: boolean;
  /** Environment variables to read instead of the process's (Workers: pass `env`). */
  env?: Record<string, string | undefined>;
  /** Debug lines on the console. Default false. */
  verbose?: boolean;
  /**
   * Personal-data scrubbing before anything leaves the process (on by default): secret keys'
   * values, emails, card numbers, tokens, IPs, URL credentials, home-directory user names and
   * more are replaced. `false` turns it off; `{ keys: [...] }` adds sensitive attribute keys.
   */
  scrub?: boolean | { keys?: string[] };
}

/** A snapshot from `getStatus()`. Never contains a password or auth header. */
export interface Status {
  enabled: boolean;
  /** Null until the first tracking call. */
  userId: string | null;
  /** Null until the first tracking call. */
  sessionId: string | null;
  projectName: string;
  projectVersion: string;
  backend: 'otlp' | 'clickhouse';
  endpoint: string;
  metricsEndpoint: string;
  logsEndpoint: string;
  verbose: boolean;
  batchSize: number;
  /** Items queued across signals. */
  queueSize: number;
  queueSizes: { traces: number; metrics: number; logs: number };
  queuedBytes: number;
  maxQueueBytes: number;
  inFlight: number;
  sent: { requests: number; items: number; bytes: number };
  /** Items dropped, by reason: the queue bound, a partial success, invalid input, a
   * non-retryable failure, tracking after `shutdown()`, a call re-entering the client,
   * stored batches evicted by `persistBytes`. */
  dropped: {
    queueFull: number;
    rejected: number;
    invalid: number;
    failed: number;
    afterShutdown: number;
    reentrant: number;
    persistFull: number;
  };
  /** Unknown metric types and severities that fell back to gauge and INFO. */
  coerced: { metricType: number; logSeverity: number };
  /** Unsent batches kept in `localStorage` for a later page load (browsers): those this
   * client wrote or found, their length against `persistBytes`, and writes the storage
   * refused (those batches stayed in memory). */
  persisted: { batches: number; bytes: number; failedWrites: number };
  retries: number;
  /** Values personal-data scrubbing changed in delivered items. */
  scrubbed: number;
  lastError: string | null;
  /** `browser`, `workerd`, `deno`, `bun` or `node`. */
  runtime: string;
}

/** Privacy-first telemetry client. Tracking methods never throw. */
export declare class AutomagikTelemetry {
  /** Throws a `TypeError`/`RangeError` naming the option when the config is invalid. */
  constructor(config: TelemetryConfig);
  trackEvent(name: string, attributes?: Record<string, unknown> | Map<unknown, unknown>): void;
  trackMetric(
    name: string,
    value: number,
    type?: MetricType | string,
    attributes?: Record<string, unknown> | Map<unknown, unknown>,
  ): void;
  trackLog(
    message: string,
    severity?: LogSeverity | string,
    attributes?: Record<string, unknown> | Map<unknown, unknown>,
  ): void;
  trackError(error: unknown, context?: Record<string, unknown> | Map<unknown, unknown>): void;
  /** Resolves once the event is queued. */
  trackEventAsync(name: string, attributes?: Record<string, unknown>): Promise<void>;
  trackMetricAsync(name: string, value: number, type?: MetricType | string, attributes?: Record<string, unknown>): Promise<void>;
  trackLogAsync(message: string, severity?: LogSeverity | string, attributes?: Record<string, unknown>): Promise<void>;
  trackErrorAsync(error: unknown, context?: Record<string, unknown>): Promise<void>;
  /**
   * Resolves when every item queued before the call was delivered, dropped, or re-queued
   * after a failure. Never rejects, and always settles: items tracked meanwhile wait for
   * the next flush.
   */
  flush(): Promise<void>;
  /** A last flush, then no interval timer and no page listeners; later tracking calls
   * are ignored and counted in `dropped.afterShutdown`. */
  shutdown(): Promise<void>;
  /** Explicit consent: clears a persisted opt-out and turns collection on. */
  enable(): void;
  /** Stops collecting at once; resolves after pending items are flushed. */
  disable(): Promise<void>;
  isEnabled(): boolean;
  getStatus(): Status;
  /** Releases the wasm-side state. */
  free(): void;
}
