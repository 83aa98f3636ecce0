//! The compact record layout tracked items take in linear memory.
//!
//! A record is a header written by the core at ingest followed by a body written by the
//! JavaScript boundary (`js/record.js`), which walks the caller's values once and lays
//! them out here so no JS object outlives the tracking call. All integers are
//! little-endian. Body layout:
//!
//! ```text
//! body    = f64 time_ms, str * n_strings(kind), attrs
//! str     = u32 byte_len, UTF-8 bytes
//! attrs   = u32 count, u32 byte_len, (str key, value) * count
//! value   = u8 tag, payload
//!   TAG_STR str | TAG_INT i64 | TAG_DOUBLE str (the number as JS prints it) | TAG_BOOL u8
//!   TAG_ARRAY u32 count, u32 byte_len, value * count
//!   TAG_KVLIST u32 count, u32 byte_len, (str key, value) * count
//! ```
//!
//! The header differs per signal (see [`Head`]). Decoding is bounds-checked and never
//! panics: a malformed record decodes to `None` and is counted, not sent.
//!
//! The tags, kind codes and limits below reach JS through `layout.js`, which is
//! generated from them (see `js_layout.rs`).

use crate::prelude::*;

use super::config::Raw;
use super::{float, json};

/// Tag of a UTF-8 string value.
pub const TAG_STR: u8 = 1;
/// Tag of a 64-bit signed integer value.
pub const TAG_INT: u8 = 2;
/// Tag of a finite double value.
pub const TAG_DOUBLE: u8 = 3;
/// Tag of a boolean value.
pub const TAG_BOOL: u8 = 4;
/// Tag of an array value.
pub const TAG_ARRAY: u8 = 5;
/// Tag of a key/value list value.
pub const TAG_KVLIST: u8 = 6;

/// The three OTLP signals; each has its own queue and request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Events and errors, as spans.
    Traces = 0,
    /// Gauges, counters and histograms.
    Metrics = 1,
    /// Log records.
    Logs = 2,
}

impl Signal {
    /// All signals in flush order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The signal's name as used in URLs and status (`traces`, `metrics`, `logs`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

/// Metric instrument kinds (`MetricType` in JS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A point-in-time value.
    Gauge = 0,
    /// A monotonic delta, sent as a DELTA sum.
    Counter = 1,
    /// One observation of a distribution.
    Histogram = 2,
}

impl MetricKind {
    /// Parses a metric type name case-insensitively (`'counter'`, `'GAUGE'`, ...).
    pub fn parse(s: &str) -> Option<MetricKind> {
        [
            ("gauge", MetricKind::Gauge),
            ("counter", MetricKind::Counter),
            ("histogram", MetricKind::Histogram),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s.trim_ascii()))
        .map(|(_, k)| k)
    }

    /// The metric type a `trackMetric` caller passed (a name, or nothing), and whether
    /// it had to fall back to gauge because the value was not one.
    pub fn coerce(raw: &Raw) -> (MetricKind, bool) {
        match raw {
            Raw::Missing | Raw::Null => (MetricKind::Gauge, false),
            Raw::Str(s) => MetricKind::parse(s).map_or((MetricKind::Gauge, true), |k| (k, false)),
            _ => (MetricKind::Gauge, true),
        }
    }

    fn from_u8(v: u8) -> Option<MetricKind> {
        [
            MetricKind::Gauge,
            MetricKind::Counter,
            MetricKind::Histogram,
        ]
        .into_iter()
        .find(|k| *k as u8 == v)
    }
}

/// What one tracking call recorded: the item's kind and the facts it carries beyond its
/// body. Laid out as the record's header in front of the body; its [`Track::code`] is
/// also how the JS boundary is told which strings lead the body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Track {
    /// `trackEvent`, a span: body strings = name. Its ids are derived from the record's
    /// key when it is encoded (see [`super::ids::span_ids`]), so the tracking call needs
    /// no randomness.
    Event,
    /// `trackError`, a span with status ERROR and exception attributes: body strings =
    /// type, message, stack.
    Error,
    /// `trackMetric`, a data point: body strings = name, value (as JS prints it).
    Metric {
        /// The instrument kind.
        kind: MetricKind,
        /// The observed value (finite), for its histogram bucket; encoders write the
        /// text the body carries.
        value: f64,
    },
    /// `trackLog`: body strings = message.
    Log {
        /// OTLP severity number, 1..=24.
        severity: u8,
    },
    /// A span that lasted (a closed `tracing` span, from the Rust crate): body strings =
    /// name; the record's time is when it ended. Encoded as an event, but with its start
    /// `duration_ms` before its end.
    #[cfg(feature = "timed-spans")]
    Span {
        /// From start to end, in ns.
        duration_ns: u64,
    },
}

