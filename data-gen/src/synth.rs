//! Synthetic pseudo-English text with Zipf-distributed word frequencies.
//!
//! A [`TextModel`] holds a deterministic vocabulary (real English function
//! words first, then words built from syllables, a few of them non-ASCII) and
//! a Zipf sampler over it. Writing streams tokens through a fixed-size buffer,
//! so memory stays bounded whatever the output size.

use std::collections::HashSet;
use std::io::{self, Write};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};

/// Largest synthetic vocabulary accepted (its tables then take about 30 MB).
pub const MAX_VOCABULARY: u32 = 1_000_000;

/// Zipf exponent `s` in `P(rank r) ~ 1 / r^s`; natural English text is near 1.
const ZIPF_EXPONENT: f64 = 1.07;
/// Seed of the vocabulary generator. The vocabulary depends only on its size,
/// so all files of a spec share it (and a larger vocabulary extends a smaller one).
const VOCABULARY_SEED: u64 = 0x7a1f_5eed_0fc0_de00;
/// Longest syllable-built word, in letters.
const MAX_WORD_LETTERS: usize = 14;
/// Room for one word in bytes (a syllable word may carry one 2-byte accent).
const WORD_SLOT: usize = 16;
/// Output is handed to the writer in chunks of about this size.
const CHUNK_BYTES: usize = 1 << 20;
/// Line lengths are drawn from this range (in bytes).
const LINE_MIN: usize = 60;
const LINE_MAX: usize = 80;
/// Sentence lengths are drawn from this range (in words).
const SENTENCE_MIN: u32 = 4;
const SENTENCE_MAX: u32 = 22;
/// After a sentence ends in a paragraph of at least this many lines, a new
/// paragraph starts with [`PARAGRAPH_BREAK_PROBABILITY`].
const PARAGRAPH_MIN_LINES: u32 = 2;
const PARAGRAPH_BREAK_PROBABILITY: f64 = 0.35;
/// Per-token probabilities out of 65536 (decided from 16-bit fields of one random word).
const CAPITALIZE_PER_65536: u64 = 2_000; // ~3% plus sentence starts: ~10% in all
const COMMA_PER_65536: u64 = 4_500; // ~7%
const SEMICOLON_PER_65536: u64 = 400; // ~0.6%
/// Fillers (used to hit an exact byte count) exist for these lengths.
const MAX_FILLER: usize = 12;

/// Frequent English words, in rough frequency order; they take the top ranks.
const COMMON_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "that", "it", "was", "he", "for", "on", "are", "as",
    "with", "his", "they", "i", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "an",
    "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out",
    "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into",
    "time", "has", "look", "two", "more", "go", "see", "no", "way", "could", "my", "than", "first",
    "been", "who", "its", "now", "people", "over", "down", "only", "did", "get", "come", "made",
    "may", "part", "upon", "little", "very", "after", "before", "where", "again", "never", "old",
    "man", "great", "good", "day", "long", "must", "know", "house",
];

/// Real loanwords with non-ASCII letters, placed at ranks [`LOANWORD_FIRST_RANK`],
/// `+ LOANWORD_RANK_STEP`, ... so UTF-8 shows up in every realistic file.
const LOANWORDS: &[&str] = &[
    "café",
    "naïve",
    "résumé",
    "façade",
    "déjà",
    "über",
    "jalapeño",
    "crème",
    "fiancé",
    "smörgåsbord",
    "piñata",
    "rôle",
];
const LOANWORD_FIRST_RANK: usize = 150;
const LOANWORD_RANK_STEP: usize = 200;
/// Share of syllable words that get one accented vowel.
const ACCENT_PROBABILITY: f64 = 0.01;

