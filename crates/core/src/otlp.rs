//! OTLP/HTTP JSON encoding (SPEC §4): lowerCamelCase keys, hex ids, integer enums,
//! 64-bit integers as strings, unique attribute keys, no nulls.
//!
//! The resource and scope are rendered once per client into each signal's request
//! prefix; a request is `prefix, item, item, ..., suffix`.

use crate::prelude::*;

use super::config::Config;
use super::encoder::{Encoder, Identity};
use super::ids::{hex, span_ids, Key};
use super::json;
use super::model::{
    bucket, cut_chars, each_attribute, Attr, Attrs, Item, MetricKind, Signal, Track, Value,
    ERROR_SPAN_NAME, HISTOGRAM_BOUNDS, MAX_ATTRIBUTES, MAX_BODY_CHARS, MAX_DEPTH, MAX_STRING_CHARS,
};
use super::severity;

/// Closes what every prefix opens.
pub const SUFFIX: &[u8] = b"]}]}]}";
/// The OTLP encoder of one client: per-signal request prefixes.
#[derive(Debug)]
pub struct Otlp {
    prefixes: [Vec<u8>; 3],
}

impl Otlp {
    /// Renders the resource and scope for `config` and `identity`.
    pub fn new(config: &Config, identity: &Identity) -> Self {
        let mut resource = b"{\"attributes\":[".to_vec();
        let sdk_version = env!("CARGO_PKG_VERSION");
        let pairs = [
            ("service.name", config.project_name.as_str()),
            ("service.version", &config.version),
            ("project.name", &config.project_name),
            ("project.version", &config.version),
            ("service.organization", &config.organization),
            ("user.id", &identity.user_id),
            ("session.id", &identity.session_id),
            ("telemetry.sdk.name", "automagik-telemetry"),
            ("telemetry.sdk.language", "webjs"),
            ("telemetry.sdk.version", sdk_version),
            ("process.runtime.name", &identity.runtime_name),
            ("process.runtime.version", &identity.runtime_version),
            ("os.type", &identity.os_type),
            ("deployment.environment.name", &identity.environment),
            ("host.name", &identity.hostname),
        ];
        let mut first = true;
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
            if !first {
                resource.push(b',');
            }
            first = false;
            key_string(&mut resource, k, v);
        }
        resource.extend_from_slice(b"]}");
        let mut scope = b"{\"name\":".to_vec();
        json::string(&mut scope, &[&config.project_name, ".telemetry"].concat());
        scope.extend_from_slice(b",\"version\":");
        json::string(&mut scope, sdk_version);
        scope.push(b'}');
        // Concatenated, not format!: this runs on the first tracking call, where every
        // function reached is compiled lazily, and core::fmt is a lot of code to reach.
        let prefix = |outer: &str, inner: &str, items: &str| {
            let parts: [&[u8]; 11] = [
                b"{\"",
                outer.as_bytes(),
                b"\":[{\"resource\":",
                &resource,
                b",\"",
                inner.as_bytes(),
                b"\":[{\"scope\":",
                &scope,
                b",\"",
                items.as_bytes(),
                b"\":[",
            ];
            parts.concat()
        };
        Otlp {
            prefixes: [
                prefix("resourceSpans", "scopeSpans", "spans"),
                prefix("resourceMetrics", "scopeMetrics", "metrics"),
                prefix("resourceLogs", "scopeLogs", "logRecords"),
            ],
        }
    }
}

impl Encoder for Otlp {
    fn open(&self, signal: Signal, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefixes[signal as usize]);
    }

    fn item(&self, out: &mut Vec<u8>, item: &Item, key: Key) {
        // The spans take one arm either way, so the span writer has one call site and
        // stays inlined: the npm package's wasm is the same with or without timed-spans.
        match item.head {
            #[cfg(not(feature = "timed-spans"))]
            Track::Event | Track::Error => any_span(out, item, key),
            #[cfg(feature = "timed-spans")]
            Track::Event | Track::Error | Track::Span { .. } => any_span(out, item, key),
            Track::Metric { kind, value } => metric(out, item, kind, value),
            Track::Log { severity } => log(out, item, severity),
        }
    }

    fn separator(&self) -> u8 {
        b','
    }

    fn suffix(&self) -> &'static [u8] {
        SUFFIX
    }
}

