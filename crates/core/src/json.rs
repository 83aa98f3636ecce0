//! Minimal JSON text writer: encoders write request bodies straight into a byte buffer,
//! which is faster and far smaller in wasm than building a value tree.

use crate::prelude::*;

/// Appends `s` as a JSON string literal (quoted, escaped).
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            crate::ids::hex(out, &[b]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Lowercase hex digits, shared with the id encoders.
pub const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the decimal digits of `v` (no quotes).
pub fn uint(out: &mut Vec<u8>, v: u64) {
    if v >= 10 {
        uint(out, v / 10);
    }
    out.push(b'0' + (v % 10) as u8);
}

/// `v` in decimal, for URLs and messages (not `format!`: `core::fmt` is kilobytes of
/// wasm).
pub fn decimal(v: u64) -> String {
    let mut out = Vec::new();
    uint(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the decimal digits of a signed `v` (no quotes).
pub fn int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    uint(out, v.unsigned_abs());
}

/// Appends `v` quoted, the OTLP JSON form of 64-bit integers.
pub fn quoted_uint(out: &mut Vec<u8>, v: u64) {
    out.push(b'"');
    uint(out, v);
    out.push(b'"');
}

/// Whether `s` is a JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`), as JS
/// `String(n)` prints a finite `n`. Records carry doubles as that text, which encoders
/// write verbatim: the wasm formats no floats (a shortest round-trip formatter is ~2 KB
/// of gzipped wasm; the JS engine has one).
pub fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let int = i;
    if !digits(&mut i) || (b.get(int) == Some(&b'0') && i - int > 1) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        assert_eq!(
            s(|o| string(o, "a\"b\\c\nd\te\u{1}é")),
            r#""a\"b\\c\nd\te\u0001é""#
        );
        assert_eq!(s(|o| string(o, "")), r#""""#);
    }

    #[test]
    fn integers_are_written_in_full() {
        assert_eq!(s(|o| uint(o, 0)), "0");
        assert_eq!(s(|o| uint(o, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|o| int(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(s(|o| quoted_uint(o, 42)), "\"42\"");
    }

    #[test]
    fn what_js_prints_for_a_finite_number_is_a_json_number_and_nothing_else_is() {
        for ok in [
            "0",
            "-0.5",
            "45.2",
            "3",
            "1e+300",
            "1.5e-7",
            "5e-324",
            "-1.7976931348623157e+308",
        ] {
            assert!(is_number(ok), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok)
                .unwrap()
                .is_number());
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "NaN", "Infinity", "1,5", "0x10", " 1", "1 ",
            "1.5.5", "--1", "+1",
        ] {
            assert!(!is_number(bad), "{bad:?}");
        }
    }
}