impl Track {
    /// Code of [`Track::Event`].
    pub const EVENT: u8 = 0;
    /// Code of [`Track::Error`].
    pub const ERROR: u8 = 1;
    /// Code of [`Track::Metric`].
    pub const METRIC: u8 = 2;
    /// Code of [`Track::Log`].
    pub const LOG: u8 = 3;
    /// Code of [`Track::Span`]. Not in [`Track::CODES`]: the JS binding never writes one.
    #[cfg(feature = "timed-spans")]
    pub const SPAN: u8 = 4;
    /// The kind codes by name, in code order (`layout.js` has them as `KIND_<name>`).
    pub const CODES: [(&'static str, u8); 4] = [
        ("EVENT", Track::EVENT),
        ("ERROR", Track::ERROR),
        ("METRIC", Track::METRIC),
        ("LOG", Track::LOG),
    ];

    /// The kind's code: the header's first byte, and what the JS boundary is passed.
    pub fn code(&self) -> u8 {
        match self {
            Track::Event => Track::EVENT,
            Track::Error => Track::ERROR,
            Track::Metric { .. } => Track::METRIC,
            Track::Log { .. } => Track::LOG,
            #[cfg(feature = "timed-spans")]
            Track::Span { .. } => Track::SPAN,
        }
    }

    /// How many strings precede the attributes in the body.
    pub fn n_strings(&self) -> usize {
        match self {
            Track::Error => 3,
            Track::Metric { .. } => 2,
            _ => 1,
        }
    }

    /// The signal a record of this kind travels in.
    pub fn signal(&self) -> Signal {
        match self {
            Track::Event | Track::Error => Signal::Traces,
            Track::Metric { .. } => Signal::Metrics,
            Track::Log { .. } => Signal::Logs,
            #[cfg(feature = "timed-spans")]
            Track::Span { .. } => Signal::Traces,
        }
    }

    /// Lays the header out (led by its code) in a stack buffer; returns the buffer and
    /// the length used. Ingest runs on every tracking call, so no heap here.
    pub fn encode(&self) -> ([u8; MAX_HEAD], usize) {
        let mut b = [0u8; MAX_HEAD];
        b[0] = self.code();
        let n = match *self {
            Track::Event | Track::Error => 1,
            Track::Metric { kind, value } => {
                b[1] = kind as u8;
                b[2..10].copy_from_slice(&value.to_le_bytes());
                10
            }
            Track::Log { severity } => {
                b[1] = severity;
                2
            }
            #[cfg(feature = "timed-spans")]
            Track::Span { duration_ns } => {
                // Zipped, not copy_from_slice: no length check (and panic path) to compile.
                for (d, s) in b.iter_mut().skip(1).zip(duration_ns.to_le_bytes()) {
                    *d = s;
                }
                9
            }
        };
        (b, n)
    }

    /// Reads a header [`Track::encode`] wrote.
    fn decode(r: &mut Reader) -> Option<Track> {
        Some(match r.u8()? {
            Track::EVENT => Track::Event,
            Track::ERROR => Track::Error,
            Track::METRIC => Track::Metric {
                kind: MetricKind::from_u8(r.u8()?)?,
                value: r.f64()?,
            },
            Track::LOG => Track::Log { severity: r.u8()? },
            #[cfg(feature = "timed-spans")]
            Track::SPAN => Track::Span {
                duration_ns: r.u64()?,
            },
            _ => return None,
        })
    }
}

/// The largest header (a metric's).
pub const MAX_HEAD: usize = 10;

/// A bounds-checked little-endian cursor over record bytes.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    #[cfg(feature = "timed-spans")]
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.array()?))
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        ::core::str::from_utf8(self.take(n)?).ok()
    }

    /// Reads a container prefix (count, byte length) and splits off its content.
    fn container(&mut self) -> Option<(u32, Reader<'a>)> {
        let count = self.u32()?;
        let len = self.u32()? as usize;
        Some((count, Reader::new(self.take(len)?)))
    }

    fn value(&mut self) -> Option<Value<'a>> {
        Some(match self.u8()? {
            TAG_STR => Value::Str(self.str()?),
            TAG_INT => Value::Int(i64::from_le_bytes(self.array()?)),
            TAG_DOUBLE => Value::Double(Some(self.str()?).filter(|s| json::is_number(s))?),
            TAG_BOOL => Value::Bool(self.u8()? != 0),
            TAG_ARRAY => {
                let (remaining, r) = self.container()?;
                Value::Array(Values { r, remaining })
            }
            TAG_KVLIST => {
                let (remaining, r) = self.container()?;
                Value::KvList(Attrs { r, remaining })
            }
            _ => return None,
        })
    }
}