const ONSETS: &[&str] = &[
    "", "", "", "l", "n", "r", "s", "t", "m", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m",
    "n", "p", "r", "s", "t", "v", "w", "y", "z", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl",
    "gr", "pl", "pr", "qu", "sc", "sh", "sl", "sp", "st", "str", "th", "tr", "wh",
];
const VOWELS: &[&str] = &[
    "a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ee", "ie", "oo", "ou", "y",
];
const CODAS: &[&str] = &[
    "", "", "", "", "", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "nt", "rd", "st",
    "ck", "th", "rn",
];
const SUFFIXES: &[&str] = &[
    "ing", "ed", "ly", "er", "ness", "tion", "s", "est", "ful", "ish",
];
const SUFFIX_PROBABILITY: f64 = 0.15;

/// Writes synthetic text of exactly `bytes` bytes to `w`, deterministic from
/// `seed` and `vocabulary` (the number of distinct words, 1..=[`MAX_VOCABULARY`]).
///
/// The text is pseudo-English: Zipf-distributed words (exponent 1.07), about
/// 10% capitalized, some punctuation attached ("word," "word."), a few
/// non-ASCII words ("café"), single spaces, lines of 60-80 bytes and blank
/// lines between paragraphs. The vocabulary depends only on its size; the
/// seed picks the word sequence. Memory use is bounded (about 1 MiB of buffer
/// plus the vocabulary tables); `w` receives large chunks, so it need not be
/// buffered. Building the vocabulary takes a few milliseconds, so generating
/// many files is faster through [`crate::generate`].
pub fn write_synthetic<W: Write>(w: W, bytes: u64, seed: u64, vocabulary: u32) -> io::Result<()> {
    TextModel::new(vocabulary)?.write(w, bytes, seed)
}

/// What goes before a token.
#[derive(Clone, Copy)]
enum Separator {
    /// Nothing: the first token of the text.
    None,
    /// One space, within a line.
    Space,
    /// A newline: the token starts a new line.
    Line,
    /// A blank line: the token starts a new paragraph.
    Paragraph,
}

impl Separator {
    fn len(self) -> usize {
        match self {
            Separator::None => 0,
            Separator::Space | Separator::Line => 1,
            Separator::Paragraph => 2,
        }
    }
}

/// One vocabulary word, stored inline (no pointer to chase).
#[derive(Clone, Copy)]
struct Word {
    bytes: [u8; WORD_SLOT],
    len: u8,
}

