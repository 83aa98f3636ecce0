//! Retry policy: which outcomes are retried, and how long to wait before the next try.

use crate::prelude::*;

use super::json;

/// The longest computed backoff.
pub const MAX_BACKOFF_MS: f64 = 30_000.0;
/// The longest wait a `Retry-After` header can impose.
pub const MAX_RETRY_AFTER_MS: f64 = 300_000.0;

/// The `status` values `transport.js` reports when no HTTP status came back (it
/// imports them from `layout.js`, generated from [`no_status::CODES`]).
pub mod no_status {
    /// No answer within the timeout.
    pub const TIMEOUT: f64 = -1.0;
    /// No answer at all (refused, reset, a `fetch` that threw or rejected).
    pub const NETWORK: f64 = -2.0;
    /// The host declined to send (a full beacon queue).
    pub const REFUSED: f64 = -3.0;
    /// No answer, and the browser says it is offline (`navigator.onLine` false).
    pub const OFFLINE: f64 = -4.0;
    /// The codes by name (`layout.js` has them as `NO_STATUS_<name>`).
    pub const CODES: [(&str, f64); 4] = [
        ("TIMEOUT", TIMEOUT),
        ("NETWORK", NETWORK),
        ("REFUSED", REFUSED),
        ("OFFLINE", OFFLINE),
    ];
}

/// What one attempt to send a request came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The server answered with this status.
    Status {
        /// HTTP status code.
        status: u16,
        /// The wait the server's `Retry-After` asks for, in ms, as the host read it
        /// (seconds or an HTTP date: `transport.js`), if it sent one.
        retry_after_ms: Option<f64>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The request failed before any answer (connection refused, DNS, CORS, a `fetch`
    /// that threw or rejected, ...).
    Network(String),
    /// The host declined to send it now (a page's beacon quota): it was never sent.
    Refused,
    /// The request failed while the browser was offline: no retry is spent on it.
    Offline,
}

impl crate::delivery::Reply {
    /// The reply the hosts' `transport.js` reports as `done(id, status, retryAfterMs,
    /// exceptionCode, rejected, message)`: an HTTP status, or one of [`no_status`]; absent
    /// numbers negative. A network failure's message is its outcome's, not the server's.
    pub fn from_report(
        status: f64,
        retry_after_ms: f64,
        exception_code: f64,
        rejected: f64,
        message: String,
    ) -> Self {
        let outcome = if status >= 0.0 {
            Outcome::Status {
                status: status as u16,
                retry_after_ms: (retry_after_ms >= 0.0).then_some(retry_after_ms),
            }
        } else if status == no_status::TIMEOUT {
            Outcome::Timeout
        } else if status == no_status::REFUSED {
            Outcome::Refused
        } else if status == no_status::OFFLINE {
            Outcome::Offline
        } else {
            Outcome::Network(if message.is_empty() {
                "fetch failed".into()
            } else {
                message.clone()
            })
        };
        let network = matches!(outcome, Outcome::Network(_));
        Self {
            outcome,
            rejected: rejected as u64,
            message: if network { String::new() } else { message },
            exception_code: (exception_code >= 0.0).then_some(exception_code as u32),
        }
    }
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Delivered (2xx).
    Delivered,
    /// Worth another try, after the server's `Retry-After` if it gave one (ms).
    Retry(Option<f64>),
    /// Will not succeed on retry; drop and count.
    Drop,
    /// Never sent: back to the queue as it was, with no attempt counted.
    Restore,
}

impl Outcome {
    /// Classifies the outcome. `retry_later` says whether a non-2xx status is one the
    /// backend marks as transient beyond the standard HTTP ones (ClickHouse's codes).
    pub fn verdict(&self, retry_later: bool) -> Verdict {
        match self {
            Outcome::Status { status, .. } if (200..300).contains(status) => Verdict::Delivered,
            Outcome::Status {
                status,
                retry_after_ms,
            } if retry_later || matches!(status, 408 | 429 | 502 | 503 | 504) => {
                Verdict::Retry(retry_after_ms.map(|ms| ms.clamp(0.0, MAX_RETRY_AFTER_MS)))
            }
            Outcome::Status { .. } => Verdict::Drop,
            Outcome::Timeout | Outcome::Network(_) | Outcome::Offline => Verdict::Retry(None),
            Outcome::Refused => Verdict::Restore,
        }
    }

    /// A short description for `lastError`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Status { status, .. } => ["HTTP ", &json::decimal((*status).into())].concat(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Network(m) => ["network error: ", m].concat(),
            Outcome::Refused => "not accepted by the host".into(),
            Outcome::Offline => "offline".into(),
        }
    }
}

