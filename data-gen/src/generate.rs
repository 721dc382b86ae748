//! Writing a spec's files into a folder, with a `.<folder>.complete` marker
//! beside it that lets an unchanged spec reuse the folder. The marker lives
//! outside the folder so that counting the folder counts only the text.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::books::{BookStream, holds_books};
use crate::download;
use crate::error::{GenError, io_error};
use crate::spec::{GenSpec, PlannedFile, Preset};
use crate::synth::TextModel;

/// Suffix of the marker file holding the cache key of a finished generation.
pub const COMPLETE_MARKER: &str = ".complete";

/// The marker of `out_dir`: `.<name>.complete` in its parent folder.
pub fn marker_path(out_dir: &Path) -> PathBuf {
    match (out_dir.parent(), out_dir.file_name()) {
        (Some(parent), Some(name)) => {
            let mut marker = std::ffi::OsString::from(".");
            marker.push(name);
            marker.push(COMPLETE_MARKER);
            parent.join(marker)
        }
        _ => out_dir.join(COMPLETE_MARKER),
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedFile {
    /// Where the file is (inside the output folder).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes the spec's files into `out_dir` (created if missing) and returns
/// them in name order.
///
/// Names sort meaningfully: `ladder-00-100B.txt`, `skew-00.txt` ...
/// `skew-big.txt`, `uniform-000.txt`, `books-00.txt`. The same spec always
/// gives byte-identical files. If the folder's [`marker_path`] file
/// whose content is [`GenSpec::cache_key`] and all the files are there, they
/// are listed without regenerating. Otherwise the marker and stale files of the
/// preset's name pattern (`<preset>-*.txt`) are removed first, the files are
/// written, and the marker is written last, so an interrupted run is redone.
pub fn generate(spec: &GenSpec, out_dir: &Path) -> Result<Vec<GeneratedFile>, GenError> {
    let plan = spec.plan()?;
    let key = spec.cache_key();
    let marker = marker_path(out_dir);
    if let Some(files) = cached_files(out_dir, &marker, &key, &plan)? {
        return Ok(files);
    }

    check_disk_space(spec, out_dir)?;
    let mut source = match &spec.preset {
        Preset::Books { corpus_dir, .. } => Source::Books(BookStream::open(corpus_dir)?),
        _ => Source::Synthetic(
            TextModel::new(spec.vocabulary).map_err(|e| GenError::InvalidSpec(e.to_string()))?,
        ),
    };
    fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
    remove_if_present(&marker)?;
    remove_stale_files(out_dir, spec.preset.name())?;

    let mut files = Vec::with_capacity(plan.len());
    for (index, planned) in plan.iter().enumerate() {
        let path = out_dir.join(&planned.name);
        let written = match &mut source {
            Source::Synthetic(model) => File::create(&path)
                .and_then(|file| model.write(file, planned.bytes, file_seed(spec.seed, index)))
                .map(|()| planned.bytes)
                .map_err(io_error(&path)),
            Source::Books(books) => books.write_file(&path, planned.bytes),
        };
        match written {
            Ok(bytes) => files.push(GeneratedFile { path, bytes }),
            Err(error) => {
                // No partial set stays behind to fill the disk: this file
                // and the ones before it go (no marker, so a rerun redoes them).
                let _ = fs::remove_file(&path);
                for file in &files {
                    let _ = fs::remove_file(&file.path);
                }
                return Err(error);
            }
        }
    }
    fs::write(&marker, &key).map_err(io_error(&marker))?;
    Ok(files)
}

/// Bytes kept free on top of generated inputs: 64 MiB plus a tenth of
/// what is written (logs, results and the oracle cache need room too).
pub fn space_margin(needed: u64) -> u64 {
    (64 << 20) + needed / 10
}

/// Bytes this user may still write on the disk holding `path` (or its
/// nearest existing ancestor); `None` when the system cannot say.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".").exists()
        } else {
            p.exists()
        }
    })?;
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let c_path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid out-parameter.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs reads the NUL-terminated path and writes `stat`.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

