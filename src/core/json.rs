//! Minimal JSON text writer: encoders write request bodies straight into a byte buffer,
//! which is faster and far smaller in wasm than building a value tree.

use crate::prelude::*;

use super::float;

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
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Lowercase hex digits, shared with the id encoders.
pub const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the decimal digits of `v` (no quotes).
pub fn uint(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
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

/// Appends a finite `v` as a JSON number in its shortest round-trip form.
/// Callers map non-finite values elsewhere (JSON has no NaN or Infinity).
pub fn double(out: &mut Vec<u8>, v: f64) {
    debug_assert!(v.is_finite());
    if float::is_whole(v) && v.abs() < 1e15 {
        int(out, v as i64);
    } else {
        // zmij rather than core::fmt's Grisu/Dragon/bignum: in a size-optimised build it
        // keeps compressed power-of-ten tables and expands them as needed (~0.7 KB gz
        // less than ryu's small tables). Its output ("45.2", "1e+300", "1.5e-7") is
        // valid JSON.
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    }
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
    fn integers_and_doubles_round_trip() {
        assert_eq!(s(|o| uint(o, 0)), "0");
        assert_eq!(s(|o| uint(o, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|o| int(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(s(|o| quoted_uint(o, 42)), "\"42\"");
        assert_eq!(s(|o| double(o, 45.2)), "45.2");
        assert_eq!(s(|o| double(o, -0.0)), "0");
        assert_eq!(s(|o| double(o, 3.0)), "3");
        assert_eq!(s(|o| double(o, 1e300)), "1e+300");
        assert_eq!(s(|o| double(o, 1.5e-7)), "1.5e-7");
        for v in [
            0.1,
            123456.789,
            1e21,
            -2.5e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(s(|o| double(o, v)).parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn every_double_is_a_json_number_that_round_trips() {
        // Integer-valued doubles past the integer path, exponents of both signs,
        // subnormals: OTLP `doubleValue` must parse as a JSON number equal to `v`.
        for v in [
            1e15,
            -1e16,
            2f64.powi(60),
            123_456_789_012_345_680.0,
            1e21,
            -1.5e-300,
            5e-324,
            0.000_001,
            1.0 / 3.0,
            f64::MIN,
        ] {
            let text = s(|o| double(o, v));
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(parsed.is_number(), "{text}");
            // serde_json's default float parser is not exact; Rust's is.
            assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
        }
    }
}