/// Backoff before retry number `attempt` (0-based): `base · 2^attempt`, ±20 % jitter
/// from `unit` in `[0, 1)`, capped at 30 s.
pub fn backoff_ms(base_ms: f64, attempt: u32, unit: f64) -> f64 {
    let exp = base_ms * f64::from(1u32 << attempt.min(30));
    (exp * (0.8 + 0.4 * unit)).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Reply;

    #[test]
    fn a_transport_report_reads_as_a_reply() {
        let r = Reply::from_report(503.0, 2000.0, -1.0, 0.0, "busy".into());
        assert_eq!(r.outcome, status(503, Some(2000.0)));
        assert_eq!((r.message.as_str(), r.exception_code), ("busy", None));
        let r = Reply::from_report(200.0, -1.0, 241.0, 3.0, String::new());
        assert_eq!(
            (r.outcome, r.rejected, r.exception_code),
            (status(200, None), 3, Some(241))
        );
        let outcome =
            |code, message: &str| Reply::from_report(code, -1.0, -1.0, 0.0, message.into());
        assert_eq!(outcome(no_status::TIMEOUT, "").outcome, Outcome::Timeout);
        assert_eq!(outcome(no_status::REFUSED, "").outcome, Outcome::Refused);
        assert_eq!(outcome(no_status::OFFLINE, "").outcome, Outcome::Offline);
        let network = outcome(no_status::NETWORK, "ECONNREFUSED");
        assert_eq!(network.outcome, Outcome::Network("ECONNREFUSED".into()));
        assert_eq!(network.message, "");
        assert_eq!(
            outcome(no_status::NETWORK, "").outcome,
            Outcome::Network("fetch failed".into())
        );
    }

    fn status(s: u16, retry_after_ms: Option<f64>) -> Outcome {
        Outcome::Status {
            status: s,
            retry_after_ms,
        }
    }

    #[test]
    fn transient_failures_are_retried_and_others_dropped() {
        for s in [408, 429, 502, 503, 504] {
            assert_eq!(status(s, None).verdict(false), Verdict::Retry(None), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 500, 501] {
            assert_eq!(status(s, None).verdict(false), Verdict::Drop, "{s}");
        }
        assert_eq!(status(500, None).verdict(true), Verdict::Retry(None));
        assert_eq!(status(204, None).verdict(false), Verdict::Delivered);
        assert_eq!(Outcome::Timeout.verdict(false), Verdict::Retry(None));
        assert_eq!(
            Outcome::Network("refused".into()).verdict(false),
            Verdict::Retry(None)
        );
    }

    #[test]
    fn a_retry_after_wait_is_honoured_and_capped() {
        assert_eq!(
            status(429, Some(2000.0)).verdict(false),
            Verdict::Retry(Some(2000.0))
        );
        assert_eq!(
            status(503, Some(86_400_000.0)).verdict(false),
            Verdict::Retry(Some(MAX_RETRY_AFTER_MS))
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        assert_eq!(backoff_ms(1000.0, 0, 0.5), 1000.0);
        assert_eq!(backoff_ms(1000.0, 2, 0.5), 4000.0);
        assert_eq!(backoff_ms(1000.0, 1, 0.0), 1600.0);
        assert!((backoff_ms(1000.0, 1, 0.999_999) - 2400.0).abs() < 0.01);
        assert_eq!(backoff_ms(1000.0, 10, 0.5), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1000.0, u32::MAX, 0.5), MAX_BACKOFF_MS);
    }
}