impl Word {
    fn new(text: &[u8]) -> Self {
        let mut bytes = [0; WORD_SLOT];
        bytes[..text.len()].copy_from_slice(text);
        Self {
            bytes,
            len: text.len() as u8,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A vocabulary plus everything needed to write text from it quickly.
pub(crate) struct TextModel {
    /// Words by frequency rank (rank 0 is the most frequent).
    words: Vec<Word>,
    zipf: ZipfSampler,
    /// `fillers[n - 1]` is an ASCII word of exactly `n` bytes, for `n` in 1..=MAX_FILLER.
    fillers: Vec<Vec<u8>>,
}

impl TextModel {
    /// Builds the model for a vocabulary of `vocabulary` distinct words.
    pub(crate) fn new(vocabulary: u32) -> io::Result<Self> {
        if !(1..=MAX_VOCABULARY).contains(&vocabulary) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "vocabulary must be between 1 and {MAX_VOCABULARY} words, got {vocabulary}"
                ),
            ));
        }
        let words = build_vocabulary(vocabulary as usize);
        let fillers = build_fillers(&words);
        let zipf = ZipfSampler::new(words.len(), ZIPF_EXPONENT);
        Ok(Self {
            words,
            zipf,
            fillers,
        })
    }

    /// Writes exactly `bytes` bytes of text to `out`, deterministic from `seed`.
    pub(crate) fn write<W: Write>(&self, mut out: W, bytes: u64, seed: u64) -> io::Result<()> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut buf = Vec::with_capacity(CHUNK_BYTES + 2 * WORD_SLOT);
        // Bytes still to produce; one is kept in reserve for the final newline.
        let mut remaining = bytes;
        let mut line_len = 0usize;
        let mut line_target = rng.random_range(LINE_MIN..=LINE_MAX);
        let mut sentence_left = rng.random_range(SENTENCE_MIN..=SENTENCE_MAX);
        let mut sentence_start = true;
        let mut paragraph_lines = 0u32;
        let mut paragraph_break = false;

        loop {
            let word = &self.words[self.zipf.sample(rng.next_u64())];
            let dice = rng.next_u64();
            sentence_left -= 1;
            let capitalize = sentence_start || dice & 0xffff < CAPITALIZE_PER_65536;
            let punctuation = if sentence_left == 0 {
                Some(match (dice >> 16) & 0xff {
                    0..=11 => b'?',
                    12..=19 => b'!',
                    _ => b'.',
                })
            } else {
                match (dice >> 32) & 0xffff {
                    p if p < COMMA_PER_65536 => Some(b','),
                    p if p < COMMA_PER_65536 + SEMICOLON_PER_65536 => Some(b';'),
                    _ => None,
                }
            };
            let token_len = usize::from(word.len) + usize::from(punctuation.is_some());
            let separator = if line_len == 0 {
                Separator::None
            } else if paragraph_break {
                Separator::Paragraph
            } else if line_len + 1 + token_len > line_target {
                Separator::Line
            } else {
                Separator::Space
            };
            let needed = (separator.len() + token_len) as u64;
            if needed + 1 > remaining {
                self.finish(&mut buf, remaining, line_len == 0);
                break;
            }

            match separator {
                Separator::None => {}
                Separator::Space => buf.push(b' '),
                Separator::Line => buf.push(b'\n'),
                Separator::Paragraph => buf.extend_from_slice(b"\n\n"),
            }
            let start = buf.len();
            // Copying the whole fixed-size slot and cutting it back is faster
            // than a variable-length copy.
            buf.extend_from_slice(&word.bytes);
            buf.truncate(start + usize::from(word.len));
            if capitalize {
                buf[start].make_ascii_uppercase();
            }
            buf.extend(punctuation);
            remaining -= needed;

            if matches!(separator, Separator::None | Separator::Space) {
                line_len += separator.len() + token_len;
            } else {
                line_len = token_len;
                line_target = rng.random_range(LINE_MIN..=LINE_MAX);
                paragraph_lines = if paragraph_break {
                    0
                } else {
                    paragraph_lines + 1
                };
                paragraph_break = false;
            }
            sentence_start = sentence_left == 0;
            if sentence_start {
                sentence_left = rng.random_range(SENTENCE_MIN..=SENTENCE_MAX);
                paragraph_break = paragraph_lines >= PARAGRAPH_MIN_LINES
                    && rng.random_bool(PARAGRAPH_BREAK_PROBABILITY);
            }
            if buf.len() >= CHUNK_BYTES {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)?;
        out.flush()
    }

    /// Ends the text with exactly `gap` more bytes (ending in a newline when
    /// there is room for it), using filler words that fit exactly.
    fn finish(&self, buf: &mut Vec<u8>, gap: u64, at_text_start: bool) {
        // The main loop only stops when the next token does not fit, so `gap`
        // is below two word slots unless the text has just started.
        let gap = gap as usize;
        match (gap, at_text_start) {
            (0, _) => {}
            (1, true) => self.push_filler(buf, 1),
            (_, true) => {
                self.push_filler(buf, gap - 1);
                buf.push(b'\n');
            }
            (1, false) => buf.push(b'\n'),
            (2, false) => buf.extend_from_slice(b"\n\n"),
            (_, false) => {
                buf.push(b' ');
                self.push_filler(buf, gap - 2);
                buf.push(b'\n');
            }
        }
    }

    /// Appends exactly `len` bytes of space-separated ASCII words (`len >= 1`).
    fn push_filler(&self, buf: &mut Vec<u8>, mut len: usize) {
        const CHUNK_WORD: usize = 6;
        while len > MAX_FILLER {
            buf.extend_from_slice(&self.fillers[CHUNK_WORD - 1]);
            buf.push(b' ');
            len -= CHUNK_WORD + 1;
        }
        buf.extend_from_slice(&self.fillers[len - 1]);
    }
}