/// One attribute value, borrowed from a record.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// A string (not yet cut to the attribute length limit).
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A finite double, as JS printed it (a JSON number).
    Double(&'a str),
    /// A boolean.
    Bool(bool),
    /// An array of values.
    Array(Values<'a>),
    /// A nested key/value list.
    KvList(Attrs<'a>),
}

/// Iterator over an array's values. A malformed entry ends the iteration.
#[derive(Clone, Debug)]
pub struct Values<'a> {
    r: Reader<'a>,
    remaining: u32,
}

impl<'a> Iterator for Values<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let v = self.r.value();
        if v.is_none() {
            self.remaining = 0;
        }
        v
    }
}

/// Iterator over `(key, value)` attributes. A malformed entry ends the iteration.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    r: Reader<'a>,
    remaining: u32,
}

impl<'a> Attrs<'a> {
    /// An empty attribute list.
    pub fn empty() -> Self {
        Attrs {
            r: Reader::new(&[]),
            remaining: 0,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<(&'a str, Value<'a>)> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let kv = (|| Some((self.r.str()?, self.r.value()?)))();
        if kv.is_none() {
            self.remaining = 0;
        }
        kv
    }
}

/// A decoded record, borrowing its strings from the queue's bytes.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// Event time, Unix nanoseconds.
    pub time_ns: u64,
    /// What was tracked: the item's kind and header facts.
    pub head: Track,
    /// Name / message; for errors also message and stack, for metrics the value as JS
    /// printed it (see [`Track::n_strings`]).
    pub strings: [&'a str; 3],
    /// The caller's attributes (context for errors).
    pub attrs: Attrs<'a>,
}

impl<'a> Item<'a> {
    /// How long the item lasted, in ns: a [`Track::Span`]'s duration (never more than its
    /// time); 0 for every other item, an instant.
    pub fn duration_ns(&self) -> u64 {
        #[cfg(feature = "timed-spans")]
        if let Track::Span { duration_ns } = self.head {
            return duration_ns.min(self.time_ns);
        }
        0
    }

    /// When the item began, Unix nanoseconds: its time less its duration.
    pub fn start_ns(&self) -> u64 {
        self.time_ns - self.duration_ns()
    }

