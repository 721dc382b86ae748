//! The fast word scanner: classifies 64 bytes at a time into a bitmask and
//! turns the mask's edges into word spans, handed out in batches.
//!
//! A byte-at-a-time loop takes a hard-to-predict branch at both ends of
//! every word. Here each 64-byte block becomes one `u64` (bit i set when
//! byte i belongs to a word, computed with SSE2 compares on x86_64 and a
//! table lookup elsewhere); word starts and ends are then the rising and
//! falling edges of that mask, found with shifts and extracted with
//! `trailing_zeros`. The only data-dependent branches left are the
//! per-block "any more edges?" loops.
//!
//! Spans are delivered in batches of about [`BATCH`] words so the word
//! table can hash a whole batch and prefetch its slots before touching any
//! of them (see `WordTable::add_spans`).

use super::tokenize::Tokenizer;

/// Complete words gathered before a batch is handed out.
pub(crate) const BATCH: usize = 32;

/// Bytes classified at once: one bit each in a `u64`.
const BLOCK: usize = 64;

/// Room for one batch plus the at most `BLOCK / 2` edges of each kind one
/// more block can add before the batch is flushed.
const CAPACITY: usize = BATCH + BLOCK / 2;

/// Calls `on_batch(starts, ends)` for the words of `text[range]`, in order:
/// word k is `text[starts[k]..ends[k]]`. Positions index `text` itself, so
/// bytes beyond `range.end` may be read by the callback (the word table
/// reads 16 bytes at each start when they exist) but never form words.
///
/// `text[range]` must already be lowercased when the caller wants
/// lowercased words; a word touching either end of the range is reported
/// as it is, so streaming callers must cut the range at separators.
#[inline]
pub(crate) fn scan_words(
    text: &[u8],
    range: std::ops::Range<usize>,
    tokenizer: Tokenizer,
    on_batch: impl FnMut(&[usize], &[usize]),
) {
    match tokenizer {
        Tokenizer::Whitespace => scan::<Whitespace>(text, range, on_batch),
        Tokenizer::Alnum => scan::<Alnum>(text, range, on_batch),
    }
}

/// The word-byte bitmask of a 64-byte block, for one tokenizer.
trait WordMask {
    /// Bit i is set when `block[i]` belongs to a word.
    fn word_mask(block: &[u8; BLOCK]) -> u64;
}

/// [`Tokenizer::Whitespace`]: every byte but the six ASCII whitespace bytes.
struct Whitespace;
/// [`Tokenizer::Alnum`]: ASCII letters and digits, and every byte >= 0x80.
struct Alnum;

#[cfg(target_arch = "x86_64")]
mod sse2 {
    //! SSE2 versions of the block classifiers. SSE2 is part of the x86_64
    //! baseline, so no runtime detection is needed.

    use core::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    use super::{Alnum, BLOCK, Whitespace, WordMask};

    /// Lanes of `v` in `lo..lo + len` (unsigned) set to 0xFF, others 0.
    ///
    /// Trick: adding `0x80 - lo` moves `lo..lo + len` to `0x80..0x80 + len`,
    /// the smallest signed bytes, so one signed compare against
    /// `-128 + len` tests the whole range; every other value wraps above it.
    #[inline(always)]
    fn in_range(v: __m128i, lo: u8, len: u8) -> __m128i {
        // SAFETY: SSE2 is always available on x86_64 (baseline feature);
        // these intrinsics only operate on registers.
        unsafe {
            let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80u8 + len) as i8))
        }
    }

    /// Applies `lanes` (a 0xFF/0x00 mask per byte) to the four 16-byte
    /// quarters of `block` and packs the 64 lane high bits into a `u64`.
    #[inline(always)]
    fn mask64(block: &[u8; BLOCK], lanes: impl Fn(__m128i) -> __m128i) -> u64 {
        let mut mask = 0u64;
        for (i, quarter) in block.chunks_exact(16).enumerate() {
            // SAFETY: `quarter` is 16 readable bytes (chunks_exact), which is
            // exactly what the unaligned load reads; SSE2 is baseline on x86_64.
            let bits =
                unsafe { _mm_movemask_epi8(lanes(_mm_loadu_si128(quarter.as_ptr().cast()))) };
            mask |= u64::from(bits as u16) << (16 * i);
        }
        mask
    }

    impl WordMask for Whitespace {
        #[inline(always)]
        fn word_mask(block: &[u8; BLOCK]) -> u64 {
            // Separators: ' ' or 9..=13 (\t \n \v \f \r).
            // SAFETY: SSE2 is baseline on x86_64; register-only intrinsics.
            !mask64(block, |v| unsafe {
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                    in_range(v, 9, 5),
                )
            })
        }
    }

    impl WordMask for Alnum {
        #[inline(always)]
        fn word_mask(block: &[u8; BLOCK]) -> u64 {
            mask64(block, |v| {
                // `v | 0x20` maps 'A'..='Z' onto 'a'..='z' and nothing else
                // into that range; the high bit of `v` itself marks bytes
                // >= 0x80 (movemask only looks at high bits).
                // SAFETY: SSE2 is baseline on x86_64; register-only intrinsics.
                unsafe {
                    let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
                    _mm_or_si128(_mm_or_si128(letter, in_range(v, b'0', 10)), v)
                }
            })
        }
    }
}

/// The portable classifier: one table lookup per byte. Used where SSE2 is
/// not available, and by the tests as the reference for the SSE2 version.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn table_mask(block: &[u8; BLOCK], tokenizer: Tokenizer) -> u64 {
    let class = tokenizer.word_bytes();
    block.iter().enumerate().fold(0, |mask, (i, &b)| {
        mask | (u64::from(class[usize::from(b)]) << i)
    })
}

