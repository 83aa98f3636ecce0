//! Bindings to `js/host.js`: runtime facts, environment, privacy signals, randomness and
//! debug output; and to the shared storage helpers (`crates/automagik-telemetry/js/storage.js`).

use crate::prelude::*;

use wasm_bindgen::prelude::*;

use automagik_telemetry_core::enablement::{ci_value_set, Facts, CI_VARS, ENABLE_VAR};
use automagik_telemetry_core::encoder::Identity;
use automagik_telemetry_core::ids::uuid_v4;

// Strings come back as plain JS values, read with `as_string`: a `String` return makes
// wasm-bindgen write a wrapper per import that passes it through a return slot.
#[wasm_bindgen(module = "/js/host.js")]
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

const OPT_OUT_KEY: &str = "automagik_telemetry_opt_out";
const USER_ID_KEY: &str = "automagik_telemetry_user_id";

/// The name of the running JS runtime (`browser`, `workerd`, `deno`, `node`).
pub fn runtime_name() -> String {
    runtime_fields(&runtime_info())[0].into()
}

/// The fields of `runtimeInfo()`: name, version, OS, host name. A byte scan rather than
/// `str::split`, whose pattern machinery is ~0.3 KB of gzipped wasm.
fn runtime_fields(info: &str) -> [&str; 4] {
    let mut fields = [""; 4];
    let mut rest = info;
    for field in &mut fields {
        let end = rest.bytes().position(|b| b == b'\n').unwrap_or(rest.len());
        *field = rest.get(..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    fields
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

/// What a session starts from: its identity, a seed for the id generator, and why the
/// randomness had to fall back, if it did.
pub struct SessionStart {
    /// The client's identity.
    pub identity: Identity,
    /// Seeds the id generator.
    pub seed: u64,
    /// Set when the runtime had no working WebCrypto.
    pub fault: Option<String>,
}

/// Starts a session: a persisted user id where storage exists, a fresh session id, the
/// runtime's facts and a seed. Called on the first tracking call, never at construction.
pub fn start_session(environment: String) -> SessionStart {
    let mut random = [0u8; 48];
    let fault = fill_random_js(&mut random)
        .as_string()
        .filter(|f| !f.is_empty());
    let [user, session, seed] = [0, 16, 32].map(|i| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&random[i..i + 16]);
        b
    });
    let user_id = storage_get(USER_ID_KEY).unwrap_or_else(|| {
        let id = uuid_v4(user);
        storage_set(USER_ID_KEY, Some(id.clone()));
        id
    });
    let info = runtime_info();
    let [name, version, os, host] = runtime_fields(&info);
    let identity = Identity {
        user_id,
        session_id: uuid_v4(session),
        runtime_name: name.into(),
        runtime_version: version.into(),
        os_type: os.into(),
        hostname: host.into(),
        environment,
    };
    SessionStart {
        identity,
        seed: u64::from_le_bytes(seed[..8].try_into().unwrap_or_default()),
        fault,
    }
}
