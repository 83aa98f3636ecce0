//! ClickHouse rows (SPEC §5): one JSONEachRow line per item for the deployed `traces`,
//! `metrics` and `logs` tables, typed to pass ClickHouse's strict JSON input settings
//! (no unknown fields; numbers, bools and objects never sent into String columns).
//!
//! `DateTime` columns get Unix seconds (time-zone safe), `*_ns` columns nanoseconds,
//! and `attributes` (`Map(String,String)`) values are stringified the way a person
//! reading the table expects: `200`, `45.2`, `true`, arrays and objects as JSON.

use crate::prelude::*;
use alloc::vec;

use super::config::Config;
use super::encoder::{Encoder, Identity};
use super::float;
use super::ids::{hex, span_ids, uuid_v4, Key};
use super::json;
use super::model::{
    bucket, cut_chars, each_attribute, Attr, Attrs, Item, MetricKind, Signal, Track, Value,
    ERROR_SPAN_NAME, HISTOGRAM_BOUNDS, MAX_ATTRIBUTES, MAX_BODY_CHARS, MAX_DEPTH, MAX_STRING_CHARS,
};
use super::severity;

/// Rows of one client: the columns every row of a table shares are rendered once.
#[derive(Debug)]
pub struct ClickHouse {
    /// `,"service_name":...` etc. for traces, then for metrics and logs.
    shared: [Vec<u8>; 2],
}

