//! The I/O shell around the delivery core, the same for both front doors: it carries out
//! what the core decides (send this request, arm the timer for then, settle that flush,
//! list, write or release stored batches, start the session) through a host ([`Io`]),
//! and decides nothing itself. quinn's endpoint driver over quinn-proto is the model.
//!
//! A client lives until shutdown (SPEC §7): while the core has work (records queued or in
//! flight, a flush pending) the state holds a strong reference to itself, so an app that
//! drops its last reference loses nothing; the timer, the page listeners and the
//! transport reach it through weak references. Once idle, or shut down and settled, the
//! pin goes and the state can be freed. Every entry point takes the state with
//! `try_borrow*`, so a host callback that re-enters the client finds it busy, not broken.
//!
//! Generic over the host, so that the Rust crate's host-less build (native tests,
//! server-side rendering) runs the very loop the browser does.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell, RefMut};

use automagik_telemetry_core::delivery::{Action, Delivery, FlushId, Reply, RequestId, Transmit};
use automagik_telemetry_core::json;
use automagik_telemetry_core::page::PageEvent;
use automagik_telemetry_core::persist::Then;
use automagik_telemetry_core::session::Session;

/// What the shell needs of its host: clock, console, timer, transport, page lifecycle,
/// storage and the session's randomness. Nothing here may throw or panic.
pub trait Io: 'static {
    /// The client's one re-armable timer.
    type Timer: Timer;
    /// Sends requests, reporting each reply once, later (never inside the client).
    type Transport: Transport;
    /// Page listeners, removed on drop.
    type Page;

    /// The wall clock in ms.
    fn now() -> f64;
    /// A `verbose` debug line.
    fn debug(line: &str);
    /// A warning a person must see once.
    fn warn(line: &str);
    /// A disarmed timer that calls `on_fire` each time it fires.
    fn timer(on_fire: impl FnMut() + 'static) -> Self::Timer;
    /// A transport that calls `on_reply` once per request sent.
    fn transport(on_reply: impl FnMut(RequestId, Reply) + 'static) -> Self::Transport;
    /// Listens to the page's lifecycle where there is a page; `None` elsewhere.
    fn listen(on_event: impl FnMut(PageEvent) + 'static) -> Option<Self::Page>;
    /// Starts a session, and says why its randomness fell back, if it did.
    fn start_session(environment: String) -> (Session, Option<String>);
    /// A line per stored batch under `prefix`; `None` without storage (the default: the
    /// core then stores nothing).
    fn store_list(_prefix: &str) -> Option<String> {
        None
    }
    /// Stores a batch; `Err` with the storage's complaint when it refused.
    fn store_put(_key: &str, _head: &str, _body: &[u8]) -> Result<(), String> {
        Err("no storage".into())
    }
    /// Does `then` to the batch under `key`, then lets go of this tab's claim on it.
    fn store_release(_key: &str, _then: Then) {}
}

/// A host timer.
pub trait Timer {
    /// Fires once after `ms`, replacing any pending firing; `keep_alive` holds a Deno or
    /// Node process open until then. Errs with the host's complaint.
    fn arm(&mut self, ms: f64, keep_alive: bool) -> Result<(), String>;
    /// Cancels the pending firing.
    fn disarm(&mut self);
    /// Forgets the pending firing: it just happened.
    fn fired(&mut self);
}

/// A host transport.
pub trait Transport {
    /// Sends `body` as `t` says.
    fn send(&self, t: &Transmit, body: &[u8]);
}

/// A flush's waiting side (a JS promise, a Rust future): settled once the state is
/// released, so that what it wakes can use the client at once.
pub trait Settle {
    /// The flush settled.
    fn settle(self);
}

/// The client's state: the delivery core plus the host resources that carry it out.
pub struct Shell<I: Io, W> {
    /// The delivery core.
    pub core: Delivery,
    environment: String,
    /// Created disarmed (Workers forbid arming timers at construction).
    timer: Option<I::Timer>,
    /// What the timer is armed for: the time and whether it holds the process open.
    armed: Option<(f64, bool)>,
    transport: Option<I::Transport>,
    page: Option<I::Page>,
    waiters: Vec<(FlushId, W)>,
    /// The state itself, held while the core has work (a reference cycle, broken when
    /// idle).
    pin: Option<Shared<I, W>>,
}

/// The shell as clients share it.
pub type Shared<I, W> = Rc<RefCell<Shell<I, W>>>;

impl<I: Io, W: Settle + 'static> Shell<I, W> {
    /// A shell with no timer, transport or page listeners yet.
    pub fn new(core: Delivery, environment: String) -> Shell<I, W> {
        Shell {
            core,
            environment,
            timer: None,
            armed: None,
            transport: None,
            page: None,
            waiters: Vec::new(),
            pin: None,
        }
    }

    /// Writes `line()` to the debug console when `verbose` is on.
    pub fn debug(&self, line: impl FnOnce() -> String) {
        if self.core.pipeline.config.verbose {
            I::debug(&line());
        }
    }

    /// Shares the shell, with what it needs from the start: the page's hide and show
    /// listeners (a page may go away before anything else runs), one plain warning when a
    /// ClickHouse password is configured in a page, and the timer, disarmed (its callback
    /// made once, here rather than in the first tracking call). No randomness or storage.
    pub fn share(self) -> Shared<I, W> {
        let me = Rc::new(RefCell::new(self));
        if let Ok(mut st) = me.try_borrow_mut() {
            if let Some(warning) = st.core.page_warning() {
                I::warn(warning);
            }
            let weak = Rc::downgrade(&me);
            st.page = I::listen(move |event| {
                if let Some(me) = weak.upgrade() {
                    drive(&me, |st, now| match event {
                        PageEvent::Hidden { compress } => st.core.page_hidden(now, compress),
                        PageEvent::Shown => st.core.page_shown(now),
                        PageEvent::Online(online) => st.core.set_online(now, online),
                    });
                }
            });
            let weak = Rc::downgrade(&me);
            st.timer = Some(I::timer(move || {
                if let Some(me) = weak.upgrade() {
                    drive(&me, |st, now| {
                        if let Some(t) = st.timer.as_mut() {
                            t.fired();
                        }
                        st.armed = None;
                        st.core.handle_timeout(now);
                    });
                }
            }));
        }
        me
    }

    /// Shares the shell ([`Shell::share`]) and opens the client: a debug line of what it
    /// decided, and in a page the listing of the batches an earlier load left (SPEC §8).
    pub fn open(self) -> Shared<I, W> {
        self.debug(|| {
            [
                "enabled=",
                if self.core.is_enabled() {
                    "true"
                } else {
                    "false"
                },
                " traces=",
                &self.core.pipeline.config.traces_endpoint,
            ]
            .concat()
        });
        let me = self.share();
        drive(&me, |st, _| st.core.open());
        me
    }

    /// Begins the session (identity, random salt) when the core asks for it.
    pub fn start_session(&mut self) {
        if self.core.needs_session() {
            let (start, fault) = I::start_session(self.environment.clone());
            self.core.start_session(start.seed, start.identity, fault);
        }
    }

    /// Lets go of the pin without freeing the state here (a throwaway client's).
    pub fn unpin(&mut self) -> Option<Shared<I, W>> {
        self.pin.take()
    }

    /// Carries out the core's actions and re-arms the timer; returns the flushes to
    /// settle once the state is released.
    fn carry_out(&mut self, me: &Shared<I, W>, now: f64) -> Vec<W> {
        let mut settled = Vec::new();
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Send(t) => {
                    let body = self.core.body(t.id).unwrap_or_default();
                    self.debug(|| {
                        let size = json::decimal(body.len() as u64);
                        [t.signal.name(), " -> ", &size, " bytes to ", &t.url].concat()
                    });
                    let weak = Rc::downgrade(me);
                    let transport = self.transport.get_or_insert_with(|| {
                        I::transport(move |id, reply| {
                            if let Some(me) = weak.upgrade() {
                                on_reply(&me, id, reply);
                            }
                        })
                    });
                    transport.send(&t, body);
                }
                Action::Settle(id) => {
                    if let Some(i) = self.waiters.iter().position(|(w, _)| *w == id) {
                        settled.push(self.waiters.swap_remove(i).1);
                    }
                }
                Action::List { prefix } => {
                    let listing = I::store_list(&prefix);
                    self.core.listed(now, listing.as_deref());
                }
                Action::Persist { key, head, body } => {
                    let written = I::store_put(&key, &head, &body);
                    self.core.wrote(now, &key, written);
                }
                Action::Release { key, then } => I::store_release(&key, then),
            }
        }
        self.rearm(now);
        if self.core.is_shut() && !self.core.has_work() {
            // Shut down and settled: the page listeners go. The timer stays, disarmed (the
            // core wants no interval after shutdown): a later flush's retries still need it.
            self.page = None;
        }
        settled
    }

    /// Arms the timer for the core's next wake-up; it holds the process open only while
    /// a flush is awaited.
    fn rearm(&mut self, now: f64) {
        let want = self
            .core
            .poll_timeout()
            .map(|at| (at, self.core.flushing()));
        if want == self.armed {
            return;
        }
        self.armed = want;
        let Some((at, keep_alive)) = want else {
            if let Some(t) = self.timer.as_mut() {
                t.disarm();
            }
            return;
        };
        let Some(timer) = self.timer.as_mut() else {
            return;
        };
        let armed = timer.arm(at - now, keep_alive);
        if armed.is_err() {
            self.armed = None;
        }
        self.core.timer_armed(armed);
    }
}

