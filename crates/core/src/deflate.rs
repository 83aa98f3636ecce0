//! A small deflate encoder (RFC 1951): greedy LZ77 over the 32 KiB window with one hash
//! probe, then dynamic Huffman blocks.
//!
//! Written here rather than taken from a crate: miniz_oxide's compressor, which this
//! replaced, was 6.9 KB of the browser's 38.5 KB of gzipped wasm (measured on 2026-12-03),
//! carrying levels, parsers and block types the SDK never used. This is the one path it
//! did use (one probe, greedy, short matches written as literals), and it writes the same
//! size within a few bytes per request (`make bench` reports bytes per event). What it
//! writes is checked by inflating it: with miniz_oxide's decoder in the tests below, and
//! with zlib in every Node test's receiver.

use crate::prelude::*;
use alloc::vec;

/// How far back a match may reach.
const WINDOW: usize = 32 * 1024;
/// Shorter matches are written as literals. Most of what deflate cannot predict in OTLP
/// JSON is random hex ids, and any few hex chars recur within the window: such a match
/// costs 13-25 bits where its literals cost ~13 (on the bench's typical event, 47.8 B
/// instead of 40.8 B per event with matches from 3 bytes up).
const MIN_MATCH: usize = 6;
/// The longest match deflate can express.
const MAX_MATCH: usize = 258;
/// Bytes hashed to find a match candidate (the `u32` that [`hash`] reads); at most
/// `MIN_MATCH`.
const HASHED: usize = core::mem::size_of::<u32>();
/// log2 of the hash table's size.
const HASH_BITS: u32 = 12;
/// Of the positions a match covers, how many (from its start) are indexed for later
/// matches. Indexing them all took 1.8 times as long and wrote 2 % more on a batch of the
/// bench's events: the table keeps one position per hash, and those deep inside a long
/// match displace better ones.
const INDEXED: usize = 4;
/// Symbols per block: each block gets codes fitted to its own text.
const BLOCK_SYMBOLS: usize = 1 << 15;
/// Marks a match in a block's symbol list (a literal is its byte value); the length less
/// 3 is in bits 0-7 and the distance less 1 in bits 9-23.
const MATCH: u32 = 1 << 8;
/// The end-of-block symbol.
const END: usize = 256;
/// The order in which a block header lists the code lengths of the code-length code.
const CL_ORDER: [u8; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Appends the raw deflate stream of `data` to `out`.
pub fn deflate(data: &[u8], out: &mut Vec<u8>) {
    let mut bits = Bits {
        out,
        acc: 0,
        len: 0,
    };
    // Where each hash was last seen, plus 1 (0: never). An array (16 KiB of stack), not
    // a Vec: the compiler sees that a hash (12 bits) is below its length, and drops the
    // bounds checks.
    let mut head = [0u32; 1 << HASH_BITS];
    let mut symbols = Vec::with_capacity(BLOCK_SYMBOLS.min(data.len() + 1));
    let mut i = 0;
    while i < data.len() {
        let (len, dist) = if i + MIN_MATCH <= data.len() {
            let h = hash(data, i);
            let seen = head[h] as usize;
            head[h] = i as u32 + 1;
            match seen.checked_sub(1) {
                Some(at) if i - at <= WINDOW => (common(data, at, i), i - at),
                _ => (0, 0),
            }
        } else {
            (0, 0)
        };
        if len >= MIN_MATCH {
            symbols.push(MATCH | (len - 3) as u32 | ((dist - 1) as u32) << 9);
            // The positions the match starts with are candidates for later text too.
            for j in (i + 1..(i + len).min(data.len() + 1 - HASHED)).take(INDEXED) {
                head[hash(data, j)] = j as u32 + 1;
            }
            i += len;
        } else {
            symbols.push(u32::from(data[i]));
            i += 1;
        }
        if symbols.len() == BLOCK_SYMBOLS {
            block(&mut bits, &symbols, false);
            symbols.clear();
        }
    }
    block(&mut bits, &symbols, true);
    bits.finish();
}

/// Hash of the `HASHED` (four) bytes of `data` from `at` (Knuth's multiplicative hash).
/// Read with `first_chunk`, here and in [`common`], not byte by byte: one length check
/// instead of one bounds check and panic path per byte.
fn hash(data: &[u8], at: usize) -> usize {
    let v = data
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |&bytes| u32::from_le_bytes(bytes));
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// How many bytes `data` has in common from `earlier` and from `here`, up to `MAX_MATCH`.
/// The two may overlap: deflate copies byte by byte, so a match may run into its own
/// output. Compares eight bytes at a time: this is where most of the encoder's time goes.
fn common(data: &[u8], earlier: usize, here: usize) -> usize {
    let (earlier, here) = (
        data.get(earlier..).unwrap_or_default(),
        data.get(here..).unwrap_or_default(),
    );
    let max = MAX_MATCH.min(here.len());
    let mut n = 0;
    while n + 8 <= max {
        let word = |s: &[u8]| {
            s.get(n..)
                .and_then(<[u8]>::first_chunk)
                .map_or(0, |&w| u64::from_le_bytes(w))
        };
        let diff = word(earlier) ^ word(here);
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + earlier[n..max]
        .iter()
        .zip(&here[n..max])
        .take_while(|(a, b)| a == b)
        .count()
}

/// The length code (257-285) of a match of `len - 3` = `x`, its extra bits and their
/// value (RFC 1951 §3.2.5). Codes come in fours per extra bit from length 11 on.
fn length_code(x: u32) -> (usize, u32, u32) {
    if x < 8 {
        return (257 + x as usize, 0, 0);
    }
    if x == 255 {
        return (285, 0, 0);
    }
    let top = 31 - x.leading_zeros(); // 3..=7
    let extra = top - 2;
    let code = 257 + 4 * (top as usize - 1) + ((x >> extra) & 3) as usize;
    (code, extra, x & ((1 << extra) - 1))
}

/// The distance code (0-29) of a distance of `d - 1` = `x`, its extra bits and their
/// value (RFC 1951 §3.2.5). Codes come in pairs per extra bit from distance 5 on.
fn distance_code(x: u32) -> (usize, u32, u32) {
    if x < 4 {
        return (x as usize, 0, 0);
    }
    let top = 31 - x.leading_zeros(); // 2..=14
    let extra = top - 1;
    let code = 2 * top as usize + ((x >> extra) & 1) as usize;
    (code, extra, x & ((1 << extra) - 1))
}

/// Bits written least significant first, as deflate packs them.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits<'_> {
    /// Writes the low `n` bits of `v` (at most 16).
    fn put(&mut self, v: u32, n: u32) {
        self.acc |= u64::from(v) << self.len;
        self.len += n;
        if self.len >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.len -= 32;
        }
    }

    /// Writes what is left, padded to a whole byte.
    fn finish(self) {
        let bytes = self.acc.to_le_bytes();
        self.out
            .extend_from_slice(&bytes[..self.len.div_ceil(8) as usize]);
    }
}