fn field(out: &mut Vec<u8>, name: &str) {
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes any span item (an event, an error, a span that lasts) with its derived ids.
fn any_span(out: &mut Vec<u8>, item: &Item, key: Key) {
    let error = item.head == Track::Error;
    let (trace_id, span_id) = span_ids(key);
    span(out, item, error, &trace_id, &span_id)
}

fn time_field(out: &mut Vec<u8>, name: &str, ns: u64) {
    field(out, name);
    json::quoted_uint(out, ns);
}

/// Writes a span. Key order is free in JSON, and this one is deflate's: in a batch, the
/// parts that repeat from span to span (keys, name, attributes, status) fall in few long
/// runs, each one match against the span before, and the two equal timestamps sit side by
/// side, so the second costs one short match. Measured over 2,500 spans of the bench's
/// event, gzipped: 40.8 B per span in the OTLP field order, 39.5 in this one (38.9-54.8
/// over shapes with no, varying or a dozen attributes, against 40.0-59.9).
fn span(out: &mut Vec<u8>, item: &Item, error: bool, trace_id: &[u8], span_id: &[u8]) {
    let name = if error {
        ERROR_SPAN_NAME
    } else {
        cut_chars(item.strings[0], MAX_STRING_CHARS)
    };
    out.extend_from_slice(b"{\"name\":");
    json::string(out, name);
    out.extend_from_slice(b",\"traceId\":\"");
    hex(out, trace_id);
    out.push(b'"');
    field(out, "attributes");
    let message = if error {
        let (fixed, n) = item.error_fields();
        attributes(out, &fixed[..n], item.attrs.clone(), None, 0);
        Some(fixed[1].1)
    } else {
        attributes(out, &[], item.attrs.clone(), None, 0);
        None
    };
    time_field(out, "startTimeUnixNano", item.start_ns());
    time_field(out, "endTimeUnixNano", item.time_ns);
    if let Some(message) = message {
        out.extend_from_slice(b",\"kind\":1,\"status\":{\"code\":2,\"message\":");
        json::string(out, message);
        out.push(b'}');
    } else {
        out.extend_from_slice(b",\"kind\":1,\"status\":{\"code\":1}");
    }
    out.extend_from_slice(b",\"spanId\":\"");
    hex(out, span_id);
    out.extend_from_slice(b"\"}");
}

/// A data point; `value` picks the histogram bucket, the value's text (a JSON number,
/// checked at decode) is what is written.
fn metric(out: &mut Vec<u8>, item: &Item, kind: MetricKind, value: f64) {
    let text = item.strings[1];
    out.extend_from_slice(b"{\"name\":");
    json::string(out, cut_chars(item.strings[0], MAX_STRING_CHARS));
    let unit = item.unit();
    if let Some(u) = unit {
        field(out, "unit");
        json::string(out, u);
    }
    let t = item.time_ns;
    field(
        out,
        match kind {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "sum",
            MetricKind::Histogram => "histogram",
        },
    );
    out.extend_from_slice(b"{\"dataPoints\":[{\"timeUnixNano\":");
    json::quoted_uint(out, t);
    if kind != MetricKind::Gauge {
        time_field(out, "startTimeUnixNano", t);
    }
    if kind == MetricKind::Histogram {
        out.extend_from_slice(b",\"count\":\"1\"");
        for name in ["sum", "min", "max"] {
            field(out, name);
            out.extend_from_slice(text.as_bytes());
        }
        let bucket = bucket(value);
        out.extend_from_slice(b",\"bucketCounts\":[");
        for i in 0..=HISTOGRAM_BOUNDS.len() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(if i == bucket { b"\"1\"" } else { b"\"0\"" });
        }
        out.extend_from_slice(b"],\"explicitBounds\":[");
        for (i, b) in HISTOGRAM_BOUNDS.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::uint(out, (*b).into());
        }
        out.push(b']');
    } else {
        field(out, "asDouble");
        out.extend_from_slice(text.as_bytes());
    }
    field(out, "attributes");
    attributes(out, &[], item.attrs.clone(), unit.map(|_| "unit"), 0);
    out.extend_from_slice(b"}]");
    match kind {
        MetricKind::Gauge => {}
        MetricKind::Counter => {
            out.extend_from_slice(b",\"aggregationTemporality\":1,\"isMonotonic\":true")
        }
        MetricKind::Histogram => out.extend_from_slice(b",\"aggregationTemporality\":1"),
    }
    out.extend_from_slice(b"}}");
}

