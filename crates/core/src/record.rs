//! Record bodies from typed Rust values, laid out byte for byte as `js/record.js` lays
//! out JavaScript values (see [`crate::model`] for the layout), so a Rust front door
//! hands the core exactly what the npm package's boundary would for the same item.
//!
//! The JS writer's rules, mirrored here:
//! - strings are copied up to a number of UTF-16 units (twice the core's character
//!   limit; a stack up to [`MAX_STACK_BYTES`] units); a cut through a surrogate pair
//!   leaves a lone surrogate, which UTF-8 encoding turns into U+FFFD;
//! - a double that is a whole number within ±2^53 is an integer (JS cannot tell 3.0
//!   from 3); other finite doubles travel as the text JS prints for them
//!   ([`TAG_DOUBLE`]); NaN and the infinities as the strings `NaN`, `Infinity`,
//!   `-Infinity`;
//! - an array keeps its first [`MAX_ATTRIBUTES`] elements, a key/value list its first
//!   [`MAX_ATTRIBUTES`] entries; a container nested deeper than [`MAX_DEPTH`] is
//!   omitted (and not counted).
//!
//! The core has no float formatter (the npm wasm must not carry one): the caller
//! supplies the text of a double through [`js_number`], which turns Rust's shortest
//! round-trip exponent form (`format!("{:e}", v)`) into the text JS prints.

use crate::prelude::*;

use super::float;
use super::model::{
    end_container, start_container, MAX_ATTRIBUTES, MAX_BODY_CHARS, MAX_DEPTH, MAX_STACK_BYTES,
    MAX_STRING_CHARS, TAG_ARRAY, TAG_BOOL, TAG_DOUBLE, TAG_INT, TAG_KVLIST, TAG_STR,
};

/// UTF-16 units of a name, key or string value the JS writer copies.
pub const STR_UNITS: usize = 2 * MAX_STRING_CHARS;
/// UTF-16 units of a log message the JS writer copies.
pub const BODY_UNITS: usize = 2 * MAX_BODY_CHARS;
/// UTF-16 units of an error's stack the JS writer copies.
pub const STACK_UNITS: usize = MAX_STACK_BYTES;

