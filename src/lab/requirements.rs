//! What an experiment needs from the machine besides the harness, checked
//! before the lab runs it: an experiment whose needs are not met is
//! skipped with the reason instead of failing the whole lab. Every such
//! condition lives in [`skip_reason`], so a new one (runs that need root,
//! a Redis module, ...) is one more clause there.

use std::path::PathBuf;

use crate::experiment::{ExperimentFile, FixedTable, InputTable};
use crate::servers::TopologySettings;

/// Why the experiment in `file` cannot run on this machine, or `None`
/// when it can. Looks at every value of every run parameter (the `[fixed]`
/// table and each `[matrix]` value), so an experiment is skipped when any
/// of its runs cannot run.
pub(crate) fn skip_reason(file: &ExperimentFile) -> Option<String> {
    let tables = parameter_tables(file);
    tables
        .iter()
        .filter_map(|table| table.input.as_ref())
        .find_map(missing_book_folder)
        .or_else(|| missing_topology_needs(file, &tables))
        .or_else(|| missing_host_emulation(&tables))
}

/// Runs with emulated hosts (`hosts` > 0) need root and iproute2.
fn missing_host_emulation(tables: &[FixedTable]) -> Option<String> {
    let emulated = tables
        .iter()
        .any(|t| t.hosts.as_ref().is_some_and(|h| h.0 > 0));
    if !emulated {
        return None;
    }
    crate::hosts::require_tools()
        .err()
        .map(|e| format!("needs emulated hosts: {e}"))
}

/// What the topologies of the runs need installed that is missing (the
/// RedisRaft module for raft, redis-sentinel for replicated): the
/// topology's rules say.
fn missing_topology_needs(file: &ExperimentFile, tables: &[FixedTable]) -> Option<String> {
    let raft_module = file
        .fixed
        .raft_module
        .as_ref()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    let settings = TopologySettings {
        raft_module: &raft_module,
        ..TopologySettings::default()
    };
    tables
        .iter()
        .filter_map(|t| t.topology.as_ref())
        .find_map(|kind| {
            let rules = kind.0.rules(0);
            rules
                .missing(&settings)
                .map(|e| format!("needs what topology {} runs on: {e}", rules.name()))
        })
}

/// `[fixed]` and one single-parameter table per `[matrix]` value.
fn parameter_tables(file: &ExperimentFile) -> Vec<FixedTable> {
    let mut tables = vec![file.fixed.clone()];
    if let Some(matrix) = &file.matrix {
        for (_, _, values) in matrix.get_ref().axes() {
            tables.extend(values);
        }
    }
    tables
}

/// The books preset reads a folder of real books: the input's `corpus`, or
/// `../shared/corpus/gutenberg` when none is set.
fn missing_book_folder(input: &InputTable) -> Option<String> {
    if input.preset.as_deref() != Some("books") {
        return None;
    }
    let folder: Option<PathBuf> = match &input.corpus {
        Some(dir) => dir.is_dir().then(|| dir.clone()),
        None => data_gen::default_corpus_dir(),
    };
    if folder.is_some_and(|dir| data_gen::holds_books(&dir)) {
        return None;
    }
    let wanted = match (&input.corpus, std::env::var_os(data_gen::BOOKS_DIR_ENV)) {
        (Some(dir), _) => dir.display().to_string(),
        (None, Some(env)) if !env.is_empty() => format!(
            "{} = {}",
            data_gen::BOOKS_DIR_ENV,
            PathBuf::from(env).display()
        ),
        (None, _) => "../shared/corpus/gutenberg, nor the download folder".to_string(),
    };
    Some(match &input.corpus {
        Some(_) => format!(
            "the books preset needs the book folder {wanted}, which is not here: put plain-text \
             books from Project Gutenberg there (`harness gen --preset books --download --out {wanted}` \
             fetches the 30 the lab uses), or change corpus = \"DIR\" in the experiment's input"
        ),
        None => format!(
            "the books preset needs Project Gutenberg books, and none are here (not in {wanted}): run `harness gen --preset books --download` (30 books, \
             about 30 MB, into ${env} or else ~/.cache/harness/gutenberg, where experiments find \
             them) or `harness lab --download-books`; or set {env}=DIR to a folder of plain-text books",
            env = data_gen::BOOKS_DIR_ENV
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ExperimentFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn books_without_their_folder_are_skipped_with_the_folder_named() {
        let missing = "description = \"d\"\n[fixed]\nmode = \"serial\"\n[matrix]\ninput = [\
                       { preset = \"uniform\" }, { preset = \"books\", corpus = \"/no/such/books\" }]\n";
        let reason = skip_reason(&file(missing)).expect("skipped");
        assert!(reason.contains("/no/such/books"), "{reason}");
        assert!(
            reason.contains("harness gen --preset books --download"),
            "{reason}"
        );
        let here = tempfile::tempdir().unwrap();
        let empty = format!(
            "description = \"d\"\n[fixed]\nmode = \"serial\"\ninput = {{ preset = \"books\", corpus = \"{}\" }}\n",
            here.path().display()
        );
        assert!(
            skip_reason(&file(&empty)).is_some(),
            "a folder without books is no corpus"
        );
        std::fs::write(here.path().join("book.txt"), "call me ishmael").unwrap();
        let present = format!(
            "description = \"d\"\n[fixed]\nmode = \"serial\"\ninput = {{ preset = \"books\", corpus = \"{}\" }}\n",
            here.path().display()
        );
        assert_eq!(skip_reason(&file(&present)), None);
        let synthetic = "description = \"d\"\n[fixed]\ninput = { preset = \"uniform\" }\n";
        assert_eq!(skip_reason(&file(synthetic)), None);
    }
}
