//! The privacy-first enablement rules (SPEC §6), as a pure function of what the host
//! runtime could observe.

use crate::prelude::*;

/// Environment variables whose presence means "running in CI".
pub const CI_VARS: &[&str] = &[
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "CIRCLECI",
    "TRAVIS",
    "JENKINS_URL",
    "BUILDKITE",
    "TF_BUILD",
    "TEAMCITY_VERSION",
    "DRONE",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
    "APPVEYOR",
];

/// The variable that turns telemetry on or off explicitly.
pub const ENABLE_VAR: &str = "AUTOMAGIK_TELEMETRY_ENABLED";

/// What the host observed, in the order the rules consult it.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The user opted out earlier with `disable()` (persisted).
    pub opted_out: bool,
    /// `config.enabled`, when it is a boolean.
    pub configured: Option<bool>,
    /// The value of `AUTOMAGIK_TELEMETRY_ENABLED`, when set.
    pub env_enabled: Option<String>,
    /// The browser signals Global Privacy Control or Do Not Track.
    pub privacy_signal: bool,
    /// A CI variable is set to something other than empty, `0` or `false`.
    pub ci: bool,
}

impl Facts {
    /// The facts from what the host observed, reading the environment variables the rules
    /// consult through `env` (each front door has its own source of them).
    pub fn gather<S: AsRef<str>>(
        configured: Option<bool>,
        opted_out: bool,
        privacy_signal: bool,
        env: impl Fn(&str) -> Option<S>,
    ) -> Facts {
        Facts {
            opted_out,
            configured,
            env_enabled: env(ENABLE_VAR).map(|v| v.as_ref().into()),
            privacy_signal,
            ci: CI_VARS
                .iter()
                .any(|v| env(v).is_some_and(|x| ci_value_set(x.as_ref()))),
        }
    }
}

/// Whether telemetry starts enabled: the first rule that applies decides.
pub fn decide(f: &Facts) -> bool {
    if f.opted_out {
        return false;
    }
    if let Some(on) = f.configured {
        return on;
    }
    if let Some(v) = &f.env_enabled {
        let v = v.trim_ascii().to_ascii_lowercase();
        return matches!(v.as_str(), "true" | "1" | "yes" | "on");
    }
    !(f.privacy_signal || f.ci)
}

/// Whether a CI variable's value means "set".
pub fn ci_value_set(v: &str) -> bool {
    !matches!(
        v.trim_ascii().to_ascii_lowercase().as_str(),
        "" | "0" | "false"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_applicable_rule_decides() {
        let on = Facts::default();
        assert!(decide(&on));
        let all_on = Facts {
            configured: Some(true),
            env_enabled: Some("yes".into()),
            ..on.clone()
        };
        assert!(!decide(&Facts {
            opted_out: true,
            ..all_on.clone()
        }));
        assert!(decide(&Facts {
            privacy_signal: true,
            ci: true,
            ..all_on.clone()
        }));
        assert!(!decide(&Facts {
            configured: Some(false),
            ..all_on
        }));
        for (v, want) in [
            ("true", true),
            ("1", true),
            ("ON", true),
            ("0", false),
            ("nope", false),
        ] {
            let f = Facts {
                env_enabled: Some(v.into()),
                ci: true,
                ..Facts::default()
            };
            assert_eq!(decide(&f), want, "{v}");
        }
        assert!(!decide(&Facts {
            privacy_signal: true,
            ..Facts::default()
        }));
        assert!(!decide(&Facts {
            ci: true,
            ..Facts::default()
        }));
    }

    #[test]
    fn ci_variables_set_to_false_do_not_count() {
        assert!(ci_value_set("true"));
        assert!(ci_value_set("1"));
        assert!(!ci_value_set("false"));
        assert!(!ci_value_set(""));
    }
}
