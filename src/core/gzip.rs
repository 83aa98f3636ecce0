//! gzip framing (RFC 1952) around miniz_oxide's pure-Rust deflate.

use miniz_oxide::deflate::compress_to_vec;

/// Deflate level: fast levels cost a fraction of the CPU of level 6 on repetitive JSON
/// while giving up only a few percent of the ratio (see `make bench`).
pub const LEVEL: u8 = 3;

/// Compresses `data` into a complete gzip member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(compress_to_vec(data, LEVEL));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE) of `data`, as the gzip trailer needs.
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
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
    fn empty_input_is_a_valid_member() {
        let gz = gzip(b"");
        let n = gz.len();
        assert_eq!(decompress_to_vec(&gz[10..n - 8]).unwrap(), b"");
    }
}
