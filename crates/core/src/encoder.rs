//! The seam between the pipeline and a wire format: how one signal's items become one
//! request body.

use crate::prelude::*;

use super::ids::Key;
use super::model::{Item, Signal};

/// A wire format (OTLP JSON, ClickHouse JSONEachRow).
pub trait Encoder {
    /// Starts a body for `signal`.
    fn open(&self, signal: Signal, out: &mut Vec<u8>);
    /// Appends one item; `key` is its record's stable key, from which ids are derived.
    fn item(&self, out: &mut Vec<u8>, item: &Item, key: Key);
    /// What goes between two items.
    fn separator(&self) -> u8;
    /// What ends the body.
    fn suffix(&self) -> &'static [u8];
}

/// Facts about the client and its host that every request carries (the OTLP resource,
/// ClickHouse's shared columns).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// Persistent anonymous user id.
    pub user_id: String,
    /// Per-instance session id.
    pub session_id: String,
    /// `browser`, `workerd`, `deno` or `node`.
    pub runtime_name: String,
    /// The runtime's version, when known.
    pub runtime_version: String,
    /// The operating system, when known.
    pub os_type: String,
    /// The deployment environment (`ENVIRONMENT` / `NODE_ENV`), when set.
    pub environment: String,
    /// The host (a page's hostname in browsers), when known.
    pub hostname: String,
}
