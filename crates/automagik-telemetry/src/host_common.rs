//! What both hosts share.

use automagik_telemetry_core::enablement::Facts;

use crate::Config;

/// The enablement facts: the configuration's `env` plus what the host knows.
pub fn facts(config: &Config, configured: Option<bool>, opted_out: bool, privacy: bool) -> Facts {
    Facts::gather(configured, opted_out, privacy, |name| config.env_var(name))
}
