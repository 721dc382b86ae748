//! The word table behind [`super::WordCounts`].
//!
//! Most words are short, so a word of up to 15 bytes is packed into a
//! 16-byte key (bytes, zero padding, length in the last byte) stored inline
//! in the table: hashing it is one multiply and comparing it is two integer
//! compares, with no pointer to chase and no allocation. Longer words live
//! in one shared arena and are compared bytewise.
//!
//! The table is open addressing with linear probing over a power-of-two
//! array of 24-byte slots (key and count side by side, no separate control
//! bytes). A word's home slot is a plain function of its hash, so a batch
//! of words can be hashed and all their home slots prefetched before the
//! first lookup: with a vocabulary too large for the caches, the cache
//! misses of a whole batch then overlap instead of being paid one after
//! the other ([`WordTable::add_spans`]). Frequent words are inserted early
//! and so sit in (or right next to) their home slot.
//!
//! Every table hashes with its own random seeds. With one fixed hash,
//! re-inserting a table's entries in its slot order (merging, or reading
//! back what `write_binary` sent) into a smaller, growing table stacks
//! them onto the same few home slots and linear probing goes quadratic.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use super::scan::BATCH;
use super::slots::{Plain, SharedFile, SlotArray, bytes_of, bytes_of_mut};

/// Longest word stored inline.
const INLINE_MAX: usize = 15;
/// Top key byte (byte 15) of a word stored in the arena.
const IN_ARENA: u8 = 0xFF;
/// Top key byte of an empty slot; a real key has its length (<= 15) or
/// `IN_ARENA` there, so no key ever equals an empty slot's.
const EMPTY: u8 = 0xFE;
/// Slots in a new table.
const MIN_SLOTS: usize = 64;

/// First word of a table sent whole by [`WordTable::write_handoff`] ("WCTABLE2").
const RAW_MAGIC: u64 = u64::from_le_bytes(*b"WCTABLE2");
/// First word of a table whose slots stay in the shared file ("WCSHARED").
const SHARED_MAGIC: u64 = u64::from_le_bytes(*b"WCSHARED");

/// A slot's 16-byte key.
///
/// Inline word: its bytes, zero padding, its length in byte 15.
/// Arena word: arena offset in bytes 0..8, length in bytes 8..12,
/// `IN_ARENA` in byte 15 (all little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key([u8; 16]);

impl Key {
    const EMPTY: Key = {
        let mut bytes = [0u8; 16];
        bytes[15] = EMPTY;
        Key(bytes)
    };

    /// The top byte: a length, `IN_ARENA` or `EMPTY`.
    #[inline]
    fn tag(self) -> u8 {
        self.0[15]
    }

    /// Packs the first `len` (<= 15) bytes of `bytes`; the rest is masked off.
    #[inline]
    fn inline(bytes: [u8; 16], len: usize) -> Key {
        debug_assert!(len <= INLINE_MAX);
        /// `KEEP[len]`: ones in the low `len` bytes (a table load is cheaper
        /// than a variable 128-bit shift).
        const KEEP: [u128; 16] = {
            let mut keep = [0u128; 16];
            let mut len = 1;
            while len < 16 {
                keep[len] = (1u128 << (8 * len)) - 1;
                len += 1;
            }
            keep
        };
        let key = (u128::from_le_bytes(bytes) & KEEP[len & 15]) | ((len as u128) << 120);
        Key(key.to_le_bytes())
    }

    /// Packs a short word from a slice of exactly its length.
    #[inline]
    fn of_short(word: &[u8]) -> Key {
        let mut bytes = [0u8; 16];
        bytes[..word.len()].copy_from_slice(word);
        Key::inline(bytes, word.len())
    }

    /// The key of an arena word.
    fn in_arena(offset: u64, len: u32) -> Key {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&offset.to_le_bytes());
        bytes[8..12].copy_from_slice(&len.to_le_bytes());
        bytes[15] = IN_ARENA;
        Key(bytes)
    }

    /// The hash of an inline key under `seeds`: one folded multiply of its
    /// two seeded halves.
    #[inline]
    fn hash(self, seeds: [u64; 2]) -> u64 {
        let all = u128::from_le_bytes(self.0);
        folded_multiply(all as u64 ^ seeds[0], (all >> 64) as u64 ^ seeds[1])
    }
}