/// Builds `count` distinct words by rank: common English words, loanwords at
/// fixed ranks, and syllable words that tend to get longer with rank.
fn build_vocabulary(count: usize) -> Vec<Word> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(VOCABULARY_SEED);
    // Words are NUL-free, so their zero-padded slots are as distinct as they are.
    let mut seen: HashSet<[u8; WORD_SLOT]> = COMMON_WORDS
        .iter()
        .chain(LOANWORDS)
        .map(|word| Word::new(word.as_bytes()).bytes)
        .collect();
    let mut words: Vec<Word> = COMMON_WORDS
        .iter()
        .take(count)
        .map(|w| Word::new(w.as_bytes()))
        .collect();
    while words.len() < count {
        let rank = words.len();
        let loanword = rank
            .checked_sub(LOANWORD_FIRST_RANK)
            .filter(|offset| offset % LOANWORD_RANK_STEP == 0)
            .and_then(|offset| LOANWORDS.get(offset / LOANWORD_RANK_STEP));
        if let Some(loanword) = loanword {
            words.push(Word::new(loanword.as_bytes()));
            continue;
        }
        let word = loop {
            let candidate = Word::new(&syllable_word(&mut rng, rank));
            if seen.insert(candidate.bytes) {
                break candidate;
            }
        };
        words.push(word);
    }
    words
}

/// One pseudo-English word of at most [`MAX_WORD_LETTERS`] letters.
fn syllable_word(rng: &mut Xoshiro256PlusPlus, rank: usize) -> Vec<u8> {
    // Frequent words are short (1-2 syllables); rarer ones have up to 3.
    let max_syllables = if rank < 32 { 2 } else { 3 };
    loop {
        let mut word = Vec::with_capacity(WORD_SLOT);
        for _ in 0..rng.random_range(1..=max_syllables) {
            for part in [ONSETS, VOWELS, CODAS] {
                word.extend_from_slice(part[rng.random_range(0..part.len())].as_bytes());
            }
        }
        if rng.random_bool(SUFFIX_PROBABILITY) {
            word.extend_from_slice(SUFFIXES[rng.random_range(0..SUFFIXES.len())].as_bytes());
        }
        if word.len() > MAX_WORD_LETTERS {
            continue;
        }
        if rng.random_bool(ACCENT_PROBABILITY) {
            accent_first_vowel(&mut word);
        }
        return word;
    }
}

/// Replaces the first plain vowel with an accented one (2 bytes in UTF-8).
fn accent_first_vowel(word: &mut Vec<u8>) {
    let accented = |vowel: u8| match vowel {
        b'a' => Some("à"),
        b'e' => Some("é"),
        b'i' => Some("ï"),
        b'o' => Some("ö"),
        b'u' => Some("ü"),
        _ => None,
    };
    if let Some((at, replacement)) = word
        .iter()
        .enumerate()
        .find_map(|(i, &b)| accented(b).map(|r| (i, r)))
    {
        word.splice(at..=at, replacement.bytes());
    }
}

/// For each length 1..=MAX_FILLER, the most frequent ASCII word of exactly that
/// length; a missing length is cut from the most frequent longer ASCII word
/// (or, in tiny vocabularies, repeats the top word).
fn build_fillers(words: &[Word]) -> Vec<Vec<u8>> {
    let ascii = || words.iter().map(Word::as_bytes).filter(|w| w.is_ascii());
    (1..=MAX_FILLER)
        .map(|len| {
            ascii()
                .find(|w| w.len() == len)
                .or_else(|| ascii().find(|w| w.len() > len).map(|w| &w[..len]))
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| {
                    // Tiny vocabularies only: repeat the top word ("thethe...").
                    let top = ascii().next().unwrap_or(b"the");
                    top.iter().copied().cycle().take(len).collect()
                })
        })
        .collect()
}

