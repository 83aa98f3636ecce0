//! Identifiers: a small seeded PRNG, the stable ids a record's key derives (span ids, row
//! ids), hex and UUID formatting.
//!
//! A record's key mixes two random per-session salts with its sequence number through a
//! bijection (splitmix64's finaliser), so keys, and the ids derived from them, are unique
//! within a session, carry 128 random bits across sessions, and are the same at every
//! resend. The tracking call draws nothing: ids are made when the record is encoded.

use crate::prelude::*;

use super::json::HEX;

/// splitmix64: a fast 64-bit generator with good statistical quality, seeded once per
/// client from the runtime's cryptographic source. It reuses [`mix`]; wyrand, which it
/// replaced, needs a 128-bit product, and wasm32 links a helper for that (~100 B of
/// gzipped wasm).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A uniform float in `[0, 1)`, for backoff jitter.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// splitmix64's finaliser: a bijection on 64-bit values that mixes every bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A record's 128-bit key: each half a bijection of its sequence number under one of the
/// session's two random salts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub u64, pub u64);

impl Key {
    /// The key of the record with sequence number `seq` in the session salted `salt`.
    pub fn new(salt: [u64; 2], seq: u64) -> Key {
        let spread = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Key(mix(salt[0] ^ spread), mix(salt[1] ^ spread))
    }

    /// 16 bytes derived from the key by `tweak`: uniformly spread, unique per record.
    pub fn bytes(self, tweak: u64) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&mix(self.0 ^ tweak).to_le_bytes());
        b[8..].copy_from_slice(&mix(self.1 ^ tweak).to_le_bytes());
        b
    }
}

/// A span's trace id (16 bytes, never all zero, unique per record: both halves are
/// bijections of it) and span id (8 bytes, never zero) from its record's key.
pub fn span_ids(key: Key) -> ([u8; 16], [u8; 8]) {
    let mut trace = key.bytes(0);
    if trace == [0; 16] {
        trace[15] = 1;
    }
    let span = mix(key.0 ^ key.1.rotate_left(32)).max(1);
    (trace, span.to_le_bytes())
}

/// Appends `bytes` as lowercase hex.
pub fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
}

/// Formats 16 random bytes as a version-4 UUID string.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = Vec::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        hex(&mut out, &[*byte]);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_ids_are_non_zero_distinct_and_stable() {
        use std::collections::HashSet;
        let mut rng = Rng::new(0);
        let salt = [rng.next_u64(), rng.next_u64()];
        let ids: Vec<_> = (0..10_000)
            .map(|seq| span_ids(Key::new(salt, seq)))
            .collect();
        let traces: HashSet<_> = ids.iter().map(|(t, _)| *t).collect();
        let spans: HashSet<_> = ids.iter().map(|(_, s)| *s).collect();
        assert_eq!((traces.len(), spans.len()), (10_000, 10_000));
        assert!(!traces.contains(&[0; 16]) && !spans.contains(&[0; 8]));
        assert_eq!(
            span_ids(Key::new(salt, 42)),
            ids[42],
            "the same at every resend"
        );
        assert_ne!(
            span_ids(Key::new([salt[0] ^ 1, salt[1]], 42)),
            ids[42],
            "another session, other ids"
        );
        let (t, s) = span_ids(Key(0, 0));
        assert!(t != [0; 16] && s != [0; 8], "never zero, whatever the key");
        let u = Rng::new(0).unit();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn hex_and_uuid_have_the_standard_shape() {
        let mut out = Vec::new();
        hex(&mut out, &[0x00, 0xab, 0xff]);
        assert_eq!(out, b"00abff");
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
