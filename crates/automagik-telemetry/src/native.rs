//! The host off `wasm32` (native tests, server-side rendering): no network, no timers,
//! no page. The client queues and encodes; what it would send is kept for tests.

use std::cell::{Cell, RefCell};

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};
use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_core::session::{self, Session, RANDOM_BYTES};

use crate::Config;

thread_local! {
    static CLOCK: Cell<f64> = const { Cell::new(1_700_000_000_000.0) };
    static SENT: RefCell<Vec<(Transmit, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
}

/// The wall clock in ms: a fixed test clock here.
pub fn now() -> f64 {
    CLOCK.with(Cell::get)
}

/// The time a record is stamped with.
pub fn record_time() -> f64 {
    now()
}

/// Moves the test clock `ms` forward (tests: a `tracing` span that lasts).
#[cfg(all(test, feature = "tracing"))]
pub fn advance(ms: f64) {
    CLOCK.with(|c| c.set(c.get() + ms));
}

/// Takes what the client would have sent (tests).
#[cfg(test)]
pub fn take_sent() -> Vec<(Transmit, Vec<u8>)> {
    SENT.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

pub fn runtime_name() -> String {
    "unknown".into()
}

pub fn debug(line: &str) {
    eprintln!("[automagik-telemetry] {line}");
}

pub fn warn(line: &str) {
    eprintln!("[automagik-telemetry] {line}");
}

pub fn enablement_facts(config: &Config, configured: Option<bool>) -> Facts {
    crate::host_common::facts(config, configured, false, false)
}

pub fn persist_opt_out(_opted_out: bool) {}

/// No storage here (nor does the core ask: it keeps batches in browser pages only).
pub fn store_list(_prefix: &str) -> Option<String> {
    None
}

pub fn store_put(_key: &str, _head: &str, _body: &[u8]) -> Result<(), String> {
    Err("no storage".into())
}

pub fn store_release(_key: &str, _then: automagik_telemetry_core::persist::Then) {}

/// A session from fixed bytes (there is no randomness worth having in tests).
pub fn start_session(environment: String) -> (Session, Option<String>) {
    let random: [u8; RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
    (
        session::start(&random, None, "unknown\n\n\n", environment),
        None,
    )
}

/// A timer that never fires.
pub struct Timer;

impl Timer {
    pub fn new(_f: impl FnMut() + 'static) -> Timer {
        Timer
    }
    pub fn arm(&mut self, _ms: f64, _keep_alive: bool) -> Result<(), String> {
        Ok(())
    }
    pub fn disarm(&mut self) {}
    pub fn fired(&mut self) {}
}

/// Keeps what it is given; no reply ever comes.
pub struct Transport;

impl Transport {
    pub fn new(_on_reply: impl FnMut(RequestId, Reply) + 'static) -> Transport {
        Transport
    }
    pub fn send(&self, t: &Transmit, body: &[u8]) {
        SENT.with(|s| s.borrow_mut().push((t.clone(), body.to_vec())));
    }
}

/// No page here.
pub struct PageListeners;

impl PageListeners {
    pub fn listen(
        _f: impl FnMut(automagik_telemetry_core::page::PageEvent) + 'static,
    ) -> Option<PageListeners> {
        None
    }
}