/// One distinct word and its count, or an empty slot (`Key::EMPTY`).
///
/// `repr(C)`, 24 bytes, no padding, and every bit pattern is a valid slot
/// (a `Key` with an unknown tag is only ever compared, and the readers of
/// a table from elsewhere check every tag): slots can travel as bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Slot {
    key: Key,
    count: u64,
}

const EMPTY_SLOT: Slot = Slot {
    key: Key::EMPTY,
    count: 0,
};

const _: () = assert!(size_of::<Slot>() == 24 && align_of::<Slot>() == 8);

// SAFETY: `Slot` is `repr(C)`, a 16-byte array then a u64: no padding
// (checked above), and every bit pattern is a valid slot.
unsafe impl Plain for Slot {}

/// Slot arrays this big or bigger go into the shared file of a table that
/// has one (smaller ones are cheaper to send than to map).
const SHARED_MIN_BYTES: usize = 1 << 20;

/// A map from words (byte strings) to counts.
#[derive(Debug)]
pub(crate) struct WordTable {
    /// Power-of-two many slots, at most `max_len` of them full.
    slots: SlotArray<Slot>,
    /// Where large slot arrays are allocated instead of the heap (a
    /// `processes`-mode worker's table, see [`WordTable::share_through`]).
    shared: Option<SharedFile>,
    /// Occupied slots.
    len: usize,
    arena: Vec<u8>,
    /// This table's seeds for inline keys ([`Key::hash`]).
    seeds: [u64; 2],
    /// Seed of `long_hasher`, kept so a table can be sent whole.
    long_seed: u64,
    /// This table's hasher for arena words.
    long_hasher: FixedState,
}

/// The hash seeds of a table. Tables that share seeds put every word in
/// the same home slot (for equal sizes), so merging one into another walks
/// both in order instead of jumping around memory; workers of one run share
/// the seeds of the table their counts are merged into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSeeds {
    /// Seeds of inline (short) keys.
    inline: [u64; 2],
    /// Seed of arena (long) words.
    long: u64,
}

impl TableSeeds {
    /// Fresh random seeds.
    pub fn random() -> TableSeeds {
        // foldhash seeds each RandomState differently (stack address, ASLR
        // and a per-thread counter); three draws give the three seeds.
        let draw = || foldhash::fast::RandomState::default().hash_one(0u64);
        TableSeeds {
            inline: [draw(), draw()],
            long: draw(),
        }
    }

    /// The seeds as 24 bytes (native byte order), for another process.
    pub(crate) fn to_bytes(self) -> [u8; 24] {
        let mut bytes = [0u8; 24];
        for (chunk, value) in
            bytes
                .chunks_exact_mut(8)
                .zip([self.inline[0], self.inline[1], self.long])
        {
            chunk.copy_from_slice(&value.to_ne_bytes());
        }
        bytes
    }

    /// Seeds from [`TableSeeds::to_bytes`].
    pub fn from_bytes(bytes: [u8; 24]) -> TableSeeds {
        let value = |k: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[8 * k..8 * k + 8]);
            u64::from_ne_bytes(word)
        };
        TableSeeds {
            inline: [value(0), value(1)],
            long: value(2),
        }
    }
}

impl Clone for WordTable {
    /// A copy on the heap (a clone never shares memory with another process).
    fn clone(&self) -> Self {
        WordTable {
            slots: self.slots.clone(),
            shared: None,
            len: self.len,
            arena: self.arena.clone(),
            seeds: self.seeds,
            long_seed: self.long_seed,
            long_hasher: self.long_hasher.clone(),
        }
    }
}