/// Starts field `k`: a comma unless the row has just opened.
fn key(out: &mut Vec<u8>, k: &str) {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn str_field(out: &mut Vec<u8>, k: &str, v: &str) {
    key(out, k);
    json::string(out, v);
}

fn uint_field(out: &mut Vec<u8>, k: &str, v: u64) {
    key(out, k);
    json::uint(out, v);
}

fn raw_field(out: &mut Vec<u8>, k: &str, raw: &[u8]) {
    key(out, k);
    out.extend_from_slice(raw);
}

impl ClickHouse {
    /// Renders the shared columns for `config` and `identity`.
    pub fn new(config: &Config, identity: &Identity) -> Self {
        let library = [&config.project_name, ".telemetry"].concat();
        let sdk_version = env!("CARGO_PKG_VERSION");
        let render = |extended: bool| {
            // A placeholder brace makes `key` emit the leading comma for every field.
            let mut out = vec![b'{'];
            let mut put = |k: &str, v: &str| str_field(&mut out, k, v);
            put("project_name", &config.project_name);
            put("project_version", &config.version);
            put("service_name", &config.project_name);
            if extended {
                put("service_namespace", &config.organization);
                put("service_instance_id", &identity.session_id);
            }
            put("environment", &identity.environment);
            put("hostname", &identity.hostname);
            put("user_id", &identity.user_id);
            put("session_id", &identity.session_id);
            put("os_type", &identity.os_type);
            put("os_version", "");
            put("runtime_name", &identity.runtime_name);
            put("runtime_version", &identity.runtime_version);
            put("cloud_provider", "");
            put("cloud_region", "");
            put("cloud_availability_zone", "");
            put("instrumentation_library_name", &library);
            put("instrumentation_library_version", sdk_version);
            if extended {
                put("schema_url", "");
            }
            let mut fragment = vec![b','];
            fragment.extend_from_slice(&out[1..]);
            fragment
        };
        ClickHouse {
            shared: [render(false), render(true)],
        }
    }

    fn shared(&self, signal: Signal) -> &[u8] {
        &self.shared[usize::from(signal != Signal::Traces)]
    }
}

/// A time as Unix seconds (the `DateTime` column) and nanoseconds (its `_ns` twin).
fn times(out: &mut Vec<u8>, [seconds, nanos]: [&str; 2], ns: u64) {
    uint_field(out, seconds, ns / 1_000_000_000);
    uint_field(out, nanos, ns);
}

/// Writes `v`, `depth` containers deep, as plain JSON (the text a Map value holds for
/// arrays and objects); containers at [`MAX_DEPTH`] are written empty.
fn plain_json(out: &mut Vec<u8>, v: &Value, depth: usize) {
    let room = depth < MAX_DEPTH;
    match v {
        Value::Str(s) => json::string(out, cut_chars(s, MAX_STRING_CHARS)),
        Value::Int(i) => json::int(out, *i),
        Value::Double(d) => out.extend_from_slice(d.as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Array(vs) => {
            out.push(b'[');
            let values = vs.clone().take(if room { MAX_ATTRIBUTES } else { 0 });
            for (i, v) in values.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                plain_json(out, &v, depth + 1);
            }
            out.push(b']');
        }
        Value::KvList(kvs) => {
            out.push(b'{');
            let kvs = if room { kvs.clone() } else { Attrs::empty() };
            each_attribute(&[], kvs, None, |k, v| {
                if out.last() != Some(&b'{') {
                    out.push(b',');
                }
                json::string(out, k);
                out.push(b':');
                if let Attr::Value(v) = v {
                    plain_json(out, &v, depth + 1);
                }
            });
            out.push(b'}');
        }
    }
}

/// The `attributes` Map: every value as the string a reader expects.
fn attributes(out: &mut Vec<u8>, fixed: &[(&str, &str)], item: &Item, skip: Option<&str>) {
    key(out, "attributes");
    out.push(b'{');
    let mut text = Vec::new();
    each_attribute(fixed, item.attrs.clone(), skip, |k, v| {
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        json::string(out, k);
        out.push(b':');
        match v {
            Attr::Fixed(s) => json::string(out, s), // already cut to its own limit
            Attr::Value(Value::Str(s)) => json::string(out, cut_chars(s, MAX_STRING_CHARS)),
            Attr::Value(v) => {
                text.clear();
                plain_json(&mut text, &v, 0);
                json::string(out, ::core::str::from_utf8(&text).unwrap_or_default());
            }
        }
    });
    out.push(b'}');
}

/// A metric or log row's UUID, derived from its record's key so a resent row keeps it.
fn row_id(key: Key) -> String {
    uuid_v4(key.bytes(0x5bd1_e995))
}

fn hex_field(out: &mut Vec<u8>, k: &str, bytes: &[u8]) {
    key(out, k);
    out.push(b'"');
    hex(out, bytes);
    out.push(b'"');
}

impl ClickHouse {
    /// Writes any span item (an event, an error, a span that lasts) with its derived ids.
    fn any_span(&self, out: &mut Vec<u8>, item: &Item, key: Key) {
        let error = item.head == Track::Error;
        let (trace_id, span_id) = span_ids(key);
        self.span(out, item, error, &trace_id, &span_id)
    }

    fn span(&self, out: &mut Vec<u8>, item: &Item, error: bool, trace_id: &[u8], span_id: &[u8]) {
        hex_field(out, "trace_id", trace_id);
        hex_field(out, "span_id", span_id);
        str_field(out, "parent_span_id", "");
        times(out, ["timestamp", "timestamp_ns"], item.start_ns());
        uint_field(out, "duration_ms", item.duration_ns() / 1_000_000);
        let (fixed, n) = item.error_fields();
        let name = if error {
            ERROR_SPAN_NAME
        } else {
            cut_chars(item.strings[0], MAX_STRING_CHARS)
        };
        str_field(out, "span_name", name);
        str_field(out, "span_kind", "INTERNAL");
        str_field(out, "status_code", if error { "ERROR" } else { "OK" });
        str_field(out, "status_message", if error { fixed[1].1 } else { "" });
        attributes(out, if error { &fixed[..n] } else { &[] }, item, None);
    }

    fn metric(&self, out: &mut Vec<u8>, item: &Item, kind: MetricKind, value: f64, id: Key) {
        str_field(out, "metric_id", &row_id(id));
        str_field(
            out,
            "metric_name",
            cut_chars(item.strings[0], MAX_STRING_CHARS),
        );
        let (ty, temporality) = match kind {
            MetricKind::Gauge => ("GAUGE", "UNSPECIFIED"),
            MetricKind::Counter => ("SUM", "DELTA"),
            MetricKind::Histogram => ("HISTOGRAM", "DELTA"),
        };
        str_field(out, "metric_type", ty);
        let unit = item.unit();
        str_field(out, "metric_unit", unit.unwrap_or(""));
        str_field(out, "metric_description", "");
        times(out, ["timestamp", "timestamp_ns"], item.time_ns);
        let seconds = item.time_ns / 1_000_000_000;
        uint_field(out, "time_window_start", seconds);
        uint_field(out, "time_window_end", seconds);
        let exact_int = float::is_whole(value) && value.abs() < 9.2e18;
        key(out, "value_int");
        json::int(out, if exact_int { value as i64 } else { 0 });
        // The value as JS printed it: a JSON number, checked at decode.
        let text = item.strings[1];
        raw_field(out, "value_double", text.as_bytes());
        uint_field(out, "is_monotonic", u64::from(kind == MetricKind::Counter));
        str_field(out, "aggregation_temporality", temporality);
        let hist = kind == MetricKind::Histogram;
        uint_field(out, "histogram_count", u64::from(hist));
        for k in ["histogram_sum", "histogram_min", "histogram_max"] {
            raw_field(out, k, if hist { text.as_bytes() } else { b"0" });
        }
        key(out, "histogram_bucket_counts");
        out.push(b'[');
        if hist {
            let b = bucket(value);
            for i in 0..=HISTOGRAM_BOUNDS.len() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(if i == b { b'1' } else { b'0' });
            }
        }
        out.push(b']');
        key(out, "histogram_explicit_bounds");
        out.push(b'[');
        if hist {
            for (i, b) in HISTOGRAM_BOUNDS.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json::uint(out, (*b).into());
            }
        }
        out.push(b']');
        uint_field(out, "summary_count", 0);
        uint_field(out, "summary_sum", 0);
        raw_field(out, "quantile_values", b"{}");
        attributes(out, &[], item, unit.map(|_| "unit"));
    }

    fn log(&self, out: &mut Vec<u8>, item: &Item, level: u8, id: Key) {
        str_field(out, "log_id", &row_id(id));
        str_field(out, "trace_id", "");
        str_field(out, "span_id", "");
        times(out, ["timestamp", "timestamp_ns"], item.time_ns);
        times(
            out,
            ["observed_timestamp", "observed_timestamp_ns"],
            item.time_ns,
        );
        str_field(out, "severity_text", severity::text(level));
        uint_field(out, "severity_number", u64::from(level));
        let body = cut_chars(item.strings[0], MAX_BODY_CHARS);
        str_field(out, "body", body);
        let looks_json = (body.starts_with('{') && body.ends_with('}'))
            || (body.starts_with('[') && body.ends_with(']'));
        str_field(out, "body_type", if looks_json { "JSON" } else { "STRING" });
        attributes(out, &[], item, None);
        let attr = |name: &str| {
            item.attrs.clone().find_map(|(k, v)| match v {
                Value::Str(s) if k == name => Some(s),
                _ => None,
            })
        };
        let exception = [
            ("exception_type", attr("exception.type")),
            ("exception_message", attr("exception.message")),
            ("exception_stacktrace", attr("exception.stacktrace")),
        ];
        for (column, value) in exception {
            str_field(out, column, cut_chars(value.unwrap_or(""), MAX_BODY_CHARS));
        }
        uint_field(
            out,
            "is_exception",
            u64::from(exception.iter().any(|(_, v)| v.is_some())),
        );
    }
}

