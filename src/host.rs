//! Bindings to `crates/automagik-telemetry/js/host.js`: runtime facts, environment, privacy
//! signals, randomness and debug output; and to the shared storage helpers
//! (`crates/automagik-telemetry/js/storage.js`).

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::enablement::{ci_value_set, Facts, CI_VARS, ENABLE_VAR};
use automagik_telemetry_core::session::{self, Session, OPT_OUT_KEY, RANDOM_BYTES, USER_ID_KEY};

// Strings come back as plain JS values, read with `as_string`: a `String` return makes
// wasm-bindgen write a wrapper per import that passes it through a return slot.
#[wasm_bindgen(module = "/crates/automagik-telemetry/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = runtimeInfo)]
    fn runtime_info_js() -> JsValue;
    #[wasm_bindgen(js_name = readEnv)]
    fn read_env_js(env: &JsValue, name: &str) -> JsValue;
    #[wasm_bindgen(js_name = privacySignal)]
    fn privacy_signal() -> bool;
    #[wasm_bindgen(js_name = fillRandom)]
    fn fill_random_js(buf: &mut [u8]) -> JsValue;
    /// Writes a `verbose` debug line to the console.
    pub fn debug(line: &str);
    /// Writes a warning to the console.
    pub fn warn(line: &str);
}

// The anonymous user id and the opt-out, under keys of their own, through the storage
// helpers both front doors share.
#[wasm_bindgen(module = "/crates/automagik-telemetry/js/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = storageGet)]
    fn storage_get_js(key: &str) -> JsValue;
    #[wasm_bindgen(js_name = storageSet)]
    fn storage_set(key: &str, value: Option<String>);
}

fn runtime_info() -> String {
    runtime_info_js().as_string().unwrap_or_default()
}

fn read_env(env: &JsValue, name: &str) -> Option<String> {
    read_env_js(env, name).as_string()
}

fn storage_get(key: &str) -> Option<String> {
    storage_get_js(key).as_string()
}

/// The name of the running JS runtime (`browser`, `workerd`, `deno`, `node`).
pub fn runtime_name() -> String {
    session::runtime_fields(&runtime_info())[0].into()
}

/// The deployment environment named by `ENVIRONMENT` (else `NODE_ENV`), or empty.
pub fn environment(env: &JsValue) -> String {
    read_env(env, "ENVIRONMENT")
        .or_else(|| read_env(env, "NODE_ENV"))
        .unwrap_or_default()
}

/// What the enablement rules consult, read from `env` (the caller's `config.env`, or
/// undefined for the process environment) and the host.
pub fn enablement_facts(env: &JsValue, configured: Option<bool>) -> Facts {
    Facts {
        opted_out: storage_get(OPT_OUT_KEY).is_some(),
        configured,
        env_enabled: read_env(env, ENABLE_VAR),
        privacy_signal: privacy_signal(),
        ci: CI_VARS
            .iter()
            .any(|v| read_env(env, v).is_some_and(|x| ci_value_set(&x))),
    }
}

/// Persists (or clears) the user's opt-out where the runtime has storage.
pub fn persist_opt_out(opted_out: bool) {
    storage_set(OPT_OUT_KEY, opted_out.then(|| "1".into()));
}

/// Starts a session ([`session::start`]) from the host's randomness, the kept user id
/// (kept now if new) and the runtime's facts; and why the randomness had to fall back, if
/// it did. Called on the first tracking call, never at construction.
pub fn start_session(environment: String) -> (Session, Option<String>) {
    let mut random = [0u8; RANDOM_BYTES];
    let fault = fill_random_js(&mut random)
        .as_string()
        .filter(|f| !f.is_empty());
    let s = session::start(
        &random,
        storage_get(USER_ID_KEY),
        &runtime_info(),
        environment,
    );
    if s.new_user_id {
        storage_set(USER_ID_KEY, Some(s.identity.user_id.clone()));
    }
    (s, fault)
}
