//! The client's status (`getStatus()` in JS, `status()` in Rust): configuration, queue
//! and delivery counters, by name. It never holds a password or an auth header.

use crate::prelude::*;

use super::json;

/// Items per signal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerSignal {
    /// Events and errors.
    pub traces: u64,
    /// Metric data points.
    pub metrics: u64,
    /// Log records.
    pub logs: u64,
}

/// What was delivered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sent {
    /// Successful requests.
    pub requests: u64,
    /// Items in them, less those the backend rejected.
    pub items: u64,
    /// Bytes on the wire (after compression).
    pub bytes: u64,
}

/// Items dropped, by reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dropped {
    /// The byte-bounded queue was full; the oldest items gave way.
    pub queue_full: u64,
    /// Rejected by the backend in a partial success.
    pub rejected: u64,
    /// Not a valid item (no string name, no finite value, ...).
    pub invalid: u64,
    /// A failure retrying will not fix.
    pub failed: u64,
    /// Tracked after `shutdown()`.
    pub after_shutdown: u64,
    /// Tracked from inside the client (a getter in the attributes, a host callback).
    pub reentrant: u64,
    /// Persisted, then evicted (oldest first) to stay within `persistBytes`.
    pub persist_full: u64,
}

/// Unsent batches kept in `localStorage` for a later page load (SPEC §8), as this client
/// knows them: those it wrote and those it found at construction, until sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Persisted {
    /// Stored batches.
    pub batches: u64,
    /// Their keys' and values' length, counted against `persistBytes`.
    pub bytes: u64,
    /// Writes the storage refused (full, or throwing): those batches stayed in memory.
    pub failed_writes: u64,
}

/// Values that were not what the API takes and were replaced by the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coerced {
    /// Unknown metric types, tracked as gauges.
    pub metric_type: u64,
    /// Unknown log severities, tracked as INFO.
    pub log_severity: u64,
}

/// A snapshot of one client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Whether tracking calls are collected.
    pub enabled: bool,
    /// The user id, once something was tracked.
    pub user_id: Option<String>,
    /// The session id, once something was tracked.
    pub session_id: Option<String>,
    /// `projectName`.
    pub project_name: String,
    /// `version`.
    pub project_version: String,
    /// `otlp` or `clickhouse`.
    pub backend: &'static str,
    /// Where traces go (the ClickHouse endpoint for that backend).
    pub endpoint: String,
    /// Where metrics go over OTLP.
    pub metrics_endpoint: String,
    /// Where logs go over OTLP.
    pub logs_endpoint: String,
    /// `verbose`.
    pub verbose: bool,
    /// `batchSize`.
    pub batch_size: u64,
    /// Items queued across signals.
    pub queue_size: u64,
    /// Items queued per signal.
    pub queue_sizes: PerSignal,
    /// Bytes queued across signals.
    pub queued_bytes: u64,
    /// `maxQueueBytes`.
    pub max_queue_bytes: u64,
    /// Requests in flight.
    pub in_flight: u64,
    /// What was delivered.
    pub sent: Sent,
    /// What was dropped, by reason.
    pub dropped: Dropped,
    /// What was coerced to a default.
    pub coerced: Coerced,
    /// What is kept in `localStorage` for a later page load.
    pub persisted: Persisted,
    /// Retried attempts.
    pub retries: u64,
    /// Values personal-data scrubbing changed in delivered items (SPEC §6.1).
    pub scrubbed: u64,
    /// The latest failure or host fault, for people reading the status.
    pub last_error: Option<String>,
    /// The runtime (`browser`, `workerd`, `deno`, `node`).
    pub runtime: String,
}

/// Writes a JSON object whose members are `(camelCase name, value)`.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        json::string(self.out, name);
        self.out.push(b':');
        self.out
    }

    fn num(&mut self, name: &str, v: u64) -> &mut Self {
        json::uint(self.key(name), v);
        self
    }

    fn flag(&mut self, name: &str, v: bool) -> &mut Self {
        let text: &[u8] = if v { b"true" } else { b"false" };
        self.key(name).extend_from_slice(text);
        self
    }

    fn text(&mut self, name: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => json::string(self.key(name), s),
            None => self.key(name).extend_from_slice(b"null"),
        }
        self
    }

    fn nested(&mut self, name: &str, fields: &[(&str, u64)]) -> &mut Self {
        let mut inner = Object::open(self.key(name));
        for (n, v) in fields {
            inner.num(n, *v);
        }
        inner.close();
        self
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

impl Status {
    /// The status as the JSON object `getStatus()` returns (camelCase names).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(768);
        let mut o = Object::open(&mut out);
        let q = &self.queue_sizes;
        let (s, d, c) = (&self.sent, &self.dropped, &self.coerced);
        o.flag("enabled", self.enabled)
            .text("userId", self.user_id.as_deref())
            .text("sessionId", self.session_id.as_deref())
            .text("projectName", Some(&self.project_name))
            .text("projectVersion", Some(&self.project_version))
            .text("backend", Some(self.backend))
            .text("endpoint", Some(&self.endpoint))
            .text("metricsEndpoint", Some(&self.metrics_endpoint))
            .text("logsEndpoint", Some(&self.logs_endpoint))
            .flag("verbose", self.verbose)
            .num("batchSize", self.batch_size)
            .num("queueSize", self.queue_size)
            .nested(
                "queueSizes",
                &[
                    ("traces", q.traces),
                    ("metrics", q.metrics),
                    ("logs", q.logs),
                ],
            )
            .num("queuedBytes", self.queued_bytes)
            .num("maxQueueBytes", self.max_queue_bytes)
            .num("inFlight", self.in_flight)
            .nested(
                "sent",
                &[
                    ("requests", s.requests),
                    ("items", s.items),
                    ("bytes", s.bytes),
                ],
            )
            .nested(
                "dropped",
                &[
                    ("queueFull", d.queue_full),
                    ("rejected", d.rejected),
                    ("invalid", d.invalid),
                    ("failed", d.failed),
                    ("afterShutdown", d.after_shutdown),
                    ("reentrant", d.reentrant),
                    ("persistFull", d.persist_full),
                ],
            )
            .nested(
                "coerced",
                &[
                    ("metricType", c.metric_type),
                    ("logSeverity", c.log_severity),
                ],
            )
            .nested(
                "persisted",
                &[
                    ("batches", self.persisted.batches),
                    ("bytes", self.persisted.bytes),
                    ("failedWrites", self.persisted.failed_writes),
                ],
            )
            .num("retries", self.retries)
            .num("scrubbed", self.scrubbed)
            .text("lastError", self.last_error.as_deref())
            .text("runtime", Some(&self.runtime));
        o.close();
        // Only valid UTF-8 went in (strings, ASCII punctuation and digits).
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_names_every_field_in_camel_case() {
        let mut s = Status {
            backend: "otlp",
            project_name: "p\"q".into(),
            last_error: Some("HTTP 503".into()),
            ..Status::default()
        };
        s.dropped.after_shutdown = 2;
        s.queue_sizes.metrics = 7;
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["projectName"], "p\"q");
        assert_eq!(v["userId"], serde_json::Value::Null);
        assert_eq!(v["dropped"]["afterShutdown"], 2);
        assert_eq!(v["queueSizes"]["metrics"], 7);
        assert_eq!(v["lastError"], "HTTP 503");
        assert_eq!(v["enabled"], false);
        assert_eq!(v["dropped"]["persistFull"], 0);
        assert_eq!(v["persisted"]["batches"], 0);
        let names: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 24, "{names:?}");
    }
}
