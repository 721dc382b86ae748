//! The word table behind [`super::WordCounts`].
//!
//! Most words are short, so a word of up to 15 bytes is packed into a
//! 16-byte key (bytes, zero padding, length in the last byte) stored inline
//! in the table: hashing it is one multiply and comparing it is two integer
//! compares, with no pointer to chase and no allocation. Longer words live
//! in one shared arena and are compared bytewise. The table itself is
//! hashbrown's SwissTable.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Longest word stored inline.
const INLINE_MAX: usize = 15;
/// Value of the last key byte marking a word stored in the arena.
const IN_ARENA: u8 = 0xFF;

/// One distinct word and its count.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Inline: word bytes, zero padding, length in byte 15. Arena: offset
    /// (bytes 0..8), length (bytes 8..12), `IN_ARENA` in byte 15.
    key: [u8; 16],
    count: u64,
}

/// A map from words (byte strings) to counts.
#[derive(Debug, Clone, Default)]
pub struct WordTable {
    entries: HashTable<Entry>,
    arena: Vec<u8>,
}

const LONG_HASHER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5eed_c0de_1234_abcd);

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

#[inline]
fn hash_inline(key: &[u8; 16]) -> u64 {
    let lo = u64::from_le_bytes([key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7]]);
    let hi = u64::from_le_bytes([key[8], key[9], key[10], key[11], key[12], key[13], key[14], key[15]]);
    folded_multiply(lo ^ 0x243F_6A88_85A3_08D3, hi ^ 0x1319_8A2E_0370_7344)
}

#[inline]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[inline]
fn read_u32(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(word))
}

/// Packs a word of at most 15 bytes into its inline key, with a few
/// overlapping fixed-size loads instead of a byte loop.
#[inline]
fn pack_inline(word: &[u8]) -> [u8; 16] {
    let len = word.len();
    debug_assert!(len <= INLINE_MAX);
    let (lo, hi) = if len >= 8 {
        let tail = read_u64(word, len - 8);
        (read_u64(word, 0), if len == 8 { 0 } else { tail >> (8 * (16 - len)) })
    } else if len >= 4 {
        let tail = read_u32(word, len - 4);
        let upper = if len == 4 { 0 } else { (tail >> (8 * (8 - len))) << 32 };
        (read_u32(word, 0) | upper, 0)
    } else {
        let mut lo = 0u64;
        for (i, &b) in word.iter().enumerate() {
            lo |= u64::from(b) << (8 * i);
        }
        (lo, 0)
    };
    let hi = hi | ((len as u64) << 56);
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&lo.to_le_bytes());
    key[8..].copy_from_slice(&hi.to_le_bytes());
    key
}

impl WordTable {
    /// Number of distinct words.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `count` to `word`.
    #[inline]
    pub fn add(&mut self, word: &[u8], count: u64) {
        if word.len() <= INLINE_MAX {
            self.add_inline(pack_inline(word), count);
        } else {
            self.add_long(word, count);
        }
    }

    #[inline]
    fn add_inline(&mut self, key: [u8; 16], count: u64) {
        let hash = hash_inline(&key);
        if let Some(entry) = self.entries.find_mut(hash, |e| e.key == key) {
            entry.count += count;
        } else {
            self.insert_inline(hash, key, count);
        }
    }

    #[cold]
    #[inline(never)]
    fn insert_inline(&mut self, hash: u64, key: [u8; 16], count: u64) {
        let arena = &self.arena;
        self.entries.insert_unique(hash, Entry { key, count }, |e| rehash(e, arena));
    }

    #[cold]
    #[inline(never)]
    fn add_long(&mut self, word: &[u8], count: u64) {
        let hash = LONG_HASHER.hash_one(word);
        let arena = &self.arena;
        if let Some(entry) = self.entries.find_mut(hash, |e| long_word(e, arena) == Some(word)) {
            entry.count += count;
            return;
        }
        let Ok(len) = u32::try_from(word.len()) else {
            panic!("a single word of 4 GiB or more cannot be counted");
        };
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
        key[8..12].copy_from_slice(&len.to_le_bytes());
        key[15] = IN_ARENA;
        self.arena.extend_from_slice(word);
        let arena = &self.arena;
        self.entries.insert_unique(hash, Entry { key, count }, |e| rehash(e, arena));
    }

