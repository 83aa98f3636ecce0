//! The host off `wasm32` (native tests, server-side rendering): no network, no timers,
//! no page. The client queues and encodes; what it would send is kept for tests.

use std::cell::{Cell, RefCell};

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};
use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_core::encoder::Identity;
use automagik_telemetry_core::ids::uuid_v4;

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

pub fn start_session(environment: String) -> (u64, Identity, Option<String>) {
    let identity = Identity {
        user_id: uuid_v4([1; 16]),
        session_id: uuid_v4([2; 16]),
        runtime_name: runtime_name(),
        runtime_version: String::new(),
        os_type: String::new(),
        hostname: String::new(),
        environment,
    };
    (3, identity, None)
}

/// A timer that never fires.
pub struct Timer;

impl Timer {
    pub fn new(_f: impl FnMut() + 'static) -> Timer {
        Timer
    }
    pub fn arm(&mut self, _ms: f64) -> Result<(), String> {
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
    pub fn send(&self, t: &Transmit, body: Vec<u8>) {
        SENT.with(|s| s.borrow_mut().push((t.clone(), body)));
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
