//! One file per benchmark scenario, plus the shared inputs.

pub mod count;
pub mod merge;
pub mod redis_merge;

use std::path::PathBuf;

/// Real book text: the corpus beside the checkout when present (CI and the
/// lab machines), else `None` and the book benchmark is skipped with a note.
pub fn book_text(max_bytes: usize) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/gutenberg");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let mut text = Vec::new();
    for name in names {
        if text.len() >= max_bytes {
            break;
        }
        text.extend(std::fs::read(name).ok()?);
    }
    text.truncate(max_bytes);
    Some(text)
}

/// Synthetic Zipf text of `bytes` bytes from the data generator.
pub fn synthetic_text(bytes: u64) -> Vec<u8> {
    let mut text = Vec::with_capacity(bytes as usize);
    data_gen::write_synthetic(&mut text, bytes, 7, 50_000).expect("writing to memory cannot fail");
    text
}
