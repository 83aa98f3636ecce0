//! Log severities: OTLP severity numbers, their canonical texts, and the names callers
//! pass as strings.

use super::config::Raw;
use super::float;

/// INFO, the default severity.
pub const INFO: u8 = 9;

/// The severity names callers pass and the OTLP number each stands for (the first of its
/// range of four). JS has them as `LogSeverity` (`layout.js`).
pub const LEVELS: [(&str, u8); 6] = [
    ("TRACE", 1),
    ("DEBUG", 5),
    ("INFO", INFO),
    ("WARN", 13),
    ("ERROR", 17),
    ("FATAL", 21),
];

/// Parses a severity name case-insensitively, with common aliases.
pub fn parse(s: &str) -> Option<u8> {
    const ALIASES: [(&str, &str); 7] = [
        ("WARNING", "WARN"),
        ("ERR", "ERROR"),
        ("CRITICAL", "FATAL"),
        ("PANIC", "FATAL"),
        ("EMERGENCY", "FATAL"),
        ("INFORMATION", "INFO"),
        ("NOTICE", "INFO"),
    ];
    let s = s.trim_ascii();
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(s))
        .map_or(s, |(_, name)| name);
    LEVELS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, number)| *number)
}

/// Accepts a numeric severity if it is one OTLP defines (1..=24).
pub fn from_number(n: f64) -> Option<u8> {
    (float::is_whole(n) && (1.0..=24.0).contains(&n)).then_some(n as u8)
}

/// The severity a `trackLog` caller passed (a number, a name, or nothing), and whether
/// it had to fall back to INFO because the value was not one.
pub fn coerce(raw: &Raw) -> (u8, bool) {
    let level = match raw {
        Raw::Missing | Raw::Null => Some(INFO),
        Raw::Number(n) => from_number(*n),
        Raw::Str(s) => parse(s),
        _ => None,
    };
    (level.unwrap_or(INFO), level.is_none())
}

/// The OTLP short name of a severity number: `INFO`, or `INFO2`..`INFO4` within a range.
pub fn text(n: u8) -> &'static str {
    const TEXTS: [&str; 24] = [
        "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO",
        "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3",
        "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
    ];
    TEXTS[(n.clamp(1, 24) - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_callers_pass_is_coerced_and_unknowns_fall_back_to_info() {
        assert_eq!(coerce(&Raw::Missing), (INFO, false));
        assert_eq!(coerce(&Raw::Null), (INFO, false));
        assert_eq!(coerce(&Raw::Number(13.0)), (13, false));
        assert_eq!(coerce(&Raw::Str(" warning ".into())), (13, false));
        assert_eq!(coerce(&Raw::Number(13.5)), (INFO, true));
        assert_eq!(coerce(&Raw::Number(0.0)), (INFO, true));
        assert_eq!(coerce(&Raw::Str("loud".into())), (INFO, true));
        assert_eq!(coerce(&Raw::Object), (INFO, true));
        assert_eq!(coerce(&Raw::Bool(true)), (INFO, true));
    }

    #[test]
    fn names_and_aliases_map_to_the_enum() {
        assert_eq!(parse("warn"), Some(13));
        assert_eq!(parse("WARNING"), Some(13));
        assert_eq!(parse("critical"), Some(21));
        assert_eq!(parse(" debug "), Some(5));
        assert_eq!(parse("loud"), None);
        assert_eq!(from_number(17.0), Some(17));
        assert_eq!(from_number(0.0), None);
        assert_eq!(from_number(9.5), None);
        assert_eq!(text(13), "WARN");
        assert_eq!(text(10), "INFO2");
        assert_eq!(text(24), "FATAL4");
        for (i, (name, number)) in LEVELS.into_iter().enumerate() {
            assert_eq!(
                usize::from(number),
                1 + 4 * i,
                "{name} starts its range of four"
            );
            assert_eq!(text(number), name);
        }
    }
}