/// Symbols in the largest alphabet (literals, end of block and lengths).
const SYMBOLS: usize = 286;

/// A Huffman code: each symbol's code length and its code, bit-reversed for writing.
/// Every alphabet is held as wide as the largest, its unused symbols without a code: any
/// `u8` symbol is then in range, and the compiler drops the bounds checks.
struct Code {
    lengths: [u8; SYMBOLS],
    codes: [u16; SYMBOLS],
}

impl Code {
    /// An optimal code for `freq` whose lengths do not exceed `limit`, made canonical (RFC
    /// 1951 §3.2.2): codes of each length are consecutive, in symbol order, and follow the
    /// shorter lengths' codes.
    fn fitted(freq: &[u32; SYMBOLS], limit: u8) -> Code {
        let lengths = lengths(freq, limit);
        let mut codes = [0u16; SYMBOLS];
        let mut next = 0u16;
        for len in 1..16 {
            next <<= 1;
            for (code, &l) in codes.iter_mut().zip(&lengths) {
                if l == len {
                    // Huffman codes go most significant bit first into an LSB-first stream.
                    *code = next.reverse_bits() >> (16 - len);
                    next += 1;
                }
            }
        }
        Code { lengths, codes }
    }

    /// Writes `symbol`.
    fn put(&self, bits: &mut Bits, symbol: usize) {
        // Every symbol written is in the alphabet; `get` keeps a panic path out.
        if let (Some(&code), Some(&len)) = (self.codes.get(symbol), self.lengths.get(symbol)) {
            bits.put(u32::from(code), u32::from(len));
        }
    }
}

