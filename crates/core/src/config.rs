//! Client configuration: defaults, validation and derived endpoints (SPEC §3).
//!
//! The wasm layer reads each option off the JS object as a [`Raw`] value; everything
//! else happens here so that every rule is unit-tested natively. An error names the
//! option and what is allowed; the wasm layer appends the value received as JS prints
//! it (numbers, strings, types: the JS engine knows best, and the wasm then needs no
//! float formatter).

use crate::prelude::*;

use crate::{float, json};

/// An option's value as read from JavaScript, before validation.
#[derive(Clone, Debug, PartialEq)]
pub enum Raw {
    /// Absent or `undefined`: the default applies.
    Missing,
    /// A boolean.
    Bool(bool),
    /// A number (possibly NaN or infinite).
    Number(f64),
    /// A string.
    Str(String),
    /// `null`.
    Null,
    /// An array: each element's text, or `""` where it is not a string (rejected like a
    /// blank string wherever a list of names is read).
    List(Vec<String>),
    /// Any other object (functions included).
    Object,
    /// Anything else (bigint, symbol, or a getter that threw).
    Other,
}

/// Whether a bad option has the wrong type or a value out of range (JS `TypeError` or
/// `RangeError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Wrong type or missing.
    Type,
    /// Right type, value not allowed.
    Range,
}

/// A configuration error naming the option and what is allowed.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// Which JS error class to throw.
    pub kind: ErrorKind,
    /// The option at fault (its value is described after the message).
    pub option: &'static str,
    /// The message, up to the value received.
    pub message: String,
}

/// Where items are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// OTLP/HTTP JSON.
    Otlp,
    /// ClickHouse's HTTP interface.
    #[cfg(feature = "clickhouse")]
    ClickHouse,
}

impl Backend {
    /// Whether this is ClickHouse (never, in a build without it).
    pub fn is_clickhouse(self) -> bool {
        #[cfg(feature = "clickhouse")]
        return self == Backend::ClickHouse;
        #[cfg(not(feature = "clickhouse"))]
        return false;
    }
}

/// ClickHouse connection and table names.
#[derive(Clone, Debug, PartialEq)]
pub struct ClickHouse {
    /// Base URL of the HTTP interface.
    pub endpoint: String,
    /// Database name.
    pub database: String,
    /// Table for spans.
    pub traces_table: String,
    /// Table for metric points.
    pub metrics_table: String,
    /// Table for log records.
    pub logs_table: String,
    /// User for Basic auth (none when empty).
    pub username: String,
    /// Password; never reported anywhere.
    pub password: String,
}

/// A validated configuration. Times are in milliseconds, sizes in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `service.name` / `project.name`.
    pub project_name: String,
    /// `service.version` / `project.version`.
    pub version: String,
    /// Which backend receives items.
    pub backend: Backend,
    /// OTLP base URL, without a trailing `/v1/traces` or slash.
    pub endpoint: String,
    /// Where traces go.
    pub traces_endpoint: String,
    /// Where metrics go.
    pub metrics_endpoint: String,
    /// Where logs go.
    pub logs_endpoint: String,
    /// `service.organization`.
    pub organization: String,
    /// Per-attempt request timeout.
    pub timeout_ms: u32,
    /// Queued items of one signal that trigger a flush.
    pub batch_size: u32,
    /// Period of the timer flush; 0 turns the timer off.
    pub flush_interval_ms: u32,
    /// Whether bodies above the threshold are gzipped.
    pub compression_enabled: bool,
    /// Smallest body that is gzipped.
    pub compression_threshold: u32,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Base of the exponential backoff.
    pub retry_backoff_base_ms: f64,
    /// Bound on queued bytes across signals.
    pub max_queue_bytes: u32,
    /// Bound on one request's uncompressed body.
    pub max_batch_bytes: u32,
    /// Bound on the unsent batches kept in `localStorage` across page loads (browsers);
    /// 0 turns persistence off.
    pub persist_bytes: u32,
    /// ClickHouse settings.
    pub clickhouse: ClickHouse,
    /// `config.enabled`, when given.
    pub enabled: Option<bool>,
    /// Personal-data scrubbing (SPEC §6.1): `None` when `scrub: false`, else the keys
    /// the app adds to the built-in sensitive ones (`scrub: { keys: [...] }`).
    pub scrub: Option<Vec<String>>,
    /// Debug lines on the console.
    pub verbose: bool,
}

