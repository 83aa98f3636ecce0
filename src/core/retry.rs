//! Retry policy: which outcomes are retried, and how long to wait before the next try.

use crate::prelude::*;

use super::json;

/// The longest computed backoff.
pub const MAX_BACKOFF_MS: f64 = 30_000.0;
/// The longest wait a `Retry-After` header can impose.
pub const MAX_RETRY_AFTER_MS: f64 = 300_000.0;

/// The `status` values `js/transport.js` reports when no HTTP status came back.
pub mod no_status {
    /// No answer within the timeout.
    pub const TIMEOUT: f64 = -1.0;
    /// No answer at all (refused, reset, a `fetch` that threw or rejected).
    pub const NETWORK: f64 = -2.0;
    /// The host declined to send (a full beacon queue).
    pub const REFUSED: f64 = -3.0;
}

/// What one attempt to send a request came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The server answered with this status.
    Status {
        /// HTTP status code.
        status: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<String>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The request failed before any answer (connection refused, DNS, CORS, a `fetch`
    /// that threw or rejected, ...).
    Network(String),
    /// The host declined to send it now (a page's beacon quota): it was never sent.
    Refused,
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
    pub fn verdict(&self, now_ms: f64, retry_later: bool) -> Verdict {
        match self {
            Outcome::Status { status, .. } if (200..300).contains(status) => Verdict::Delivered,
            Outcome::Status {
                status,
                retry_after,
            } if retry_later || matches!(status, 408 | 429 | 502 | 503 | 504) => Verdict::Retry(
                retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now_ms)),
            ),
            Outcome::Status { .. } => Verdict::Drop,
            Outcome::Timeout | Outcome::Network(_) => Verdict::Retry(None),
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
        }
    }
}

/// Backoff before retry number `attempt` (0-based): `base · 2^attempt`, ±20 % jitter
/// from `unit` in `[0, 1)`, capped at 30 s.
pub fn backoff_ms(base_ms: f64, attempt: u32, unit: f64) -> f64 {
    let exp = base_ms * f64::from(1u32 << attempt.min(30));
    (exp * (0.8 + 0.4 * unit)).min(MAX_BACKOFF_MS)
}

/// Parses a `Retry-After` value (delay in seconds, or an IMF-fixdate) into a wait in ms
/// from `now_ms`, capped at 5 minutes.
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let v = value.trim();
    let ms = if let Ok(secs) = v.parse::<u64>() {
        secs as f64 * 1000.0
    } else {
        (parse_http_date(v)? - now_ms).max(0.0)
    };
    Some(ms.min(MAX_RETRY_AFTER_MS))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix milliseconds.
fn parse_http_date(v: &str) -> Option<f64> {
    let mut parts = v.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = 1 + [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month_name)? as i64;
    let year: i64 = parts
        .next()?
        .parse()
        .ok()
        .filter(|y| (0..=9999).contains(y))?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // The year is bounded above, so none of this can overflow; checked all the same.
    let secs = days_from_civil(year, month, day)
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s)?;
    Some(secs.checked_mul(1000)? as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16, ra: Option<&str>) -> Outcome {
        Outcome::Status {
            status: s,
            retry_after: ra.map(String::from),
        }
    }

    #[test]
    fn transient_failures_are_retried_and_others_dropped() {
        for s in [408, 429, 502, 503, 504] {
            assert_eq!(
                status(s, None).verdict(0.0, false),
                Verdict::Retry(None),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 413, 500, 501] {
            assert_eq!(status(s, None).verdict(0.0, false), Verdict::Drop, "{s}");
        }
        assert_eq!(status(500, None).verdict(0.0, true), Verdict::Retry(None));
        assert_eq!(status(204, None).verdict(0.0, false), Verdict::Delivered);
        assert_eq!(Outcome::Timeout.verdict(0.0, false), Verdict::Retry(None));
        assert_eq!(
            Outcome::Network("refused".into()).verdict(0.0, false),
            Verdict::Retry(None)
        );
    }

    #[test]
    fn retry_after_seconds_and_dates_are_honoured_and_capped() {
        assert_eq!(
            status(429, Some("2")).verdict(0.0, false),
            Verdict::Retry(Some(2000.0))
        );
        assert_eq!(parse_retry_after("86400", 0.0), Some(MAX_RETRY_AFTER_MS));
        let now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(now, 784_111_777_000.0);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(3000.0)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 99999999999999 08:49:40 GMT", now),
            None,
            "absurd years are rejected, not overflowed"
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER_MS)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 PST", now),
            None
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

    #[test]
    fn the_js_transport_reports_these_codes() {
        let js = include_str!("../../js/transport.js");
        for (name, code) in [
            ("TIMEOUT", no_status::TIMEOUT),
            ("NETWORK", no_status::NETWORK),
            ("REFUSED", no_status::REFUSED),
        ] {
            assert!(js.contains(&format!("const {name} = {code};")), "{name}");
        }
    }
}