/// Bytes `spec`'s files will take in `out_dir` (0 when they are already
/// there, marked complete).
pub fn bytes_to_write(spec: &GenSpec, out_dir: &Path) -> Result<u64, GenError> {
    let plan = spec.plan()?;
    if cached_files(out_dir, &marker_path(out_dir), &spec.cache_key(), &plan)?.is_some() {
        return Ok(0);
    }
    Ok(plan.iter().map(|p| p.bytes).sum())
}

/// Refuses, before a byte is written, a generation whose files (`needed`
/// bytes in all, into `out_dir`) would not leave [`space_margin`] free.
pub fn check_space_for(needed: u64, out_dir: &Path) -> Result<(), GenError> {
    if needed == 0 {
        return Ok(());
    }
    let Some(available) = free_bytes(out_dir) else {
        return Ok(());
    };
    let margin = space_margin(needed);
    if needed.saturating_add(margin) > available {
        return Err(GenError::NoSpace {
            dir: out_dir.to_path_buf(),
            needed,
            available,
            margin,
        });
    }
    Ok(())
}

/// [`check_space_for`] the files of `spec` into `out_dir`.
pub fn check_disk_space(spec: &GenSpec, out_dir: &Path) -> Result<(), GenError> {
    check_space_for(bytes_to_write(spec, out_dir)?, out_dir)
}

/// Where file contents come from.
enum Source {
    Synthetic(TextModel),
    Books(BookStream),
}

/// The existing files, if the marker matches `key` and every planned file exists.
fn cached_files(
    out_dir: &Path,
    marker: &Path,
    key: &str,
    plan: &[PlannedFile],
) -> Result<Option<Vec<GeneratedFile>>, GenError> {
    match fs::read(marker) {
        Ok(content) if content == key.as_bytes() => {}
        Ok(_) => return Ok(None),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(marker)(error)),
    }
    let mut files = Vec::with_capacity(plan.len());
    for planned in plan {
        let path = out_dir.join(&planned.name);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => files.push(GeneratedFile {
                bytes: meta.len(),
                path,
            }),
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error(&path)(error)),
        }
    }
    Ok(Some(files))
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<(), GenError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(io_error(path)(error)),
        _ => Ok(()),
    }
}