/// Samples ranks from a Zipf distribution in O(1) expected time: a cumulative
/// table scaled to `u64`, plus a guide table that maps the top bits of a
/// random number to a short range of that table.
struct ZipfSampler {
    /// `cumulative[i]` = P(rank <= i) * 2^64, saturating; the last entry is `u64::MAX`.
    cumulative: Vec<u64>,
    /// `guide[b]` = first rank whose cumulative value exceeds `b << shift`;
    /// `guide[len - 1]` = last rank.
    guide: Vec<u32>,
    shift: u32,
}

impl ZipfSampler {
    fn new(ranks: usize, exponent: f64) -> Self {
        let weights: Vec<f64> = (1..=ranks).map(|r| (r as f64).powf(-exponent)).collect();
        let total: f64 = weights.iter().sum();
        let scale = 2f64.powi(64);
        let mut running = 0.0;
        let mut cumulative: Vec<u64> = weights
            .iter()
            .map(|w| {
                running += w;
                // `as` saturates at u64::MAX, which is what we want at the top.
                (running / total * scale) as u64
            })
            .collect();
        if let Some(last) = cumulative.last_mut() {
            *last = u64::MAX;
        }

        let bits = ranks.next_power_of_two().ilog2().clamp(8, 22);
        let shift = 64 - bits;
        let mut guide = Vec::with_capacity((1 << bits) + 1);
        let mut rank = 0usize;
        for bucket in 0..1u64 << bits {
            let start = bucket << shift;
            while rank + 1 < ranks && cumulative[rank] <= start {
                rank += 1;
            }
            guide.push(rank as u32);
        }
        guide.push((ranks - 1) as u32);
        Self {
            cumulative,
            guide,
            shift,
        }
    }

