//! Delivery counters reported by `getStatus()`.

use crate::prelude::*;

/// Why items were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The byte-bounded queue was full; the oldest items gave way.
    QueueFull,
    /// The backend accepted the request but rejected these items (partial success).
    Rejected,
    /// The item could not be tracked (not a string name, not a finite value, ...).
    Invalid,
    /// The backend answered with a status that retrying will not fix.
    Failed,
    /// Tracked after `shutdown()`.
    AfterShutdown,
    /// Evicted from `localStorage`, oldest first, to keep persisted batches within
    /// `persistBytes`.
    PersistFull,
}

/// Cumulative counters since construction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Successful requests.
    pub sent_requests: u64,
    /// Items in successful requests, less those the backend rejected.
    pub sent_items: u64,
    /// Bytes on the wire (after compression) of successful requests.
    pub sent_bytes: u64,
    /// Dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Rejected by the backend in a partial success.
    pub dropped_rejected: u64,
    /// Invalid input from the caller.
    pub dropped_invalid: u64,
    /// Dropped after a non-retryable failure.
    pub dropped_failed: u64,
    /// Tracked after `shutdown()`.
    pub dropped_after_shutdown: u64,
    /// Evicted from `localStorage` by the `persistBytes` bound.
    pub dropped_persist_full: u64,
    /// Unknown metric types tracked as gauges.
    pub coerced_metric_type: u64,
    /// Unknown log severities tracked as INFO.
    pub coerced_severity: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Values the scrubber changed in delivered items.
    pub scrubbed: u64,
    /// The latest failure, for people reading the status.
    pub last_error: Option<String>,
}

impl Stats {
    /// Counts `n` items dropped for `reason`.
    pub fn drop(&mut self, reason: DropReason, n: u64) {
        *match reason {
            DropReason::QueueFull => &mut self.dropped_queue_full,
            DropReason::Rejected => &mut self.dropped_rejected,
            DropReason::Invalid => &mut self.dropped_invalid,
            DropReason::Failed => &mut self.dropped_failed,
            DropReason::AfterShutdown => &mut self.dropped_after_shutdown,
            DropReason::PersistFull => &mut self.dropped_persist_full,
        } += n;
    }
}
