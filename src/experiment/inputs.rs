//! Inputs of runs: generating (and caching) preset inputs, the content hash
//! of an input, and the serial oracle every run is checked against, cached
//! on disk by that hash.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::InputSource;
use crate::input::{collect_files, plan_units};
use crate::local::run_serial;
use crate::words::{Tokenizer, WordCounts};

/// Resolves an input to the paths to count, generating it first when it is
/// a preset (into `data_dir/gen/<cache key>`, reused when already there).
pub fn materialize(input: &InputSource, data_dir: &Path) -> Result<Vec<PathBuf>> {
    match input {
        InputSource::Path(path) => Ok(vec![path.clone()]),
        InputSource::Generated(spec) => {
            let dir = data_dir.join("gen").join(spec.cache_key());
            let files = data_gen::generate(spec, &dir).with_context(|| {
                format!(
                    "cannot generate the input {} into {}",
                    spec.cache_key(),
                    dir.display()
                )
            })?;
            Ok(files.into_iter().map(|f| f.path).collect())
        }
    }
}

/// Hash of an input's content: every file's path relative to the walk and
/// its bytes, in walk order.
pub(crate) fn content_hash(paths: &[PathBuf]) -> Result<String> {
    let files = collect_files(paths, |_, _| {})?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    for file in &files {
        let name = file
            .path
            .file_name()
            .map(|n| n.as_encoded_bytes().to_vec())
            .unwrap_or_default();
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(&name);
        let mut reader = std::fs::File::open(&file.path)
            .with_context(|| format!("cannot read {}", file.path.display()))?;
        loop {
            let read = reader
                .read(&mut buffer)
                .with_context(|| format!("cannot read {}", file.path.display()))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        hasher.update(b"\0end\0");
    }
    Ok(hasher.finalize().to_hex()[..32].to_string())
}

/// The serial oracle: reference counts per input, computed once per content
/// hash and tokenizer, kept in memory and on disk (`data_dir/oracle/`).
pub struct Oracle {
    dir: PathBuf,
    cached: HashMap<(String, &'static str), WordCounts>,
    /// Content hash per input, computed once per run (inputs do not change
    /// while an experiment runs), so a parameter set does not re-read it.
    hashes: HashMap<Vec<PathBuf>, String>,
}

impl Oracle {
    /// An oracle caching its counts under `data_dir/oracle`.
    pub(crate) fn new(data_dir: &Path) -> Oracle {
        Oracle {
            dir: data_dir.join("oracle"),
            cached: HashMap::new(),
            hashes: HashMap::new(),
        }
    }

    /// The reference counts of the input at `paths`.
    pub(crate) fn counts(
        &mut self,
        paths: &[PathBuf],
        tokenizer: Tokenizer,
    ) -> Result<&WordCounts> {
        let hash = match self.hashes.get(paths) {
            Some(hash) => hash.clone(),
            None => {
                let hash = content_hash(paths)?;
                self.hashes.insert(paths.to_vec(), hash.clone());
                hash
            }
        };
        let key = (hash.clone(), tokenizer.name());
        if !self.cached.contains_key(&key) {
            let file = self.dir.join(format!("{hash}-{tokenizer}.counts"));
            let stored = std::fs::File::open(&file).ok().and_then(|reader| {
                let mut counts = WordCounts::new();
                counts
                    .read_binary(std::io::BufReader::new(reader))
                    .ok()
                    .map(|()| counts)
            });
            let counts = match stored {
                Some(counts) => counts,
                None => self.compute(paths, tokenizer, &file)?,
            };
            self.cached.insert(key.clone(), counts);
        }
        self.cached
            .get(&key)
            .context("the oracle cache lost an entry it just stored")
    }

    fn compute(&self, paths: &[PathBuf], tokenizer: Tokenizer, file: &Path) -> Result<WordCounts> {
        let files = collect_files(paths, |_, _| {})?;
        let units = plan_units(&files, u64::MAX)?;
        let counts = run_serial(&units, tokenizer)?.counts;
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create the oracle cache {}", self.dir.display()))?;
        crate::fsutil::write_atomically(file, |w| counts.write_binary(w))?;
        Ok(counts)
    }
}

/// How many words have a different count in `got` than in `expected`
/// (missing and extra words included).
pub fn count_differences(got: &WordCounts, expected: &WordCounts) -> u64 {
    let wrong_or_extra = got
        .iter()
        .filter(|(word, count)| expected.get(word) != *count)
        .count();
    let missing = expected
        .iter()
        .filter(|(word, _)| got.get(word) == 0)
        .count();
    (wrong_or_extra + missing) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_count_wrong_missing_and_extra_words() {
        let mut expected = WordCounts::new();
        for (w, c) in [(&b"a"[..], 3), (b"b", 1), (b"c", 2)] {
            expected.add(w, c);
        }
        assert_eq!(count_differences(&expected.clone(), &expected), 0);
        let mut got = expected.clone();
        got.add(b"a", 1);
        got.add(b"z", 1);
        assert_eq!(count_differences(&got, &expected), 2);
        let mut partial = WordCounts::new();
        partial.add(b"a", 3);
        assert_eq!(count_differences(&partial, &expected), 2);
    }

    #[test]
    fn the_oracle_is_cached_on_disk_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        std::fs::write(input.join("a.txt"), "x y x").unwrap();
        let mut oracle = Oracle::new(&dir.path().join("data"));
        assert_eq!(
            oracle
                .counts(std::slice::from_ref(&input), Tokenizer::Whitespace)
                .unwrap()
                .get(b"x"),
            2
        );
        let cached: Vec<_> = std::fs::read_dir(dir.path().join("data/oracle"))
            .unwrap()
            .collect();
        assert_eq!(cached.len(), 1);
        std::fs::write(input.join("a.txt"), "x y x x").unwrap();
        let mut fresh = Oracle::new(&dir.path().join("data"));
        assert_eq!(
            fresh
                .counts(&[input], Tokenizer::Whitespace)
                .unwrap()
                .get(b"x"),
            3,
            "new content, new oracle"
        );
    }
}