    /// Decodes one record (header + body), or `None` if it is malformed.
    pub fn decode(record: &'a [u8]) -> Option<Item<'a>> {
        let mut r = Reader::new(record);
        let head = Track::decode(&mut r)?;
        let time_ns = time_ms_to_ns(r.f64()?)?;
        let mut strings = [""; 3];
        for s in strings.iter_mut().take(head.n_strings()) {
            *s = r.str()?;
        }
        if matches!(head, Track::Metric { .. }) && !json::is_number(strings[1]) {
            return None;
        }
        let (remaining, r) = r.container()?;
        Some(Item {
            time_ns,
            head,
            strings,
            attrs: Attrs { r, remaining },
        })
    }
}

/// The time (Unix milliseconds) a body written by `js/record.js` was stamped with.
pub fn body_time_ms(body: &[u8]) -> Option<f64> {
    Some(f64::from_le_bytes(body.get(..8)?.try_into().ok()?))
}

/// Attribute strings are cut to this many characters.
pub const MAX_STRING_CHARS: usize = 500;
/// Log bodies are cut to this many characters.
pub const MAX_BODY_CHARS: usize = 1000;
/// Stack traces are cut to this many bytes.
pub const MAX_STACK_BYTES: usize = 4096;
/// Attributes per item (fixed ones included), and entries per nested array or list.
pub const MAX_ATTRIBUTES: usize = 128;
/// Nesting levels of arrays and key/value lists inside an attribute value. The JS writer
/// stops there, and each encoder enforces it again: a record is input, not a promise.
pub const MAX_DEPTH: usize = 4;
/// Span name of `trackError` spans.
pub const ERROR_SPAN_NAME: &str = "automagik.error";
/// Histogram bucket bounds (OpenTelemetry's default explicit bounds): whole numbers, so
/// encoders write them as integers.
pub const HISTOGRAM_BOUNDS: [u32; 15] = [
    0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/// The histogram bucket `value` falls in: bucket `i` holds `(bound[i-1], bound[i]]`.
pub fn bucket(value: f64) -> usize {
    HISTOGRAM_BOUNDS
        .iter()
        .take_while(|b| value > f64::from(**b))
        .count()
}

/// One attribute as an encoder writes it: a string the core produced (already cut to
/// its own limit) or a value from the caller.
#[derive(Clone, Debug)]
pub enum Attr<'a> {
    /// A fixed attribute of the item kind (error fields).
    Fixed(&'a str),
    /// A caller's value.
    Value(Value<'a>),
}

/// Calls `f` for each attribute an item carries: `fixed` first, then `attrs` without
/// empty keys, `skip`, or keys already seen (first occurrence wins), at most
/// [`MAX_ATTRIBUTES`] in all. Keys are cut to [`MAX_STRING_CHARS`].
pub fn each_attribute<'a>(
    fixed: &[(&'a str, &'a str)],
    attrs: Attrs<'a>,
    skip: Option<&str>,
    mut f: impl FnMut(&'a str, Attr<'a>),
) {
    // Keys seen so far, on the stack: this runs for every item at flush time.
    let mut seen = [""; MAX_ATTRIBUTES];
    let mut n = 0;
    for (k, v) in fixed {
        f(k, Attr::Fixed(v));
        seen[n] = k;
        n += 1;
    }
    for (k, v) in attrs {
        if n == MAX_ATTRIBUTES {
            break;
        }
        let k = cut_chars(k, MAX_STRING_CHARS);
        if k.is_empty() || Some(k) == skip || seen[..n].contains(&k) {
            continue;
        }
        f(k, Attr::Value(v));
        seen[n] = k;
        n += 1;
    }
}

impl<'a> Item<'a> {
    /// The fixed attributes of an error span, in order, each cut to its limit; empty ones
    /// (no stack) are left out.
    pub fn error_fields(&self) -> ([(&'static str, &'a str); 5], usize) {
        let ty = cut_chars(self.strings[0], MAX_STRING_CHARS);
        let message = cut_chars(self.strings[1], MAX_STRING_CHARS);
        let stack = cut_bytes(self.strings[2], MAX_STACK_BYTES);
        let fields = [
            ("error_type", ty),
            ("error_message", message),
            ("exception.type", ty),
            ("exception.message", message),
            ("exception.stacktrace", stack),
        ];
        (fields, if stack.is_empty() { 4 } else { 5 })
    }

    /// The `unit` attribute, which metrics carry as their unit rather than a label.
    pub fn unit(&self) -> Option<&'a str> {
        self.attrs.clone().find_map(|(k, v)| match (k, v) {
            ("unit", Value::Str(s)) => Some(cut_chars(s, MAX_STRING_CHARS)),
            _ => None,
        })
    }
}

/// Converts a wall-clock time in (fractional) milliseconds to Unix nanoseconds, keeping
/// the sub-millisecond part that a plain `ms * 1e6` would round away.
pub fn time_ms_to_ns(ms: f64) -> Option<u64> {
    if !(ms.is_finite() && ms >= 0.0) {
        return None;
    }
    let whole = float::trunc(ms);
    Some(whole as u64 * 1_000_000 + ((ms - whole) * 1e6) as u64)
}

/// Returns `s` cut to at most `max` characters, on a character boundary.
pub fn cut_chars(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s; // no more bytes than the limit means no more characters either
    }
    // Where the character after the first `max` starts. Boundaries are a byte test, so
    // no UTF-8 decoder is linked for this (as `char_indices` would: 0.2 KB of wasm).
    // `get`, not indexing: a slice that cannot panic links no panic formatting (3.5 KB).
    let end = (0..s.len()).filter(|&i| s.is_char_boundary(i)).nth(max);
    s.get(..end.unwrap_or(s.len())).unwrap_or(s)
}

/// Returns `s` cut to at most `max` bytes, on a character boundary.
pub fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    s.get(..i).unwrap_or(s)
}

/// Writes a `str` of the layout: its byte length, then its UTF-8 bytes.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Starts a container: room for its entry count and byte length, which
/// [`end_container`] fills in once the entries are written (so a writer counts as it
/// goes instead of walking the entries twice). Returns where the container starts.
pub fn start_container(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; 8]);
    at
}