impl Default for WordTable {
    fn default() -> Self {
        WordTable::with_seeds(TableSeeds::random())
    }
}

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Hints the CPU to start loading `slot`'s cache line(s) now.
#[inline(always)]
fn prefetch(slot: &Slot) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first: *const Slot = slot;
        // A 24-byte slot may straddle two 64-byte lines: fetch its last byte's too.
        let last = first.cast::<u8>().wrapping_add(size_of::<Slot>() - 1);
        // SAFETY: a prefetch is only a hint: it never faults, whatever the
        // address, and changes no memory. SSE is baseline on x86_64.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first.cast());
            _mm_prefetch::<_MM_HINT_T0>(last.cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

impl WordTable {
    /// An empty table hashing with `seeds`.
    pub(crate) fn with_seeds(seeds: TableSeeds) -> WordTable {
        WordTable {
            slots: SlotArray::filled(EMPTY_SLOT, MIN_SLOTS),
            shared: None,
            len: 0,
            arena: Vec::new(),
            seeds: seeds.inline,
            long_seed: seeds.long,
            long_hasher: FixedState::with_seed(seeds.long),
        }
    }

    /// From now on, keeps large slot arrays in `file` (a memfd the parent
    /// process also holds), so [`WordTable::write_handoff`] can pass the
    /// table on without copying it.
    pub(crate) fn share_through(&mut self, file: SharedFile) {
        self.shared = Some(file);
    }

    /// A new slot array of `slots` empty slots: in the shared file when
    /// there is one and the array is large, else on the heap.
    fn empty_slots(&mut self, slots: usize) -> SlotArray<Slot> {
        if slots * size_of::<Slot>() >= SHARED_MIN_BYTES
            && let Some(file) = &mut self.shared
        {
            match file.filled(EMPTY_SLOT, slots) {
                Ok(array) => return array,
                // Out of shared memory (or not allowed): carry on the heap,
                // and the table is sent through the pipe at the end.
                Err(_) => self.shared = None,
            }
        }
        SlotArray::filled(EMPTY_SLOT, slots)
    }

    /// This table's seeds.
    pub(crate) fn seeds(&self) -> TableSeeds {
        TableSeeds {
            inline: self.seeds,
            long: self.long_seed,
        }
    }

    /// Number of distinct words.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The home slot of `hash`.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    /// Adds `count` to `word`.
    #[inline]
    pub(crate) fn add(&mut self, word: &[u8], count: u64) {
        if word.len() <= INLINE_MAX {
            let key = Key::of_short(word);
            self.add_inline(key, key.hash(self.seeds), count);
        } else {
            self.add_long(word, count);
        }
    }

    /// Adds one occurrence of each word `text[starts[k]..ends[k]]`.
    ///
    /// Works in batches: first every short word of the batch is packed
    /// (one 16-byte load where `text` has 16 bytes at its start, which the
    /// streaming reader guarantees with slack after its data), hashed, and
    /// its home slot prefetched; then the lookups run, by which time most
    /// of those cache lines have arrived.
    #[inline]
    pub(crate) fn add_spans(&mut self, text: &[u8], starts: &[usize], ends: &[usize]) {
        for (starts, ends) in starts.chunks(BATCH).zip(ends.chunks(BATCH)) {
            let mut keys = [Key::EMPTY; BATCH];
            let mut hashes = [0u64; BATCH];
            for (k, (&start, &end)) in starts.iter().zip(ends).enumerate() {
                let len = end - start;
                if len > INLINE_MAX {
                    // Handled in the second pass; `keys[k]` stays EMPTY as the marker.
                    continue;
                }
                let key = match text.get(start..start + 16) {
                    Some(bytes) => Key::inline(bytes.try_into().expect("16 bytes"), len),
                    None => Key::of_short(&text[start..end]),
                };
                keys[k] = key;
                hashes[k] = key.hash(self.seeds);
                prefetch(&self.slots[self.home(hashes[k])]);
            }
            for (k, (&start, &end)) in starts.iter().zip(ends).enumerate() {
                if keys[k].tag() == EMPTY {
                    self.add_long(&text[start..end], 1);
                } else {
                    self.add_inline(keys[k], hashes[k], 1);
                }
            }
        }
    }

    #[inline]
    fn add_inline(&mut self, key: Key, hash: u64, count: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let slot = &mut self.slots[i];
            if slot.key == key {
                slot.count += count;
                return;
            }
            if slot.key.tag() == EMPTY {
                self.insert_at(i, key, count);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Fills the empty slot `i` and grows the table when it gets too full.
    #[cold]
    #[inline(never)]
    fn insert_at(&mut self, i: usize, key: Key, count: u64) {
        self.slots[i] = Slot { key, count };
        self.len += 1;
        if self.len > max_len(self.slots.len()) {
            self.resize(self.slots.len() * 2);
        }
    }

    #[cold]
    #[inline(never)]
    fn add_long(&mut self, word: &[u8], count: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(self.long_hasher.hash_one(word));
        loop {
            let slot = &mut self.slots[i];
            match slot.key.tag() {
                EMPTY => break,
                IN_ARENA if arena_word(slot.key, &self.arena) == word => {
                    slot.count += count;
                    return;
                }
                _ => i = (i + 1) & mask,
            }
        }
        let Ok(len) = u32::try_from(word.len()) else {
            panic!("a single word of 4 GiB or more cannot be counted");
        };
        let key = Key::in_arena(self.arena.len() as u64, len);
        self.arena.extend_from_slice(word);
        self.insert_at(i, key, count);
    }

    /// Rebuilds the table with `slots` slots (a power of two larger than `len`).
    fn resize(&mut self, slots: usize) {
        debug_assert!(slots.is_power_of_two() && slots > self.len);
        let fresh = self.empty_slots(slots);
        let old = std::mem::replace(&mut self.slots, fresh);
        let mask = slots - 1;
        for &slot in old.iter().filter(|s| s.key.tag() != EMPTY) {
            let hash = match slot.key.tag() {
                IN_ARENA => self.long_hasher.hash_one(arena_word(slot.key, &self.arena)),
                _ => slot.key.hash(self.seeds),
            };
            let mut i = hash as usize & mask;
            while self.slots[i].key.tag() != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
        match &self.shared {
            Some(file) => file.release(old),
            None => drop(old),
        }
    }

    /// The count of `word`, if present.
    pub(crate) fn get(&self, word: &[u8]) -> Option<u64> {
        let (hash, key) = if word.len() <= INLINE_MAX {
            let key = Key::of_short(word);
            (key.hash(self.seeds), Some(key))
        } else {
            (self.long_hasher.hash_one(word), None)
        };
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            let found = match (slot.key.tag(), key) {
                (EMPTY, _) => return None,
                (_, Some(key)) => slot.key == key,
                (IN_ARENA, None) => arena_word(slot.key, &self.arena) == word,
                _ => false,
            };
            if found {
                return Some(slot.count);
            }
            i = (i + 1) & mask;
        }
    }

    /// Iterates over (word, count) in table order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.slots
            .iter()
            .filter(|s| s.key.tag() != EMPTY)
            .map(|s| (self.word_of(s), s.count))
    }

    /// The word stored in the occupied `slot`.
    fn word_of<'a>(&'a self, slot: &'a Slot) -> &'a [u8] {
        match slot.key.tag() {
            IN_ARENA => arena_word(slot.key, &self.arena),
            len => &slot.key.0[..usize::from(len)],
        }
    }

    /// Forgets every word but keeps the slots' memory (and the seeds).
    pub(crate) fn clear(&mut self) {
        self.slots.fill(EMPTY_SLOT);
        self.len = 0;
        self.arena.clear();
    }

    /// The header of a table sent whole: magic, seeds, slot count, length,
    /// arena length, and the region offset (shared tables only).
    fn handoff_header(&self, magic: u64, region_offset: u64) -> [u64; 8] {
        [
            magic,
            self.seeds[0],
            self.seeds[1],
            self.long_seed,
            self.slots.len() as u64,
            self.len as u64,
            self.arena.len() as u64,
            region_offset,
        ]
    }

    /// Writes the table as it is in memory (seeds, slots, arena), so
    /// [`WordTable::read_handoff`] rebuilds it without hashing a single
    /// word: how `processes`-mode workers hand their counts to the parent.
    /// When the slots live in the shared file ([`WordTable::share_through`])
    /// only their place in it is written, and the reader maps them; else
    /// they go out as one block of bytes. Native byte order: only the same
    /// build on the same machine reads it back (the magic number, also
    /// native, makes any other reader fail cleanly).
    pub(crate) fn write_handoff<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        let shared = self.shared.as_ref().and(self.slots.region());
        let header = match shared {
            Some(region) => self.handoff_header(SHARED_MAGIC, region.offset),
            None => self.handoff_header(RAW_MAGIC, 0),
        };
        let header_bytes: Vec<u8> = header.iter().flat_map(|v| v.to_ne_bytes()).collect();
        out.write_all(&header_bytes)?;
        out.write_all(&self.arena)?;
        if shared.is_none() {
            out.write_all(bytes_of(&self.slots))?;
        }
        Ok(())
    }

    /// Reads a table written by [`WordTable::write_handoff`]; a shared one
    /// is mapped from `shared_file` (the memfd the writer allocated from).
    /// Fails with `InvalidData` on anything that is not such a table (or a
    /// shared table without its file), and with `UnexpectedEof` when it is
    /// cut short.
    pub(crate) fn read_handoff<R: std::io::Read>(
        input: &mut R,
        shared_file: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> std::io::Result<WordTable> {
        let invalid = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a word table: {what}"),
            )
        };
        let mut header = [0u64; 8];
        for value in &mut header {
            let mut bytes = [0u8; 8];
            input.read_exact(&mut bytes)?;
            *value = u64::from_ne_bytes(bytes);
        }
        let [
            magic,
            seed0,
            seed1,
            long_seed,
            slots,
            len,
            arena_len,
            region_offset,
        ] = header;
        if magic != RAW_MAGIC && magic != SHARED_MAGIC {
            return Err(invalid("bad magic number"));
        }
        let slots = usize::try_from(slots)
            .ok()
            .filter(|n| n.is_power_of_two() && *n >= MIN_SLOTS && *n <= 1 << 40)
            .ok_or_else(|| invalid("bad slot count"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= max_len(slots))
            .ok_or_else(|| invalid("bad length"))?;
        let arena_len = usize::try_from(arena_len).map_err(|_| invalid("bad arena length"))?;
        let mut arena = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut *input, arena_len as u64),
            &mut arena,
        )?;
        if arena.len() != arena_len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let table_slots = if magic == SHARED_MAGIC {
            let file = shared_file.ok_or_else(|| invalid("a shared table without its file"))?;
            SlotArray::map(file, region_offset, slots)?
        } else {
            // Read in blocks so a lying header cannot make us allocate more
            // than the sender really sent (plus one block).
            const BLOCK: usize = 1 << 16;
            let mut received: Vec<Slot> = Vec::new();
            while received.len() < slots {
                let have = received.len();
                let take = (slots - have).min(BLOCK);
                received.resize(have + take, EMPTY_SLOT);
                input.read_exact(bytes_of_mut(&mut received[have..]))?;
            }
            SlotArray::from_vec(received)
        };
        let mut occupied = 0;
        for slot in table_slots.iter() {
            match slot.key.tag() {
                EMPTY => continue,
                IN_ARENA => {
                    let (offset, word_len) = arena_span(slot.key);
                    if offset
                        .checked_add(word_len)
                        .is_none_or(|end| end > arena_len)
                    {
                        return Err(invalid("a word outside the arena"));
                    }
                }
                tag if usize::from(tag) > INLINE_MAX => return Err(invalid("a bad key")),
                _ => {}
            }
            occupied += 1;
        }
        if occupied != len {
            return Err(invalid("slot count and length disagree"));
        }
        Ok(WordTable {
            slots: table_slots,
            shared: None,
            len,
            arena,
            seeds: [seed0, seed1],
            long_seed,
            long_hasher: FixedState::with_seed(long_seed),
        })
    }

    /// Adds every entry of `other`.
    pub(crate) fn merge_from(&mut self, other: &WordTable) {
        if self.seeds() == other.seeds() && self.slots.len() < other.slots.len() {
            // With shared seeds, `other`'s slot order is home-slot order; fed
            // in that order to a smaller table, words would pile up on the
            // same few slots. At `other`'s size, they land in order instead.
            self.resize(other.slots.len());
        }
        if self.seeds() == other.seeds() && self.slots.len() == other.slots.len() {
            self.merge_aligned(other);
            return;
        }
        // Partial counts of one input share most of their words, so no room
        // is reserved up front: growing (rehashing everything) only happens
        // when the new words really need it. Lookups go in batches whose
        // home slots are prefetched first, so their cache misses overlap.
        let mut batch: Vec<(Key, u64, u64)> = Vec::with_capacity(BATCH);
        for slot in other.slots.iter().filter(|s| s.key.tag() != EMPTY) {
            if slot.key.tag() == IN_ARENA {
                self.add_long(arena_word(slot.key, &other.arena), slot.count);
                continue;
            }
            let hash = slot.key.hash(self.seeds);
            prefetch(&self.slots[self.home(hash)]);
            batch.push((slot.key, hash, slot.count));
            if batch.len() == BATCH {
                for (key, hash, count) in batch.drain(..) {
                    self.add_inline(key, hash, count);
                }
            }
        }
        for (key, hash, count) in batch {
            self.add_inline(key, hash, count);
        }
    }
}