    /// The count of `word`, if present.
    pub fn get(&self, word: &[u8]) -> Option<u64> {
        if word.len() <= INLINE_MAX {
            let key = pack_inline(word);
            self.entries.find(hash_inline(&key), |e| e.key == key).map(|e| e.count)
        } else {
            let arena = &self.arena;
            self.entries
                .find(LONG_HASHER.hash_one(word), |e| long_word(e, arena) == Some(word))
                .map(|e| e.count)
        }
    }

    /// Iterates over (word, count) in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.entries.iter().map(|e| (word_of(e, &self.arena), e.count))
    }

    /// Adds every entry of `other`.
    pub fn merge_from(&mut self, other: &WordTable) {
        self.entries.reserve(other.len() / 2, |e| rehash(e, &self.arena));
        for entry in other.entries.iter() {
            if entry.key[15] == IN_ARENA {
                self.add_long(word_of(entry, &other.arena), entry.count);
            } else {
                self.add_inline(entry.key, entry.count);
            }
        }
    }
}

fn rehash(entry: &Entry, arena: &[u8]) -> u64 {
    match long_word(entry, arena) {
        Some(word) => LONG_HASHER.hash_one(word),
        None => hash_inline(&entry.key),
    }
}

#[inline]
fn long_word<'a>(entry: &Entry, arena: &'a [u8]) -> Option<&'a [u8]> {
    if entry.key[15] != IN_ARENA {
        return None;
    }
    let offset = read_u64(&entry.key, 0) as usize;
    let len = read_u32(&entry.key, 8) as usize;
    Some(&arena[offset..offset + len])
}

#[inline]
fn word_of<'a>(entry: &'a Entry, arena: &'a [u8]) -> &'a [u8] {
    long_word(entry, arena).unwrap_or_else(|| &entry.key[..usize::from(entry.key[15])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_every_length_and_byte() {
        let source: Vec<u8> = (1..=15).chain([0, 0xFF]).collect();
        for len in 0..=INLINE_MAX {
            let word = &source[..len];
            let key = pack_inline(word);
            assert_eq!(&key[..len], word, "len {len}");
            assert!(key[len..15].iter().all(|&b| b == 0), "len {len}");
            assert_eq!(usize::from(key[15]), len);
        }
        assert_ne!(pack_inline(b"a"), pack_inline(b"a\0"));
    }

    #[test]
    fn grows_and_finds_short_long_and_empty_words() {
        let mut table = WordTable::default();
        for i in 0..10_000u32 {
            let word = format!("w{i}{}", "x".repeat((i % 40) as usize));
            table.add(word.as_bytes(), u64::from(i));
            table.add(word.as_bytes(), 1);
        }
        table.add(b"", 5);
        assert_eq!(table.len(), 10_001);
        for i in 0..10_000u32 {
            let word = format!("w{i}{}", "x".repeat((i % 40) as usize));
            assert_eq!(table.get(word.as_bytes()), Some(u64::from(i) + 1), "{word}");
        }
        assert_eq!(table.get(b""), Some(5));
        assert_eq!(table.get(b"absent"), None);
        assert_eq!(table.get(&[b'y'; 100]), None);
        let mut seen: Vec<Vec<u8>> = table.iter().map(|(w, _)| w.to_vec()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10_001);
    }

    #[test]
    fn merging_keeps_long_words_from_the_other_arena() {
        let mut left = WordTable::default();
        left.add(b"short", 1);
        left.add(&[b'L'; 40], 2);
        let mut right = WordTable::default();
        right.add(&[b'R'; 30], 3);
        right.add(&[b'L'; 40], 4);
        right.add(b"short", 5);
        left.merge_from(&right);
        assert_eq!(left.get(b"short"), Some(6));
        assert_eq!(left.get(&[b'L'; 40]), Some(6));
        assert_eq!(left.get(&[b'R'; 30]), Some(3));
        assert_eq!(left.len(), 3);
    }
}
