//! What a session starts from, the same in both front doors: the anonymous user id (kept
//! by the host under [`USER_ID_KEY`], made on first use), a fresh session id, the seed of
//! the id generator, and the runtime's facts as the host's `runtimeInfo()` reports them.

use crate::prelude::*;

use crate::encoder::Identity;
use crate::ids::uuid_v4;

/// The storage key of the anonymous user id.
pub const USER_ID_KEY: &str = "automagik_telemetry_user_id";
/// The storage key of the user's opt-out (SPEC §6).
pub const OPT_OUT_KEY: &str = "automagik_telemetry_opt_out";

/// Random bytes a session takes: a user id, a session id and a seed, 16 each.
pub const RANDOM_BYTES: usize = 48;

/// A started session.
pub struct Session {
    /// The client's identity.
    pub identity: Identity,
    /// Seeds the id generator.
    pub seed: u64,
    /// Set when the user id is new: the host keeps it under [`USER_ID_KEY`].
    pub new_user_id: bool,
}

/// Starts a session from `random`, the user id the host kept (if any), the host's
/// `runtimeInfo()` text (`name\nversion\nos\nhostname`) and the deployment environment.
pub fn start(
    random: &[u8; RANDOM_BYTES],
    kept_user_id: Option<String>,
    runtime_info: &str,
    environment: String,
) -> Session {
    // Without slicing (a panic path): each 16-byte part in turn.
    let mut bytes = random.iter().copied();
    let mut part = || {
        let mut b = [0u8; 16];
        for (d, s) in b.iter_mut().zip(&mut bytes) {
            *d = s;
        }
        b
    };
    let [user, session, seed] = [part(), part(), part()];
    let new_user_id = kept_user_id.is_none();
    let user_id = kept_user_id.unwrap_or_else(|| uuid_v4(user));
    let [name, version, os, host] = runtime_fields(runtime_info);
    let mut low = [0u8; 8];
    for (d, s) in low.iter_mut().zip(seed) {
        *d = s;
    }
    Session {
        identity: Identity {
            user_id,
            session_id: uuid_v4(session),
            runtime_name: name.into(),
            runtime_version: version.into(),
            os_type: os.into(),
            hostname: host.into(),
            environment,
        },
        seed: u64::from_le_bytes(low),
        new_user_id,
    }
}

/// The fields of `runtimeInfo()`: name, version, OS, host name. A byte scan rather than
/// `str::split`, whose pattern machinery is ~0.3 KB of gzipped wasm.
pub fn runtime_fields(info: &str) -> [&str; 4] {
    let mut fields = [""; 4];
    let mut rest = info;
    for field in &mut fields {
        let end = rest.bytes().position(|b| b == b'\n').unwrap_or(rest.len());
        *field = rest.get(..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_takes_its_ids_and_seed_from_the_random_bytes() {
        let mut random = [0u8; RANDOM_BYTES];
        for (i, b) in random.iter_mut().enumerate() {
            *b = i as u8;
        }
        let s = start(&random, None, "browser\n\n\nexample.com", "prod".into());
        assert!(s.new_user_id);
        assert_eq!(
            s.identity.user_id,
            uuid_v4(core::array::from_fn(|i| i as u8))
        );
        assert_eq!(
            s.identity.session_id,
            uuid_v4(core::array::from_fn(|i| 16 + i as u8))
        );
        assert_eq!(
            s.seed,
            u64::from_le_bytes(core::array::from_fn(|i| 32 + i as u8))
        );
        assert_eq!(s.identity.runtime_name, "browser");
        assert_eq!(s.identity.hostname, "example.com");
        assert_eq!(s.identity.environment, "prod");
    }

    #[test]
    fn a_kept_user_id_is_used_as_is() {
        let s = start(
            &[7; RANDOM_BYTES],
            Some("kept".into()),
            "node\n20.1.0\nlinux\n",
            String::new(),
        );
        assert!(!s.new_user_id);
        assert_eq!(s.identity.user_id, "kept");
        assert_eq!(
            [
                &*s.identity.runtime_version,
                &*s.identity.os_type,
                &*s.identity.hostname
            ],
            ["20.1.0", "linux", ""]
        );
    }

    #[test]
    fn runtime_fields_tolerate_short_and_empty_texts() {
        assert_eq!(runtime_fields(""), ["", "", "", ""]);
        assert_eq!(runtime_fields("deno\n2.0"), ["deno", "2.0", "", ""]);
        assert_eq!(runtime_fields("a\nb\nc\nd\ne"), ["a", "b", "c", "d"]);
    }
}