impl Encoder for ClickHouse {
    fn open(&self, _signal: Signal, _out: &mut Vec<u8>) {}

    fn item(&self, out: &mut Vec<u8>, item: &Item, key: Key) {
        out.push(b'{');
        match item.head {
            #[cfg(not(feature = "timed-spans"))]
            Track::Event | Track::Error => self.any_span(out, item, key),
            // One arm for every span, as in the OTLP encoder.
            #[cfg(feature = "timed-spans")]
            Track::Event | Track::Error | Track::Span { .. } => self.any_span(out, item, key),
            Track::Metric { kind, value } => self.metric(out, item, kind, value, key),
            Track::Log { severity } => self.log(out, item, severity, key),
        }
        out.extend_from_slice(self.shared(item.head.signal()));
        out.push(b'}');
    }

    fn separator(&self) -> u8 {
        b'\n'
    }

    fn suffix(&self) -> &'static [u8] {
        b"\n"
    }
}

/// The `Authorization` value for HTTP Basic auth.
pub fn basic_auth(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = [user, ":", password].concat().into_bytes();
    let mut out = String::from("Basic ");
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The INSERT URL for `table`.
pub fn insert_url(config: &Config, table: &str) -> String {
    let ch = &config.clickhouse;
    [
        &ch.endpoint,
        "/?query=INSERT%20INTO%20",
        &ch.database,
        ".",
        table,
        "%20FORMAT%20JSONEachRow",
    ]
    .concat()
}

/// ClickHouse exception codes that mean "try later": the server is overloaded or a
/// transient condition holds, and the same INSERT will succeed once it passes.
pub fn retryable(code: u32) -> bool {
    matches!(
        code,
        159 // TIMEOUT_EXCEEDED
            | 160 // TOO_SLOW
            | 202 // TOO_MANY_SIMULTANEOUS_QUERIES
            | 203 // NO_FREE_CONNECTION
            | 209 // SOCKET_TIMEOUT
            | 210 // NETWORK_ERROR
            | 241 // MEMORY_LIMIT_EXCEEDED
            | 242 // TABLE_IS_READ_ONLY
            | 252 // TOO_MANY_PARTS
            | 285 // TOO_FEW_LIVE_REPLICAS
            | 319 // UNKNOWN_STATUS_OF_INSERT
            | 425 // SYSTEM_ERROR
            | 999 // KEEPER_EXCEPTION
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Raw;
    use crate::model::testing::{record, V};
    use serde_json::{json, Map, Value as Json};

    const TRACE_COLUMNS: &str = "trace_id span_id parent_span_id timestamp timestamp_ns duration_ms service_name span_name span_kind status_code status_message project_name project_version environment hostname attributes user_id session_id os_type os_version runtime_name runtime_version cloud_provider cloud_region cloud_availability_zone instrumentation_library_name instrumentation_library_version";
    const METRIC_COLUMNS: &str = "metric_id metric_name metric_type metric_unit metric_description timestamp timestamp_ns time_window_start time_window_end value_int value_double is_monotonic aggregation_temporality histogram_count histogram_sum histogram_min histogram_max histogram_bucket_counts histogram_explicit_bounds summary_count summary_sum quantile_values project_name project_version service_name service_namespace service_instance_id environment hostname attributes user_id session_id os_type os_version runtime_name runtime_version cloud_provider cloud_region cloud_availability_zone instrumentation_library_name instrumentation_library_version schema_url";
    const LOG_COLUMNS: &str = "log_id trace_id span_id timestamp timestamp_ns observed_timestamp observed_timestamp_ns severity_text severity_number body body_type project_name project_version service_name service_namespace service_instance_id environment hostname user_id session_id os_type os_version runtime_name runtime_version cloud_provider cloud_region cloud_availability_zone instrumentation_library_name instrumentation_library_version attributes schema_url exception_type exception_message exception_stacktrace is_exception";

    fn row(rec: &[u8]) -> Map<String, Json> {
        let config = Config::parse(&mut |n| match n {
            "projectName" => Raw::Str("my-app".into()),
            "version" => Raw::Str("1.0.0".into()),
            _ => Raw::Missing,
        })
        .unwrap();
        let identity = Identity {
            user_id: "u1".into(),
            session_id: "s1".into(),
            runtime_name: "node".into(),
            ..Identity::default()
        };
        let ch = ClickHouse::new(&config, &identity);
        let mut out = Vec::new();
        ch.item(&mut out, &Item::decode(rec).unwrap(), Key(3, 4));
        serde_json::from_slice(&out).unwrap()
    }

    fn columns(row: &Map<String, Json>) -> Vec<&str> {
        let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    fn sorted(list: &str) -> Vec<&str> {
        let mut v: Vec<&str> = list.split(' ').collect();
        v.sort_unstable();
        v
    }

    const T: f64 = 1_764_000_000_123.5;

    #[cfg(feature = "timed-spans")]
    #[test]
    fn a_timed_span_row_starts_at_its_start_with_its_duration() {
        let r = row(&record(
            Track::Span {
                duration_ns: 1_500_000_000,
            },
            T,
            &["db.query"],
            &[],
        ));
        assert_eq!(columns(&r), sorted(TRACE_COLUMNS));
        assert_eq!(r["span_name"], "db.query");
        assert_eq!(r["timestamp_ns"], 1_763_999_998_623_500_000_u64);
        assert_eq!(r["timestamp"], 1_763_999_998_u64);
        assert_eq!(r["duration_ms"], 1500);
        assert_eq!(r["status_code"], "OK");
    }

    #[test]
    fn a_span_row_has_exactly_the_traces_columns_with_typed_values() {
        let r = row(&record(
            Track::Event,
            T,
            &["api.request"],
            &[
                ("status", V::I(200)),
                ("duration_ms", V::D("45.2")),
                ("ok", V::B(true)),
                ("tags", V::A(vec![V::S("a"), V::I(1)])),
                ("m", V::M(vec![("k", V::S("v\"q"))])),
            ],
        ));
        assert_eq!(columns(&r), sorted(TRACE_COLUMNS));
        let mut trace_id = Vec::new();
        hex(&mut trace_id, &span_ids(Key(3, 4)).0);
        assert_eq!(r["trace_id"], json!(String::from_utf8(trace_id).unwrap()));
        assert_eq!(r["timestamp"], json!(1_764_000_000u64));
        assert_eq!(r["timestamp_ns"], json!(1_764_000_000_123_500_000u64));
        assert_eq!(r["status_code"], json!("OK"));
        assert_eq!(r["user_id"], json!("u1"));
        assert_eq!(r["session_id"], json!("s1"));
        assert_eq!(
            r["attributes"],
            json!({"status": "200", "duration_ms": "45.2", "ok": "true", "tags": "[\"a\",1]", "m": "{\"k\":\"v\\\"q\"}"})
        );
    }

    #[test]
    fn an_error_row_is_status_error_with_the_exception_attributes() {
        let r = row(&record(
            Track::Error,
            T,
            &["TypeError", "bad", "at x"],
            &[("order", V::S("o1"))],
        ));
        assert_eq!(r["span_name"], json!("automagik.error"));
        assert_eq!(r["status_code"], json!("ERROR"));
        assert_eq!(r["status_message"], json!("bad"));
        assert_eq!(r["attributes"]["exception.stacktrace"], json!("at x"));
        let long = row(&record(
            Track::Error,
            T,
            &["E", "m", &"s".repeat(5000)],
            &[],
        ));
        let stack = long["attributes"]["exception.stacktrace"].as_str().unwrap();
        assert_eq!(
            stack.len(),
            crate::model::MAX_STACK_BYTES,
            "stacks keep 4 KiB"
        );
        assert_eq!(r["attributes"]["order"], json!("o1"));
    }

    #[test]
    fn metric_rows_have_exactly_the_metrics_columns_per_kind() {
        let gauge = row(&record(
            Track::Metric {
                kind: MetricKind::Gauge,
                value: 75.5,
            },
            T,
            &["cpu", "75.5"],
            &[("unit", V::S("%"))],
        ));
        assert_eq!(columns(&gauge), sorted(METRIC_COLUMNS));
        assert_eq!(gauge["metric_type"], json!("GAUGE"));
        assert_eq!(gauge["metric_unit"], json!("%"));
        assert_eq!(gauge["value_double"], json!(75.5));
        assert_eq!(gauge["value_int"], json!(0));
        assert_eq!(gauge["attributes"], json!({}));
        let sum = row(&record(
            Track::Metric {
                kind: MetricKind::Counter,
                value: 3.0,
            },
            T,
            &["n", "3"],
            &[],
        ));
        assert_eq!(
            (&sum["metric_type"], &sum["is_monotonic"]),
            (&json!("SUM"), &json!(1))
        );
        assert_eq!(sum["aggregation_temporality"], json!("DELTA"));
        assert_eq!(sum["value_int"], json!(3));
        let hist = row(&record(
            Track::Metric {
                kind: MetricKind::Histogram,
                value: 42.0,
            },
            T,
            &["h", "42"],
            &[],
        ));
        assert_eq!(hist["histogram_count"], json!(1));
        assert_eq!(
            (&hist["histogram_min"], &hist["histogram_max"]),
            (&json!(42), &json!(42))
        );
        assert_eq!(
            hist["histogram_bucket_counts"].as_array().unwrap().len(),
            16
        );
        assert_eq!(
            hist["histogram_bucket_counts"][4],
            json!(1),
            "42 is in (25, 50]"
        );
        let id = gauge["metric_id"].as_str().unwrap();
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "a v4 UUID: {id}");
    }

    #[test]
    fn log_rows_have_exactly_the_logs_columns_and_exception_fields_from_attributes() {
        let plain = row(&record(Track::Log { severity: 13 }, T, &["careful"], &[]));
        assert_eq!(columns(&plain), sorted(LOG_COLUMNS));
        assert_eq!(
            (&plain["severity_text"], &plain["severity_number"]),
            (&json!("WARN"), &json!(13))
        );
        assert_eq!(
            (&plain["body_type"], &plain["is_exception"]),
            (&json!("STRING"), &json!(0))
        );
        let exc = row(&record(
            Track::Log { severity: 17 },
            T,
            &["{\"a\":1}"],
            &[
                ("exception.type", V::S("IOError")),
                ("exception.message", V::S("disk")),
            ],
        ));
        assert_eq!(exc["body_type"], json!("JSON"));
        assert_eq!(exc["exception_type"], json!("IOError"));
        assert_eq!(exc["exception_message"], json!("disk"));
        assert_eq!(exc["is_exception"], json!(1));
    }

    #[test]
    fn basic_auth_is_standard_base64() {
        assert_eq!(basic_auth("default", ""), "Basic ZGVmYXVsdDo=");
        assert_eq!(basic_auth("default", "pw"), "Basic ZGVmYXVsdDpwdw==");
        assert_eq!(basic_auth("ab", "c"), "Basic YWI6Yw==");
        assert_eq!(basic_auth("abc", "de"), "Basic YWJjOmRl");
    }

    #[test]
    fn only_transient_exception_codes_are_retryable() {
        for code in [202, 241, 252, 159, 209] {
            assert!(retryable(code), "{code}");
        }
        for code in [27, 60, 62, 81, 516, 53, 117] {
            assert!(!retryable(code), "{code}");
        }
    }
}