/// 2^53: the largest magnitude at which JS still writes a whole double as an integer.
const TWO_53: f64 = 9_007_199_254_740_992.0;

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A string.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A double (see the module notes for whole numbers and non-finite values).
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// An array of values.
    Array(Vec<AttrValue>),
    /// A nested key/value list.
    Map(Vec<(String, AttrValue)>),
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AttrValue {
            fn from(v: $t) -> AttrValue {
                AttrValue::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! from_wide {
    ($($t:ty),*) => {$(
        /// Beyond `i64`, a string of the number, as JS sends a `BigInt` that large.
        impl From<$t> for AttrValue {
            fn from(v: $t) -> AttrValue {
                match i64::try_from(v) {
                    Ok(i) => AttrValue::Int(i),
                    Err(_) => AttrValue::Str(crate::json::decimal(v as u64)),
                }
            }
        }
    )*};
}
from_wide!(u64, usize);

impl From<isize> for AttrValue {
    fn from(v: isize) -> AttrValue {
        AttrValue::Int(v as i64)
    }
}

impl From<f64> for AttrValue {
    fn from(v: f64) -> AttrValue {
        AttrValue::Double(v)
    }
}

impl From<f32> for AttrValue {
    fn from(v: f32) -> AttrValue {
        AttrValue::Double(f64::from(v))
    }
}

impl From<bool> for AttrValue {
    fn from(v: bool) -> AttrValue {
        AttrValue::Bool(v)
    }
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> AttrValue {
        AttrValue::Str(v.into())
    }
}

impl From<String> for AttrValue {
    fn from(v: String) -> AttrValue {
        AttrValue::Str(v)
    }
}

impl From<&String> for AttrValue {
    fn from(v: &String) -> AttrValue {
        AttrValue::Str(v.clone())
    }
}

impl<T: Into<AttrValue>> From<Vec<T>> for AttrValue {
    fn from(v: Vec<T>) -> AttrValue {
        AttrValue::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<AttrValue>, const N: usize> From<[T; N]> for AttrValue {
    fn from(v: [T; N]) -> AttrValue {
        AttrValue::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<AttrValue> + Clone> From<&[T]> for AttrValue {
    fn from(v: &[T]) -> AttrValue {
        AttrValue::Array(v.iter().cloned().map(Into::into).collect())
    }
}

/// The caller's formatter: the text JS prints for a finite double (see [`js_number`]).
pub type DoubleText<'f> = &'f dyn Fn(f64) -> String;

/// Writes one body: time, the leading strings (each with its copy limit in UTF-16
/// units), the attributes. `double` gives the JS text of a finite double (the crate
/// front door passes `|v| js_number(&format!("{v:e}"))`).
pub fn body(
    time_ms: f64,
    strings: &[(&str, usize)],
    attrs: &[(String, AttrValue)],
    double: DoubleText,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&time_ms.to_le_bytes());
    for (s, units) in strings {
        put_units(&mut out, s, *units);
    }
    let mut w = Writer { out, double };
    w.entries(attrs.iter().map(|(k, v)| (k.as_str(), v)), 0);
    w.out
}

/// Writes `s` as a layout `str`, cut to `units` UTF-16 units as JS's `slice` would.
pub fn put_units(out: &mut Vec<u8>, s: &str, units: usize) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut n = 0;
    let mut end = s.len();
    let mut lone = false;
    // On bytes, so no UTF-8 decoder is linked for this: a character starts at each byte
    // that is not a continuation byte, and takes two UTF-16 units when its UTF-8 takes
    // four (its lead byte is 0xF0 or above), else one.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b & 0xC0 == 0x80 {
            continue;
        }
        let w = if b >= 0xF0 { 2 } else { 1 };
        if n + w > units {
            end = i;
            // Half a surrogate pair fits: JS keeps a lone surrogate, written as U+FFFD.
            lone = n < units;
            break;
        }
        n += w;
    }
    out.extend_from_slice(s.get(..end).unwrap_or(s).as_bytes());
    if lone {
        out.extend_from_slice("\u{fffd}".as_bytes());
    }
    let len = (out.len() - at - 4) as u32;
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
}

struct Writer<'f> {
    out: Vec<u8>,
    double: DoubleText<'f>,
}

impl Writer<'_> {
    fn tagged(&mut self, tag: u8, s: &str) {
        self.out.push(tag);
        put_units(&mut self.out, s, STR_UNITS);
    }

    /// Writes one value; false (nothing written) when it is omitted.
    fn value(&mut self, v: &AttrValue, depth: usize) -> bool {
        match v {
            AttrValue::Str(s) => self.tagged(TAG_STR, s),
            AttrValue::Int(i) => {
                self.out.push(TAG_INT);
                self.out.extend_from_slice(&i.to_le_bytes());
            }
            AttrValue::Double(d) => {
                let d = *d;
                if float::is_whole(d) && (-TWO_53..=TWO_53).contains(&d) {
                    self.out.push(TAG_INT);
                    self.out.extend_from_slice(&(d as i64).to_le_bytes());
                } else if d.is_finite() {
                    let text = (self.double)(d);
                    self.tagged(TAG_DOUBLE, &text);
                } else if d.is_nan() {
                    self.tagged(TAG_STR, "NaN");
                } else {
                    self.tagged(TAG_STR, if d > 0.0 { "Infinity" } else { "-Infinity" });
                }
            }
            AttrValue::Bool(b) => self.out.extend_from_slice(&[TAG_BOOL, *b as u8]),
            AttrValue::Array(items) => {
                if depth >= MAX_DEPTH {
                    return false;
                }
                self.out.push(TAG_ARRAY);
                let at = start_container(&mut self.out);
                let mut count = 0u32;
                for item in items.iter().take(MAX_ATTRIBUTES) {
                    if self.value(item, depth + 1) {
                        count += 1;
                    }
                }
                end_container(&mut self.out, at, count);
            }
            AttrValue::Map(kvs) => {
                if depth >= MAX_DEPTH {
                    return false;
                }
                self.out.push(TAG_KVLIST);
                self.entries(kvs.iter().map(|(k, v)| (k.as_str(), v)), depth + 1);
            }
        }
        true
    }

    /// Writes `u32 count, u32 len, (key, value)*`, stopping at [`MAX_ATTRIBUTES`] written.
    fn entries<'a>(&mut self, kvs: impl Iterator<Item = (&'a str, &'a AttrValue)>, depth: usize) {
        let at = start_container(&mut self.out);
        let mut count = 0u32;
        for (k, v) in kvs {
            let start = self.out.len();
            put_units(&mut self.out, k, STR_UNITS);
            if self.value(v, depth) {
                count += 1;
                if count as usize == MAX_ATTRIBUTES {
                    break;
                }
            } else {
                self.out.truncate(start);
            }
        }
        end_container(&mut self.out, at, count);
    }
}

