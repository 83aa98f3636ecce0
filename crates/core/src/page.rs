//! Page lifecycle events: what a host with a page (a browser tab) reports when the page
//! is hidden or comes back, or the browser goes offline or online, as the codes
//! `lifecycle.js` passes (it imports them from `layout.js`, generated from
//! [`PageEvent::CODES`]). The shell hands them to
//! [`Delivery::page_hidden`](super::delivery::Delivery::page_hidden) and
//! [`Delivery::page_shown`](super::delivery::Delivery::page_shown) and
//! [`Delivery::set_online`](super::delivery::Delivery::set_online).

/// What happened to the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// Hidden, maybe for good; `compress` says whether keepalive requests may be gzipped.
    Hidden {
        /// A keepalive request can carry `Content-Encoding` (a fetch; a beacon cannot).
        compress: bool,
    },
    /// Visible again, or back from the back/forward cache.
    Shown,
    /// The browser says it is online (`true`) or offline.
    Online(bool),
}

impl PageEvent {
    /// Code of a hidden page whose keepalive requests cannot be gzipped (only a beacon).
    pub const HIDDEN: u8 = 0;
    /// Code of a hidden page whose keepalive requests can be gzipped (a keepalive fetch).
    pub const HIDDEN_COMPRESS: u8 = 1;
    /// Code of a page visible again or back from the back/forward cache.
    pub const SHOWN: u8 = 2;
    /// Code of the browser going online.
    pub const ONLINE: u8 = 3;
    /// Code of the browser going offline.
    pub const OFFLINE: u8 = 4;
    /// The codes by name (`layout.js` has them as `PAGE_<name>`).
    pub const CODES: [(&'static str, u8); 5] = [
        ("HIDDEN", PageEvent::HIDDEN),
        ("HIDDEN_COMPRESS", PageEvent::HIDDEN_COMPRESS),
        ("SHOWN", PageEvent::SHOWN),
        ("ONLINE", PageEvent::ONLINE),
        ("OFFLINE", PageEvent::OFFLINE),
    ];

    /// The event a host reported as `code`, or `None` for a code it has no business
    /// sending.
    pub fn from_code(code: u32) -> Option<PageEvent> {
        match u8::try_from(code).ok()? {
            PageEvent::HIDDEN => Some(PageEvent::Hidden { compress: false }),
            PageEvent::HIDDEN_COMPRESS => Some(PageEvent::Hidden { compress: true }),
            PageEvent::SHOWN => Some(PageEvent::Shown),
            PageEvent::ONLINE => Some(PageEvent::Online(true)),
            PageEvent::OFFLINE => Some(PageEvent::Online(false)),
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
        assert_eq!(PageEvent::from_code(3), Some(PageEvent::Online(true)));
        assert_eq!(PageEvent::from_code(4), Some(PageEvent::Online(false)));
        assert_eq!(PageEvent::from_code(5), None);
        assert_eq!(PageEvent::from_code(256), None);
    }
}
