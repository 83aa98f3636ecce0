//! Attribute values and the metric and log enums.

use automagik_telemetry_core::record::AttrValue;

/// The attributes of one item, in order: what [`attrs!`](crate::attrs) builds.
pub type Attributes = Vec<(String, AttrValue)>;

/// A metric's instrument kind (SPEC §3 `MetricType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// The latest value (the default).
    #[default]
    Gauge,
    /// A monotonic sum.
    Counter,
    /// A distribution over the SDK's fixed buckets.
    Histogram,
}

impl MetricType {
    /// The name the npm package uses (`gauge`, `counter`, `histogram`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
        }
    }
}

/// A log record's severity, with OTLP's severity numbers (SPEC §3 `LogSeverity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogSeverity {
    /// 1.
    Trace = 1,
    /// 5.
    Debug = 5,
    /// 9 (the default).
    #[default]
    Info = 9,
    /// 13.
    Warn = 13,
    /// 17.
    Error = 17,
    /// 21.
    Fatal = 21,
}

impl LogSeverity {
    /// The OTLP severity number.
    pub fn number(self) -> u8 {
        self as u8
    }
}
