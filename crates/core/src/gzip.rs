//! gzip framing (RFC 1952) around [`super::deflate`].

use crate::prelude::*;

use super::deflate::deflate;

/// gzip header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Compresses `data` into a complete gzip member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    deflate(data, &mut out);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Slice-by-4 tables: `t[0]` is the classic byte table, `t[k]` advances a byte through
/// k more zero bytes, so four input bytes fold in per step. Built per call rather than
/// stored: 4 KB of static data is ~4.5 KB of gzipped wasm, while building takes a few
/// microseconds against the hundreds that deflating a request body costs.
fn tables() -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
    for (i, entry) in t[0].iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg());
        }
        *entry = c;
    }
    for k in 1..4 {
        let (done, rest) = t.split_at_mut(k);
        for (entry, &prev) in rest[0].iter_mut().zip(&done[k - 1]) {
            *entry = (prev >> 8) ^ done[0][(prev & 0xff) as usize];
        }
    }
    t
}

/// CRC-32 (IEEE) of `data`, as the gzip trailer needs.
pub fn crc32(data: &[u8]) -> u32 {
    let t = tables();
    let mut c = !0u32;
    let mut chunks = data.chunks_exact(4);
    for w in &mut chunks {
        c ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        c = t[3][(c & 0xff) as usize]
            ^ t[2][((c >> 8) & 0xff) as usize]
            ^ t[1][((c >> 16) & 0xff) as usize]
            ^ t[0][(c >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::decompress_to_vec;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn crc32_agrees_with_the_bitwise_definition_at_every_length() {
        let bitwise = |data: &[u8]| {
            let mut c = !0u32;
            for &b in data {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xedb8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        };
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(crc32(&data[..n]), bitwise(&data[..n]), "length {n}");
        }
    }

    #[test]
    fn gzip_round_trips_with_a_valid_header_and_trailer() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let gz = gzip(&data);
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        let n = gz.len();
        assert_eq!(&gz[n - 8..n - 4], &crc32(&data).to_le_bytes());
        assert_eq!(&gz[n - 4..], &(data.len() as u32).to_le_bytes());
        assert_eq!(decompress_to_vec(&gz[10..n - 8]).unwrap(), data);
        assert!(gz.len() < data.len() / 2);
    }

    #[test]
    fn random_hex_ids_cost_close_to_their_entropy() {
        // Spans in miniature: a 128-bit random id among constant text. Any 3 hex chars
        // recur within the window, and short matches into them cost more than literals.
        let mut rng = crate::ids::Rng::new(7);
        let mut json = Vec::new();
        let records = 2_000;
        for _ in 0..records {
            json.extend_from_slice(b"{\"traceId\":\"");
            let id = [rng.next_u64().to_le_bytes(), rng.next_u64().to_le_bytes()].concat();
            crate::ids::hex(&mut json, &id);
            json.extend_from_slice(b"\",\"name\":\"api.request\",\"kind\":1},");
        }
        let per_record = gzip(&json).len() as f64 / f64::from(records);
        assert!(per_record < 19.0, "{per_record} B per 16 random bytes");
    }

    #[test]
    fn empty_input_is_a_valid_member() {
        let gz = gzip(b"");
        let n = gz.len();
        assert_eq!(decompress_to_vec(&gz[10..n - 8]).unwrap(), b"");
    }
}
