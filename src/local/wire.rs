//! The pipe protocol between the `processes` mode parent and its local
//! workers. Parent to worker: the hash seeds for the worker's table, unit
//! records, then an end marker. Worker to
//! parent: one `DONE` byte per unit, then `RESULT` with the tally and the
//! binary-encoded counts, or `FAILED` with a message.

use std::io::{self, BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::input::Unit;
use crate::words::{TableSeeds, Tally};

/// Worker finished a unit and wants the next.
pub(crate) const DONE: u8 = b'D';
/// Worker sends its tally and counts; nothing follows.
pub(crate) const RESULT: u8 = b'R';
/// Worker failed; a length-prefixed message follows.
pub(crate) const FAILED: u8 = b'E';
const END_OF_UNITS: u32 = u32::MAX;

/// Writes the seeds the worker's table must hash with.
pub(crate) fn write_seeds<W: Write>(out: &mut W, seeds: TableSeeds) -> io::Result<()> {
    out.write_all(&seeds.to_bytes())
}

/// Reads the seeds sent by [`write_seeds`].
pub(crate) fn read_seeds<R: Read>(input: &mut R) -> io::Result<TableSeeds> {
    let mut bytes = [0u8; 24];
    input.read_exact(&mut bytes)?;
    Ok(TableSeeds::from_bytes(bytes))
}

/// Writes one unit record.
pub(crate) fn write_unit<W: Write>(out: &mut W, unit: &Unit) -> io::Result<()> {
    let path = unit.path.as_os_str().as_bytes();
    let len = u32::try_from(path.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path too long"))?;
    out.write_all(&unit.start.to_le_bytes())?;
    out.write_all(&unit.end.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(path)?;
    out.flush()
}

/// Writes the marker saying no more units will come.
pub(crate) fn write_end<W: Write>(out: &mut W) -> io::Result<()> {
    out.write_all(&0u64.to_le_bytes())?;
    out.write_all(&0u64.to_le_bytes())?;
    out.write_all(&END_OF_UNITS.to_le_bytes())?;
    out.flush()
}

/// Reads the next unit, or `None` at the end marker.
pub(crate) fn read_unit<R: BufRead>(input: &mut R) -> io::Result<Option<Unit>> {
    let start = read_u64(input)?;
    let end = read_u64(input)?;
    let len = read_u32(input)?;
    if len == END_OF_UNITS {
        return Ok(None);
    }
    let mut path = vec![0u8; len as usize];
    input.read_exact(&mut path)?;
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(&path));
    Ok(Some(Unit { path, start, end }))
}

/// Writes a tally.
pub(crate) fn write_tally<W: Write>(out: &mut W, tally: Tally) -> io::Result<()> {
    out.write_all(&tally.bytes.to_le_bytes())?;
    out.write_all(&tally.words.to_le_bytes())
}

/// Reads a tally.
pub(crate) fn read_tally<R: Read>(input: &mut R) -> io::Result<Tally> {
    Ok(Tally {
        bytes: read_u64(input)?,
        words: read_u64(input)?,
    })
}

/// Writes a length-prefixed message.
pub(crate) fn write_message<W: Write>(out: &mut W, message: &str) -> io::Result<()> {
    out.write_all(&(message.len() as u32).to_le_bytes())?;
    out.write_all(message.as_bytes())?;
    out.flush()
}

/// Reads a length-prefixed message.
pub(crate) fn read_message<R: Read>(input: &mut R) -> io::Result<String> {
    let len = read_u32(input)?;
    let mut text = vec![0u8; len.min(1 << 20) as usize];
    input.read_exact(&mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Reads one byte.
pub(crate) fn read_byte<R: Read>(input: &mut R) -> io::Result<u8> {
    let mut byte = [0u8; 1];
    input.read_exact(&mut byte)?;
    Ok(byte[0])
}

fn read_u64<R: Read>(input: &mut R) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    input.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_u32<R: Read>(input: &mut R) -> io::Result<u32> {
    let mut bytes = [0u8; 4];
    input.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_with_non_utf8_paths() {
        let unit = Unit {
            path: PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff name\n.txt")),
            start: 5,
            end: 99,
        };
        let mut bytes = Vec::new();
        write_unit(&mut bytes, &unit).unwrap();
        write_end(&mut bytes).unwrap();
        let mut input = &bytes[..];
        assert_eq!(read_unit(&mut input).unwrap(), Some(unit));
        assert_eq!(read_unit(&mut input).unwrap(), None);
    }
}
