//! [`TracingLayer`]: `tracing` events as logs, closed spans as spans.

use std::cell::RefCell;
use std::fmt;

use automagik_telemetry_core::record::AttrValue;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes as SpanAttributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::{host, Attributes, LogSeverity, Telemetry};

thread_local! {
    /// The clients the layers on this thread report to, by layer id. A `Telemetry` is
    /// not `Send` (it lives on the page's one thread); the layer must be, to go into
    /// `tracing::subscriber::set_global_default`. So the layer holds an index.
    static CLIENTS: RefCell<Vec<Telemetry>> = const { RefCell::new(Vec::new()) };
}

/// A [`tracing_subscriber::Layer`] that sends `tracing` data through a [`Telemetry`]
/// client (feature `tracing`):
///
/// - an event becomes a log record: its level the severity (`TRACE`..`ERROR` to
///   `Trace`..`Error`), its `message` field the body (the event's name when it has
///   none), every other field a typed attribute, plus `tracing.target`;
/// - a span, once closed, becomes a span named after it that starts when the `tracing`
///   span was created and ends when it closed (`startTimeUnixNano`/`endTimeUnixNano`),
///   with its fields and `duration_ms` (the same duration, in ms, for backends that
///   query attributes) as attributes.
///
/// While the client is disabled the layer does nothing per event: it checks
/// [`Telemetry::is_enabled`] before it looks at a single field.
///
/// It is `Send + Sync` and reaches the client through a thread-local: use it on the
/// thread that made the client (the page's), as wasm32 apps do.
///
/// ```no_run
/// use automagik_telemetry::{Config, Telemetry, TracingLayer};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let t = Telemetry::new(Config::new("my-app", "1.0.0"))?;
/// let subscriber = tracing_subscriber::registry().with(TracingLayer::new(t.clone()));
/// tracing::subscriber::set_global_default(subscriber)?;
/// tracing::info!(path = "/home", "page shown");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TracingLayer {
    client: usize,
}

impl TracingLayer {
    /// A layer reporting to `telemetry` (on this thread).
    pub fn new(telemetry: Telemetry) -> TracingLayer {
        let client = CLIENTS.with(|c| {
            let mut c = c.borrow_mut();
            c.push(telemetry);
            c.len() - 1
        });
        TracingLayer { client }
    }

    /// The client, when it is enabled (and on this thread).
    fn client(&self) -> Option<Telemetry> {
        CLIENTS
            .with(|c| c.try_borrow().ok()?.get(self.client).cloned())
            .filter(Telemetry::is_enabled)
    }
}

fn severity(level: &Level) -> LogSeverity {
    match *level {
        Level::TRACE => LogSeverity::Trace,
        Level::DEBUG => LogSeverity::Debug,
        Level::INFO => LogSeverity::Info,
        Level::WARN => LogSeverity::Warn,
        _ => LogSeverity::Error,
    }
}

/// Collects fields as typed attributes, the `message` field apart.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    attrs: Attributes,
}

impl Fields {
    fn put(&mut self, field: &Field, value: AttrValue) {
        if field.name() == "message" {
            self.message = Some(match value {
                AttrValue::Str(s) => s,
                other => format!("{other:?}"),
            });
            return;
        }
        let name = field.name();
        match self.attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name.into(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::Double(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AttrValue::Str(value.into()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, AttrValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, AttrValue::Str(format!("{value:?}")));
    }
}

/// What a live span carries until it closes.
struct SpanData {
    start: f64,
    fields: Fields,
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(client) = self.client() else {
            return;
        };
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.attrs.push((
            "tracing.target".into(),
            AttrValue::Str(meta.target().into()),
        ));
        let message = fields.message.take().unwrap_or_else(|| meta.name().into());
        client.track_log(&message, severity(meta.level()), fields.attrs);
    }

    fn on_new_span(&self, attrs: &SpanAttributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.client().is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanData {
            start: host::record_time(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<SpanData>() {
            values.record(&mut data.fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let data = span.extensions_mut().remove::<SpanData>();
        let Some(data) = data else {
            return;
        };
        let Some(client) = self.client() else {
            return;
        };
        let mut attrs = data.fields.attrs;
        if let Some(m) = data.fields.message {
            attrs.push(("message".into(), AttrValue::Str(m)));
        }
        // One clock for both ends (the records' own), and one duration for the span's
        // times and its attribute.
        let end = host::record_time();
        let duration = (end - data.start).max(0.0);
        attrs.push(("duration_ms".into(), AttrValue::Double(duration)));
        client.track_span(span.name(), end, duration, attrs);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::Config;
    use tracing_subscriber::layer::SubscriberExt;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn events_become_logs_and_closed_spans_events() {
        assert_send_sync::<TracingLayer>();
        let t = Telemetry::new(Config::new("p", "v").enabled(true)).unwrap();
        let subscriber = tracing_subscriber::registry().with(TracingLayer::new(t.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(user = 7, ratio = 0.5, ok = true, "low disk");
            let span = tracing::info_span!("save", doc = "a.txt");
            span.in_scope(|| {});
            drop(span);
        });
        let s = t.status();
        assert_eq!(s.queue_sizes.logs, 1);
        assert_eq!(s.queue_sizes.traces, 1);
    }

    /// The decimal digits of the JSON string value after `"key":` in `body`.
    fn quoted_number(body: &str, key: &str) -> u64 {
        let at = body.find(&format!("\"{key}\":\"")).unwrap() + key.len() + 4;
        let digits: String = body[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    }

    #[test]
    fn a_closed_span_starts_when_it_was_created_and_ends_when_it_closed() {
        let config = Config::new("p", "v")
            .enabled(true)
            .compression_enabled(false);
        let t = Telemetry::new(config).unwrap();
        let subscriber = tracing_subscriber::registry().with(TracingLayer::new(t.clone()));
        let created = host::now();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("save", doc = "a.txt", bytes = 1024_u64);
            host::advance(40.5);
            span.in_scope(|| {});
            drop(span);
        });
        let _flush = t.flush();
        let sent = host::take_sent();
        assert_eq!(sent.len(), 1);
        let body = String::from_utf8(sent[0].1.clone()).unwrap();
        assert!(body.contains("\"name\":\"save\""), "{body}");
        let (start, end) = (
            quoted_number(&body, "startTimeUnixNano"),
            quoted_number(&body, "endTimeUnixNano"),
        );
        assert_eq!(start, created as u64 * 1_000_000);
        assert_eq!(end - start, 40_500_000, "{body}");
        assert!(body.contains("{\"key\":\"doc\",\"value\":{\"stringValue\":\"a.txt\"}}"));
        assert!(body.contains("{\"key\":\"bytes\",\"value\":{\"intValue\":\"1024\"}}"));
        assert!(
            body.contains("{\"key\":\"duration_ms\",\"value\":{\"doubleValue\":40.5}}"),
            "{body}"
        );
    }

    #[test]
    fn nothing_is_collected_while_disabled() {
        let t = Telemetry::new(Config::new("p", "v").enabled(false)).unwrap();
        let subscriber = tracing_subscriber::registry().with(TracingLayer::new(t.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("x");
            let _s = tracing::info_span!("s").entered();
        });
        assert_eq!(t.status().queue_size, 0);
        assert_eq!(t.status().dropped.invalid, 0);
    }
}
