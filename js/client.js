// Plain JS values the client needs, each in one crossing: the status object (instead of
// one wasm import call per property) and flush promises (without a wasm closure for their
// executor).

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