impl WordTable {
    /// Merges a table with the same seeds and size: every word's home is
    /// the same slot in both. The slot array is cut into one part per core
    /// and each part is merged by its own thread, from the same range of
    /// `other`, touching nothing outside its part: a word whose home is in
    /// another part, or whose probe would leave the part, or a long word
    /// that is new (it needs room in the arena), is left for a short
    /// sequential pass at the end.
    fn merge_aligned(&mut self, other: &WordTable) {
        let slots = self.slots.len();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // A power of two, so the parts divide the (power-of-two) slots evenly.
        let parts = if slots >= PARALLEL_MERGE_MIN_SLOTS {
            let most = cores.clamp(1, MAX_MERGE_THREADS);
            1 << (usize::BITS - 1 - most.leading_zeros())
        } else {
            1
        };
        let part_len = slots / parts;
        let (mask, seeds) = (slots - 1, self.seeds);
        let (arena, long_hasher) = (&self.arena, &self.long_hasher);
        let merge_part = |lo: usize, part: &mut [Slot], from: &[Slot]| -> (usize, Vec<usize>) {
            let hi = lo + part.len();
            let (mut inserted, mut left) = (0, Vec::new());
            'entries: for (offset, slot) in from.iter().enumerate() {
                match slot.key.tag() {
                    EMPTY => continue,
                    IN_ARENA => {
                        // Found in place, or left for the last pass (a new
                        // long word needs room in the arena).
                        let word = arena_word(slot.key, &other.arena);
                        let mut i = long_hasher.hash_one(word) as usize & mask;
                        while (lo..hi).contains(&i) {
                            let mine = &mut part[i - lo];
                            match mine.key.tag() {
                                EMPTY => break,
                                IN_ARENA if arena_word(mine.key, arena) == word => {
                                    mine.count += slot.count;
                                    continue 'entries;
                                }
                                _ => i += 1,
                            }
                        }
                        left.push(lo + offset);
                        continue;
                    }
                    _ => {}
                }
                let mut i = slot.key.hash(seeds) as usize & mask;
                if i < lo || i >= hi {
                    left.push(lo + offset);
                    continue;
                }
                while i < hi {
                    let mine = &mut part[i - lo];
                    if mine.key == slot.key {
                        mine.count += slot.count;
                        continue 'entries;
                    }
                    if mine.key.tag() == EMPTY {
                        *mine = *slot;
                        inserted += 1;
                        continue 'entries;
                    }
                    i += 1;
                }
                left.push(lo + offset);
            }
            (inserted, left)
        };
        let results: Vec<(usize, Vec<usize>)> = if parts == 1 {
            vec![merge_part(0, &mut self.slots, &other.slots)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .slots
                    .chunks_mut(part_len)
                    .zip(other.slots.chunks(part_len))
                    .enumerate()
                    .map(|(p, (part, from))| {
                        let merge_part = &merge_part;
                        scope.spawn(move || merge_part(p * part_len, part, from))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            })
        };
        self.len += results.iter().map(|(inserted, _)| inserted).sum::<usize>();
        if self.len > max_len(slots) {
            // Over the load limit (still correct: every probe above stopped
            // at an empty slot or its part's end); grow before the last pass.
            let mut grown = slots * 2;
            while self.len > max_len(grown) {
                grown *= 2;
            }
            self.resize(grown);
        }
        for index in results.into_iter().flat_map(|(_, left)| left) {
            let slot = other.slots[index];
            if slot.key.tag() == IN_ARENA {
                self.add_long(arena_word(slot.key, &other.arena), slot.count);
            } else {
                self.add_inline(slot.key, slot.key.hash(self.seeds), slot.count);
            }
        }
    }
}

