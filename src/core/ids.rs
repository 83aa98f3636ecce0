//! Identifiers: a small seeded PRNG for trace and span ids (drawing from the runtime's
//! crypto source per id would cost a JS round trip on every tracking call), hex and UUID
//! formatting.

use super::json::HEX;

/// wyrand: a fast 64-bit generator with good statistical quality, seeded once per
/// client from the runtime's cryptographic source.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// A non-zero 64-bit value (zero ids are invalid in OTLP).
    fn non_zero(&mut self) -> u64 {
        loop {
            let v = self.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    /// A uniform float in `[0, 1)`, for backoff jitter.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 16 random bytes, never all zero.
    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&self.non_zero().to_le_bytes());
        id[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        id
    }

    /// 8 random bytes, never all zero.
    pub fn span_id(&mut self) -> [u8; 8] {
        self.non_zero().to_le_bytes()
    }
}

/// Appends `bytes` (at most 16) as lowercase hex.
pub fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut buf = [0u8; 32];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 0xf) as usize];
    }
    out.extend_from_slice(&buf[..2 * bytes.len().min(16)]);
}

/// Formats 16 random bytes as a version-4 UUID string.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = Vec::with_capacity(36);
    for (i, chunk) in [0..4, 4..6, 6..8, 8..10, 10..16].into_iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        hex(&mut out, &b[chunk]);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_non_zero_and_distinct() {
        let mut rng = Rng::new(0);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| rng.trace_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(!ids.contains(&[0; 16]));
        assert_ne!(rng.span_id(), [0; 8]);
        let u = rng.unit();
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