#[cfg(not(target_arch = "x86_64"))]
impl WordMask for Whitespace {
    #[inline]
    fn word_mask(block: &[u8; BLOCK]) -> u64 {
        table_mask(block, Tokenizer::Whitespace)
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl WordMask for Alnum {
    #[inline]
    fn word_mask(block: &[u8; BLOCK]) -> u64 {
        table_mask(block, Tokenizer::Alnum)
    }
}

/// Word starts and ends found so far, not yet handed out. Invariant: every
/// end closes the start with the same index, so `starts` holds either as
/// many entries as `ends` or one more (a word still open).
struct Spans {
    starts: [usize; CAPACITY],
    ends: [usize; CAPACITY],
    open: usize,
    closed: usize,
}

impl Spans {
    /// Appends `base + i` to `out` for every set bit i of `bits`, lowest first.
    ///
    /// Writes eight positions per round whether or not that many bits are
    /// left (the extra ones are garbage past the new length, overwritten
    /// later), so the loop exit depends on the number of edges divided by
    /// eight, which a block rarely changes: far fewer mispredicted branches
    /// than one exit test per edge.
    #[inline(always)]
    fn push_bits(out: &mut [usize; CAPACITY], len: &mut usize, base: usize, mut bits: u64) {
        let count = bits.count_ones() as usize;
        // A block has at most BLOCK / 2 edges of one kind, and the caller
        // keeps `len <= BATCH` before a block, so this fits in CAPACITY.
        let out = &mut out[*len..*len + BLOCK / 2];
        for round in out.chunks_exact_mut(8) {
            for slot in round {
                // trailing_zeros of 0 is 64: a harmless garbage position.
                *slot = base + bits.trailing_zeros() as usize;
                bits &= bits.wrapping_sub(1); // clear the lowest set bit
            }
            if bits == 0 {
                break;
            }
        }
        *len += count;
    }

    /// Hands out the complete words and keeps an open one for later.
    #[inline]
    fn flush(&mut self, on_batch: &mut impl FnMut(&[usize], &[usize])) {
        let closed = self.closed;
        if closed > 0 {
            on_batch(&self.starts[..closed], &self.ends[..closed]);
        }
        if self.open > closed {
            self.starts[0] = self.starts[closed];
        }
        self.open -= closed;
        self.closed = 0;
    }
}

#[inline]
fn scan<M: WordMask>(
    text: &[u8],
    range: std::ops::Range<usize>,
    mut on_batch: impl FnMut(&[usize], &[usize]),
) {
    let mut spans = Spans {
        starts: [0; CAPACITY],
        ends: [0; CAPACITY],
        open: 0,
        closed: 0,
    };
    // 1 when the byte just before the current block belongs to a word.
    let mut carry = 0u64;
    let mut add_block = |spans: &mut Spans, base: usize, word: u64| {
        // Bit i of `after_word`: byte i - 1 belongs to a word.
        let after_word = (word << 1) | carry;
        carry = word >> 63;
        Spans::push_bits(&mut spans.starts, &mut spans.open, base, word & !after_word);
        Spans::push_bits(&mut spans.ends, &mut spans.closed, base, !word & after_word);
        if spans.closed >= BATCH {
            spans.flush(&mut on_batch);
        }
    };
    let body = &text[range.clone()];
    let mut blocks = body.chunks_exact(BLOCK);
    let mut base = range.start;
    for block in blocks.by_ref() {
        let block: &[u8; BLOCK] = block.try_into().expect("chunks_exact yields whole blocks");
        add_block(&mut spans, base, M::word_mask(block));
        base += BLOCK;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        // Pad the last partial block with a separator: a word running to
        // the end of the range then ends at `range.end`, and carry is 0.
        let mut block = [b' '; BLOCK];
        block[..tail.len()].copy_from_slice(tail);
        add_block(&mut spans, base, M::word_mask(&block));
    }
    if carry == 1 {
        // The range ends exactly at a block boundary, inside a word.
        spans.ends[spans.closed] = range.end;
        spans.closed += 1;
    }
    spans.flush(&mut on_batch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn sse2_masks_match_the_byte_tables_for_every_byte() {
        // Every byte value at every position of a block.
        for shift in 0..BLOCK {
            let mut block = [0u8; BLOCK];
            for (i, b) in block.iter_mut().enumerate() {
                *b = ((i + shift * 4) % 256) as u8;
            }
            for b in 0..=255u8 {
                block[shift] = b;
                assert_eq!(
                    Whitespace::word_mask(&block),
                    table_mask(&block, Tokenizer::Whitespace),
                    "byte {b:#x}"
                );
                assert_eq!(
                    Alnum::word_mask(&block),
                    table_mask(&block, Tokenizer::Alnum),
                    "byte {b:#x}"
                );
            }
        }
    }

    #[test]
    fn spans_cover_block_edges_and_batch_boundaries() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let len = rng.random_range(0..600);
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.random_range(0..3) == 0 {
                        b' '
                    } else {
                        b'x'
                    }
                })
                .collect();
            let from = rng.random_range(0..=len);
            let to = rng.random_range(from..=len);
            let mut got = Vec::new();
            scan_words(&text, from..to, Tokenizer::Whitespace, |starts, ends| {
                assert_eq!(starts.len(), ends.len());
                assert!(starts.len() <= CAPACITY);
                got.extend(starts.iter().zip(ends).map(|(&s, &e)| (s, e)));
            });
            let mut expected = Vec::new();
            let mut i = from;
            while i < to {
                if text[i] == b' ' {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < to && text[i] != b' ' {
                    i += 1;
                }
                expected.push((start, i));
            }
            assert_eq!(got, expected, "{from}..{to}");
        }
    }
}
