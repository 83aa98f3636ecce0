//! The JS host as the shell's [`Io`].

use alloc::string::String;

use automagik_telemetry_core::delivery::{Reply, RequestId};
use automagik_telemetry_core::page::PageEvent;
use automagik_telemetry_core::persist::Then;
use automagik_telemetry_core::session::Session;

use crate::shell::Io;
use crate::{facts, lifecycle, storage, timers, transport};

/// The JS host: `js/` through its bindings.
pub struct Js;

impl Io for Js {
    type Timer = timers::Timer;
    type Transport = transport::Transport;
    type Page = lifecycle::PageListeners;

    fn now() -> f64 {
        js_sys::Date::now()
    }
    fn debug(line: &str) {
        facts::debug(line);
    }
    fn warn(line: &str) {
        facts::warn(line);
    }
    fn timer(on_fire: impl FnMut() + 'static) -> timers::Timer {
        timers::Timer::new(on_fire)
    }
    fn transport(on_reply: impl FnMut(RequestId, Reply) + 'static) -> transport::Transport {
        transport::Transport::new(on_reply)
    }
    fn listen(on_event: impl FnMut(PageEvent) + 'static) -> Option<lifecycle::PageListeners> {
        lifecycle::PageListeners::listen(on_event)
    }
    fn start_session(environment: String) -> (Session, Option<String>) {
        facts::start_session(environment)
    }
    fn store_list(prefix: &str) -> Option<String> {
        storage::list(prefix)
    }
    fn store_put(key: &str, head: &str, body: &[u8]) -> Result<(), String> {
        storage::put(key, head, body)
    }
    fn store_release(key: &str, then: Then) {
        storage::release(key, then);
    }
}
