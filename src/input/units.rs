//! Units of work: a whole file, or a byte range of a large file cut just
//! after an ASCII whitespace byte so no word is split between two units.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::walk::{InputError, InputFile};
use crate::words::{DEFAULT_CHUNK_BYTES, Tally, Tokenizer, WordCounts, is_separator_whitespace};

/// A byte range `[start, end)` of one file, counted as one piece of work.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    /// The file.
    pub path: PathBuf,
    /// First byte of the range.
    pub start: u64,
    /// One past the last byte of the range.
    pub end: u64,
}

impl Unit {
    /// Bytes in the range.
    pub(crate) fn bytes(&self) -> u64 {
        self.end - self.start
    }

    /// True when the unit is a whole file (it starts at byte 0).
    pub(crate) fn is_file_start(&self) -> bool {
        self.start == 0
    }
}

/// The smallest unit size a user may ask for, bytes: below it a unit holds
/// a word or two and every one costs a commit (`--unit-bytes 1` took 2.7 s
/// for what 1 MiB units count in 1 ms). Internal callers may go lower.
pub const MIN_UNIT_BYTES: u64 = 64;

/// Cuts `files` into units of about `unit_bytes` (at least 1): a file no
/// larger than that is one unit; a larger one is split into near-equal byte
/// ranges, each cut just after the first ASCII whitespace byte at or after
/// its target offset. A stretch without whitespace is never cut, so a huge
/// file with no whitespace stays one unit. Empty files are kept as empty
/// units (they still count as files).
pub fn plan_units(files: &[InputFile], unit_bytes: u64) -> Result<Vec<Unit>, InputError> {
    let unit_bytes = unit_bytes.max(1);
    let mut units = Vec::new();
    for file in files {
        if file.bytes <= unit_bytes {
            units.push(Unit {
                path: file.path.clone(),
                start: 0,
                end: file.bytes,
            });
            continue;
        }
        let unreadable = |source| InputError::Unreadable {
            path: file.path.clone(),
            source,
        };
        let mut reader = File::open(&file.path).map_err(unreadable)?;
        let pieces = file.bytes.div_ceil(unit_bytes);
        let piece = file.bytes / pieces;
        let mut start = 0;
        for k in 1..pieces {
            let target = (k * piece).max(start);
            match cut_after_whitespace(&mut reader, target, file.bytes).map_err(unreadable)? {
                Some(cut) => {
                    units.push(Unit {
                        path: file.path.clone(),
                        start,
                        end: cut,
                    });
                    start = cut;
                }
                None => break,
            }
        }
        units.push(Unit {
            path: file.path.clone(),
            start,
            end: file.bytes,
        });
    }
    Ok(units)
}

/// The smallest piece [`shrink_tail`] cuts, bytes (about half a
/// millisecond of counting).
const TAIL_PIECE_BYTES: u64 = 256 * 1024;

/// Cuts the `workers` units that a largest-first queue hands out last into
/// halving pieces (1/2, 1/4, ... of the unit, down to about 256 KiB), so
/// all workers run out of work within a fraction of a millisecond of each
/// other instead of one idling while another counts a whole last unit.
/// Every other unit, and the order of the list, stays as it is.
pub fn shrink_tail(units: Vec<Unit>, workers: usize) -> Result<Vec<Unit>, InputError> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(units[i].bytes()));
    let last: std::collections::HashSet<usize> =
        order.iter().rev().take(workers.max(1)).copied().collect();
    let mut shrunk = Vec::with_capacity(units.len() + 8 * workers);
    for (i, unit) in units.into_iter().enumerate() {
        if last.contains(&i) && unit.bytes() > 2 * TAIL_PIECE_BYTES {
            halve(unit, &mut shrunk)?;
        } else {
            shrunk.push(unit);
        }
    }
    Ok(shrunk)
}

/// Pushes `unit` cut into pieces of 1/2, 1/4, ... of it, each cut just
/// after a whitespace byte, the last two about [`TAIL_PIECE_BYTES`].
fn halve(unit: Unit, into: &mut Vec<Unit>) -> Result<(), InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: unit.path.clone(),
        source,
    };
    let mut file = File::open(&unit.path).map_err(unreadable)?;
    let mut start = unit.start;
    while unit.end - start > 2 * TAIL_PIECE_BYTES {
        let target = start + (unit.end - start) / 2;
        let Some(cut) = cut_after_whitespace(&mut file, target, unit.end).map_err(unreadable)?
        else {
            break;
        };
        into.push(Unit {
            path: unit.path.clone(),
            start,
            end: cut,
        });
        start = cut;
    }
    into.push(Unit { start, ..unit });
    Ok(())
}