/// Tables with fewer slots are merged on one thread (threads cost more).
const PARALLEL_MERGE_MIN_SLOTS: usize = 1 << 16;
/// Most threads one merge uses.
const MAX_MERGE_THREADS: usize = 8;

/// Most words a table of `slots` slots holds before it grows.
///
/// A table that fits in a typical L2 cache (512 KiB) is kept at most 1/4
/// full: its memory is cheap, and with near-uniform word frequencies
/// linear probing at 1/2 load leaves about a fifth of lookups off their
/// home slot, each a mispredicted branch (measured: -14% time on a
/// 1000-word vocabulary). A larger table is allowed to be 7/8 full: there
/// the cost is cache misses, so compactness wins (measured faster than a
/// 1/2 limit on a 210k-word vocabulary), and with Zipf-like frequencies
/// the frequent words arrive first and keep their home slots anyway.
#[inline]
fn max_len(slots: usize) -> usize {
    if slots * size_of::<Slot>() <= 512 * 1024 {
        slots / 4
    } else {
        slots / 8 * 7
    }
}

/// The bytes of the arena word whose key is `key`.
#[inline]
fn arena_word(key: Key, arena: &[u8]) -> &[u8] {
    let (offset, len) = arena_span(key);
    &arena[offset..offset + len]
}

