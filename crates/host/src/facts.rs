//! Bindings to `js/host.js`: what the core cannot see from wasm (which runtime this is,
//! environment variables, privacy signals, randomness, the console), and the session's
//! start from them.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::session::{self, Session, OPT_OUT_KEY, RANDOM_BYTES, USER_ID_KEY};

use crate::storage;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = runtimeInfo)]
    fn runtime_info_js() -> JsValue;
    #[wasm_bindgen(js_name = readEnv)]
    fn read_env_js(env: &JsValue, name: &str) -> JsValue;
    /// Whether the browser signals Global Privacy Control or Do Not Track.
    #[wasm_bindgen(js_name = privacySignal)]
    pub fn privacy_signal() -> bool;
    #[wasm_bindgen(js_name = fillRandom)]
    fn fill_random_js(buf: &mut [u8]) -> JsValue;
    /// Writes a `verbose` debug line to the console.
    pub fn debug(line: &str);
    /// Writes a warning a person must see once to the console.
    pub fn warn(line: &str);
}

/// `codes.js`, the codes `transport.js` and `lifecycle.js` report (generated from the
/// core's tables by `crates/core/src/js_layout.rs`). wasm-bindgen copies only the modules
/// a `module = ...` attribute names, so this block names it; Rust uses nothing of it, and
/// an import the wasm never calls costs nothing.
#[wasm_bindgen(module = "/js/codes.js")]
extern "C" {
    #[allow(dead_code)]
    #[wasm_bindgen(thread_local_v2, js_name = PAGE_SHOWN)]
    static PAGE_SHOWN: JsValue;
}

fn runtime_info() -> String {
    runtime_info_js().as_string().unwrap_or_default()
}

/// The name of the running JS runtime (`browser`, `workerd`, `deno`, `node`, `bun`).
pub fn runtime_name() -> String {
    session::runtime_fields(&runtime_info())[0].into()
}

/// The environment variable `name`: from `env` (an object of variables) unless it is
/// undefined, else from the process where reading needs no permission prompt.
pub fn read_env(env: &JsValue, name: &str) -> Option<String> {
    read_env_js(env, name).as_string()
}

/// Whether the user opted out (kept in storage, SPEC §6).
pub fn opted_out() -> bool {
    storage::get(OPT_OUT_KEY).is_some()
}

/// Keeps (or clears) the user's opt-out where there is storage.
pub fn persist_opt_out(opted_out: bool) {
    storage::set(OPT_OUT_KEY, opted_out.then_some("1"));
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
        storage::get(USER_ID_KEY),
        &runtime_info(),
        environment,
    );
    if s.new_user_id {
        storage::set(USER_ID_KEY, Some(&s.identity.user_id));
    }
    (s, fault)
}