/// The offset just past the first whitespace byte at or after `from`, or
/// `None` when there is none before `len` (or the cut would be at `len`).
fn cut_after_whitespace(file: &mut File, from: u64, len: u64) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(from))?;
    let mut buffer = [0u8; 64 * 1024];
    let mut offset = from;
    while offset < len {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        if let Some(i) = buffer[..read]
            .iter()
            .position(|&b| is_separator_whitespace(b))
        {
            let cut = offset + i as u64 + 1;
            return Ok((cut < len).then_some(cut));
        }
        offset += read as u64;
    }
    Ok(None)
}

/// Counts the words of `unit` into `counts`, streaming it in chunks.
pub fn count_unit(
    unit: &Unit,
    tokenizer: Tokenizer,
    counts: &mut WordCounts,
) -> Result<Tally, InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: unit.path.clone(),
        source,
    };
    let mut file = File::open(&unit.path).map_err(unreadable)?;
    if unit.start > 0 {
        file.seek(SeekFrom::Start(unit.start)).map_err(unreadable)?;
    }
    counts
        .count_reader(
            file.take(unit.bytes()),
            tokenizer,
            unit.is_file_start(),
            DEFAULT_CHUNK_BYTES,
        )
        .map_err(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(dir: &tempfile::TempDir, name: &str, text: &[u8]) -> InputFile {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        InputFile {
            path,
            bytes: text.len() as u64,
        }
    }

    #[test]
    fn ranges_are_contiguous_and_cut_after_whitespace() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"alpha beta\tgamma\ndelta epsilon zeta eta theta iota kappa".repeat(20);
        let file = file_with(&dir, "a.txt", &text);
        for unit_bytes in [1, 7, 50, 333, text.len() as u64] {
            let units = plan_units(std::slice::from_ref(&file), unit_bytes).unwrap();
            assert_eq!(units.first().unwrap().start, 0);
            assert_eq!(units.last().unwrap().end, text.len() as u64);
            for pair in units.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                assert!(is_separator_whitespace(text[pair[0].end as usize - 1]));
            }
            let mut split = WordCounts::new();
            for unit in &units {
                count_unit(unit, Tokenizer::Whitespace, &mut split).unwrap();
            }
            let mut whole = WordCounts::new();
            whole
                .count_reader(&text[..], Tokenizer::Whitespace, true, 1 << 16)
                .unwrap();
            assert_eq!(split, whole, "unit size {unit_bytes}");
        }
    }

    #[test]
    fn the_last_units_are_cut_into_halving_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let line = b"one two three four five six seven eight nine ten\n";
        let big = file_with(&dir, "big.txt", &line.repeat(80_000)); // 4 MB
        let small = file_with(&dir, "small.txt", &line.repeat(100));
        let files = [big.clone(), small.clone()];
        let units = plan_units(&files, 2 << 20).unwrap();
        assert_eq!(units.len(), 3);
        let shrunk = shrink_tail(units.clone(), 2).unwrap();
        // The small file and one 2 MB range are the two handed out last:
        // the file is too small to cut, the range becomes 1 MB + 2 x 0.5 MB.
        assert_eq!(shrunk.len(), 3 - 1 + 3);
        let mut sizes: Vec<u64> = shrunk.iter().map(Unit::bytes).collect();
        sizes.sort_unstable();
        assert_eq!(sizes[0], small.bytes);
        assert!(sizes[1] <= 2 * TAIL_PIECE_BYTES, "{sizes:?}");
        let mut ranges: Vec<(u64, u64)> = shrunk
            .iter()
            .filter(|u| u.path == big.path)
            .map(|u| (u.start, u.end))
            .collect();
        ranges.sort_unstable();
        assert_eq!(ranges.first().unwrap().0, 0);
        assert_eq!(ranges.last().unwrap().1, big.bytes);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        let count = |units: &[Unit]| {
            let mut counts = WordCounts::new();
            for unit in units {
                count_unit(unit, Tokenizer::Whitespace, &mut counts).unwrap();
            }
            counts
        };
        assert_eq!(count(&shrunk), count(&units));
    }

    #[test]
    fn a_file_without_whitespace_stays_one_unit() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with(&dir, "w.txt", &b"x".repeat(10_000));
        let units = plan_units(&[file], 100).unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!((units[0].start, units[0].end), (0, 10_000));
    }

    #[test]
    fn bom_is_skipped_only_in_the_first_range() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with(&dir, "b.txt", b"\xEF\xBB\xBFone two three four");
        let units = plan_units(&[file], 6).unwrap();
        assert!(units.len() > 2);
        let mut counts = WordCounts::new();
        for unit in &units {
            count_unit(unit, Tokenizer::Whitespace, &mut counts).unwrap();
        }
        assert_eq!(counts.get(b"one"), 1);
        assert_eq!(counts.total(), 4);
    }

    #[test]
    fn empty_files_are_units_with_no_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_with(&dir, "e.txt", b"");
        let units = plan_units(&[file], 10).unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].bytes(), 0);
    }
}