    /// The rank for a uniformly random `r`: the first with `cumulative > r`.
    #[inline]
    fn sample(&self, r: u64) -> usize {
        let bucket = (r >> self.shift) as usize;
        let low = self.guide[bucket] as usize;
        let high = self.guide[bucket + 1] as usize;
        low + self.cumulative[low..high].partition_point(|&c| c <= r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn text(model: &TextModel, bytes: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        model
            .write(&mut out, bytes, seed)
            .expect("writing to a Vec cannot fail");
        out
    }

    #[test]
    fn writes_exact_byte_counts_as_valid_utf8() {
        let model = TextModel::new(2_000).expect("valid vocabulary");
        for bytes in (0..400).chain([1_000, 4_096, 10_000, 65_537]) {
            let out = text(&model, bytes, bytes);
            assert_eq!(out.len() as u64, bytes);
            let out = std::str::from_utf8(&out).expect("valid UTF-8");
            if bytes >= 2 {
                assert!(out.ends_with('\n'), "{bytes}: {out:?}");
            }
            if bytes >= 1 {
                assert!(!out.starts_with(char::is_whitespace), "{bytes}: {out:?}");
            }
        }
    }

    #[test]
    fn text_has_lines_paragraphs_capitals_and_punctuation() {
        let model = TextModel::new(50_000).expect("valid vocabulary");
        let out = String::from_utf8(text(&model, 200_000, 7)).expect("valid UTF-8");
        let lines: Vec<&str> = out.lines().collect();
        let long = lines.iter().filter(|l| l.len() > LINE_MAX).count();
        assert!(long <= 1, "only the final filler may stretch a line");
        let full: Vec<usize> = lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| l.len())
            .collect();
        let mean = full.iter().sum::<usize>() / full.len();
        assert!((55..=80).contains(&mean), "mean line length {mean}");
        assert!(out.contains("\n\n"), "paragraphs");
        assert!(!out.contains("  ") && !out.contains("\n\n\n"));

        let tokens: Vec<&str> = out.split_ascii_whitespace().collect();
        let share = |pred: &dyn Fn(&str) -> bool| {
            tokens.iter().filter(|t| pred(t)).count() as f64 / tokens.len() as f64
        };
        let capitalized = share(&|t| t.starts_with(|c: char| c.is_ascii_uppercase()));
        assert!(
            (0.06..0.15).contains(&capitalized),
            "capitalized {capitalized}"
        );
        let punctuated = share(&|t| t.ends_with([',', '.', ';', '?', '!']));
        assert!(
            (0.05..0.25).contains(&punctuated),
            "punctuated {punctuated}"
        );
        let non_ascii = share(&|t| !t.is_ascii());
        assert!((0.0005..0.05).contains(&non_ascii), "non-ASCII {non_ascii}");
        assert!(
            tokens
                .iter()
                .all(|t| t.chars().count() <= MAX_WORD_LETTERS + 1)
        );
    }

    #[test]
    fn vocabulary_is_distinct_deterministic_and_nested() {
        let small = build_vocabulary(3_000);
        let large = build_vocabulary(20_000);
        let distinct: HashSet<&[u8]> = large.iter().map(Word::as_bytes).collect();
        assert_eq!(distinct.len(), large.len());
        assert!(
            small
                .iter()
                .zip(&large)
                .all(|(a, b)| a.as_bytes() == b.as_bytes())
        );
        assert!(
            large
                .iter()
                .all(|w| !w.as_bytes().is_empty() && w.as_bytes().len() < WORD_SLOT)
        );
        assert!(large.iter().any(|w| w.as_bytes() == "café".as_bytes()));
        assert!(large.iter().filter(|w| !w.as_bytes().is_ascii()).count() > LOANWORDS.len());
    }

    #[test]
    fn tiny_vocabularies_still_hit_exact_sizes() {
        for vocabulary in [1, 2, 5] {
            let model = TextModel::new(vocabulary).expect("valid vocabulary");
            for bytes in [1, 2, 3, 17, 100, 1_000] {
                assert_eq!(text(&model, bytes, 1).len() as u64, bytes);
            }
        }
        assert!(TextModel::new(0).is_err());
        assert!(TextModel::new(MAX_VOCABULARY + 1).is_err());
    }

    #[test]
    fn word_frequencies_are_zipf_skewed() {
        let model = TextModel::new(50_000).expect("valid vocabulary");
        let out = text(&model, 300_000, 3);
        let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
        for word in out.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty()) {
            *counts.entry(word.to_ascii_lowercase()).or_default() += 1;
        }
        let mut frequencies: Vec<u64> = counts.into_values().collect();
        frequencies.sort_unstable_by(|a, b| b.cmp(a));
        let top = frequencies[0];
        let median = frequencies[frequencies.len() / 2];
        assert!(top >= 100 * median, "top {top} vs median {median}");
    }

    #[test]
    fn zipf_sampler_matches_a_linear_search() {
        let sampler = ZipfSampler::new(1_000, ZIPF_EXPONENT);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let probes = (0..10_000)
            .map(|_| rng.next_u64())
            .chain([0, 1, u64::MAX - 1, u64::MAX]);
        for r in probes {
            let expected = sampler
                .cumulative
                .iter()
                .position(|&c| c > r)
                .unwrap_or(999);
            assert_eq!(sampler.sample(r), expected, "r = {r}");
        }
        let single = ZipfSampler::new(1, ZIPF_EXPONENT);
        assert_eq!(single.sample(u64::MAX), 0);
    }

    /// Generation speed; run with
    /// `cargo test -p data-gen --release -- --ignored --nocapture throughput`.
    #[test]
    #[ignore = "release-mode measurement: generates 1 GiB into a sink"]
    fn throughput() {
        let model = TextModel::new(crate::DEFAULT_VOCABULARY).expect("valid vocabulary");
        let bytes = 1u64 << 30;
        let start = std::time::Instant::now();
        model
            .write(io::sink(), bytes, 1)
            .expect("writing to a sink cannot fail");
        let seconds = start.elapsed().as_secs_f64();
        eprintln!(
            "synthetic text: {:.0} MB/s ({bytes} bytes in {seconds:.2} s)",
            bytes as f64 / 1e6 / seconds
        );
    }
}
