//! The stream message of one unit: fields `path` (raw path bytes, so
//! non-UTF-8 names work), `start` and `end` (decimal byte offsets).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use redis::Value;

use super::error::QueueError;
use crate::input::Unit;

/// Field holding the path bytes.
pub(crate) const FIELD_PATH: &str = "path";
/// Field holding the first byte offset.
pub(crate) const FIELD_START: &str = "start";
/// Field holding one past the last byte offset.
pub(crate) const FIELD_END: &str = "end";

/// A unit taken from the queue, with the message id to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The stream message id, e.g. "1700000000000-0".
    pub id: String,
    /// The unit to count.
    pub unit: Unit,
    /// Whether it was stolen (`XAUTOCLAIM`ed) from another consumer.
    pub stolen: bool,
}

/// The field/value pairs of a unit's message.
pub fn encode_unit(unit: &Unit) -> [(&'static str, Vec<u8>); 3] {
    [
        (FIELD_PATH, unit.path.as_os_str().as_bytes().to_vec()),
        (FIELD_START, unit.start.to_string().into_bytes()),
        (FIELD_END, unit.end.to_string().into_bytes()),
    ]
}

/// Decodes a message's fields back into a unit; the error says what is wrong.
pub fn decode_unit(fields: &HashMap<String, Value>) -> Result<Unit, String> {
    let path = field_bytes(fields, FIELD_PATH)?;
    if path.is_empty() {
        return Err("field 'path' is empty".into());
    }
    let start = field_u64(fields, FIELD_START)?;
    let end = field_u64(fields, FIELD_END)?;
    unit_of(path, start, end)
}

/// The unit of the byte range `start..end` of the file at `path` (raw
/// bytes), checked: the range must not run backwards.
pub(super) fn unit_of(path: &[u8], start: u64, end: u64) -> Result<Unit, String> {
    if end < start {
        return Err(format!("end {end} is before start {start}"));
    }
    Ok(Unit {
        path: PathBuf::from(OsStr::from_bytes(path)),
        start,
        end,
    })
}

/// How a unit is named in event logs and messages: `path:start-end`.
pub fn unit_label(unit: &Unit) -> String {
    format!("{}:{}-{}", unit.path.display(), unit.start, unit.end)
}

fn field_bytes<'a>(fields: &'a HashMap<String, Value>, name: &str) -> Result<&'a [u8], String> {
    match fields.get(name) {
        Some(Value::BulkString(bytes)) => Ok(bytes),
        Some(Value::SimpleString(text)) => Ok(text.as_bytes()),
        Some(other) => Err(format!("field '{name}' is not a string: {other:?}")),
        None => Err(format!("field '{name}' is missing")),
    }
}

fn field_u64(fields: &HashMap<String, Value>, name: &str) -> Result<u64, String> {
    let bytes = field_bytes(fields, name)?;
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "field '{name}' is not a byte offset: {:?}",
                String::from_utf8_lossy(bytes)
            )
        })
}

/// The first message of a commit (a commit always has one).
pub(super) fn batch_first(batch: &[Taken]) -> Result<&str, QueueError> {
    batch
        .first()
        .map(|taken| taken.id.as_str())
        .ok_or_else(|| QueueError::BadOptions("a commit needs at least one unit".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_fields(pairs: &[(&str, Vec<u8>)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::BulkString(v.clone())))
            .collect()
    }

    #[test]
    fn units_round_trip_with_non_utf8_paths() {
        let unit = Unit {
            path: PathBuf::from(OsStr::from_bytes(b"/tmp/\xff\xfe odd\nname.txt")),
            start: 7,
            end: 1 << 40,
        };
        let fields = as_fields(&encode_unit(&unit));
        assert_eq!(decode_unit(&fields), Ok(unit));
    }

    #[test]
    fn malformed_messages_say_what_is_wrong() {
        let good = encode_unit(&Unit {
            path: "/a".into(),
            start: 1,
            end: 5,
        });
        let mut missing = as_fields(&good);
        missing.remove(FIELD_END);
        assert!(
            decode_unit(&missing)
                .unwrap_err()
                .contains("'end' is missing")
        );
        let mut bad = as_fields(&good);
        bad.insert(FIELD_START.into(), Value::BulkString(b"-3".to_vec()));
        assert!(
            decode_unit(&bad)
                .unwrap_err()
                .contains("'start' is not a byte offset")
        );
        let mut backwards = as_fields(&good);
        backwards.insert(FIELD_START.into(), Value::BulkString(b"9".to_vec()));
        assert!(
            decode_unit(&backwards)
                .unwrap_err()
                .contains("before start")
        );
        let mut nil = as_fields(&good);
        nil.insert(FIELD_PATH.into(), Value::Nil);
        assert!(decode_unit(&nil).unwrap_err().contains("not a string"));
    }

    #[test]
    fn labels_name_path_and_range() {
        assert_eq!(
            unit_label(&Unit {
                path: "/d/a.txt".into(),
                start: 0,
                end: 10
            }),
            "/d/a.txt:0-10"
        );
    }
}