fn log(out: &mut Vec<u8>, item: &Item, severity: u8) {
    out.extend_from_slice(b"{\"timeUnixNano\":");
    json::quoted_uint(out, item.time_ns);
    time_field(out, "observedTimeUnixNano", item.time_ns);
    field(out, "severityNumber");
    json::uint(out, u64::from(severity));
    field(out, "severityText");
    json::string(out, severity::text(severity));
    out.extend_from_slice(b",\"body\":{\"stringValue\":");
    json::string(out, cut_chars(item.strings[0], MAX_BODY_CHARS));
    out.push(b'}');
    field(out, "attributes");
    attributes(out, &[], item.attrs.clone(), None, 0);
    out.push(b'}');
}

/// Writes a KeyValue list (see [`each_attribute`]) whose values sit `depth` containers
/// deep.
fn attributes(
    out: &mut Vec<u8>,
    fixed: &[(&str, &str)],
    attrs: Attrs,
    skip: Option<&str>,
    depth: usize,
) {
    out.push(b'[');
    let mut first = true;
    each_attribute(fixed, attrs, skip, |k, v| {
        if !::core::mem::take(&mut first) {
            out.push(b',');
        }
        match v {
            Attr::Fixed(s) => key_string(out, k, s),
            Attr::Value(v) => key_value(out, k, &v, depth),
        }
    });
    out.push(b']');
}

/// A string attribute whose value the caller has already cut to its own limit.
fn key_string(out: &mut Vec<u8>, k: &str, v: &str) {
    out.extend_from_slice(b"{\"key\":");
    json::string(out, k);
    out.extend_from_slice(b",\"value\":{\"stringValue\":");
    json::string(out, v);
    out.extend_from_slice(b"}}");
}

fn key_value(out: &mut Vec<u8>, k: &str, v: &Value, depth: usize) {
    out.extend_from_slice(b"{\"key\":");
    json::string(out, k);
    out.extend_from_slice(b",\"value\":");
    any_value(out, v, depth);
    out.push(b'}');
}

