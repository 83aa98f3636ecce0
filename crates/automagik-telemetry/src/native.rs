//! The host off `wasm32` (native tests, server-side rendering): no network, no timers,
//! no page, no storage (the shell's default: the core then stores nothing). The client
//! queues and encodes through the same shell as in a browser; what it would send is kept
//! for tests.

use std::cell::{Cell, RefCell};

use automagik_telemetry_core::delivery::{Reply, RequestId, Transmit};
use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_core::page::PageEvent;
use automagik_telemetry_core::session::{self, Session, RANDOM_BYTES};
use automagik_telemetry_host::shell::{self, Io};

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

pub fn enablement_facts(config: &Config, configured: Option<bool>) -> Facts {
    crate::host_common::facts(config, configured, false, false)
}

pub fn persist_opt_out(_opted_out: bool) {}

/// The host-less host.
pub struct Host;

impl Io for Host {
    type Timer = Timer;
    type Transport = Transport;
    type Page = ();

    fn now() -> f64 {
        now()
    }
    fn debug(line: &str) {
        eprintln!("[automagik-telemetry] {line}");
    }
    fn warn(line: &str) {
        eprintln!("[automagik-telemetry] {line}");
    }
    fn timer(_on_fire: impl FnMut() + 'static) -> Timer {
        Timer
    }
    fn transport(_on_reply: impl FnMut(RequestId, Reply) + 'static) -> Transport {
        Transport
    }
    /// No page here.
    fn listen(_on_event: impl FnMut(PageEvent) + 'static) -> Option<()> {
        None
    }
    /// A session from fixed bytes (there is no randomness worth having in tests).
    fn start_session(environment: String) -> (Session, Option<String>) {
        let random: [u8; RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
        (
            session::start(&random, None, "unknown\n\n\n", environment),
            None,
        )
    }
}

/// A timer that never fires.
pub struct Timer;

impl shell::Timer for Timer {
    fn arm(&mut self, _ms: f64, _keep_alive: bool) -> Result<(), String> {
        Ok(())
    }
    fn disarm(&mut self) {}
    fn fired(&mut self) {}
}

/// Keeps what it is given; no reply ever comes.
pub struct Transport;

impl shell::Transport for Transport {
    fn send(&self, t: &Transmit, body: &[u8]) {
        SENT.with(|s| s.borrow_mut().push((t.clone(), body.to_vec())));
    }
}
