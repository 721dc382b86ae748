//! Byte classes of the two tokenizers and splitting a buffer into words
//! (the fast scanner itself is in `scan`).

use super::scan::scan_words;

/// Which bytes form words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tokenizer {
    /// A word is a maximal run of bytes that are not ASCII whitespace
    /// (space, \t, \n, \v, \f, \r). The default; the countwords definition.
    #[default]
    Whitespace,
    /// A word is a maximal run of ASCII letters, ASCII digits and non-ASCII
    /// bytes; every other ASCII byte separates words.
    Alnum,
}

impl Tokenizer {
    /// The name used on the command line and in CSV files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tokenizer::Whitespace => "whitespace",
            Tokenizer::Alnum => "alnum",
        }
    }

    /// Parses a name as written by [`Tokenizer::name`].
    #[cfg(test)]
    pub(crate) fn from_name(name: &str) -> Option<Tokenizer> {
        match name {
            "whitespace" => Some(Tokenizer::Whitespace),
            "alnum" => Some(Tokenizer::Alnum),
            _ => None,
        }
    }

    /// The table telling, per byte value, whether that byte belongs to a word.
    pub(crate) fn word_bytes(self) -> &'static ByteClass {
        match self {
            Tokenizer::Whitespace => &WHITESPACE_WORDS,
            Tokenizer::Alnum => &ALNUM_WORDS,
        }
    }
}

impl std::fmt::Display for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A 256-entry table: `true` where the byte is part of a word.
pub type ByteClass = [bool; 256];

/// True for the six ASCII whitespace bytes of the word definition.
pub const fn is_separator_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

const fn whitespace_table() -> ByteClass {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = !is_separator_whitespace(b as u8);
        b += 1;
    }
    table
}

const fn alnum_table() -> ByteClass {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte >= 0x80;
        b += 1;
    }
    table
}

static WHITESPACE_WORDS: ByteClass = whitespace_table();
static ALNUM_WORDS: ByteClass = alnum_table();

/// Calls `on_word` for every word of `text`, in order.
///
/// Words are the maximal runs of bytes that `tokenizer` puts in words
/// (those marked `true` in [`Tokenizer::word_bytes`]), reported exactly as
/// they appear (lowercase `text` first to get lowercased words). A word
/// touching either end of `text` is reported as it is, so callers that
/// stream must cut `text` at a separator.
#[inline]
pub fn for_each_word(text: &[u8], tokenizer: Tokenizer, mut on_word: impl FnMut(&[u8])) {
    scan_words(text, 0..text.len(), tokenizer, |starts, ends| {
        for (&start, &end) in starts.iter().zip(ends) {
            on_word(&text[start..end]);
        }
    });
}

/// Index just past the last separator byte of `text` (0 when there is none).
///
/// Everything before it is made of complete words; what follows may be the
/// first part of a word that continues in the next chunk.
#[inline]
pub fn complete_prefix_len(text: &[u8], class: &ByteClass) -> usize {
    text.iter()
        .rposition(|&b| !class[b as usize])
        .map_or(0, |last_separator| last_separator + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[u8], tokenizer: Tokenizer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_word(text, tokenizer, |w| out.push(w.to_vec()));
        out
    }

    #[test]
    fn whitespace_splits_on_all_six_ascii_whitespace_bytes() {
        let text = b"a b\tc\nd\x0be\x0cf\rg";
        let got = words(text, Tokenizer::Whitespace);
        assert_eq!(
            got,
            vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"c".to_vec(),
                b"d".to_vec(),
                b"e".to_vec(),
                b"f".to_vec(),
                b"g".to_vec()
            ]
        );
    }

    #[test]
    fn whitespace_keeps_punctuation_and_non_ascii() {
        let got = words(
            "the, the caf\u{e9} \u{a0}x".as_bytes(),
            Tokenizer::Whitespace,
        );
        assert_eq!(
            got,
            vec![
                b"the,".to_vec(),
                b"the".to_vec(),
                "caf\u{e9}".as_bytes().to_vec(),
                "\u{a0}x".as_bytes().to_vec()
            ]
        );
    }

    #[test]
    fn alnum_splits_on_ascii_punctuation_but_keeps_utf8() {
        let got = words("don't caf\u{e9}-bar 42".as_bytes(), Tokenizer::Alnum);
        assert_eq!(
            got,
            vec![
                b"don".to_vec(),
                b"t".to_vec(),
                "caf\u{e9}".as_bytes().to_vec(),
                b"bar".to_vec(),
                b"42".to_vec()
            ]
        );
    }

    #[test]
    fn complete_prefix_stops_after_the_last_separator() {
        let class = Tokenizer::Whitespace.word_bytes();
        assert_eq!(complete_prefix_len(b"ab cd", class), 3);
        assert_eq!(complete_prefix_len(b"abcd", class), 0);
        assert_eq!(complete_prefix_len(b"ab \n", class), 4);
        assert_eq!(complete_prefix_len(b"", class), 0);
    }

    #[test]
    fn names_round_trip() {
        for t in [Tokenizer::Whitespace, Tokenizer::Alnum] {
            assert_eq!(Tokenizer::from_name(t.name()), Some(t));
        }
        assert_eq!(Tokenizer::from_name("words"), None);
    }
}