/// Removes the regular files `<preset>-*.txt` of `out_dir`.
fn remove_stale_files(out_dir: &Path, preset: &str) -> Result<(), GenError> {
    let prefix = format!("{preset}-");
    for entry in fs::read_dir(out_dir).map_err(io_error(out_dir))? {
        let entry = entry.map_err(io_error(out_dir))?;
        let name = entry.file_name();
        let matches = name
            .to_str()
            .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".txt"));
        if matches
            && entry
                .file_type()
                .map_err(io_error(&entry.path()))?
                .is_file()
        {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// The seed of file `index` of a spec: `seed` mixed with the index (SplitMix64
/// finalizer), so the files of one spec differ.
fn file_seed(seed: u64, index: usize) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(seed ^ mix((index as u64).wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// The default book folder, the first of:
///
/// 1. `$HARNESS_BOOKS_DIR` when set (even if missing or empty, so that the
///    error names the folder the user chose);
/// 2. `../shared/corpus/gutenberg` relative to the current directory, else
///    the same folder next to this crate's workspace, whichever exists;
/// 3. the download cache (`$XDG_CACHE_HOME/harness/gutenberg` or
///    `~/.cache/harness/gutenberg`) when it holds books.
///
/// Found folders are returned as canonical paths; `None` if none is there.
pub fn default_corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = download::env_books_dir() {
        return Some(fs::canonicalize(&dir).unwrap_or(dir));
    }
    let from_current_dir = Path::new("..")
        .join("shared")
        .join("corpus")
        .join("gutenberg");
    let from_workspace =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/gutenberg");
    let shared = [from_current_dir, from_workspace]
        .into_iter()
        .find(|dir| dir.is_dir());
    shared
        .or_else(|| download::cache_books_dir().filter(|dir| holds_books(dir)))
        .map(|dir| fs::canonicalize(&dir).unwrap_or(dir))
}

#[cfg(test)]
mod space_tests {
    use super::*;

    #[test]
    fn a_failed_generation_leaves_no_partial_files() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("set");
        let spec = GenSpec::new(
            Preset::Uniform {
                files: 3,
                file_bytes: 10_000,
            },
            1,
        );
        // The second file cannot be created: a folder is in its place.
        fs::create_dir_all(out.join("uniform-001.txt")).unwrap();
        assert!(generate(&spec, &out).is_err());
        let left: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("uniform-001.txt")]);
        assert!(!marker_path(&out).exists());
    }

    #[test]
    fn a_terabyte_is_refused_before_a_byte_is_written() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("big");
        let spec = GenSpec::new(
            Preset::Uniform {
                files: 1,
                file_bytes: 1_000_000_000_000,
            },
            1,
        );
        let free = free_bytes(root.path()).unwrap();
        if free > 900_000_000_000 {
            eprintln!("note: this disk has {free} bytes free; skipping the 1 TB refusal");
            return;
        }
        let err = generate(&spec, &out).unwrap_err();
        assert!(matches!(err, GenError::NoSpace { .. }), "{err}");
        assert!(err.to_string().contains("1TB"), "{err}");
        assert!(!out.exists(), "the folder was created");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::DEFAULT_SKEW_FACTOR;
    /// An output folder inside a temp dir, so the marker beside it is
    /// cleaned up too.
    struct OutDir {
        _root: tempfile::TempDir,
        path: PathBuf,
    }

    impl OutDir {
        fn path(&self) -> &Path {
            &self.path
        }
    }

    fn temp_dir() -> OutDir {
        let root = tempfile::tempdir().expect("create a temp dir");
        let path = root.path().join("out");
        fs::create_dir(&path).expect("create the output folder");
        OutDir { _root: root, path }
    }

    fn read(file: &GeneratedFile) -> Vec<u8> {
        fs::read(&file.path).expect("read a generated file")
    }

    fn file_name(file: &GeneratedFile) -> &str {
        file.path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
    }

    fn check_sizes(files: &[GeneratedFile]) {
        for file in files {
            assert_eq!(
                fs::metadata(&file.path).expect("stat").len(),
                file.bytes,
                "{}",
                file.path.display()
            );
        }
    }

    #[test]
    fn ladder_files_have_exact_power_of_ten_sizes() {
        let dir = temp_dir();
        let spec = GenSpec::new(
            Preset::Ladder {
                max_bytes: 1_500_000,
                per_size: 1,
            },
            42,
        );
        let files = generate(&spec, dir.path()).expect("generate");
        let listing: Vec<(&str, u64)> = files.iter().map(|f| (file_name(f), f.bytes)).collect();
        assert_eq!(
            listing,
            [
                ("ladder-00-100B.txt", 100),
                ("ladder-01-1KB.txt", 1_000),
                ("ladder-02-10KB.txt", 10_000),
                ("ladder-03-100KB.txt", 100_000),
                ("ladder-04-1MB.txt", 1_000_000)
            ]
        );
        check_sizes(&files);
    }

    #[test]
    fn skew_has_one_big_file() {
        let dir = temp_dir();
        let spec = GenSpec::new(
            Preset::Skew {
                files: 4,
                file_bytes: 3_000,
                factor: DEFAULT_SKEW_FACTOR,
            },
            1,
        );
        let files = generate(&spec, dir.path()).expect("generate");
        check_sizes(&files);
        let sizes: Vec<u64> = files.iter().map(|f| f.bytes).collect();
        assert_eq!(sizes, [3_000, 3_000, 3_000, 3_000, 30_000]);
        assert_eq!(file_name(&files[4]), "skew-big.txt");
        let contents: Vec<Vec<u8>> = files.iter().map(read).collect();
        for (i, a) in contents.iter().enumerate() {
            assert!(contents[i + 1..].iter().all(|b| a != b), "files differ");
        }
    }

    #[test]
    fn uniform_is_deterministic_and_seed_dependent() {
        let spec = GenSpec::new(
            Preset::Uniform {
                files: 3,
                file_bytes: 777,
            },
            5,
        );
        let (first, second, other) = (temp_dir(), temp_dir(), temp_dir());
        let a = generate(&spec, first.path()).expect("generate");
        let b = generate(&spec, second.path()).expect("generate");
        let c = generate(
            &GenSpec {
                seed: 6,
                ..spec.clone()
            },
            other.path(),
        )
        .expect("generate");
        check_sizes(&a);
        assert_eq!(
            a.iter().map(file_name).collect::<Vec<_>>(),
            ["uniform-000.txt", "uniform-001.txt", "uniform-002.txt"]
        );
        assert!(a.iter().all(|f| f.bytes == 777));
        for ((a, b), c) in a.iter().zip(&b).zip(&c) {
            assert_eq!(read(a), read(b));
            assert_ne!(read(a), read(c));
        }
        let fewer_words = GenSpec {
            vocabulary: 100,
            ..spec
        };
        let fourth = temp_dir();
        let d = generate(&fewer_words, fourth.path()).expect("generate");
        assert_ne!(read(&a[0]), read(&d[0]));
    }

    #[test]
    fn write_synthetic_matches_exact_sizes_and_checks_vocabulary() {
        for bytes in [0, 1, 100, 5_000] {
            let mut out = Vec::new();
            crate::write_synthetic(&mut out, bytes, 3, 1_000).expect("write to a Vec");
            assert_eq!(out.len() as u64, bytes);
        }
        let error = crate::write_synthetic(io::sink(), 10, 3, 0).expect_err("vocabulary 0");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn complete_marker_allows_reuse_and_stale_files_go() {
        let dir = temp_dir();
        let spec = GenSpec::new(
            Preset::Skew {
                files: 2,
                file_bytes: 500,
                factor: 3,
            },
            9,
        );
        fs::write(dir.path().join("skew-07.txt"), "stale").expect("write");
        fs::write(dir.path().join("notes.md"), "keep").expect("write");
        let files = generate(&spec, dir.path()).expect("generate");
        assert!(!dir.path().join("skew-07.txt").exists());
        assert!(dir.path().join("notes.md").exists());
        let marker = marker_path(dir.path());
        assert_eq!(
            fs::read_to_string(&marker).expect("marker"),
            spec.cache_key()
        );

        // A matching marker means no regeneration: a changed file stays changed.
        let original = read(&files[0]);
        fs::write(&files[0].path, "x".repeat(500)).expect("write");
        assert_eq!(generate(&spec, dir.path()).expect("reuse"), files);
        assert_eq!(read(&files[0]), b"x".repeat(500));

        // No marker (as after an interrupted run): regenerated.
        fs::remove_file(&marker).expect("remove marker");
        assert_eq!(generate(&spec, dir.path()).expect("regenerate"), files);
        assert_eq!(read(&files[0]), original);

        // A different spec in the same folder: regenerated and re-marked.
        let bigger = GenSpec::new(
            Preset::Skew {
                files: 1,
                file_bytes: 600,
                factor: 3,
            },
            9,
        );
        let files = generate(&bigger, dir.path()).expect("generate");
        assert_eq!(
            files.iter().map(|f| f.bytes).collect::<Vec<_>>(),
            [600, 1_800]
        );
        assert!(!dir.path().join("skew-01.txt").exists());
        assert_eq!(
            fs::read_to_string(&marker).expect("marker"),
            bigger.cache_key()
        );

        // A missing file also means regeneration.
        fs::remove_file(&files[1].path).expect("remove");
        assert_eq!(generate(&bigger, dir.path()).expect("regenerate"), files);
        check_sizes(&files);
    }

    #[test]
    fn books_are_concatenated_round_robin_and_cut_at_words() {
        let corpus = temp_dir();
        let books: [(&str, &[u8]); 3] = [
            ("b-second.txt", b"Second book, second line.\r\nThe end.\r\n"),
            (
                "a-first.txt",
                b"\xEF\xBB\xBFFirst book with caf\xC3\xA9 and more words here",
            ),
            ("c-empty.TXT", b""),
        ];
        for (name, text) in books {
            fs::write(corpus.path().join(name), text).expect("write book");
        }
        fs::write(corpus.path().join("ignored.md"), "not a book").expect("write");

        let out = temp_dir();
        let spec = GenSpec::new(
            Preset::Books {
                corpus_dir: corpus.path().into(),
                total_bytes: 300,
                files: 4,
            },
            1,
        );
        let files = generate(&spec, out.path()).expect("generate");
        check_sizes(&files);
        assert_eq!(
            files.iter().map(file_name).collect::<Vec<_>>(),
            [
                "books-00.txt",
                "books-01.txt",
                "books-02.txt",
                "books-03.txt"
            ]
        );

        let mut stream = Vec::new();
        for _ in 0..20 {
            stream.extend_from_slice(b"First book with caf\xC3\xA9 and more words here\n");
            stream.extend_from_slice(books[0].1);
        }
        let mut joined = Vec::new();
        for file in &files {
            let text = read(file);
            assert!(
                (75..75 + "Second".len() as u64 + 2).contains(&file.bytes),
                "{}: {}",
                file_name(file),
                file.bytes
            );
            assert!(
                text.last()
                    .is_some_and(|&b| crate::books::is_word_separator(b)),
                "ends at a word boundary"
            );
            joined.extend_from_slice(&text);
        }
        assert!(
            stream.starts_with(&joined),
            "files continue one round-robin stream"
        );
        let again_dir = temp_dir();
        let again = generate(&spec, again_dir.path()).expect("generate");
        assert!(files.iter().zip(&again).all(|(a, b)| read(a) == read(b)));
    }

    #[test]
    fn missing_or_empty_corpus_is_reported() {
        let empty = temp_dir();
        fs::write(empty.path().join("readme.md"), "no books").expect("write");
        let missing = empty.path().join("absent");
        for dir in [empty.path().to_path_buf(), missing] {
            let spec = GenSpec::new(
                Preset::Books {
                    corpus_dir: dir.clone(),
                    total_bytes: 100,
                    files: 1,
                },
                1,
            );
            let out = temp_dir();
            fs::write(out.path().join("books-00.txt"), "old").expect("write");
            match generate(&spec, out.path()) {
                Err(error @ GenError::MissingCorpus { .. }) => {
                    let message = error.to_string();
                    assert!(message.contains(&dir.display().to_string()), "{message}");
                    assert!(
                        message.contains("https://www.gutenberg.org/ebooks/1342.txt.utf-8"),
                        "{message}"
                    );
                }
                other => panic!("expected MissingCorpus, got {other:?}"),
            }
            assert!(
                out.path().join("books-00.txt").exists(),
                "nothing removed before the corpus is found"
            );
        }
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = temp_dir();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "not a folder").expect("write");
        let spec = GenSpec::new(
            Preset::Uniform {
                files: 1,
                file_bytes: 10,
            },
            1,
        );
        let error =
            generate(&spec, &blocker.join("out")).expect_err("cannot create a folder in a file");
        assert!(matches!(error, GenError::Io { .. }));
        assert!(
            error.to_string().contains(&blocker.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn file_seeds_differ_per_index_and_seed() {
        let seeds: std::collections::HashSet<u64> = (0..3)
            .flat_map(|seed| (0..100).map(move |index| file_seed(seed, index)))
            .collect();
        assert_eq!(seeds.len(), 300);
    }

    #[test]
    fn default_corpus_dir_is_a_folder_when_found() {
        if let Some(dir) = default_corpus_dir() {
            assert!(dir.is_dir() && dir.is_absolute(), "{}", dir.display());
        }
    }
}
