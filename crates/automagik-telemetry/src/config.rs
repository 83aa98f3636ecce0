//! The [`Config`] builder and [`ConfigError`].

use std::fmt;

use automagik_telemetry_core::config::{self as core_config, Raw};
use automagik_telemetry_core::json;

/// The client's configuration: one builder method per option of the JavaScript
/// `TelemetryConfig` (SPEC §3), in snake_case, times in integer milliseconds.
///
/// Nothing is checked until [`Telemetry::new`](crate::Telemetry::new), which validates
/// every option with the same rules (and messages) as the npm package.
///
/// ```
/// use automagik_telemetry::Config;
///
/// let config = Config::new("my-app", "1.0.0")
///     .endpoint("https://collector.example")
///     .flush_interval(10_000)
///     .batch_size(50);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    options: Vec<(&'static str, Raw)>,
    env: Vec<(String, String)>,
}

macro_rules! options {
    ($($(#[$doc:meta])* $method:ident($name:literal, $ty:ty, $raw:expr);)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $method(self, value: $ty) -> Self {
                    #[allow(clippy::redundant_closure_call)]
                    let raw = ($raw)(value);
                    self.set($name, raw)
                }
            )*
        }
    };
}

fn text(v: impl Into<String>) -> Raw {
    Raw::Str(v.into())
}

fn ms(v: u32) -> Raw {
    Raw::Number(f64::from(v))
}

options! {
    /// `projectName`: `service.name`; required, non-empty.
    project_name("projectName", impl Into<String>, text);
    /// `version`: `service.version`; required, non-empty.
    version("version", impl Into<String>, text);
    /// `backend`: `"otlp"` (default) or `"clickhouse"` (with the `clickhouse` feature).
    backend("backend", impl Into<String>, text);
    /// `endpoint`: the OTLP base URL (default `https://telemetry.namastex.ai`); traces go
    /// to `<endpoint>/v1/traces`.
    endpoint("endpoint", impl Into<String>, text);
    /// `metricsEndpoint`: used verbatim (default `<endpoint>/v1/metrics`).
    metrics_endpoint("metricsEndpoint", impl Into<String>, text);
    /// `logsEndpoint`: used verbatim (default `<endpoint>/v1/logs`).
    logs_endpoint("logsEndpoint", impl Into<String>, text);
    /// `organization` (default `namastex`).
    organization("organization", impl Into<String>, text);
    /// `timeout`: per attempt, in milliseconds (default 5000, at least 100).
    timeout("timeout", u32, ms);
    /// `batchSize`: queued items of one signal that trigger a send (default 100).
    batch_size("batchSize", u32, ms);
    /// `flushInterval`: milliseconds between timer flushes (default 5000; 0: none).
    flush_interval("flushInterval", u32, ms);
    /// `compressionEnabled`: gzip bodies above the threshold (default true).
    compression_enabled("compressionEnabled", bool, Raw::Bool);
    /// `compressionThreshold`: bytes (default 1024).
    compression_threshold("compressionThreshold", u32, ms);
    /// `maxRetries` (default 3; 0 is honoured).
    max_retries("maxRetries", u32, ms);
    /// `retryBackoffBase`: milliseconds (default 1000).
    retry_backoff_base("retryBackoffBase", u32, ms);
    /// `maxQueueBytes` (default 4 MiB).
    max_queue_bytes("maxQueueBytes", u32, ms);
    /// `maxBatchBytes` (default 512 KiB).
    max_batch_bytes("maxBatchBytes", u32, ms);
    /// `persistBytes`: browser pages keep unsent batches in `localStorage` for the next
    /// page load, up to this many bytes (default 256 KiB; 0 turns it off; SPEC §8).
    persist_bytes("persistBytes", u32, ms);
    /// `clickhouseEndpoint` (default `http://localhost:8123`).
    clickhouse_endpoint("clickhouseEndpoint", impl Into<String>, text);
    /// `clickhouseDatabase` (default `telemetry`).
    clickhouse_database("clickhouseDatabase", impl Into<String>, text);
    /// `clickhouseTable`: spans (default `traces`).
    clickhouse_table("clickhouseTable", impl Into<String>, text);
    /// `clickhouseMetricsTable` (default `metrics`).
    clickhouse_metrics_table("clickhouseMetricsTable", impl Into<String>, text);
    /// `clickhouseLogsTable` (default `logs`).
    clickhouse_logs_table("clickhouseLogsTable", impl Into<String>, text);
    /// `clickhouseUsername` (default `default`).
    clickhouse_username("clickhouseUsername", impl Into<String>, text);
    /// `clickhousePassword` (default empty); never reported anywhere.
    clickhouse_password("clickhousePassword", impl Into<String>, text);
    /// `enabled`: overrides the environment's decision (SPEC §6) where allowed.
    enabled("enabled", bool, Raw::Bool);
    /// `verbose`: debug lines on the console (default false).
    verbose("verbose", bool, Raw::Bool);
    /// `scrub`: personal-data scrubbing (SPEC §6.1), on by default; `false` turns it off.
    scrub("scrub", bool, Raw::Bool);
}

