//! Page lifecycle events: what a host with a page (a browser tab) reports when the page
//! is hidden or comes back, as the codes `js/lifecycle.js` passes (it imports them from
//! `js/layout.js`, generated from [`PageEvent::CODES`]). The shell hands them to
//! [`Delivery::page_hidden`](super::delivery::Delivery::page_hidden) and
//! [`Delivery::page_shown`](super::delivery::Delivery::page_shown).

/// What happened to the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// Hidden, maybe for good; `compress` says whether keepalive requests may be gzipped.
    Hidden {
        /// A keepalive request can carry `Content-Encoding` (a fetch; a beacon cannot).
        compress: bool,
    },
    /// Back from the back/forward cache.
    Shown,
}

impl PageEvent {
    /// Code of a hidden page whose keepalive requests cannot be gzipped (only a beacon).
    pub const HIDDEN: u8 = 0;
    /// Code of a hidden page whose keepalive requests can be gzipped (a keepalive fetch).
    pub const HIDDEN_COMPRESS: u8 = 1;
    /// Code of a page back from the back/forward cache.
    pub const SHOWN: u8 = 2;
    /// The codes by name (`js/layout.js` has them as `PAGE_<name>`).
    pub const CODES: [(&'static str, u8); 3] = [
        ("HIDDEN", PageEvent::HIDDEN),
        ("HIDDEN_COMPRESS", PageEvent::HIDDEN_COMPRESS),
        ("SHOWN", PageEvent::SHOWN),
    ];

    /// The event a host reported as `code`, or `None` for a code it has no business
    /// sending.
    pub fn from_code(code: u32) -> Option<PageEvent> {
        match u8::try_from(code).ok()? {
            PageEvent::HIDDEN => Some(PageEvent::Hidden { compress: false }),
            PageEvent::HIDDEN_COMPRESS => Some(PageEvent::Hidden { compress: true }),
            PageEvent::SHOWN => Some(PageEvent::Shown),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_reads_as_its_event() {
        assert_eq!(
            PageEvent::from_code(0),
            Some(PageEvent::Hidden { compress: false })
        );
        assert_eq!(
            PageEvent::from_code(1),
            Some(PageEvent::Hidden { compress: true })
        );
        assert_eq!(PageEvent::from_code(2), Some(PageEvent::Shown));
        assert_eq!(PageEvent::from_code(3), None);
        assert_eq!(PageEvent::from_code(256), None);
    }
}