/// The default OTLP base URL.
pub const DEFAULT_ENDPOINT: &str = "https://telemetry.namastex.ai";

/// Every option name, for hosts that read them off a JS object.
pub const OPTIONS: &[&str] = &[
    "projectName",
    "version",
    "backend",
    "endpoint",
    "metricsEndpoint",
    "logsEndpoint",
    "organization",
    "timeout",
    "batchSize",
    "flushInterval",
    "compressionEnabled",
    "compressionThreshold",
    "maxRetries",
    "retryBackoffBase",
    "maxQueueBytes",
    "maxBatchBytes",
    "persistBytes",
    "clickhouseEndpoint",
    "clickhouseDatabase",
    "clickhouseTable",
    "clickhouseMetricsTable",
    "clickhouseLogsTable",
    "clickhouseUsername",
    "clickhousePassword",
    "enabled",
    "verbose",
    "scrub",
    "scrub.keys",
    "env",
];

/// Reads and checks options one at a time, producing errors in one consistent voice. A
/// bad option does not stop the reading: the first error is kept and the default stands
/// in, so that parsing has one exit (an early return per option would drop everything
/// parsed so far at each of them: ~1 KB of wasm).
struct Options<'a> {
    get: &'a mut dyn FnMut(&str) -> Raw,
    error: Option<ConfigError>,
}

impl Options<'_> {
    /// Keeps the first error: the option and what is allowed.
    fn fail(&mut self, kind: ErrorKind, name: &'static str, allowed: &str) {
        if self.error.is_some() {
            return;
        }
        let message = [
            "AutomagikTelemetry: invalid option '",
            name,
            "': expected ",
            allowed,
        ]
        .concat();
        self.error = Some(ConfigError {
            kind,
            option: name,
            message,
        });
    }

    /// A non-empty string; `default` stands in when it is missing, unless it is empty
    /// (a required option). Blank means ASCII whitespace only: Unicode's whitespace
    /// tables cost more wasm than a name of no-break spaces is worth refusing.
    fn string(&mut self, name: &'static str, default: &str) -> String {
        let kind = match ((self.get)(name), default) {
            (Raw::Str(s), _) if !s.trim_ascii().is_empty() => return s,
            (Raw::Missing, d) if !d.is_empty() => return d.into(),
            (Raw::Str(_), _) => ErrorKind::Range,
            _ => ErrorKind::Type,
        };
        self.fail(kind, name, "a non-empty string");
        default.into()
    }

    /// A string that may be empty (credentials: empty means none).
    fn any_string(&mut self, name: &'static str, default: &str) -> String {
        match (self.get)(name) {
            Raw::Str(s) => s,
            Raw::Missing => default.into(),
            _ => {
                self.fail(ErrorKind::Type, name, "a string");
                default.into()
            }
        }
    }

    /// `scrub`: absent or `true` (on), `false` (off), or `{ keys: [...] }` (on, with
    /// these non-empty strings as sensitive keys too). `scrub.keys` is read only from an
    /// object.
    fn scrub(&mut self) -> Option<Vec<String>> {
        match (self.get)("scrub") {
            Raw::Missing | Raw::Bool(true) => return Some(Vec::new()),
            Raw::Bool(false) => return None,
            Raw::Object => match (self.get)("scrub.keys") {
                Raw::Missing => return Some(Vec::new()),
                Raw::List(keys) if keys.iter().all(|k| !k.trim_ascii().is_empty()) => {
                    return Some(keys)
                }
                _ => {}
            },
            _ => {}
        }
        self.fail(
            ErrorKind::Type,
            "scrub",
            "true, false or { keys: ['a key', ...] } (an array of non-empty strings)",
        );
        Some(Vec::new())
    }

    fn boolean(&mut self, name: &'static str, default: bool) -> bool {
        self.optional_bool(name).unwrap_or(default)
    }

    fn optional_bool(&mut self, name: &'static str) -> Option<bool> {
        match (self.get)(name) {
            Raw::Bool(b) => Some(b),
            Raw::Missing => None,
            _ => {
                self.fail(ErrorKind::Type, name, "true or false");
                None
            }
        }
    }

    /// A number in `min..=max`; `unit` explains the scale in the error message.
    fn number(
        &mut self,
        name: &'static str,
        default: f64,
        [min, max]: [u32; 2],
        whole: bool,
        unit: &str,
    ) -> f64 {
        let kind = match (self.get)(name) {
            Raw::Missing => return default,
            Raw::Number(n)
                if n >= f64::from(min) && n <= f64::from(max) && (!whole || float::is_whole(n)) =>
            {
                return n
            }
            Raw::Number(_) => ErrorKind::Range,
            _ => ErrorKind::Type,
        };
        // "a whole number from 100 to 600000 milliseconds (...)"
        let allowed = [
            if whole { "a whole number" } else { "a number" },
            " from ",
            &json::decimal(min.into()),
            " to ",
            &json::decimal(max.into()),
            " ",
            unit,
        ]
        .concat();
        self.fail(kind, name, &allowed);
        default
    }

    fn url(&mut self, name: &'static str, default: &str) -> String {
        let s = self.string(name, default);
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        match rest {
            Some(host)
                if !host.is_empty()
                    && !host.starts_with('/')
                    && !s.bytes().any(|b| b.is_ascii_whitespace()) =>
            {
                trim_slashes(&s).into()
            }
            _ => {
                self.fail(ErrorKind::Range, name, "an http:// or https:// URL");
                default.into()
            }
        }
    }

    /// A ClickHouse identifier: it is spliced into the INSERT query, so only plain names.
    fn identifier(&mut self, name: &'static str, default: &str) -> String {
        let s = self.string(name, default);
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.fail(
                ErrorKind::Range,
                name,
                "a name of letters, digits and underscores",
            );
            return default.into();
        }
        s
    }
}

