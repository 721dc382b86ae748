//! `harness count` end to end: every local mode and worker count gives
//! byte-identical `--output`, equal to an independent reference; bad input
//! gets one clear error and a non-zero exit.

mod util;

use util::{assert_clear_failure, files_under, gutenberg, reference_tsv, run_ok, tricky_corpus};

fn assert_modes_match_reference(input: &std::path::Path, expected: &[u8], unit_sizes: &[&str]) {
    let out_dir = tempfile::tempdir().unwrap();
    let input = input.to_str().unwrap();
    for mode in ["serial", "threads", "processes"] {
        for workers in ["1", "2", "3"] {
            for unit in unit_sizes {
                let output = out_dir.path().join(format!("{mode}-{workers}-{unit}.tsv"));
                let mut args = vec![
                    "count",
                    "--verbose",
                    input,
                    "--mode",
                    mode,
                    "--workers",
                    workers,
                    "--output",
                    output.to_str().unwrap(),
                ];
                if !unit.is_empty() {
                    args.extend(["--unit-bytes", unit]);
                }
                run_ok(&args);
                let got = std::fs::read(&output).unwrap();
                assert!(
                    got == expected,
                    "{mode} with {workers} workers, unit {unit:?}: output differs from the reference"
                );
            }
        }
    }
}

#[test]
fn tricky_bytes_give_identical_output_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_corpus(dir.path());
    let expected = reference_tsv(&files);
    assert!(!expected.is_empty());
    assert_modes_match_reference(dir.path(), &expected, &["", "1000", "65536"]);
}

#[test]
fn gutenberg_books_give_identical_output_in_every_mode() {
    let Some(books) = gutenberg() else {
        eprintln!("skipping: ../shared/corpus/gutenberg is not here");
        return;
    };
    let expected = reference_tsv(&files_under(&books));
    assert_modes_match_reference(&books, &expected, &["", "300KB"]);
}

#[test]
fn stdout_has_top_words_and_a_summary_for_people() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "b a b c b a\n").unwrap();
    let path = dir.path().to_str().unwrap();
    let output = run_ok(&["count", path, "--top", "2"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["3", "b"]);
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["2", "a"]);
    assert!(
        lines[2].starts_with("6 words (3 distinct) in 1 files, 1 units, serial with 1 worker:"),
        "{stdout}"
    );
    assert!(lines[3].contains("not checked"), "{stdout}");
    assert!(
        !stdout.contains("wall_s="),
        "no key=value line by default: {stdout}"
    );
    // --verbose adds every field on one key=value line.
    let output = run_ok(&["count", path, "--top", "2", "--verbose"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    for field in ["files=1", "bytes=12", "words=6", "distinct=3", "wall_s="] {
        assert!(last.contains(field), "summary lacks {field}: {last}");
    }
}

#[test]
fn json_gives_one_record_and_check_compares_with_serial() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "b a b c b a\n").unwrap();
    let path = dir.path().to_str().unwrap();
    let output = run_ok(&[
        "count", path, "--mode", "threads", "--top", "1", "--json", "--check",
    ]);
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["top"][0]["word"], "b");
    assert_eq!(record["top"][0]["count"], 3);
    assert_eq!(record["summary"]["words"], 6);
    assert_eq!(record["summary"]["mode"], "threads");
    assert_eq!(record["exact"], true);
    let output = run_ok(&["count", path, "--mode", "processes", "--check"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("exact: identical to the serial count"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_huge_word_without_whitespace_is_counted_once_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-word.txt");
    let word = vec![b'Q'; 100 << 20];
    std::fs::write(&path, &word).unwrap();
    for mode in ["serial", "processes"] {
        let out = dir.path().join(format!("{mode}.tsv"));
        run_ok(&[
            "count",
            "--verbose",
            path.to_str().unwrap(),
            "--mode",
            mode,
            "--unit-bytes",
            "1MiB",
            "--output",
            out.to_str().unwrap(),
        ]);
        let got = std::fs::read(&out).unwrap();
        assert_eq!(got.len(), (100 << 20) + 3);
        assert!(got.ends_with(b"q\t1\n"));
    }
}

#[test]
fn bad_input_gets_a_clear_error_and_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tsv");
    let out_arg = out.to_str().unwrap();
    let missing = dir.path().join("missing");
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            missing.to_str().unwrap(),
            "--output",
            out_arg,
        ],
        &["missing", "does not exist"],
        &[],
        usize::MAX,
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            empty.to_str().unwrap(),
            "--output",
            out_arg,
        ],
        &["no regular files", "empty"],
        &[],
        usize::MAX,
    );
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            fifo.to_str().unwrap(),
            "--output",
            out_arg,
        ],
        &["fifo"],
        &[],
        usize::MAX,
    );
    let good = dir.path().join("good.txt");
    std::fs::write(&good, "fine words").unwrap();
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            good.to_str().unwrap(),
            "--workers",
            "0",
        ],
        &["--workers"],
        &[],
        usize::MAX,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            good.to_str().unwrap(),
            "--mode",
            "quantum",
        ],
        &["--mode", "quantum"],
        &[],
        usize::MAX,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            good.to_str().unwrap(),
            "--output",
            "/nonexistent-dir/x.tsv",
        ],
        &["/nonexistent-dir"],
        &[],
        usize::MAX,
    );
    assert!(!out.exists(), "no output file may be left after a failure");
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked.txt");
        std::fs::write(&locked, "secret").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        assert_clear_failure(
            &["count", "--verbose", locked.to_str().unwrap()],
            &["locked.txt", "permission"],
            &[],
            usize::MAX,
        );
    }
}

#[test]
fn a_folder_with_a_fifo_counts_the_regular_files_and_says_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "x y").unwrap();
    let c_path = std::ffi::CString::new(dir.path().join("pipe").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let output = run_ok(&[
        "count",
        "--verbose",
        dir.path().to_str().unwrap(),
        "--mode",
        "processes",
    ]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("skipping"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("words=2"));
}