/// Ends the container started at `at` with `count` entries.
pub fn end_container(out: &mut [u8], at: usize, count: u32) {
    let len = (out.len() - at - 8) as u32;
    let mut prefix = [0; 8];
    prefix[..4].copy_from_slice(&count.to_le_bytes());
    prefix[4..].copy_from_slice(&len.to_le_bytes());
    if let Some(slot) = out.get_mut(at..at + 8) {
        slot.copy_from_slice(&prefix);
    }
}

/// Builds record bodies in Rust the way `js/record.js` does in JS, so the core's tests
/// can exercise the exact layout the boundary produces. A twin, but a checked one: for
/// every case of `tools/record-fixtures.mjs` it must write the bytes the real JS writer
/// wrote (`tests::the_twin_writes_what_the_js_writer_wrote`).
#[cfg(test)]
pub mod testing {
    use super::*;

    /// A value to lay out.
    pub enum V<'s> {
        S(&'s str),
        I(i64),
        D(&'s str),
        B(bool),
        A(Vec<V<'s>>),
        M(Vec<(&'s str, V<'s>)>),
    }

    use super::{end_container, put_str as str, start_container};

    fn container(out: &mut Vec<u8>, count: u32, write: impl FnOnce(&mut Vec<u8>)) {
        let at = start_container(out);
        write(out);
        end_container(out, at, count);
    }

    fn value(out: &mut Vec<u8>, v: &V) {
        match v {
            V::S(s) => {
                out.push(TAG_STR);
                str(out, s);
            }
            V::I(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            V::D(d) => {
                out.push(TAG_DOUBLE);
                str(out, d);
            }
            V::B(b) => out.extend_from_slice(&[TAG_BOOL, *b as u8]),
            V::A(vs) => {
                out.push(TAG_ARRAY);
                container(out, vs.len() as u32, |o| {
                    vs.iter().for_each(|v| value(o, v))
                });
            }
            V::M(kvs) => {
                out.push(TAG_KVLIST);
                attrs(out, kvs);
            }
        }
    }

    fn attrs(out: &mut Vec<u8>, kvs: &[(&str, V)]) {
        container(out, kvs.len() as u32, |o| {
            for (k, v) in kvs {
                str(o, k);
                value(o, v);
            }
        })
    }

    /// A body: time, strings, attributes.
    pub fn body(time_ms: f64, strings: &[&str], kvs: &[(&str, V)]) -> Vec<u8> {
        let mut out = time_ms.to_le_bytes().to_vec();
        strings.iter().for_each(|s| str(&mut out, s));
        attrs(&mut out, kvs);
        out
    }

    /// A whole record: header then body.
    pub fn record(head: Track, time_ms: f64, strings: &[&str], kvs: &[(&str, V)]) -> Vec<u8> {
        let (h, n) = head.encode();
        let mut out = h[..n].to_vec();
        out.extend(body(time_ms, strings, kvs));
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::testing::{record, V};
    use super::*;

    const SPAN: Track = Track::Event;

    #[cfg(feature = "timed-spans")]
    #[test]
    fn a_timed_span_keeps_its_duration() {
        let span = |duration_ns| record(Track::Span { duration_ns }, 2000.0, &["s"], &[]);
        let rec = span(12_500_000);
        let item = Item::decode(&rec).unwrap();
        assert_eq!(
            item.head,
            Track::Span {
                duration_ns: 12_500_000
            }
        );
        assert_eq!(item.head.signal(), Signal::Traces);
        assert_eq!(item.strings[0], "s");
        assert_eq!(item.time_ns, 2_000_000_000);
        assert_eq!(item.duration_ns(), 12_500_000);
        assert_eq!(item.start_ns(), 1_987_500_000);
        // Longer than the time since the epoch: it began at 0, never before.
        let rec = span(5_000_000_000);
        let item = Item::decode(&rec).unwrap();
        assert_eq!((item.start_ns(), item.duration_ns()), (0, 2_000_000_000));
        // A header cut inside the duration is malformed.
        assert!(Item::decode(&rec[..5]).is_none());
    }

    #[test]
    fn an_instant_starts_when_it_ends() {
        let rec = record(SPAN, 2000.0, &["e"], &[]);
        let item = Item::decode(&rec).unwrap();
        assert_eq!((item.start_ns(), item.duration_ns()), (item.time_ns, 0));
    }

    #[test]
    fn a_record_decodes_to_what_was_written() {
        let rec = record(
            SPAN,
            1_700_000_000_123.5,
            &["api.request"],
            &[
                ("endpoint", V::S("/v1/users")),
                ("status", V::I(200)),
                ("duration_ms", V::D("45.2")),
                ("ok", V::B(true)),
                ("tags", V::A(vec![V::S("a"), V::I(-1)])),
                ("nested", V::M(vec![("k", V::S("v"))])),
            ],
        );
        let item = Item::decode(&rec).unwrap();
        assert_eq!(item.head, SPAN);
        assert_eq!(item.time_ns, 1_700_000_000_123_500_000);
        assert_eq!(item.strings[0], "api.request");
        let attrs: Vec<_> = item.attrs.collect();
        assert_eq!(attrs.len(), 6);
        assert!(matches!(attrs[0], ("endpoint", Value::Str("/v1/users"))));
        assert!(matches!(attrs[1], ("status", Value::Int(200))));
        assert!(matches!(attrs[2], ("duration_ms", Value::Double("45.2"))));
        assert!(matches!(attrs[3], ("ok", Value::Bool(true))));
        match &attrs[4].1 {
            Value::Array(vs) => assert_eq!(vs.clone().count(), 2),
            v => panic!("{v:?}"),
        }
        match &attrs[5].1 {
            Value::KvList(kv) => assert!(matches!(kv.clone().next(), Some(("k", Value::Str("v"))))),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn every_truncation_of_a_record_is_rejected_or_yields_fewer_attributes() {
        let rec = record(
            Track::Metric {
                kind: MetricKind::Histogram,
                value: 1.5,
            },
            1.0,
            &["m", "1.5"],
            &[
                ("a", V::A(vec![V::M(vec![("x", V::I(1))])])),
                ("b", V::S("é")),
            ],
        );
        for n in 0..rec.len() {
            if let Some(item) = Item::decode(&rec[..n]) {
                assert!(item.attrs.count() < 2);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x9e3779b97f4a7c15u64;
        for _ in 0..20_000 {
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 8) as u8
                })
                .collect();
            if let Some(item) = Item::decode(&bytes) {
                for (_, v) in item.attrs {
                    if let Value::Array(vs) = v {
                        vs.count();
                    }
                }
            }
        }
    }

    #[test]
    fn doubles_that_are_not_json_numbers_and_bad_utf8_do_not_decode() {
        let mut rec = record(SPAN, 1.0, &["e"], &[("d", V::D("NaN"))]);
        assert_eq!(Item::decode(&rec).unwrap().attrs.count(), 0);
        let metric = |value: &str| {
            let head = Track::Metric {
                kind: MetricKind::Gauge,
                value: 1.0,
            };
            Item::decode(&record(head, 1.0, &["m", value], &[])).map(|i| i.strings[1].to_string())
        };
        assert_eq!(metric("1").as_deref(), Some("1"));
        assert_eq!(metric("1e+300").as_deref(), Some("1e+300"));
        assert!(metric("Infinity").is_none() && metric("1 ").is_none());
        rec = record(SPAN, 1.0, &["\u{e9}"], &[]);
        let at = MAX_HEAD + 8 + 4;
        rec[at] = 0xff;
        assert!(Item::decode(&rec).is_none());
    }

    #[test]
    fn strings_are_cut_on_character_boundaries() {
        assert_eq!(cut_chars("héllo", 2), "hé");
        assert_eq!(cut_chars("hé", 5), "hé");
        assert_eq!(cut_bytes("héllo", 2), "h");
        assert_eq!(cut_bytes("😀😀", 5), "😀");
    }

    #[test]
    fn metric_kinds_parse_case_insensitively() {
        assert_eq!(MetricKind::parse("COUNTER"), Some(MetricKind::Counter));
        assert_eq!(MetricKind::parse("Histogram"), Some(MetricKind::Histogram));
        assert_eq!(MetricKind::parse("summary"), None);
    }

    #[test]
    fn times_keep_sub_millisecond_precision() {
        assert_eq!(time_ms_to_ns(1.5), Some(1_500_000));
        assert_eq!(time_ms_to_ns(f64::NAN), None);
        assert_eq!(time_ms_to_ns(-1.0), None);
    }

    /// A value as compact text, for comparing decoded records.
    fn render(v: Value) -> String {
        match v {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => format!("{i}i"),
            Value::Double(d) => format!("{d}d"),
            Value::Bool(b) => b.to_string(),
            Value::Array(vs) => format!("[{}]", vs.map(render).collect::<Vec<_>>().join(",")),
            Value::KvList(kvs) => format!(
                "{{{}}}",
                kvs.map(|(k, v)| format!("{k}={}", render(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// A record as compact text: its strings, then its attributes.
    fn render_item(item: Item) -> String {
        let strings = item.strings[..item.head.n_strings()].join("|");
        let attrs = item
            .attrs
            .map(|(k, v)| format!("{k}={}", render(v)))
            .collect::<Vec<_>>()
            .join(" ");
        format!("{strings} :: {attrs}")
    }

    /// The bodies `js/record.js` wrote for `tools/record-fixtures.mjs`'s cases, in order,
    /// each with the kind code it was written for.
    pub(crate) fn js_bodies() -> Vec<(u8, &'static [u8])> {
        let raw: &'static [u8] = include_bytes!("fixtures/records.bin");
        let mut out = Vec::new();
        let mut at = 0;
        while at < raw.len() {
            let len = u32::from_le_bytes(raw[at + 1..at + 5].try_into().unwrap()) as usize;
            out.push((raw[at], &raw[at + 5..at + 5 + len]));
            at += 5 + len;
        }
        out
    }

    /// One record as the twin writes it: header, strings, attributes.
    pub(crate) type Case<'s> = (Track, Vec<&'s str>, Vec<(&'s str, V<'s>)>);

    /// `tools/record-fixtures.mjs`'s cases as the twin writes them: what each of the JS
    /// writer's inputs must lay out as (its strings and attributes after the writer's
    /// own rules: omitted values, strings for what has no tag, copy limits). `long` is
    /// the writer's cut of a 1,200-character string.
    pub(crate) fn js_cases(long: &str) -> Vec<Case<'_>> {
        let metric = |value| Track::Metric {
            kind: MetricKind::Gauge,
            value,
        };
        let log = Track::Log { severity: 9 };
        let deep = V::A(vec![V::A(vec![V::A(vec![V::A(vec![])])])]);
        vec![
            (
                SPAN,
                vec!["api.request"],
                vec![
                    ("endpoint", V::S("/v1/users")),
                    ("status", V::I(200)),
                    ("duration_ms", V::D("45.2")),
                    ("ok", V::B(true)),
                ],
            ),
            (
                SPAN,
                vec!["types"],
                vec![
                    ("big", V::S("1180591620717411303424")),
                    ("small", V::I(-5)),
                    ("nan", V::S("NaN")),
                    ("date", V::S("1970-01-01T00:00:00.000Z")),
                    ("tags", V::A(vec![V::S("a"), V::I(1), V::B(false)])),
                    ("nested", V::M(vec![("k", V::S("v"))])),
                    ("map", V::M(vec![("m", V::I(1))])),
                ],
            ),
            (
                Track::Error,
                vec![
                    "RangeError",
                    "boom",
                    "RangeError: boom\n    at handler (app.js:1:1)",
                ],
                vec![("order_id", V::S("o1"))],
            ),
            (Track::Error, vec!["string", "a thrown string", ""], vec![]),
            (
                metric(2.5),
                vec!["latency", "2.5"],
                vec![("unit", V::S("ms"))],
            ),
            (
                log,
                vec!["héllo 😀"],
                vec![("user", V::M(vec![("id", V::I(1))]))],
            ),
            (SPAN, vec!["deep"], vec![("d", deep)]),
            (
                SPAN,
                vec!["strings"],
                vec![
                    ("empty", V::S("")),
                    ("esc", V::S("a\"b\\c\n\t\0")),
                    ("widths", V::S("aé€😀")),
                    ("lone", V::S("x\u{fffd}y")),
                    ("ключ", V::S("значение")),
                    ("😀", V::S("")),
                    ("long", V::S(long)),
                ],
            ),
            (
                SPAN,
                vec!["ints"],
                vec![
                    ("zero", V::I(0)),
                    ("neg0", V::I(0)),
                    ("neg", V::I(-1)),
                    ("i31", V::I(1 << 31)),
                    ("i32", V::I((1 << 32) + 1)),
                    ("n32", V::I(-(1 << 32) - 1)),
                    ("max", V::I(1 << 53)),
                    ("min", V::I(-(1 << 53))),
                    ("bmax", V::I(i64::MAX)),
                    ("bmin", V::I(i64::MIN)),
                    ("b0", V::I(0)),
                ],
            ),
            (
                SPAN,
                vec!["doubles"],
                vec![
                    ("tenth", V::D("0.1")),
                    ("neg", V::D("-2.5")),
                    ("tiny", V::D("1e-7")),
                    ("huge", V::D("1.5e+300")),
                    ("past53", V::D("9007199254740994")),
                    ("third", V::D("0.3333333333333333")),
                    ("inf", V::S("Infinity")),
                    ("ninf", V::S("-Infinity")),
                ],
            ),
            (
                SPAN,
                vec!["bools"],
                vec![("t", V::B(true)), ("f", V::B(false))],
            ),
            (
                SPAN,
                vec!["containers"],
                vec![
                    ("arr", V::A(vec![])),
                    ("obj", V::M(vec![])),
                    (
                        "mixed",
                        V::A(vec![
                            V::I(1),
                            V::A(vec![V::I(2), V::A(vec![V::I(3)])]),
                            V::M(vec![("a", V::A(vec![]))]),
                        ]),
                    ),
                    (
                        "kv",
                        V::M(vec![("a", V::M(vec![("b", V::M(vec![("c", V::I(1))]))]))]),
                    ),
                    ("u8", V::A(vec![V::I(1), V::I(255)])),
                    ("f64", V::A(vec![V::D("0.5")])),
                    ("set", V::A(vec![V::S("s"), V::I(2)])),
                    (
                        "mapk",
                        V::M(vec![("1", V::S("one")), ("true", V::S("yes"))]),
                    ),
                    ("bare", V::M(vec![("z", V::S("last"))])),
                    ("holes", V::A(vec![V::I(1), V::I(2)])),
                    (
                        "same",
                        V::A(vec![V::M(vec![("k", V::I(1))]), V::M(vec![("k", V::I(1))])]),
                    ),
                ],
            ),
            (
                SPAN,
                vec!["strung"],
                vec![
                    ("url", V::S("https://example.com/a?b=1")),
                    ("err", V::S("Error: inner")),
                    ("bad", V::S("Invalid Date")),
                ],
            ),
            (SPAN, vec!["no attributes"], vec![]),
            (SPAN, vec!["null attributes"], vec![]),
            (
                Track::Error,
                vec!["Object", r#"{"code":42,"reason":"x"}"#, ""],
                vec![],
            ),
            (Track::Error, vec!["number", "7", ""], vec![]),
            (Track::Error, vec!["null", "null", ""], vec![]),
            (Track::Error, vec!["TypeError", "no stack", ""], vec![]),
            (metric(3.0), vec!["count", "3"], vec![]),
            (metric(1e21), vec!["big", "1e+21"], vec![]),
            (
                metric(-0.25),
                vec!["delta", "-0.25"],
                vec![("unit", V::S("s"))],
            ),
            (log, vec!["42"], vec![]),
            (log, vec!["Error: logged"], vec![]),
            (log, vec![r#"{"a":1}"#], vec![("level", V::S("x"))]),
        ]
    }

    /// `body` behind the header of `head`, decoded and rendered.
    fn decode_body(head: Track, body: &[u8]) -> Option<String> {
        let (h, n) = head.encode();
        Item::decode(&[&h[..n], body].concat()).map(render_item)
    }

    #[test]
    fn records_the_js_writer_produced_decode_as_intended() {
        let long = "x".repeat(1000);
        let cases = js_cases(&long);
        let bodies = js_bodies();
        assert_eq!(
            bodies.len(),
            cases.len(),
            "one case here per case of tools/record-fixtures.mjs"
        );
        for (i, ((code, js), (head, strings, kvs))) in bodies.into_iter().zip(cases).enumerate() {
            assert_eq!(code, head.code(), "case {i}: kind");
            let (h, n) = head.encode();
            let record = [&h[..n], js].concat();
            let item =
                Item::decode(&record).unwrap_or_else(|| panic!("case {i}: the JS record decodes"));
            assert!(
                item.time_ns > 1_600_000_000_000_000_000,
                "case {i}: a wall-clock time"
            );
            // Rendering walks every value: a malformed one would end its list early.
            let intended = decode_body(head, &testing::body(0.0, &strings, &kvs));
            assert_eq!(Some(render_item(item)), intended, "case {i}");
        }
    }

    #[test]
    fn the_twin_writes_what_the_js_writer_wrote() {
        let long = "x".repeat(1000);
        for (i, ((_, js), (head, strings, kvs))) in
            js_bodies().into_iter().zip(js_cases(&long)).enumerate()
        {
            let twin = testing::body(body_time_ms(js).unwrap(), &strings, &kvs);
            if twin != js {
                // The readable difference first, then the bytes (a layout difference).
                assert_eq!(decode_body(head, &twin), decode_body(head, js), "case {i}");
                assert_eq!(twin, js, "case {i}: the twin's bytes against JS's");
            }
        }
    }
}