/// An AnyValue `depth` containers deep; containers at [`MAX_DEPTH`] are written empty.
fn any_value(out: &mut Vec<u8>, v: &Value, depth: usize) {
    match v {
        Value::Str(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            json::string(out, cut_chars(s, MAX_STRING_CHARS));
        }
        Value::Int(i) => {
            out.extend_from_slice(b"{\"intValue\":\"");
            json::int(out, *i);
            out.push(b'"');
        }
        Value::Double(d) => {
            out.extend_from_slice(b"{\"doubleValue\":");
            out.extend_from_slice(d.as_bytes());
        }
        Value::Bool(b) => {
            out.extend_from_slice(if *b {
                b"{\"boolValue\":true"
            } else {
                b"{\"boolValue\":false"
            });
        }
        Value::Array(vs) => {
            out.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
            let values = vs
                .clone()
                .take(if depth < MAX_DEPTH { MAX_ATTRIBUTES } else { 0 });
            for (i, v) in values.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                any_value(out, &v, depth + 1);
            }
            out.extend_from_slice(b"]}");
        }
        Value::KvList(kvs) => {
            out.extend_from_slice(b"{\"kvlistValue\":{\"values\":");
            let kvs = if depth < MAX_DEPTH {
                kvs.clone()
            } else {
                Attrs::empty()
            };
            attributes(out, &[], kvs, None, depth + 1);
            out.push(b'}');
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Raw};
    use crate::encoder::Identity;
    use crate::model::testing::{record, V};

    fn encode(rec: &[u8]) -> String {
        let config = Config::parse(&mut |n| match n {
            "projectName" => Raw::Str("my-app".into()),
            "version" => Raw::Str("1.0.0".into()),
            _ => Raw::Missing,
        })
        .unwrap();
        let otlp = Otlp::new(
            &config,
            &Identity {
                user_id: "u".into(),
                session_id: "s".into(),
                runtime_name: "node".into(),
                ..Identity::default()
            },
        );
        let item = Item::decode(rec).unwrap();
        let mut out = Vec::new();
        otlp.open(item.head.signal(), &mut out);
        otlp.item(&mut out, &item, Key(1, 2));
        out.extend_from_slice(SUFFIX);
        String::from_utf8(out).unwrap()
    }

    /// Resource attributes [`encode`] renders (those with values).
    const RESOURCE_KEYS: usize = 11;

    const SPAN: Track = Track::Event;

    #[test]
    fn an_event_is_a_span_with_typed_attributes() {
        let body = encode(&record(
            SPAN,
            1000.5,
            &["api.request"],
            &[
                ("endpoint", V::S("/v1/users")),
                ("status", V::I(200)),
                ("duration_ms", V::D("45.2")),
                ("ok", V::B(false)),
                ("tags", V::A(vec![V::S("a")])),
                ("m", V::M(vec![("k", V::I(-3)), ("k", V::I(4))])),
            ],
        ));
        assert!(body.starts_with("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"my-app\"}}"), "{body}");
        assert!(body.contains(
            "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"webjs\"}}"
        ));
        assert!(body.contains("\"scope\":{\"name\":\"my-app.telemetry\""));
        assert!(
            !body.contains("os.type"),
            "empty resource facts are left out"
        );
        let (trace_id, span_id) = span_ids(Key(1, 2));
        let (mut t, mut s) = (Vec::new(), Vec::new());
        hex(&mut t, &trace_id);
        hex(&mut s, &span_id);
        let span = format!(
            concat!(
                "{{\"name\":\"api.request\",\"traceId\":\"{}\",",
                "\"attributes\":[{{\"key\":\"endpoint\",\"value\":{{\"stringValue\":\"/v1/users\"}}}},",
                "{{\"key\":\"status\",\"value\":{{\"intValue\":\"200\"}}}},",
                "{{\"key\":\"duration_ms\",\"value\":{{\"doubleValue\":45.2}}}},",
                "{{\"key\":\"ok\",\"value\":{{\"boolValue\":false}}}},",
                "{{\"key\":\"tags\",\"value\":{{\"arrayValue\":{{\"values\":[{{\"stringValue\":\"a\"}}]}}}}}},",
                "{{\"key\":\"m\",\"value\":{{\"kvlistValue\":{{\"values\":[{{\"key\":\"k\",\"value\":{{\"intValue\":\"-3\"}}}}]}}}}}}],",
                "\"startTimeUnixNano\":\"1000500000\",\"endTimeUnixNano\":\"1000500000\",",
                "\"kind\":1,\"status\":{{\"code\":1}},\"spanId\":\"{}\"}}]}}]}}]}}"
            ),
            String::from_utf8(t).unwrap(),
            String::from_utf8(s).unwrap()
        );
        assert!(body.ends_with(&span), "{body}");
    }

    #[cfg(feature = "timed-spans")]
    #[test]
    fn a_timed_span_starts_its_duration_before_its_end() {
        let body = encode(&record(
            Track::Span {
                duration_ns: 250_250_000,
            },
            1000.5,
            &["db.query"],
            &[("rows", V::I(3))],
        ));
        assert!(
            body.contains("{\"name\":\"db.query\",\"traceId\":"),
            "{body}"
        );
        assert!(body.contains("{\"key\":\"rows\",\"value\":{\"intValue\":\"3\"}}"));
        // Ended at 1000.5 ms, began 250.25 ms earlier: 750.25 ms.
        assert!(
            body.contains(
                "\"startTimeUnixNano\":\"750250000\",\"endTimeUnixNano\":\"1000500000\","
            ),
            "{body}"
        );
        assert!(body.contains("\"kind\":1,\"status\":{\"code\":1}"));
    }

    #[test]
    fn an_error_span_carries_status_2_and_exception_attributes_first() {
        let long = "x".repeat(600);
        let stack = "é".repeat(3000);
        let head = Track::Error;
        let body = encode(&record(
            head,
            1.0,
            &["TypeError", &long, &stack],
            &[("error_type", V::S("spoofed")), ("order_id", V::S("o1"))],
        ));
        assert!(body.contains("\"name\":\"automagik.error\""));
        assert!(body.contains("{\"key\":\"error_type\",\"value\":{\"stringValue\":\"TypeError\"}}"));
        assert!(
            !body.contains("spoofed"),
            "fixed attributes win over the context"
        );
        assert!(body.contains("{\"key\":\"order_id\""));
        let msg = format!(
            "\"status\":{{\"code\":2,\"message\":\"{}\"}}",
            "x".repeat(500)
        );
        assert!(body.contains(&msg));
        let st = body
            .split("exception.stacktrace\",\"value\":{\"stringValue\":\"")
            .nth(1)
            .unwrap();
        let st = st.split('"').next().unwrap();
        assert!(
            st.len() <= crate::model::MAX_STACK_BYTES
                && st.len() > crate::model::MAX_STACK_BYTES - 2
        );
    }

    #[test]
    fn an_item_has_at_most_128_attributes_fixed_ones_included() {
        let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        let many: Vec<(&str, V)> = keys
            .iter()
            .zip(0..)
            .map(|(k, i)| (k.as_str(), V::I(i)))
            .collect();
        let head = Track::Error;
        let body = encode(&record(head, 1.0, &["E", "m", "s"], &many));
        assert_eq!(
            body.matches("{\"key\":").count() - RESOURCE_KEYS,
            crate::model::MAX_ATTRIBUTES
        );
    }

    #[test]
    fn metrics_take_their_otlp_shapes() {
        let gauge = encode(&record(
            Track::Metric {
                kind: MetricKind::Gauge,
                value: 75.5,
            },
            1.0,
            &["cpu.usage", "75.5"],
            &[("unit", V::S("%")), ("host", V::S("a"))],
        ));
        assert!(gauge.contains("{\"name\":\"cpu.usage\",\"unit\":\"%\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1000000\",\"asDouble\":75.5,\"attributes\":[{\"key\":\"host\""), "{gauge}");
        let sum = encode(&record(
            Track::Metric {
                kind: MetricKind::Counter,
                value: 1.0,
            },
            1.0,
            &["requests", "1"],
            &[],
        ));
        assert!(sum.contains("\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"1000000\",\"startTimeUnixNano\":\"1000000\",\"asDouble\":1,\"attributes\":[]}],\"aggregationTemporality\":1,\"isMonotonic\":true}"), "{sum}");
        let hist = encode(&record(
            Track::Metric {
                kind: MetricKind::Histogram,
                value: 123.45,
            },
            1.0,
            &["latency", "123.45"],
            &[],
        ));
        assert!(hist.contains("\"count\":\"1\",\"sum\":123.45,\"min\":123.45,\"max\":123.45,\"bucketCounts\":[\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"1\",\"0\""), "{hist}");
        assert!(hist.contains(
            "\"explicitBounds\":[0,5,10,25,50,75,100,250,500,750,1000,2500,5000,7500,10000]"
        ));
        assert!(hist.contains("\"aggregationTemporality\":1}"));
    }

    #[test]
    fn a_log_has_severity_number_text_and_a_cut_body() {
        let msg = "m".repeat(1200);
        let body = encode(&record(Track::Log { severity: 13 }, 2.0, &[&msg], &[]));
        assert!(body.contains("\"severityNumber\":13,\"severityText\":\"WARN\""));
        assert!(body.contains(&format!(
            "\"body\":{{\"stringValue\":\"{}\"}}",
            "m".repeat(1000)
        )));
        assert!(body.contains("\"observedTimeUnixNano\":\"2000000\""));
    }

    #[test]
    fn the_encoder_enforces_the_nesting_limit_itself() {
        // Six levels of arrays, deeper than the JS writer would ever lay out.
        let mut deep = V::S("leaf");
        for _ in 0..6 {
            deep = V::A(vec![deep]);
        }
        let body = encode(&record(SPAN, 1.0, &["deep"], &[("d", deep)]));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut v =
            &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][0]["value"];
        let mut levels = 0;
        while let Some(values) = v["arrayValue"].get("values") {
            levels += 1;
            match values.get(0) {
                Some(inner) => v = inner,
                None => break,
            }
        }
        assert_eq!(levels, MAX_DEPTH + 1, "{body}");
        assert!(!body.contains("leaf"));
    }
}