/// Huffman code lengths for `freq`, none over `limit`. At least two symbols get a code
/// (0 and 1 stand in when fewer occur): a one-symbol code is not complete, and some
/// inflaters refuse it.
fn lengths(freq: &[u32; SYMBOLS], limit: u8) -> [u8; SYMBOLS] {
    // The symbols that occur, with their weights.
    let mut leaves: Vec<(u32, usize)> = freq.iter().copied().zip(0..).filter(|l| l.0 > 0).collect();
    for s in 0..2 {
        if leaves.len() < 2 && !leaves.iter().any(|l| l.1 == s) {
            leaves.push((0, s));
        }
    }
    // By weight, as an insertion sort: at most 286 symbols, once per block, and the
    // standard sorts add 4 KB of wasm.
    for end in 2..=leaves.len() {
        let sorted = &mut leaves[..end];
        for j in (1..end).rev() {
            if sorted[j - 1].0 <= sorted[j].0 {
                break;
            }
            sorted.swap(j - 1, j);
        }
    }
    let m = leaves.len();
    // Huffman's construction with two queues: the leaves by weight, and the inner nodes,
    // which are made in order of weight. Each node's parent has a larger index.
    let mut weight: Vec<u32> = leaves.iter().map(|l| l.0).collect();
    let mut parent = vec![0usize; 2 * m - 1];
    let (mut leaf, mut inner) = (0, m);
    for node in m..2 * m - 1 {
        let mut pick = || {
            if leaf < m && (inner == weight.len() || weight[leaf] <= weight[inner]) {
                leaf += 1;
                leaf - 1
            } else {
                inner += 1;
                inner - 1
            }
        };
        let (a, b) = (pick(), pick());
        weight.push(weight[a] + weight[b]);
        parent[a] = node;
        parent[b] = node;
    }
    let mut depth = vec![0u8; 2 * m - 1];
    for node in (0..2 * m - 2).rev() {
        depth[node] = depth[parent[node]].saturating_add(1);
    }

    // How many codes of each length; leaves deeper than `limit` move up to it, then
    // codes are lengthened (one at `limit` dropped, one shorter split in two) until the
    // Kraft sum is exact again, as miniz and zlib do.
    let limit = usize::from(limit).min(15);
    let mut count = [0u32; 16];
    for &d in depth.iter().take(m) {
        count[usize::from(d).min(limit)] += 1;
    }
    let mut kraft: u32 = (1..=limit).map(|l| count[l] << (limit - l)).sum();
    while kraft > 1 << limit {
        count[limit] -= 1;
        if let Some(l) = (1..limit).rev().find(|&l| count[l] > 0) {
            count[l] -= 1;
            count[l + 1] += 2;
        }
        kraft -= 1;
    }
    // The rarest symbols get the longest codes: the lengths from `limit` down, each as
    // often as it is counted.
    let longest_first = (1..=limit)
        .rev()
        .flat_map(|l| core::iter::repeat(l as u8).take(count[l] as usize));
    let mut out = [0u8; SYMBOLS];
    for (&(_, s), l) in leaves.iter().zip(longest_first) {
        out[s] = l;
    }
    out
}

/// The code-length alphabet's run-length encoding of `lengths` (RFC 1951 §3.2.7): each
/// item a symbol (0-15 a length, 16 repeats the last 3-6 times, 17 and 18 write 3-10 and
/// 11-138 zeros) and its extra bits' value.
fn runs(lengths: &[u8]) -> Vec<(u8, u32)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let l = lengths[i];
        let mut run = lengths[i..].iter().take_while(|&&x| x == l).count();
        i += run;
        if l == 0 {
            while run >= 11 {
                let r = run.min(138);
                out.push((18, (r - 11) as u32));
                run -= r;
            }
            if run >= 3 {
                out.push((17, (run - 3) as u32));
                run = 0;
            }
        } else {
            out.push((l, 0));
            run -= 1;
            while run >= 3 {
                let r = run.min(6);
                out.push((16, (r - 3) as u32));
                run -= r;
            }
        }
        out.extend(core::iter::repeat((l, 0)).take(run));
    }
    out
}

