//! Personal data scrubbed out of a queued record at encode time (SPEC §6.1), so both
//! encoders (and whatever is kept across page loads) get it scrubbed, and the tracking
//! call does no extra work. The record is rewritten in its own layout: the app's
//! attribute keys and values (nested ones too), log messages and error messages and
//! stacks go through the [`Scrubber`]; the SDK's own fields (names of events and
//! metrics, a metric's value) stay as they are.
//!
//! A string is scrubbed before the encoder cuts it to its length limit, so a half-cut
//! secret cannot slip through.

use crate::prelude::*;

use super::model::{end_container, put_str, start_container, Attrs, Item, Track, Value};
use super::model::{TAG_ARRAY, TAG_BOOL, TAG_DOUBLE, TAG_INT, TAG_KVLIST, TAG_STR};
use super::scrub::{Scrubber, REDACTED};

/// How many distinct attribute keys a client remembers the rules' verdict on.
const KNOWN_KEYS: usize = 64;

/// The rules' verdict on an attribute key.
#[derive(Clone, Copy)]
struct Key {
    /// It names a secret: its value is replaced whole.
    secret: bool,
    /// It names a version: its value stays byte-identical.
    verbatim: bool,
    /// The key's own text has nothing to scrub.
    clean: bool,
}

/// A client's scrubbing: its rules, the keys judged so far, and a scratch string.
pub struct Privacy {
    rules: Scrubber,
    known: Vec<(String, Key)>,
    text: String,
    changed: u32,
}

impl ::core::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.debug_struct("Privacy").finish_non_exhaustive()
    }
}

impl Privacy {
    /// The built-in rules plus `extra_keys` (the `scrub.keys` option), matched as the
    /// built-in ones are: lower-cased, with `_ - .` and spaces left out.
    pub fn new(extra_keys: &[String]) -> Privacy {
        let normal: Vec<String> = extra_keys
            .iter()
            .map(|k| {
                // On bytes, so no UTF-8 decoder is linked for this: only ASCII bytes change
                // or go, so what is left is still UTF-8.
                let mut k = k.to_ascii_lowercase().into_bytes();
                k.retain(|b| !matches!(b, b'_' | b'-' | b'.' | b' '));
                String::from_utf8(k).unwrap_or_default()
            })
            .collect();
        let keys: Vec<&str> = normal.iter().map(String::as_str).collect();
        Privacy {
            rules: Scrubber::new(&keys),
            known: Vec::new(),
            text: String::new(),
            changed: 0,
        }
    }

    /// Writes `record` with its personal data replaced to `out` (cleared first) and
    /// returns how many values changed. 0 means the record goes as it is (`out` is then
    /// of no use); so does a record that does not decode, which the encoder drops.
    pub fn scrub(&mut self, record: &[u8], out: &mut Vec<u8>) -> u32 {
        out.clear();
        self.changed = 0;
        let Some(item) = Item::decode(record) else {
            return 0;
        };
        // Header and time as they are: the body's time follows the header.
        let (_, head_len) = item.head.encode();
        out.extend_from_slice(record.get(..head_len + 8).unwrap_or_default());
        let scrubbed = match item.head {
            Track::Error => [true, true, true],
            Track::Log { .. } => [true, false, false],
            Track::Event | Track::Metric { .. } => [false; 3],
            #[cfg(feature = "timed-spans")]
            Track::Span { .. } => [false; 3],
        };
        for (s, scrub) in item
            .strings
            .iter()
            .zip(scrubbed)
            .take(item.head.n_strings())
        {
            if scrub {
                self.put_text(out, s);
            } else {
                put_str(out, s);
            }
        }
        self.put_attrs(out, item.attrs);
        self.changed
    }

    /// A string the app wrote, scrubbed.
    fn put_text(&mut self, out: &mut Vec<u8>, s: &str) {
        self.text.clear();
        if self.rules.scrub_into(s, &mut self.text) {
            self.changed += 1;
            put_str(out, &self.text);
        } else {
            put_str(out, s);
        }
    }

    fn put_attrs(&mut self, out: &mut Vec<u8>, attrs: Attrs) {
        let (at, mut count) = (start_container(out), 0);
        for (k, v) in attrs {
            let key = self.key(k);
            if key.clean {
                put_str(out, k);
            } else {
                self.put_text(out, k);
            }
            if key.secret {
                self.changed += 1;
                out.push(TAG_STR);
                put_str(out, REDACTED);
            } else {
                self.put_value(out, &v, key.verbatim);
            }
            count += 1;
        }
        end_container(out, at, count);
    }