/// The text JS's `String(v)` prints for a finite double, from Rust's shortest
/// round-trip exponent form of the same value (`format!("{:e}", v)`: `1.5e300`,
/// `-2.5e0`, `1e-7`). Both print the fewest digits that read back as `v`; they differ
/// only in where they put the point (ECMA-262 Number::toString).
pub fn js_number(exp_form: &str) -> String {
    let (neg, rest) = match exp_form.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, exp_form),
    };
    let (mantissa, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::new();
    if digits.is_empty() {
        out.push('0');
        return out;
    }
    if neg {
        out.push('-');
    }
    let k = digits.len() as i32;
    let n = exp + 1;
    if k <= n && n <= 21 {
        out.push_str(digits);
        (0..n - k).for_each(|_| out.push('0'));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        (0..-n).for_each(|_| out.push('0'));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        let e = (n - 1).unsigned_abs();
        out.push_str(&crate::json::decimal(u64::from(e)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn text(v: f64) -> String {
        js_number(&format!("{v:e}"))
    }

    #[test]
    fn doubles_print_as_js_prints_them() {
        for (v, js) in [
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e-7, "1e-7"),
            (1.5e300, "1.5e+300"),
            (9007199254740994.0, "9007199254740994"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (0.0000012, "0.0000012"),
            (-0.25, "-0.25"),
            (45.2, "45.2"),
            (3.0, "3"),
            (0.0, "0"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (123.456e-10, "1.23456e-8"),
            (12.5, "12.5"),
        ] {
            assert_eq!(text(v), js, "{v:e}");
        }
    }

    #[test]
    fn strings_are_cut_to_utf16_units_like_js_slice() {
        let mut out = Vec::new();
        put_units(&mut out, "ab😀c", 3);
        assert_eq!(&out[4..], "ab\u{fffd}".as_bytes());
        out.clear();
        put_units(&mut out, "ab😀c", 4);
        assert_eq!(&out[4..], "ab😀".as_bytes());
        out.clear();
        put_units(&mut out, "aé€", 10);
        assert_eq!(&out[4..], "aé€".as_bytes());
        assert_eq!(out[..4], (out.len() as u32 - 4).to_le_bytes());
    }
}

#[cfg(test)]
mod js_equality {
    use super::tests::text;
    use super::*;
    use crate::model::testing::V;
    use crate::model::tests::{js_bodies, js_cases};
    use crate::model::{body_time_ms, Track};

    fn typed(v: &V) -> AttrValue {
        match v {
            V::S(s) => AttrValue::Str((*s).into()),
            V::I(i) => AttrValue::Int(*i),
            V::D(d) => AttrValue::Double(d.parse().unwrap()),
            V::B(b) => AttrValue::Bool(*b),
            V::A(vs) => AttrValue::Array(vs.iter().map(typed).collect()),
            V::M(kvs) => AttrValue::Map(kvs.iter().map(|(k, v)| ((*k).into(), typed(v))).collect()),
        }
    }

    /// The copy limit of each leading string of `head`.
    fn limits(head: Track) -> &'static [usize] {
        match head {
            Track::Error => &[STR_UNITS, STR_UNITS, STACK_UNITS],
            Track::Metric { .. } => &[STR_UNITS, STR_UNITS],
            Track::Log { .. } => &[BODY_UNITS],
            Track::Event => &[STR_UNITS],
            #[cfg(feature = "timed-spans")]
            Track::Span { .. } => &[STR_UNITS],
        }
    }

    #[test]
    fn the_writer_writes_what_the_js_writer_wrote() {
        // The JS input was 1,200 characters; its writer kept 1,000. So must this one.
        let long = "x".repeat(1200);
        for (i, ((_, js), (head, strings, kvs))) in
            js_bodies().into_iter().zip(js_cases(&long)).enumerate()
        {
            let attrs: Vec<(String, AttrValue)> =
                kvs.iter().map(|(k, v)| ((*k).into(), typed(v))).collect();
            let strings: Vec<(&str, usize)> = strings
                .iter()
                .copied()
                .zip(limits(head).iter().copied())
                .collect();
            let ours = body(body_time_ms(js).unwrap(), &strings, &attrs, &text);
            assert_eq!(ours, js, "case {i}: the writer's bytes against JS's");
        }
    }

    #[test]
    fn typed_doubles_take_the_js_writer_s_tags() {
        let one = |v: AttrValue| body(0.0, &[], &[("k".into(), v)], &text);
        assert_eq!(one(AttrValue::Double(3.0)), one(AttrValue::Int(3)));
        assert_eq!(one(AttrValue::Double(-0.0)), one(AttrValue::Int(0)));
        assert_eq!(
            one(AttrValue::Double(f64::NAN)),
            one(AttrValue::Str("NaN".into()))
        );
        assert_eq!(
            one(AttrValue::Double(f64::NEG_INFINITY)),
            one(AttrValue::Str("-Infinity".into()))
        );
        assert_ne!(
            one(AttrValue::Double(2.0f64.powi(54))),
            one(AttrValue::Int(1 << 54))
        );
    }

    #[test]
    fn containers_stop_at_the_limits() {
        let many = AttrValue::Array((0..200).map(AttrValue::Int).collect());
        let b = body(0.0, &[], &[("a".into(), many)], &text);
        // time 8, attrs count+len 8, key 5, tag 1, then the array's count.
        assert_eq!(b[22..26], 128u32.to_le_bytes());
        let attrs: Vec<_> = (0..200)
            .map(|i| (i.to_string(), AttrValue::Bool(true)))
            .collect();
        let b = body(0.0, &[], &attrs, &text);
        assert_eq!(b[8..12], 128u32.to_le_bytes());
        // Five levels: the innermost array is omitted, as JS omits it.
        let mut deep = AttrValue::Array(vec![]);
        for _ in 0..4 {
            deep = AttrValue::Array(vec![deep]);
        }
        let four = {
            let mut d = AttrValue::Array(vec![]);
            for _ in 0..3 {
                d = AttrValue::Array(vec![d]);
            }
            d
        };
        assert_eq!(
            body(0.0, &[], &[("d".into(), deep)], &text),
            body(0.0, &[], &[("d".into(), four)], &text)
        );
    }
}