const MAX_TIMER_MS: u32 = 2_147_483_647;

/// `s` without its trailing slashes: `trim_end_matches('/')` on bytes, which links no
/// UTF-8 decoder (a `/` byte is always a whole character).
fn trim_slashes(s: &str) -> &str {
    let end = s.bytes().rposition(|b| b != b'/').map_or(0, |i| i + 1);
    s.get(..end).unwrap_or(s)
}

/// What a `backend: 'clickhouse'` is told where the ClickHouse backend was left out.
#[cfg(not(feature = "clickhouse"))]
const NO_CLICKHOUSE: &str = "'otlp': this build leaves the ClickHouse backend out (a browser page should not hold a ClickHouse password); import { AutomagikTelemetry } from '@automagik/telemetry/clickhouse' to use it";

impl Config {
    /// Validates the options `get` returns by name (see [`OPTIONS`]). The error names the
    /// first bad option, in [`OPTIONS`]' order.
    pub fn parse(get: &mut dyn FnMut(&str) -> Raw) -> Result<Config, ConfigError> {
        let mut o = Options { get, error: None };
        // Required: no default (an empty default stands for none).
        let project_name = o.string("projectName", "");
        let version = o.string("version", "");
        let backend = match o.string("backend", "otlp").as_str() {
            "otlp" => Backend::Otlp,
            #[cfg(feature = "clickhouse")]
            "clickhouse" => Backend::ClickHouse,
            #[cfg(not(feature = "clickhouse"))]
            "clickhouse" => {
                o.fail(ErrorKind::Range, "backend", NO_CLICKHOUSE);
                Backend::Otlp
            }
            _ => {
                o.fail(ErrorKind::Range, "backend", "'otlp' or 'clickhouse'");
                Backend::Otlp
            }
        };
        let endpoint = o.url("endpoint", DEFAULT_ENDPOINT);
        let endpoint = endpoint
            .strip_suffix("/v1/traces")
            .map(|b| trim_slashes(b).into())
            .unwrap_or(endpoint);
        let metrics_endpoint = o.url("metricsEndpoint", &[&endpoint, "/v1/metrics"].concat());
        let logs_endpoint = o.url("logsEndpoint", &[&endpoint, "/v1/logs"].concat());
        let organization = o.string("organization", "namastex");
        let ms = "milliseconds (times are in milliseconds, not seconds)";
        let timeout_ms = o.number("timeout", 5000.0, [100, 600_000], true, ms) as u32;
        let batch_size = o.number("batchSize", 100.0, [1, 100_000], true, "items") as u32;
        let flush_interval_ms =
            o.number("flushInterval", 5000.0, [0, MAX_TIMER_MS], true, ms) as u32;
        let compression_enabled = o.boolean("compressionEnabled", true);
        let compression_threshold =
            o.number("compressionThreshold", 1024.0, [0, u32::MAX], true, "bytes") as u32;
        let max_retries = o.number("maxRetries", 3.0, [0, 100], true, "retries") as u32;
        let retry_backoff_base_ms = o.number("retryBackoffBase", 1000.0, [0, 300_000], false, ms);
        let max_queue_bytes = o.number(
            "maxQueueBytes",
            4.0 * 1024.0 * 1024.0,
            [16_384, 1 << 30],
            true,
            "bytes",
        ) as u32;
        let max_batch_bytes = o.number(
            "maxBatchBytes",
            512.0 * 1024.0,
            [1024, 64 << 20],
            true,
            "bytes",
        ) as u32;
        let persist_bytes = o.number(
            "persistBytes",
            262_144.0,
            [0, 1 << 30],
            true,
            "bytes (0 turns it off)",
        ) as u32;
        let clickhouse = ClickHouse {
            endpoint: o.url("clickhouseEndpoint", "http://localhost:8123"),
            database: o.identifier("clickhouseDatabase", "telemetry"),
            traces_table: o.identifier("clickhouseTable", "traces"),
            metrics_table: o.identifier("clickhouseMetricsTable", "metrics"),
            logs_table: o.identifier("clickhouseLogsTable", "logs"),
            username: o.any_string("clickhouseUsername", "default"),
            password: o.any_string("clickhousePassword", ""),
        };
        let enabled = o.optional_bool("enabled");
        let verbose = o.boolean("verbose", false);
        let scrub = o.scrub();
        // The host reads `env` itself (it is a record of variables); here only its type.
        if !matches!((o.get)("env"), Raw::Missing | Raw::Null | Raw::Object) {
            o.fail(ErrorKind::Type, "env", "an object of environment variables");
        }
        if let Some(e) = o.error {
            return Err(e);
        }
        Ok(Config {
            traces_endpoint: [&endpoint, "/v1/traces"].concat(),
            project_name,
            version,
            backend,
            endpoint,
            metrics_endpoint,
            logs_endpoint,
            organization,
            timeout_ms,
            batch_size,
            flush_interval_ms,
            compression_enabled,
            compression_threshold,
            max_retries,
            retry_backoff_base_ms,
            max_queue_bytes,
            max_batch_bytes,
            persist_bytes,
            clickhouse,
            enabled,
            verbose,
            scrub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[(&str, Raw)]) -> Result<Config, ConfigError> {
        let base = [
            ("projectName", Raw::Str("my-app".into())),
            ("version", Raw::Str("1.0.0".into())),
        ];
        Config::parse(&mut |name| {
            opts.iter()
                .chain(base.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or(Raw::Missing)
        })
    }

    fn err(opts: &[(&str, Raw)]) -> ConfigError {
        parse(opts).unwrap_err()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.backend, Backend::Otlp);
        assert_eq!(c.traces_endpoint, "https://telemetry.namastex.ai/v1/traces");
        assert_eq!(
            c.metrics_endpoint,
            "https://telemetry.namastex.ai/v1/metrics"
        );
        assert_eq!(c.logs_endpoint, "https://telemetry.namastex.ai/v1/logs");
        assert_eq!(c.organization, "namastex");
        assert_eq!(
            (c.timeout_ms, c.batch_size, c.flush_interval_ms),
            (5000, 100, 5000)
        );
        assert!(c.compression_enabled);
        assert_eq!(c.compression_threshold, 1024);
        assert_eq!((c.max_retries, c.retry_backoff_base_ms), (3, 1000.0));
        assert_eq!((c.max_queue_bytes, c.max_batch_bytes), (4 << 20, 512 << 10));
        assert_eq!(c.persist_bytes, 256 << 10);
        assert_eq!(c.clickhouse.endpoint, "http://localhost:8123");
        assert_eq!(c.clickhouse.database, "telemetry");
        assert_eq!(c.clickhouse.username, "default");
        assert_eq!(c.enabled, None);
    }

    #[test]
    fn a_trailing_v1_traces_is_stripped_and_explicit_endpoints_are_verbatim() {
        let c = parse(&[
            (
                "endpoint",
                Raw::Str("http://127.0.0.1:4318/v1/traces".into()),
            ),
            (
                "logsEndpoint",
                Raw::Str("http://logs.example/ingest".into()),
            ),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:4318");
        assert_eq!(c.traces_endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(c.metrics_endpoint, "http://127.0.0.1:4318/v1/metrics");
        assert_eq!(c.logs_endpoint, "http://logs.example/ingest");
    }

    #[test]
    fn trailing_slashes_are_stripped() {
        let c = parse(&[("endpoint", Raw::Str("https://c.example/otel//".into()))]).unwrap();
        assert_eq!(c.traces_endpoint, "https://c.example/otel/v1/traces");
        let c = parse(&[("endpoint", Raw::Str("https://c.example/v1/traces/".into()))]).unwrap();
        assert_eq!(c.endpoint, "https://c.example");
        let c = parse(&[("logsEndpoint", Raw::Str("https://l.example/é/".into()))]).unwrap();
        assert_eq!(c.logs_endpoint, "https://l.example/é");
    }

    #[test]
    fn a_timeout_in_seconds_is_rejected_with_the_unit() {
        let e = err(&[("timeout", Raw::Number(5.0))]);
        assert_eq!(e.kind, ErrorKind::Range);
        assert_eq!(e.option, "timeout");
        assert!(e.message.contains("'timeout'"), "{}", e.message);
        assert!(e.message.contains("milliseconds"), "{}", e.message);
    }

    #[test]
    fn messages_name_the_option_and_the_allowed_range() {
        let msg = |name, raw| err(&[(name, raw)]);
        let e = msg("timeout", Raw::Number(5.0));
        assert_eq!(
            e.message,
            "AutomagikTelemetry: invalid option 'timeout': expected a whole number from 100 \
             to 600000 milliseconds (times are in milliseconds, not seconds)"
        );
        assert_eq!(e.option, "timeout");
        let e = msg("retryBackoffBase", Raw::Number(f64::INFINITY));
        assert!(e.message.ends_with(
            "expected a number from 0 to 300000 milliseconds (times are in milliseconds, not seconds)"
        ));
        for (name, raw) in [
            ("batchSize", Raw::Number(1.5)),
            ("batchSize", Raw::Number(f64::NAN)),
            ("batchSize", Raw::Bool(true)),
            ("batchSize", Raw::Other),
        ] {
            let e = msg(name, raw);
            assert!(e
                .message
                .ends_with("expected a whole number from 1 to 100000 items"));
            assert_eq!(e.option, "batchSize");
        }
        assert!(msg("backend", Raw::Str("a\"b".into()))
            .message
            .ends_with("expected 'otlp' or 'clickhouse'"));
        assert!(msg("verbose", Raw::Other)
            .message
            .ends_with("expected true or false"));
    }

    #[test]
    fn wrong_types_and_missing_required_options_are_type_errors() {
        let e = Config::parse(&mut |_| Raw::Missing).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Type);
        assert!(e.message.contains("'projectName'") && e.option == "projectName");
        let e = err(&[("batchSize", Raw::Str("100".into()))]);
        assert_eq!(e.kind, ErrorKind::Type);
        assert_eq!(e.option, "batchSize");
        let e = err(&[("enabled", Raw::Str("yes".into()))]);
        assert_eq!(e.kind, ErrorKind::Type);
        let e = err(&[("verbose", Raw::Other)]);
        assert_eq!((e.kind, e.option), (ErrorKind::Type, "verbose"));
    }

    #[test]
    fn out_of_range_values_are_range_errors() {
        for (name, raw) in [
            ("projectName", Raw::Str("  ".into())),
            ("backend", Raw::Str("kafka".into())),
            ("endpoint", Raw::Str("ftp://x".into())),
            ("endpoint", Raw::Str("http://".into())),
            ("batchSize", Raw::Number(0.0)),
            ("batchSize", Raw::Number(1.5)),
            ("maxRetries", Raw::Number(-1.0)),
            ("flushInterval", Raw::Number(f64::NAN)),
            ("maxQueueBytes", Raw::Number(10.0)),
            ("clickhouseTable", Raw::Str("t; DROP TABLE x".into())),
        ] {
            let e = err(&[(name, raw)]);
            assert_eq!(e.kind, ErrorKind::Range, "{name}: {}", e.message);
            assert!(e.message.contains(&format!("'{name}'")), "{}", e.message);
        }
    }

    #[test]
    fn persist_bytes_is_a_byte_count_and_zero_turns_it_off() {
        assert_eq!(
            parse(&[("persistBytes", Raw::Number(0.0))])
                .unwrap()
                .persist_bytes,
            0
        );
        let e = err(&[("persistBytes", Raw::Number(-1.0))]);
        assert_eq!((e.kind, e.option), (ErrorKind::Range, "persistBytes"));
        assert!(
            e.message.ends_with(
                "'persistBytes': expected a whole number from 0 to 1073741824 bytes (0 turns it off)"
            ),
            "{}",
            e.message
        );
        let e = err(&[("persistBytes", Raw::Str("256k".into()))]);
        assert_eq!((e.kind, e.option), (ErrorKind::Type, "persistBytes"));
    }

    #[test]
    fn of_several_bad_options_the_first_is_named() {
        let e = err(&[
            ("verbose", Raw::Str("yes".into())),
            ("timeout", Raw::Number(5.0)),
            ("clickhouseTable", Raw::Str("a b".into())),
        ]);
        assert_eq!(e.kind, ErrorKind::Range);
        assert!(e.message.contains("'timeout'"), "{}", e.message);
    }

    #[test]
    fn scrub_is_on_by_default_off_with_false_and_takes_extra_keys() {
        assert_eq!(parse(&[]).unwrap().scrub, Some(vec![]));
        assert_eq!(
            parse(&[("scrub", Raw::Bool(true))]).unwrap().scrub,
            Some(vec![])
        );
        assert_eq!(parse(&[("scrub", Raw::Bool(false))]).unwrap().scrub, None);
        let keys = Raw::List(vec!["employee_no".into(), "x".into()]);
        let c = parse(&[("scrub", Raw::Object), ("scrub.keys", keys)]).unwrap();
        assert_eq!(c.scrub, Some(vec!["employee_no".into(), "x".into()]));
        assert_eq!(
            parse(&[("scrub", Raw::Object)]).unwrap().scrub,
            Some(vec![])
        );
        for (scrub, keys) in [
            (Raw::Str("yes".into()), Raw::Missing),
            (Raw::Number(1.0), Raw::Missing),
            (Raw::Null, Raw::Missing),
            (Raw::List(vec![]), Raw::Missing),
            (Raw::Object, Raw::Str("password".into())),
            (Raw::Object, Raw::List(vec![String::new()])), // a non-string element
            (Raw::Object, Raw::List(vec![" ".into()])),
        ] {
            let e = err(&[("scrub", scrub), ("scrub.keys", keys)]);
            assert_eq!(
                (e.kind, e.option),
                (ErrorKind::Type, "scrub"),
                "{}",
                e.message
            );
            assert!(e.message.contains("{ keys: ["), "{}", e.message);
        }
    }

    #[test]
    fn env_is_an_object_null_or_absent() {
        for ok in [Raw::Missing, Raw::Null, Raw::Object] {
            assert!(parse(&[("env", ok)]).is_ok());
        }
        for bad in [
            Raw::Str("x".into()),
            Raw::Number(1.0),
            Raw::Bool(true),
            Raw::Other,
        ] {
            let e = err(&[("env", bad)]);
            assert_eq!((e.kind, e.option), (ErrorKind::Type, "env"));
            assert!(e
                .message
                .ends_with("expected an object of environment variables"));
        }
    }

    #[test]
    fn zero_retries_and_empty_credentials_are_honoured() {
        let c = parse(&[
            ("maxRetries", Raw::Number(0.0)),
            ("clickhouseUsername", Raw::Str(String::new())),
            ("clickhousePassword", Raw::Str(String::new())),
            #[cfg(feature = "clickhouse")]
            ("backend", Raw::Str("clickhouse".into())),
        ])
        .unwrap();
        assert_eq!(c.max_retries, 0);
        assert_eq!(c.clickhouse.username, "");
        #[cfg(feature = "clickhouse")]
        assert!(c.backend.is_clickhouse());
    }

    #[test]
    #[cfg(not(feature = "clickhouse"))]
    fn a_build_without_clickhouse_names_the_entry_that_has_it() {
        let e = err(&[("backend", Raw::Str("clickhouse".into()))]);
        assert_eq!(e.option, "backend");
        assert!(
            e.message.contains("'@automagik/telemetry/clickhouse'"),
            "{}",
            e.message
        );
    }
}