    /// What the rules say of attribute key `k`. The key rule scans every position for
    /// every sensitive word (~3 µs a key), and an app's keys repeat from item to item:
    /// each clean key is judged once and remembered, up to [`KNOWN_KEYS`] of them.
    fn key(&mut self, k: &str) -> Key {
        if let Some((_, key)) = self.known.iter().find(|(known, _)| known == k) {
            return *key;
        }
        self.text.clear();
        let key = Key {
            secret: self.rules.is_secret_key(k),
            verbatim: Scrubber::is_verbatim_key(k),
            clean: !self.rules.scrub_into(k, &mut self.text),
        };
        if key.clean && self.known.len() < KNOWN_KEYS {
            self.known.push((k.into(), key));
        }
        key
    }

    /// A value; strings are scrubbed unless `verbatim` (under a `version` key).
    fn put_value(&mut self, out: &mut Vec<u8>, v: &Value, verbatim: bool) {
        match v {
            Value::Str(s) => {
                out.push(TAG_STR);
                if verbatim {
                    put_str(out, s);
                } else {
                    self.put_text(out, s);
                }
            }
            Value::Int(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Double(d) => {
                out.push(TAG_DOUBLE);
                put_str(out, d);
            }
            Value::Bool(b) => out.extend_from_slice(&[TAG_BOOL, u8::from(*b)]),
            Value::Array(values) => {
                out.push(TAG_ARRAY);
                let (at, mut count) = (start_container(out), 0);
                for v in values.clone() {
                    self.put_value(out, &v, verbatim);
                    count += 1;
                }
                end_container(out, at, count);
            }
            Value::KvList(attrs) => {
                out.push(TAG_KVLIST);
                self.put_attrs(out, attrs.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{record, V};
    use crate::model::{MetricKind, MAX_STRING_CHARS};

    /// The record `privacy` makes of `rec`, decoded; and how many values changed.
    fn scrubbed(privacy: &mut Privacy, rec: &[u8]) -> (Vec<u8>, u32) {
        let mut out = Vec::new();
        let n = privacy.scrub(rec, &mut out);
        (if n == 0 { rec.to_vec() } else { out }, n)
    }

    /// A value as text: `Str("a")`, `Int(3)`, arrays and lists with their contents.
    fn show(v: &Value) -> String {
        match v {
            Value::Array(vs) => format!("{:?}", vs.clone().map(|v| show(&v)).collect::<Vec<_>>()),
            Value::KvList(kvs) => format!(
                "{:?}",
                kvs.clone().map(|(k, v)| (k, show(&v))).collect::<Vec<_>>()
            ),
            other => format!("{other:?}"),
        }
    }

    fn attrs(item: &Item) -> Vec<(String, String)> {
        item.attrs
            .clone()
            .map(|(k, v)| (k.to_string(), show(&v)))
            .collect()
    }

    #[test]
    fn secrets_go_from_every_place_the_app_writes_and_the_sdk_fields_stay() {
        let mut p = Privacy::new(&[]);
        let rec = record(
            Track::Error,
            5.0,
            &[
                "TypeError",
                "no account for bob@example.com",
                "at /Users/alice/app/main.js:1",
            ],
            &[
                ("password", V::I(1234)),
                ("note", V::S("call 4111 1111 1111 1111")),
                ("list", V::A(vec![V::S("x"), V::S("ip 10.1.2.3")])),
                (
                    "nested",
                    V::M(vec![("apiKey", V::S("k")), ("ok", V::S("fine"))]),
                ),
                ("app_version", V::S("1.2.3.4")),
                ("count", V::I(3)),
            ],
        );
        let (out, n) = scrubbed(&mut p, &rec);
        let item = Item::decode(&out).unwrap();
        assert_eq!(item.strings[0], "TypeError");
        assert_eq!(item.strings[1], "no account for [EMAIL]");
        assert_eq!(item.strings[2], "at /Users/[USER]/app/main.js:1");
        let a = attrs(&item);
        assert_eq!(a[0], ("password".into(), "Str(\"[REDACTED]\")".into()));
        assert_eq!(a[1].1, "Str(\"call [CARD]\")");
        assert_eq!(a[2].1, r#"["Str(\"x\")", "Str(\"ip [IP]\")"]"#);
        assert_eq!(
            a[3].1,
            r#"[("apiKey", "Str(\"[REDACTED]\")"), ("ok", "Str(\"fine\")")]"#
        );
        assert_eq!(a[4].1, "Str(\"1.2.3.4\")", "a version stays");
        assert_eq!(a[5].1, "Int(3)");
        assert_eq!(n, 6, "message, stack, password, card, ip, apiKey");
        // Event and metric names are the SDK's fields.
        let event = record(Track::Event, 1.0, &["signup bob@example.com"], &[]);
        assert_eq!(scrubbed(&mut p, &event).1, 0);
        let metric = record(
            Track::Metric {
                kind: MetricKind::Gauge,
                value: 1.0,
            },
            1.0,
            &["m", "1"],
            &[("k", V::S("v"))],
        );
        assert_eq!(scrubbed(&mut p, &metric).1, 0);
    }

    #[test]
    fn a_log_message_is_scrubbed_and_extra_keys_count_as_secrets() {
        let mut p = Privacy::new(&["Employee-No".into()]);
        let rec = record(
            Track::Log { severity: 9 },
            1.0,
            &["token=abc123def for carol@example.org"],
            &[("employee_no", V::S("E-1"))],
        );
        let (out, n) = scrubbed(&mut p, &rec);
        let item = Item::decode(&out).unwrap();
        assert!(!item.strings[0].contains("carol@"), "{}", item.strings[0]);
        assert_eq!(attrs(&item)[0].1, "Str(\"[REDACTED]\")");
        assert_eq!(n, 2);
    }

    #[test]
    fn a_record_with_nothing_to_scrub_goes_as_it_is() {
        let mut p = Privacy::new(&[]);
        let rec = record(
            Track::Event,
            1.0,
            &["page.view"],
            &[
                ("path", V::S("/home")),
                ("ms", V::D("12.5")),
                ("id", V::S("0af7651916cd43dd8448eb211c80319c")),
            ],
        );
        assert_eq!(scrubbed(&mut p, &rec).1, 0);
        assert_eq!(
            p.scrub(b"garbage", &mut Vec::new()),
            0,
            "undecodable: left to the encoder"
        );
    }

    #[test]
    fn remembered_keys_give_the_same_verdicts_and_past_the_limit_keys_are_still_judged() {
        let mut p = Privacy::new(&[]);
        let names: Vec<String> = (0..KNOWN_KEYS + 10).map(|i| format!("field{i}")).collect();
        let mut kvs: Vec<(&str, V)> = names.iter().map(|n| (n.as_str(), V::S("x"))).collect();
        kvs.push(("password", V::S("p")));
        kvs.push(("bob@example.com", V::S("key text")));
        let rec = record(Track::Event, 1.0, &["e"], &kvs);
        let first = scrubbed(&mut p, &rec);
        assert_eq!(p.known.len(), KNOWN_KEYS, "bounded");
        let second = scrubbed(&mut p, &rec);
        assert_eq!(first, second, "the same record, the same result");
        assert_eq!(second.1, 2, "the password's value and the email in a key");
        let item = Item::decode(&second.0).unwrap();
        let a = attrs(&item);
        assert_eq!(a[KNOWN_KEYS + 10].1, "Str(\"[REDACTED]\")");
        assert_eq!(a[KNOWN_KEYS + 11].0, "[EMAIL]");
    }

    #[test]
    fn a_secret_is_scrubbed_before_the_string_is_cut() {
        let mut p = Privacy::new(&[]);
        // The email straddles the 500-character limit: cut first, its local part would go.
        let long = format!(
            "{}dave@example.com",
            "x ".repeat((MAX_STRING_CHARS - 5) / 2)
        );
        let rec = record(Track::Event, 1.0, &["e"], &[("text", V::S(&long))]);
        let (out, _) = scrubbed(&mut p, &rec);
        let item = Item::decode(&out).unwrap();
        let (_, v) = item.attrs.clone().next().unwrap();
        let Value::Str(s) = v else { panic!() };
        assert!(!s.contains("dave") && s.ends_with("[EMAIL]"), "{s}");
    }
}