/// The state for a tracking call, or `None` when the call is not collected: the state
/// is busy (a re-entrant call, counted in `reentrant` until the core can take it) or
/// collection is off. The caller lays the item out, hands it to the core, then [`finish`]es.
pub fn begin_track<'s, I: Io, W: Settle + 'static>(
    me: &'s Shared<I, W>,
    reentrant: &Cell<u64>,
) -> Option<RefMut<'s, Shell<I, W>>> {
    let Ok(mut st) = me.try_borrow_mut() else {
        reentrant.set(reentrant.get() + 1);
        return None;
    };
    if !st.core.is_enabled() {
        return None;
    }
    st.core.reentrant(reentrant.take());
    Some(st)
}

/// Runs `f` on the state with the current time, then carries out what the core decided.
/// Starts the session first: every caller but a tracking call may send. Returns false
/// when the state was busy (a re-entrant call), in which case `f` did not run.
pub fn drive<I: Io, W: Settle + 'static>(
    me: &Shared<I, W>,
    f: impl FnOnce(&mut Shell<I, W>, f64),
) -> bool {
    let Ok(mut st) = me.try_borrow_mut() else {
        return false;
    };
    let t = I::now();
    st.start_session();
    f(&mut st, t);
    finish(me, st, t);
    true
}

/// Lets time pass where the host's timers failed, carries out the core's actions, pins
/// the state while the core has work (or lets it go), then releases the state and
/// settles the flushes that settled.
pub fn finish<I: Io, W: Settle + 'static>(
    me: &Shared<I, W>,
    mut st: RefMut<'_, Shell<I, W>>,
    now: f64,
) {
    st.core.tick(now);
    let settled = st.carry_out(me, now);
    let unpinned = if st.core.has_work() {
        st.pin.get_or_insert_with(|| Rc::clone(me));
        None
    } else {
        st.pin.take()
    };
    drop(st);
    // After the borrow ends: this may be the last reference, and free the state.
    drop(unpinned);
    for flush in settled {
        flush.settle();
    }
}