/// Writes one dynamic-Huffman block of `symbols` (RFC 1951 §3.2.7).
fn block(bits: &mut Bits, symbols: &[u32], last: bool) {
    let mut lit_freq = [0u32; SYMBOLS];
    let mut dist_freq = [0u32; SYMBOLS];
    for &s in symbols {
        if s & MATCH == 0 {
            lit_freq[usize::from(s as u8)] += 1;
        } else {
            lit_freq[length_code(s & 0xff).0] += 1;
            dist_freq[distance_code(s >> 9 & 0x7fff).0] += 1;
        }
    }
    lit_freq[END] = 1;
    let lit = Code::fitted(&lit_freq, 15);
    let dist = Code::fitted(&dist_freq, 15);
    // Trailing unused codes are left out of the header (at least 257 and 1 are listed).
    let used = |lengths: &[u8], min: usize| {
        min.max(lengths.iter().rposition(|&l| l > 0).map_or(0, |p| p + 1))
    };
    let (n_lit, n_dist) = (used(&lit.lengths, 257), used(&dist.lengths, 1));
    let all = [&lit.lengths[..n_lit], &dist.lengths[..n_dist]].concat();
    let runs = runs(&all);
    let mut cl_freq = [0u32; SYMBOLS];
    for &(s, _) in &runs {
        cl_freq[usize::from(s)] += 1;
    }
    let cl = Code::fitted(&cl_freq, 7);
    let n_cl = 4.max(
        CL_ORDER
            .iter()
            .rposition(|&s| cl.lengths[usize::from(s)] > 0)
            .map_or(0, |p| p + 1),
    );

    bits.put(u32::from(last), 1);
    bits.put(2, 2); // dynamic Huffman codes
    bits.put((n_lit - 257) as u32, 5);
    bits.put((n_dist - 1) as u32, 5);
    bits.put((n_cl - 4) as u32, 4);
    for &s in &CL_ORDER[..n_cl] {
        bits.put(u32::from(cl.lengths[usize::from(s)]), 3);
    }
    for &(s, extra) in &runs {
        cl.put(bits, usize::from(s));
        match s {
            16 => bits.put(extra, 2),
            17 => bits.put(extra, 3),
            18 => bits.put(extra, 7),
            _ => {}
        }
    }
    for &s in symbols {
        if s & MATCH == 0 {
            lit.put(bits, usize::from(s as u8));
        } else {
            let (code, n, v) = length_code(s & 0xff);
            lit.put(bits, code);
            bits.put(v, n);
            let (code, n, v) = distance_code(s >> 9 & 0x7fff);
            dist.put(bits, code);
            bits.put(v, n);
        }
    }
    lit.put(bits, END);
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::decompress_to_vec;

    fn round_trip(data: &[u8]) -> usize {
        let mut out = Vec::new();
        deflate(data, &mut out);
        assert_eq!(
            decompress_to_vec(&out).expect("a valid deflate stream"),
            data,
            "{} bytes",
            data.len()
        );
        out.len()
    }

    /// Bytes from a seeded xorshift, each below `alphabet`.
    fn noise(n: usize, alphabet: u32, seed: u64) -> Vec<u8> {
        let mut rng = crate::ids::Rng::new(seed);
        (0..n)
            .map(|_| (rng.next_u64() % u64::from(alphabet)) as u8)
            .collect()
    }

    #[test]
    fn length_and_distance_codes_follow_the_rfc_tables() {
        // RFC 1951 §3.2.5: (code, extra bits, first length) and (code, extra, first distance).
        let lengths = [
            (257, 0, 3),
            (264, 0, 10),
            (265, 1, 11),
            (268, 1, 17),
            (269, 2, 19),
            (273, 3, 35),
            (277, 4, 67),
            (281, 5, 131),
            (284, 5, 227),
            (285, 0, 258),
        ];
        for (code, extra, first) in lengths {
            assert_eq!(length_code(first - 3), (code, extra, 0), "length {first}");
        }
        assert_eq!(length_code(257 - 3), (284, 5, 30), "the last length of 284");
        let distances = [
            (0, 0, 1),
            (3, 0, 4),
            (4, 1, 5),
            (5, 1, 7),
            (6, 2, 9),
            (13, 5, 97),
            (20, 9, 1025),
            (29, 13, 24577),
        ];
        for (code, extra, first) in distances {
            assert_eq!(
                distance_code(first - 1),
                (code, extra, 0),
                "distance {first}"
            );
        }
        assert_eq!(distance_code(32768 - 1), (29, 13, 8191), "the window's end");
    }

    #[test]
    fn code_lengths_are_complete_and_within_their_limit() {
        fn check<const N: usize>(symbols: [u32; N], limit: u8) {
            let mut freq = [0; SYMBOLS];
            freq[..N].copy_from_slice(&symbols);
            let l = lengths(&freq, limit);
            assert!(l.iter().all(|&x| x <= limit), "{l:?}");
            let kraft: f64 = l
                .iter()
                .filter(|&&x| x > 0)
                .map(|&x| 0.5f64.powi(x.into()))
                .sum();
            assert_eq!(kraft, 1.0, "{l:?}");
            for (s, &f) in freq.iter().enumerate() {
                assert!(f == 0 || l[s] > 0, "symbol {s} occurs but has no code");
            }
        }
        // Fibonacci frequencies make the deepest possible Huffman tree.
        let mut fib = [1u32; 40];
        for i in 2..fib.len() {
            fib[i] = fib[i - 1] + fib[i - 2];
        }
        check(fib, 15);
        check(*fib.first_chunk::<19>().unwrap(), 7);
        check([5, 0, 0, 9], 15);
        check([0, 0, 3], 15);
        check([0; 30], 15);
    }

    #[test]
    fn runs_of_code_lengths_use_the_repeat_codes() {
        assert_eq!(runs(&[0; 140]), [(18, 127), (0, 0), (0, 0)]);
        assert_eq!(runs(&[0; 13]), [(18, 2)]);
        assert_eq!(runs(&[5; 8]), [(5, 0), (16, 3), (5, 0)]);
        assert_eq!(runs(&[3, 0, 0, 0, 7, 7]), [(3, 0), (17, 0), (7, 0), (7, 0)]);
    }

    #[test]
    fn what_it_writes_inflates_back_byte_for_byte() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"abcabcabcabcabcabc");
        round_trip(&[0u8; 100_000]);
        for (n, alphabet, seed) in [
            (10, 256, 1),
            (1000, 2, 2),
            (5000, 4, 3),
            (70_000, 16, 4),
            (200_000, 256, 5),
            (300_000, 3, 6),
        ] {
            round_trip(&noise(n, alphabet, seed));
        }
        // Text that repeats itself at random distances and lengths, 300 seeds.
        for seed in 0..300 {
            let mut rng = crate::ids::Rng::new(seed);
            let mut data = noise(1 + (rng.next_u64() % 64) as usize, 256, seed);
            while data.len() < (rng.next_u64() % 20_000) as usize {
                let from = (rng.next_u64() as usize) % data.len();
                let len = 1 + (rng.next_u64() as usize) % 300;
                let copy: Vec<u8> = data[from..].iter().copied().cycle().take(len).collect();
                data.extend(copy);
                data.extend(noise((rng.next_u64() % 8) as usize, 64, seed + 1000));
            }
            round_trip(&data);
        }
    }

    #[test]
    fn matches_reach_back_within_the_window_only() {
        // Random text repeated after zeros: a copy 30,000 bytes back is matched, one
        // 33,000 bytes back lies beyond the window and is not.
        let text = noise(2000, 256, 7);
        let repeated = |gap: usize| [&text[..], &vec![0; gap], &text[..]].concat();
        let n = round_trip(&repeated(28_000));
        assert!(n < 2300, "{n}");
        let n = round_trip(&repeated(31_000));
        assert!(n > 4000, "{n}");
        // Runs of the longest match, and matches that overlap what they copy.
        let mut data = b"xyz".to_vec();
        data.extend(core::iter::repeat(b'q').take(10_000));
        data.extend(noise(2000, 256, 8));
        assert!(round_trip(&data) < 2200);
    }

    #[test]
    fn json_compresses_like_the_miniz_level_it_replaced() {
        // A batch of the bench's typical event, ids random.
        let mut rng = crate::ids::Rng::new(9);
        let mut json = b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[".to_vec();
        for i in 0..500 {
            json.extend_from_slice(b"{\"traceId\":\"");
            let id = [rng.next_u64().to_le_bytes(), rng.next_u64().to_le_bytes()].concat();
            crate::ids::hex(&mut json, &id);
            json.extend_from_slice(b"\",\"spanId\":\"");
            crate::ids::hex(&mut json, &rng.next_u64().to_le_bytes());
            json.extend_from_slice(
                format!(
                    "\",\"name\":\"api.request\",\"kind\":1,\"startTimeUnixNano\":\"17332500{:05}000000\",\
                     \"attributes\":[{{\"key\":\"endpoint\",\"value\":{{\"stringValue\":\"/v1/users\"}}}},\
                     {{\"key\":\"status\",\"value\":{{\"intValue\":\"200\"}}}}]}},",
                    i * 37
                )
                .as_bytes(),
            );
        }
        let ours = round_trip(&json);
        let flags = 1
            | miniz_oxide::deflate::core::deflate_flags::TDEFL_GREEDY_PARSING_FLAG
            | miniz_oxide::deflate::core::deflate_flags::TDEFL_FILTER_MATCHES;
        let mut c = miniz_oxide::deflate::core::CompressorOxide::new(flags);
        let mut theirs = vec![0; json.len()];
        let (_, _, n) = miniz_oxide::deflate::core::compress(
            &mut c,
            &json,
            &mut theirs,
            miniz_oxide::deflate::core::TDEFLFlush::Finish,
        );
        assert!(
            ours as f64 <= n as f64 * 1.01,
            "{ours} B against miniz's {n} B"
        );
    }
}
