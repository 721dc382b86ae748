//! The word-count map: counting a stream, merging partial maps, the output
//! order, and a compact binary encoding for sending counts between
//! processes.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::BorrowedFd;

use super::scan::scan_words;
use super::slots::SharedFile;
use super::table::{TableSeeds, WordTable};
use super::tokenize::{Tokenizer, complete_prefix_len};

/// Size of the read buffer used when streaming a file.
pub const DEFAULT_CHUNK_BYTES: usize = 256 * 1024;

/// Bytes kept after the data in the streaming buffer, never read into, so
/// that 16 bytes can be loaded at any word start (see `WordTable::add_spans`).
const SLACK: usize = 16;

/// The UTF-8 byte-order mark skipped at the start of a file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How many words, and how many bytes, a count has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Bytes read (including separators and any skipped BOM).
    pub bytes: u64,
    /// Word occurrences counted.
    pub words: u64,
}

impl Tally {
    /// Adds another tally to this one.
    pub(crate) fn add(&mut self, other: Tally) {
        self.bytes += other.bytes;
        self.words += other.words;
    }
}

/// Counts of words (raw bytes, already lowercased) to occurrences.
#[derive(Debug, Clone, Default)]
pub struct WordCounts {
    table: WordTable,
}

impl PartialEq for WordCounts {
    fn eq(&self, other: &Self) -> bool {
        self.distinct() == other.distinct()
            && self
                .iter()
                .all(|(word, count)| other.table.get(word) == Some(count))
    }
}

impl Eq for WordCounts {}

impl WordCounts {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map hashing with `seeds` (see [`TableSeeds`]).
    pub fn with_seeds(seeds: TableSeeds) -> Self {
        WordCounts {
            table: WordTable::with_seeds(seeds),
        }
    }

    /// Adds `count` occurrences of `word`.
    #[inline]
    pub fn add(&mut self, word: &[u8], count: u64) {
        self.table.add(word, count);
    }

    /// The count of `word` (0 when absent).
    pub fn get(&self, word: &[u8]) -> u64 {
        self.table.get(word).unwrap_or(0)
    }

    /// Number of distinct words.
    pub fn distinct(&self) -> usize {
        self.table.len()
    }

    /// Sum of all counts.
    pub(crate) fn total(&self) -> u64 {
        self.iter().map(|(_, count)| count).sum()
    }

