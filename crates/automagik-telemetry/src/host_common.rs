//! What both hosts share.

use automagik_telemetry_core::enablement::{ci_value_set, Facts, CI_VARS, ENABLE_VAR};

use crate::Config;

/// The enablement facts: the configuration's `env` plus what the host knows.
pub fn facts(config: &Config, configured: Option<bool>, opted_out: bool, privacy: bool) -> Facts {
    Facts {
        opted_out,
        configured,
        env_enabled: config.env_var(ENABLE_VAR).map(Into::into),
        privacy_signal: privacy,
        ci: CI_VARS
            .iter()
            .any(|v| config.env_var(v).is_some_and(ci_value_set)),
    }
}
