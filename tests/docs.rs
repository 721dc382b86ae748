//! The generated reference pages stay current: `docs/parameters.md` is
//! made from the run parameter definitions (`harness::experiment::
//! parameter_reference`, the same list the TOML schema, the flags and the
//! CSV come from) and `docs/csv-columns.md` from the CSV row definition
//! (the fields of `RunRow` in src/results/row.rs, with their doc comments).
//! A stale page fails this test; `HARNESS_WRITE_DOCS=1 cargo test --test
//! docs` rewrites both.

use std::path::{Path, PathBuf};

use harness::experiment::parameter_reference;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Markdown table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn parameters_page() -> String {
    let mut page = String::from(
        "# Run parameters\n\n\
         Generated from the parameter definitions (src/params/mod.rs and src/experiment/schema.rs) \
         by `HARNESS_WRITE_DOCS=1 cargo test --test docs`; do not edit by hand.\n\n\
         Every parameter is a key of an experiment's `[fixed]` table and a `[matrix]` axis (a \
         list of values), a CSV column of the same name, and, for the redis mode, a flag of \
         `harness count` (`--` + the key with `-` for `_`, e.g. `autoclaim_ms` -> \
         `--autoclaim-ms`). List values are `;`-separated in experiment files; on the command \
         line repeat the flag. Which topologies a redis parameter applies to is checked when a \
         run is validated, and a parameter that cannot apply is refused in one line.\n\n\
         | parameter | type | default | modes | meaning |\n|---|---|---|---|---|\n",
    );
    for p in parameter_reference() {
        let default = match (p.default.is_empty(), p.redis_only) {
            (true, _) => "(empty)".to_string(),
            (false, true) => format!("`{}`", p.default),
            (false, false) => p.default.clone(),
        };
        page.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            p.name,
            cell(&p.type_name),
            cell(&default),
            if p.redis_only { "redis" } else { "all" },
            cell(&p.doc)
        ));
    }
    page
}

/// The columns of `RunRow` (its one definition, `run_row!` in
/// src/results/row.rs) with their types and docs, in order.
fn row_fields() -> Vec<(String, String, String)> {
    harness::results::RunRow::COLUMNS
        .iter()
        .map(|c| {
            let doc: Vec<&str> = c.doc.lines().map(str::trim).collect();
            (c.name.to_string(), c.type_name.to_string(), doc.join(" "))
        })
        .collect()
}

fn csv_page() -> String {
    let mut page = String::from(
        "# CSV columns\n\n\
         Generated from the row definition (`RunRow` in src/results/row.rs) by \
         `HARNESS_WRITE_DOCS=1 cargo test --test docs`; do not edit by hand.\n\n\
         `harness run` appends one row per run to `results/<experiment>.csv`, whole rows only, \
         in this column order. Units are in the names (`_s` seconds, `_ms` milliseconds, \
         `_bytes` bytes). Lists inside a cell are `;`-separated.\n\n\
         | column | type | meaning |\n|---|---|---|\n",
    );
    for (name, ty, doc) in row_fields() {
        let ty = match ty.as_str() {
            "u32" | "u64" | "usize" => "integer",
            "f64" => "number",
            "bool" => "true/false",
            "String" => "text",
            other => other,
        };
        page.push_str(&format!("| `{name}` | {ty} | {} |\n", cell(&doc)));
    }
    page
}

fn check(path: &Path, wanted: &str) {
    if std::env::var("HARNESS_WRITE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(path, wanted).expect("write the page");
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == wanted,
        "{} is stale: run `HARNESS_WRITE_DOCS=1 cargo test --test docs` and commit it",
        path.display()
    );
}

#[test]
fn the_parameter_reference_lists_every_run_parameter() {
    let page = parameters_page();
    for name in harness::experiment::RUN_PARAMETERS {
        assert!(page.contains(&format!("| `{name}` |")), "{name} missing");
    }
    check(&repo().join("docs/parameters.md"), &page);
}

#[test]
fn the_csv_reference_lists_every_column() {
    let page = csv_page();
    let fields = row_fields();
    assert!(fields.len() > 40, "{} fields parsed", fields.len());
    for column in harness::results::PARAMETER_COLUMNS {
        assert!(
            fields.iter().any(|(name, _, _)| name == column),
            "{column} is a parameter column but no RunRow field"
        );
    }
    check(&repo().join("docs/csv-columns.md"), &page);
}