    /// True when no word was counted.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Iterates over (word, count) in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.table.iter()
    }

    /// Adds every count of `other` into this map, consuming `other`.
    ///
    /// The larger map is kept and the smaller one folded in, so merging p
    /// partial maps costs the size of the smaller ones.
    pub fn merge(&mut self, mut other: WordCounts) {
        if other.distinct() > self.distinct() {
            std::mem::swap(&mut self.table, &mut other.table);
        }
        self.table.merge_from(&other.table);
    }

    /// Counts the words of `text`, which must be complete words (cut at a
    /// separator) and is lowercased in place.
    #[inline]
    #[cfg(test)]
    pub(crate) fn count_text(&mut self, text: &mut [u8], tokenizer: Tokenizer) -> u64 {
        text.make_ascii_lowercase();
        self.count_lowercased(text, 0..text.len(), tokenizer)
    }

    /// Counts the words of `text[range]`, which must be lowercased complete
    /// words; bytes of `text` after the range may be read but are not counted.
    #[inline]
    fn count_lowercased(
        &mut self,
        text: &[u8],
        range: std::ops::Range<usize>,
        tokenizer: Tokenizer,
    ) -> u64 {
        let mut words = 0;
        scan_words(text, range, tokenizer, |starts, ends| {
            words += starts.len() as u64;
            self.table.add_spans(text, starts, ends);
        });
        words
    }

    /// Streams `reader` to its end in chunks of `chunk_bytes`, counting every
    /// word, including words that straddle chunk boundaries. When
    /// `at_file_start` is true a leading UTF-8 BOM is skipped.
    ///
    /// Memory stays bounded by the longest word: the buffer only grows when
    /// a single word is longer than it.
    pub fn count_reader<R: Read>(
        &mut self,
        mut reader: R,
        tokenizer: Tokenizer,
        at_file_start: bool,
        chunk_bytes: usize,
    ) -> io::Result<Tally> {
        let class = tokenizer.word_bytes();
        // Data goes in `buffer[..capacity]`; `SLACK` bytes follow.
        let mut capacity = chunk_bytes.max(1);
        let mut buffer = vec![0u8; capacity + SLACK];
        // Bytes at the front of `buffer` that are the start of an unfinished word.
        let mut carried = 0usize;
        let mut tally = Tally::default();
        let mut bom_checked = !at_file_start;
        loop {
            if carried == capacity {
                // One word fills the whole buffer: grow it to keep the word whole.
                capacity *= 2;
                buffer.resize(capacity + SLACK, 0);
            }
            let read = match reader.read(&mut buffer[carried..capacity]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            tally.bytes += read as u64;
            let mut start = 0;
            let filled = carried + read;
            if !bom_checked {
                if filled < UTF8_BOM.len() && UTF8_BOM.starts_with(&buffer[..filled]) {
                    carried = filled;
                    continue;
                }
                bom_checked = true;
                if buffer[..filled].starts_with(UTF8_BOM) {
                    start = UTF8_BOM.len();
                }
            }
            // The carried bytes hold no separator, so only the new bytes are searched.
            let search_from = start.max(carried);
            let complete = match complete_prefix_len(&buffer[search_from..filled], class) {
                0 => start,
                len => search_from + len,
            };
            buffer[start..complete].make_ascii_lowercase();
            tally.words += self.count_lowercased(&buffer, start..complete, tokenizer);
            buffer.copy_within(complete..filled, 0);
            carried = filled - complete;
        }
        let mut start = 0;
        if !bom_checked && buffer[..carried].starts_with(UTF8_BOM) {
            start = UTF8_BOM.len();
        }
        buffer[start..carried].make_ascii_lowercase();
        tally.words += self.count_lowercased(&buffer, start..carried, tokenizer);
        Ok(tally)
    }

    /// All (word, count) pairs in output order: count descending, then word
    /// ascending (bytewise).
    pub fn sorted(&self) -> Vec<(&[u8], u64)> {
        let mut entries: Vec<(&[u8], u64)> = self.iter().collect();
        entries.sort_unstable_by(|a, b| output_order(*a, *b));
        entries
    }

    /// The `k` first entries in output order, without sorting everything.
    pub(crate) fn top(&self, k: usize) -> Vec<(&[u8], u64)> {
        /// An entry ranked by output order: the heap's greatest is the
        /// worst of the entries kept.
        struct Ranked<'a>((&'a [u8], u64));
        impl PartialEq for Ranked<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other).is_eq()
            }
        }
        impl Eq for Ranked<'_> {}
        impl PartialOrd for Ranked<'_> {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Ranked<'_> {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                output_order(self.0, other.0)
            }
        }
        // One pass keeping the best k in a heap: no copy of the whole map.
        let mut kept: std::collections::BinaryHeap<Ranked> =
            std::collections::BinaryHeap::with_capacity(k.min(self.distinct()) + 1);
        for entry in self.iter() {
            if kept.len() < k {
                kept.push(Ranked(entry));
            } else if let Some(mut worst) = kept.peek_mut()
                && output_order(entry, worst.0).is_lt()
            {
                *worst = Ranked(entry);
            }
        }
        kept.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }

    /// Writes every count as `word<TAB>count\n` in output order, words as
    /// their raw bytes.
    pub(crate) fn write_tsv<W: Write>(&self, mut out: W) -> io::Result<()> {
        let mut line = Vec::with_capacity(64);
        for (word, count) in self.sorted() {
            line.clear();
            line.extend_from_slice(word);
            line.push(b'\t');
            line.extend_from_slice(count.to_string().as_bytes());
            line.push(b'\n');
            out.write_all(&line)?;
        }
        out.flush()
    }

    /// Writes the map in the binary encoding read by [`WordCounts::read_binary`]:
    /// per entry a little-endian u32 length, the word, a little-endian u64
    /// count; then the u32 `END_OF_COUNTS` marker.
    pub fn write_binary<W: Write>(&self, mut out: W) -> io::Result<()> {
        for (word, count) in self.iter() {
            let len = u32::try_from(word.len())
                .ok()
                .filter(|&len| len != END_OF_COUNTS)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a word of 4 GiB or more cannot be sent",
                    )
                })?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(word)?;
            out.write_all(&count.to_le_bytes())?;
        }
        out.write_all(&END_OF_COUNTS.to_le_bytes())?;
        out.flush()
    }

    /// Forgets every word but keeps the memory, so counting unit after unit
    /// does not grow a table from scratch each time.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
    }

    /// From now on, keeps the map's large arrays in `file`, a shared-memory
    /// file the receiving process also holds, so [`WordCounts::write_handoff`]
    /// sends only where they are (a `processes`-mode worker does this).
    pub(crate) fn share_through(&mut self, file: SharedFile) {
        self.table.share_through(file);
    }

    /// Hands the map whole, as it is in memory, to [`WordCounts::read_handoff`]
    /// (no per-word work on either side; used between local processes of
    /// the same binary, not as a storage format).
    pub(crate) fn write_handoff<W: Write>(&self, mut out: W) -> io::Result<()> {
        self.table.write_handoff(&mut out)?;
        out.flush()
    }

    /// Reads a map written by [`WordCounts::write_handoff`], mapping its
    /// slots from `shared_file` when the writer kept them there;
    /// `InvalidData` or `UnexpectedEof` when the stream is not one whole map.
    pub(crate) fn read_handoff<R: Read>(
        mut input: R,
        shared_file: Option<BorrowedFd<'_>>,
    ) -> io::Result<WordCounts> {
        Ok(WordCounts {
            table: WordTable::read_handoff(&mut input, shared_file)?,
        })
    }

    /// Reads entries written by [`WordCounts::write_binary`] and adds them to
    /// this map. Fails with `InvalidData`/`UnexpectedEof` on a truncated or
    /// corrupt stream (e.g. the sender crashed).
    pub fn read_binary<R: BufRead>(&mut self, mut input: R) -> io::Result<()> {
        let mut word = Vec::new();
        loop {
            let mut len_bytes = [0u8; 4];
            input.read_exact(&mut len_bytes)?;
            let len = u32::from_le_bytes(len_bytes);
            if len == END_OF_COUNTS {
                return Ok(());
            }
            word.resize(len as usize, 0);
            input.read_exact(&mut word)?;
            let mut count_bytes = [0u8; 8];
            input.read_exact(&mut count_bytes)?;
            self.add(&word, u64::from_le_bytes(count_bytes));
        }
    }
}