/// Offset and length in the arena of the word behind an `IN_ARENA` key.
fn arena_span(key: Key) -> (usize, usize) {
    let [o0, o1, o2, o3, o4, o5, o6, o7, l0, l1, l2, l3, ..] = key.0;
    let offset = u64::from_le_bytes([o0, o1, o2, o3, o4, o5, o6, o7]) as usize;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    (offset, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tables_round_trip_and_reject_garbage() {
        let mut table = WordTable::default();
        for i in 0..5_000u32 {
            table.add(
                format!("w{i}{}", "y".repeat((i % 30) as usize)).as_bytes(),
                u64::from(i) + 1,
            );
        }
        let mut bytes = Vec::new();
        table.write_handoff(&mut bytes).unwrap();
        let back = WordTable::read_handoff(&mut &bytes[..], None).unwrap();
        assert_eq!(back.len(), table.len());
        for (word, count) in table.iter() {
            assert_eq!(back.get(word), Some(count));
        }
        let mut more = back.clone();
        more.add(b"w1y", 1);
        assert_eq!(more.get(b"w1y"), Some(3));
        assert!(WordTable::read_handoff(&mut &bytes[..bytes.len() - 1], None).is_err());
        let mut corrupt = bytes.clone();
        corrupt[0] ^= 1;
        assert!(WordTable::read_handoff(&mut &corrupt[..], None).is_err());
        // A slot whose tag is neither a length, EMPTY nor IN_ARENA.
        let mut bad_key = bytes.clone();
        let first_slot = 8 * 8 + table.arena.len();
        bad_key[first_slot + 15] = 0x40;
        assert!(WordTable::read_handoff(&mut &bad_key[..], None).is_err());
    }

    #[test]
    fn merges_of_tables_with_shared_seeds_match_a_reference() {
        let seeds = TableSeeds::random();
        let word = |i: u32| {
            if i.is_multiple_of(997) {
                format!("a-long-word-number-{i}").into_bytes()
            } else {
                format!("w{i}").into_bytes()
            }
        };
        // (words in self, words in other, where other's words start): same
        // words, half overlapping (grows past the load limit), a smaller
        // self (resized first), and sizes that differ.
        for (mine, theirs, shift) in [
            (100_000, 100_000, 0),
            (100_000, 100_000, 50_000),
            (190_000, 190_000, 150_000),
            (10_000, 100_000, 5_000),
            (100_000, 10_000, 95_000),
        ] {
            let mut reference = std::collections::BTreeMap::new();
            let mut table = WordTable::with_seeds(seeds);
            for i in 0..mine {
                table.add(&word(i), u64::from(i % 5) + 1);
                *reference.entry(word(i)).or_insert(0) += u64::from(i % 5) + 1;
            }
            let mut other = WordTable::with_seeds(seeds);
            for i in shift..shift + theirs {
                other.add(&word(i), 2);
                *reference.entry(word(i)).or_insert(0) += 2;
            }
            table.merge_from(&other);
            assert_eq!(table.len(), reference.len(), "{mine} {theirs} {shift}");
            assert!(table.len() <= max_len(table.slots.len()));
            for (w, count) in &reference {
                assert_eq!(table.get(w), Some(*count), "{mine} {theirs} {shift}");
            }
        }
    }

    #[test]
    fn shared_tables_grow_in_their_file_and_are_mapped_by_the_reader() {
        use std::os::fd::AsFd;
        let fd = SharedFile::create().unwrap();
        let reader_fd = fd.try_clone().unwrap();
        let mut table = WordTable::default();
        table.share_through(SharedFile::new(fd));
        // Enough words to pass 1 MiB of slots and grow a few times there.
        for i in 0..200_000u32 {
            table.add(format!("w{i}").as_bytes(), u64::from(i % 7) + 1);
        }
        table.add(&b"long".repeat(10), 5);
        assert!(table.slots.region().is_some());
        let mut bytes = Vec::new();
        table.write_handoff(&mut bytes).unwrap();
        // Only the header and the arena travel.
        assert_eq!(bytes.len(), 8 * 8 + table.arena.len());
        assert!(WordTable::read_handoff(&mut &bytes[..], None).is_err());
        let mut back = WordTable::read_handoff(&mut &bytes[..], Some(reader_fd.as_fd())).unwrap();
        drop(table);
        assert_eq!(back.len(), 200_001);
        assert_eq!(back.get(b"w12345"), Some(12345 % 7 + 1));
        assert_eq!(back.get(&b"long".repeat(10)), Some(5));
        // The mapped table keeps counting and grows onto the heap.
        for i in 0..200_000u32 {
            back.add(format!("v{i}").as_bytes(), 1);
        }
        back.add(b"w12345", 1);
        assert_eq!(back.len(), 400_001);
        assert_eq!(back.get(b"w12345"), Some(12345 % 7 + 2));
        assert!(back.slots.region().is_none());
    }

    /// Mean distance of the occupied slots from their home slots.
    fn mean_displacement(table: &WordTable) -> f64 {
        let mask = table.slots.len() - 1;
        let total: usize = (0..table.slots.len())
            .filter(|&i| table.slots[i].key.tag() != EMPTY)
            .map(|i| {
                let key = table.slots[i].key;
                let hash = match key.tag() {
                    IN_ARENA => table.long_hasher.hash_one(arena_word(key, &table.arena)),
                    _ => key.hash(table.seeds),
                };
                i.wrapping_sub(hash as usize) & mask
            })
            .sum();
        total as f64 / table.len as f64
    }

    #[test]
    fn reinserting_a_table_in_slot_order_keeps_probes_short() {
        // What reading back `write_binary` output does: a fresh, growing
        // table receives a full table's entries in its slot order.
        let mut full = WordTable::default();
        for i in 0..200_000u32 {
            full.add(format!("w{i}").as_bytes(), 1);
        }
        let mut copy = WordTable::default();
        for (word, count) in full.iter() {
            copy.add(word, count);
        }
        assert_eq!(copy.len(), full.len());
        // About 3 at this load for a good hash (up to ~6 with an unlucky
        // random seed); thousands with a shared one. The bound leaves room
        // for the first and catches the second.
        assert!(
            mean_displacement(&copy) < 50.0,
            "{}",
            mean_displacement(&copy)
        );
        assert!(
            mean_displacement(&full) < 50.0,
            "{}",
            mean_displacement(&full)
        );
    }

    #[test]
    fn packing_keeps_every_length_and_byte_and_masks_the_rest() {
        let source: Vec<u8> = (1..=15).chain([0, 0xFF]).collect();
        for len in 0..=INLINE_MAX {
            let word = &source[..len];
            let key = Key::of_short(word);
            assert_eq!(&key.0[..len], word, "len {len}");
            assert!(key.0[len..15].iter().all(|&b| b == 0), "len {len}");
            assert_eq!(usize::from(key.tag()), len);
            // Whatever follows the word in a 16-byte load is masked off.
            let mut loaded = [0xABu8; 16];
            loaded[..len].copy_from_slice(word);
            assert_eq!(Key::inline(loaded, len), key, "len {len}");
        }
        assert_ne!(Key::of_short(b"a"), Key::of_short(b"a\0"));
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

    #[test]
    fn add_spans_matches_add_with_and_without_bytes_after_the_words() {
        // Words of every length 1..=20 (short, 15/16 boundary, long), then
        // the same text cut so the last words sit at its very end.
        let mut text = Vec::new();
        let mut spans = Vec::new();
        for round in 0..5u8 {
            for len in 1..=20 {
                let start = text.len();
                text.extend((0..len).map(|i| b'a' + (i as u8 + round) % 3));
                spans.push((start, text.len()));
                text.push(b' ');
            }
        }
        let (starts, ends): (Vec<usize>, Vec<usize>) = spans.iter().copied().unzip();
        let mut expected = WordTable::default();
        for &(s, e) in &spans {
            expected.add(&text[s..e], 1);
        }
        for cut in [text.len(), text.len() - 1] {
            let mut got = WordTable::default();
            got.add_spans(&text[..cut], &starts, &ends);
            assert_eq!(got.len(), expected.len());
            for (word, count) in expected.iter() {
                assert_eq!(got.get(word), Some(count), "{word:?}");
            }
        }
    }
}