fn on_reply<I: Io, W: Settle + 'static>(me: &Shared<I, W>, id: RequestId, reply: Reply) {
    drive(me, |st, now| {
        st.debug(|| {
            let what = reply.outcome.describe();
            st.core.pipeline.redact(
                [
                    "request ",
                    &json::decimal(id.into()),
                    ": ",
                    &what,
                    " ",
                    &reply.message,
                ]
                .concat(),
            )
        });
        st.core.reply(now, id, reply);
    });
}

/// Begins the flush `start` returns and hands `view` its waiter: a new one from `new`,
/// or the waiter of the pending flush it adds nothing to. `None` when the state was busy
/// (a re-entrant call).
pub fn flush<I: Io, W: Settle + 'static, R>(
    me: &Shared<I, W>,
    start: impl FnOnce(&mut Delivery, f64) -> FlushId,
    new: impl FnOnce() -> W,
    view: impl FnOnce(&W) -> R,
) -> Option<R> {
    let mut out = None;
    drive(me, |st, now| {
        let id = start(&mut st.core, now);
        if let Some((_, w)) = st.waiters.iter().find(|(w, _)| *w == id) {
            out = Some(view(w));
            return;
        }
        let w = new();
        out = Some(view(&w));
        st.waiters.push((id, w));
    });
    out
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::boxed::Box;
    use automagik_telemetry_core::config::{Config, Raw};
    use automagik_telemetry_core::model::Track;
    use automagik_telemetry_core::record::{self, STR_UNITS};
    use automagik_telemetry_core::retry::Outcome;
    use std::thread_local;

    type OnReply = Box<dyn FnMut(RequestId, Reply)>;

    thread_local! {
        /// The request ids sent, and how to answer them.
        static SENT: RefCell<Vec<RequestId>> = const { RefCell::new(Vec::new()) };
        static ANSWER: RefCell<Option<OnReply>> = const { RefCell::new(None) };
    }

    /// A host whose transport keeps what it is given until the test answers.
    struct Fake;

    struct FakeTimer;
    impl Timer for FakeTimer {
        fn arm(&mut self, _ms: f64, _keep_alive: bool) -> Result<(), String> {
            Ok(())
        }
        fn disarm(&mut self) {}
        fn fired(&mut self) {}
    }

    struct FakeTransport;
    impl Transport for FakeTransport {
        fn send(&self, t: &Transmit, _body: &[u8]) {
            SENT.with(|s| s.borrow_mut().push(t.id));
        }
    }

    impl Io for Fake {
        type Timer = FakeTimer;
        type Transport = FakeTransport;
        type Page = ();
        fn now() -> f64 {
            1_700_000_000_000.0
        }
        fn debug(_line: &str) {}
        fn warn(_line: &str) {}
        fn timer(_on_fire: impl FnMut() + 'static) -> FakeTimer {
            FakeTimer
        }
        fn transport(on_reply: impl FnMut(RequestId, Reply) + 'static) -> FakeTransport {
            ANSWER.with(|a| *a.borrow_mut() = Some(Box::new(on_reply)));
            FakeTransport
        }
        fn listen(_on_event: impl FnMut(PageEvent) + 'static) -> Option<()> {
            None
        }
        fn start_session(environment: String) -> (Session, Option<String>) {
            let random = [7; automagik_telemetry_core::session::RANDOM_BYTES];
            let info = "node\n\n\n";
            (
                automagik_telemetry_core::session::start(&random, None, info, environment),
                None,
            )
        }
    }

    /// A flush's waiter that records whether the state was free when it settled.
    struct Probe(
        Rc<Cell<Option<bool>>>,
        alloc::rc::Weak<RefCell<Shell<Fake, Probe>>>,
    );
    impl Settle for Probe {
        fn settle(self) {
            let free = self
                .1
                .upgrade()
                .map_or(true, |s| s.try_borrow_mut().is_ok());
            self.0.set(Some(free));
        }
    }

    fn client() -> Shared<Fake, Probe> {
        let config = Config::parse(&mut |n| match n {
            "projectName" | "version" => Raw::Str("p".into()),
            _ => Raw::Missing,
        })
        .unwrap();
        let core = Delivery::new(config).with_host(true, "node".into());
        Shell::new(core, String::new()).share()
    }

    fn track_one(me: &Shared<Fake, Probe>) {
        let mut st = me.borrow_mut();
        let body = record::body(Fake::now(), &[("e", STR_UNITS)], &[], &|_| String::new());
        st.start_session();
        st.core.track(Fake::now(), Track::Event, &body);
        finish(me, st, Fake::now());
    }

    fn answer(status: u16) {
        let id = SENT.with(|s| s.borrow_mut().remove(0));
        let reply = Reply {
            outcome: Outcome::Status {
                status,
                retry_after_ms: None,
            },
            rejected: 0,
            message: String::new(),
            exception_code: None,
        };
        // Taken out while it runs: the reply may send again, which must not find it borrowed.
        let mut f = ANSWER.with(|a| a.borrow_mut().take()).unwrap();
        f(id, reply);
        ANSWER.with(|a| *a.borrow_mut() = Some(f));
    }

    #[test]
    fn a_client_nobody_holds_lives_until_its_work_is_done() {
        let me = client();
        track_one(&me);
        let weak = Rc::downgrade(&me);
        drop(me);
        assert!(weak.upgrade().is_some(), "pinned while an item is queued");
        let me = weak.upgrade().unwrap();
        let settled = Rc::new(Cell::new(None));
        let w = Rc::downgrade(&me);
        let seen = Rc::clone(&settled);
        flush(
            &me,
            |core, now| core.flush(now),
            move || Probe(seen, w),
            |_| (),
        );
        drop(me);
        answer(200);
        assert_eq!(
            settled.get(),
            Some(true),
            "settled once the state was released"
        );
        assert!(weak.upgrade().is_none(), "freed once idle");
    }

    #[test]
    fn a_reentrant_call_finds_the_state_busy() {
        let me = client();
        let inner = Cell::new(None);
        assert!(drive(&me, |_, _| inner.set(Some(drive(&me, |_, _| {})))));
        assert_eq!(inner.get(), Some(false));
    }
}
