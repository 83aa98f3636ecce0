//! What the npm binding reads from the runtime beyond the shared JS host
//! ([`automagik_telemetry_host`]): the environment variables its `config.env` (or the
//! process) holds, and from them the enablement facts and the deployment environment.

use crate::prelude::*;

use wasm_bindgen::JsValue;

use automagik_telemetry_core::enablement::Facts;
use automagik_telemetry_host::facts::{opted_out, privacy_signal, read_env};

/// The deployment environment named by `ENVIRONMENT` (else `NODE_ENV`), or empty.
pub fn environment(env: &JsValue) -> String {
    read_env(env, "ENVIRONMENT")
        .or_else(|| read_env(env, "NODE_ENV"))
        .unwrap_or_default()
}

/// What the enablement rules consult, read from `env` (the caller's `config.env`, or
/// undefined for the process environment) and the host.
pub fn enablement_facts(env: &JsValue, configured: Option<bool>) -> Facts {
    Facts::gather(configured, opted_out(), privacy_signal(), |name| {
        read_env(env, name)
    })
}