impl Config {
    /// A configuration with the two required options.
    pub fn new(project_name: impl Into<String>, version: impl Into<String>) -> Config {
        Config::default()
            .project_name(project_name)
            .version(version)
    }

    fn set(mut self, name: &'static str, raw: Raw) -> Self {
        self.options.retain(|(n, _)| *n != name);
        self.options.push((name, raw));
        self
    }

    /// `scrub: { keys: [...] }`: scrubbing on, with extra sensitive keys.
    pub fn scrub_keys<I, S>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys = keys.into_iter().map(|k| k.into()).collect();
        self.set("scrub", Raw::Object)
            .set("scrub.keys", Raw::List(keys))
    }

    /// `env`: environment variables the enablement rules consult (SPEC §6), such as a
    /// Worker's `env` bindings: `AUTOMAGIK_TELEMETRY_ENABLED`, `CI`, `ENVIRONMENT`, ...
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The variable `name` of [`Config::env`].
    pub(crate) fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn raw(&self, name: &str) -> Raw {
        if name == "env" {
            return if self.env.is_empty() {
                Raw::Missing
            } else {
                Raw::Object
            };
        }
        self.options
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Raw::Missing)
    }

    /// Validates the options, as the JS constructor does.
    pub(crate) fn parse(&self) -> Result<core_config::Config, ConfigError> {
        core_config::Config::parse(&mut |name| self.raw(name)).map_err(|e| {
            let received = describe(&self.raw(e.option));
            ConfigError {
                option: e.option,
                message: [&e.message, ", received ", &received].concat(),
            }
        })
    }
}

/// A value as the error message shows it.
fn describe(raw: &Raw) -> String {
    match raw {
        Raw::Missing => "nothing".into(),
        Raw::Bool(b) => if *b { "true" } else { "false" }.into(),
        Raw::Number(n) if n.is_nan() => "NaN".into(),
        Raw::Number(n) if n.is_infinite() => if *n > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Raw::Number(n) => crate::client::double_text(*n),
        Raw::Str(s) => ["\"", s, "\""].concat(),
        Raw::Null => "null".into(),
        Raw::List(items) => [&json::decimal(items.len() as u64), " keys"].concat(),
        Raw::Object | Raw::Other => "a value of another type".into(),
    }
}

/// An invalid [`Config`]: names the option, what is allowed and the value received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    option: &'static str,
    message: String,
}

impl ConfigError {
    /// The option at fault, as the JavaScript option is named (`flushInterval`).
    pub fn option(&self) -> &'static str {
        self.option
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_is_valid_with_the_spec_defaults() {
        let c = Config::new("my-app", "1.0.0").parse().unwrap();
        assert_eq!(c.traces_endpoint, "https://telemetry.namastex.ai/v1/traces");
        assert_eq!(c.flush_interval_ms, 5000);
        assert_eq!(c.scrub, Some(vec![]));
    }

    #[test]
    fn every_method_reaches_its_option() {
        let c = Config::new("p", "v")
            .endpoint("https://c.example/v1/traces")
            .logs_endpoint("https://logs.example/in")
            .organization("org")
            .timeout(250)
            .batch_size(7)
            .flush_interval(0)
            .compression_enabled(false)
            .max_retries(0)
            .persist_bytes(0)
            .verbose(true)
            .scrub_keys(["employee_no"])
            .parse()
            .unwrap();
        assert_eq!(c.endpoint, "https://c.example");
        assert_eq!(c.metrics_endpoint, "https://c.example/v1/metrics");
        assert_eq!(c.logs_endpoint, "https://logs.example/in");
        assert_eq!(c.organization, "org");
        assert_eq!(
            (c.timeout_ms, c.batch_size, c.flush_interval_ms),
            (250, 7, 0)
        );
        assert!(!c.compression_enabled && c.verbose);
        assert_eq!((c.max_retries, c.persist_bytes), (0, 0));
        assert_eq!(c.scrub, Some(vec!["employee_no".to_string()]));
        assert_eq!(
            Config::new("p", "v").scrub(false).parse().unwrap().scrub,
            None
        );
    }

    #[test]
    fn errors_name_the_option_and_the_unit() {
        let e = Config::new("p", "v").timeout(5).parse().unwrap_err();
        assert_eq!(e.option(), "timeout");
        let text = e.to_string();
        assert!(
            text.contains("timeout") && text.contains("milliseconds"),
            "{text}"
        );
        assert!(text.ends_with("received 5"), "{text}");
        let e = Config::new("", "v").parse().unwrap_err();
        assert_eq!(e.option(), "projectName");
        let e = Config::new("p", "v")
            .endpoint("not a url")
            .parse()
            .unwrap_err();
        assert_eq!(e.option(), "endpoint");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("endpoint"));
    }
}
