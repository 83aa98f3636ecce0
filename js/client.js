// Plain JS values the client needs, each in one crossing: the status object (instead of
// one wasm import call per property), flush promises (without a wasm closure for their
// executor), the options, and the error a bad one throws.

const THREW = Symbol('a throwing getter');

/** `config[name]`, or a symbol when reading it threw. */
export function option(config, name) {
  try {
    return config[name];
  } catch {
    return THREW;
  }
}

/**
 * The error a bad configuration throws (a RangeError when `range`, else a TypeError):
 * `message`, then the value received, `config[name]` (or `config` itself when `name` is
 * empty), as JS prints it (`5`, `1.5`, `1e+300`, `NaN`, `null`), a string quoted and cut to
 * 80 characters, anything else by its type.
 */
export function configError(range, message, config, name) {
  const v = name ? option(config, name) : config;
  let received;
  switch (typeof v) {
    case 'string':
      received = JSON.stringify(v.length > 80 ? v.slice(0, 80) : v);
      break;
    case 'number':
    case 'boolean':
    case 'undefined':
      received = String(v);
      break;
    default:
      received = v === THREW ? 'a value from a throwing getter' : v === null ? 'null' : `a value of type ${typeof v}`;
  }
  return new (range ? RangeError : TypeError)(`${message}, received ${received}`);
}

/** A pending promise and its resolver. */
export function defer() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The `getStatus()` object from `n`, the fields in order (numbers; booleans as 0 or 1;
 * for a string, its length in UTF-16 units within `text`, or -1 for null). Empty `n`
 * (the client was busy) gives `{}`.
 */
export function status(n, text) {
  if (!n.length) return {};
  let i = 0;
  let at = 0;
  const num = () => n[i++];
  const str = () => {
    const len = n[i++];
    return len < 0 ? null : text.slice(at, (at += len));
  };
  // Property values are evaluated in source order, the order Rust wrote them in.
  return {
    enabled: !!num(),
    userId: str(),
    sessionId: str(),
    projectName: str(),
    projectVersion: str(),
    backend: str(),
    endpoint: str(),
    metricsEndpoint: str(),
    logsEndpoint: str(),
    verbose: !!num(),
    batchSize: num(),
    queueSize: num(),
    queueSizes: { traces: num(), metrics: num(), logs: num() },
    queuedBytes: num(),
    maxQueueBytes: num(),
    inFlight: num(),
    sent: { requests: num(), items: num(), bytes: num() },
    dropped: {
      queueFull: num(),
      rejected: num(),
      invalid: num(),
      failed: num(),
      afterShutdown: num(),
      reentrant: num(),
    },
    coerced: { metricType: num(), logSeverity: num() },
    retries: num(),
    lastError: str(),
    runtime: str(),
  };
}