/// Marks the end of a binary-encoded count map.
pub const END_OF_COUNTS: u32 = u32::MAX;

/// The output order: count descending, then word ascending (bytewise).
#[inline]
pub fn output_order(a: (&[u8], u64), b: (&[u8], u64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent, obviously-correct reference: split the whole input at
    /// once, the slow way.
    fn reference(input: &[u8]) -> std::collections::BTreeMap<Vec<u8>, u64> {
        let body = input.strip_prefix(UTF8_BOM).unwrap_or(input);
        let mut map = std::collections::BTreeMap::new();
        for word in body.split(|b| b" \t\n\x0b\x0c\r".contains(b)) {
            if !word.is_empty() {
                *map.entry(word.to_ascii_lowercase()).or_insert(0) += 1;
            }
        }
        map
    }

    /// The same reference for the alnum tokenizer.
    fn alnum_reference(input: &[u8]) -> std::collections::BTreeMap<Vec<u8>, u64> {
        let body = input.strip_prefix(UTF8_BOM).unwrap_or(input);
        let mut map = std::collections::BTreeMap::new();
        for word in body.split(|&b| !(b.is_ascii_alphanumeric() || b >= 0x80)) {
            if !word.is_empty() {
                *map.entry(word.to_ascii_lowercase()).or_insert(0) += 1;
            }
        }
        map
    }

    fn as_btree(counts: &WordCounts) -> std::collections::BTreeMap<Vec<u8>, u64> {
        counts.iter().map(|(w, c)| (w.to_vec(), c)).collect()
    }

    fn tricky_input() -> Vec<u8> {
        let mut text = Vec::new();
        text.extend_from_slice(UTF8_BOM);
        text.extend_from_slice(b"The the THE, the\r\nCaf\xC3\xA9 caf\xC3\xA9\tA\x0bb\x0cc\r\n\r\n");
        text.extend_from_slice(b"\xff\xfe\x00binary\x00 \x80\x81 z");
        text.extend_from_slice(&b"longword".repeat(50));
        text.extend_from_slice(b" end-without-newline");
        text
    }

    #[test]
    fn every_chunk_size_matches_the_reference() {
        let input = tricky_input();
        let expected = reference(&input);
        for chunk in 1..=input.len() + 1 {
            let mut counts = WordCounts::new();
            let tally = counts
                .count_reader(&input[..], Tokenizer::Whitespace, true, chunk)
                .unwrap();
            assert_eq!(as_btree(&counts), expected, "chunk size {chunk}");
            assert_eq!(tally.bytes, input.len() as u64);
            assert_eq!(tally.words, expected.values().sum::<u64>());
        }
    }

    /// Random text biased toward the edge cases: every separator, bytes at
    /// the edges of the alnum ranges, non-ASCII, and word lengths around 0,
    /// the 15/16 inline limit and the 64-byte block size.
    fn random_input(rng: &mut impl rand::RngExt) -> Vec<u8> {
        const SEPARATORS: &[u8] = b" \t\n\x0b\x0c\r";
        const EDGES: &[u8] = b"AZaz09@[`{/:\x00\x08\x0e\x1f\x7f\x80\xbf\xc3\xef\xbb\xff-'.";
        let mut text = Vec::new();
        if rng.random_range(0..4) == 0 {
            text.extend_from_slice(UTF8_BOM);
        }
        for _ in 0..rng.random_range(0..120) {
            for _ in 0..rng.random_range(0..4) {
                text.push(SEPARATORS[rng.random_range(0..SEPARATORS.len())]);
            }
            let len = match rng.random_range(0..4) {
                0 => rng.random_range(0..20),
                1 => rng.random_range(14..18),
                2 => rng.random_range(60..70),
                _ => rng.random_range(1..8),
            };
            for _ in 0..len {
                text.push(match rng.random_range(0..4) {
                    0 => EDGES[rng.random_range(0..EDGES.len())],
                    1 => rng.random_range(0..=255),
                    _ => rng.random_range(b'a'..=b'z'),
                });
            }
        }
        text
    }

    #[test]
    fn random_inputs_match_the_references_for_both_tokenizers() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x00c0_ffee);
        for case in 0..400 {
            let input = random_input(&mut rng);
            for (tokenizer, expected) in [
                (Tokenizer::Whitespace, reference(&input)),
                (Tokenizer::Alnum, alnum_reference(&input)),
            ] {
                for chunk in [1, 2, 3, 15, 16, 17, 63, 64, 65, 200, input.len() + 1] {
                    let mut counts = WordCounts::new();
                    let tally = counts
                        .count_reader(&input[..], tokenizer, true, chunk)
                        .unwrap();
                    assert_eq!(
                        as_btree(&counts),
                        expected,
                        "case {case}, {tokenizer}, chunk {chunk}, input {input:?}"
                    );
                    assert_eq!(tally.words, expected.values().sum::<u64>());
                    assert_eq!(tally.bytes, input.len() as u64);
                }
                let mut text = input.clone();
                let mut counts = WordCounts::new();
                let body = if text.starts_with(UTF8_BOM) {
                    &mut text[UTF8_BOM.len()..]
                } else {
                    &mut text[..]
                };
                counts.count_text(body, tokenizer);
                assert_eq!(
                    as_btree(&counts),
                    expected,
                    "case {case}, {tokenizer}, count_text"
                );
            }
        }
    }

    #[test]
    fn bom_is_skipped_only_at_file_start() {
        let input = b"\xEF\xBB\xBFword";
        let mut at_start = WordCounts::new();
        at_start
            .count_reader(&input[..], Tokenizer::Whitespace, true, 2)
            .unwrap();
        assert_eq!(at_start.get(b"word"), 1);
        let mut mid_file = WordCounts::new();
        mid_file
            .count_reader(&input[..], Tokenizer::Whitespace, false, 2)
            .unwrap();
        assert_eq!(mid_file.get(b"\xEF\xBB\xBFword"), 1);
    }

    #[test]
    fn a_lone_bom_or_empty_input_counts_nothing() {
        for input in [
            &b""[..],
            &b"\xEF\xBB\xBF"[..],
            &b"\xEF\xBB"[..],
            &b" \r\n "[..],
        ] {
            let mut counts = WordCounts::new();
            counts
                .count_reader(input, Tokenizer::Whitespace, true, 1)
                .unwrap();
            let expected = reference(input);
            assert_eq!(as_btree(&counts), expected, "{input:?}");
        }
    }

    #[test]
    fn output_order_is_count_desc_then_bytes_asc() {
        let mut counts = WordCounts::new();
        for (w, c) in [
            (&b"b"[..], 2),
            (b"a", 2),
            (b"\xff", 5),
            (b"c", 1),
            (b"A", 2),
        ] {
            counts.add(w, c);
        }
        let sorted: Vec<_> = counts
            .sorted()
            .into_iter()
            .map(|(w, c)| (w.to_vec(), c))
            .collect();
        assert_eq!(
            sorted,
            vec![
                (b"\xff".to_vec(), 5),
                (b"A".to_vec(), 2),
                (b"a".to_vec(), 2),
                (b"b".to_vec(), 2),
                (b"c".to_vec(), 1)
            ]
        );
        assert_eq!(counts.top(2), counts.sorted()[..2].to_vec());
        assert_eq!(counts.top(99), counts.sorted());
        assert!(counts.top(0).is_empty());
        let mut ties = WordCounts::new();
        for (i, word) in [&b"d"[..], b"b", b"a", b"c", b"e"].iter().enumerate() {
            ties.add(word, 1 + (i as u64 % 2));
        }
        for k in 0..7 {
            assert_eq!(ties.top(k), ties.sorted()[..k.min(5)].to_vec(), "k = {k}");
        }
    }

    #[test]
    fn merge_adds_counts_whichever_side_is_bigger() {
        let mut small = WordCounts::new();
        small.add(b"x", 1);
        let mut big = WordCounts::new();
        for w in [&b"x"[..], b"y", b"z"] {
            big.add(w, 10);
        }
        let mut left = small.clone();
        left.merge(big.clone());
        let mut right = big;
        right.merge(small);
        assert_eq!(left, right);
        assert_eq!(left.get(b"x"), 11);
        assert_eq!(left.total(), 31);
    }

    #[test]
    fn binary_encoding_round_trips_and_detects_truncation() {
        let mut counts = WordCounts::new();
        counts
            .count_reader(&tricky_input()[..], Tokenizer::Whitespace, true, 7)
            .unwrap();
        let mut bytes = Vec::new();
        counts.write_binary(&mut bytes).unwrap();
        let mut back = WordCounts::new();
        back.read_binary(&bytes[..]).unwrap();
        assert_eq!(back, counts);
        let mut truncated = WordCounts::new();
        assert!(truncated.read_binary(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn tsv_has_raw_bytes_and_output_order() {
        let mut counts = WordCounts::new();
        counts
            .count_reader(&b"b a b \xe9"[..], Tokenizer::Whitespace, true, 3)
            .unwrap();
        let mut out = Vec::new();
        counts.write_tsv(&mut out).unwrap();
        assert_eq!(out, b"b\t2\na\t1\n\xe9\t1\n");
    }
}
