//! Validation of one combination of parameters into [`RunParams`], and of
//! the plot and `[[inexact]]` tables. The `redis`-mode parameters are
//! checked by [`RedisParams::validate`], the same check `harness count`
//! runs.

use super::params::{RunParams, matchable_parameters};
use super::presets::input_source;
use super::schema::{FixedTable, InexactTable, PlotSpec, Size};
use crate::job::Mode;
use crate::params::RunContext;

/// A key and what is wrong with it.
pub(super) type Invalid = (&'static str, String);

/// The run of one combination of parameters.
pub(super) fn validate_run(table: &FixedTable, scale: f64) -> Result<RunParams, Invalid> {
    let mode = table.mode.ok_or((
        "mode",
        "missing: set mode in [fixed] or list modes in [matrix]".to_string(),
    ))?;
    let workers = match (mode, table.workers) {
        (Mode::Serial, _) => 1,
        (_, Some(0)) => return Err(("workers", "must be at least 1".into())),
        (_, Some(workers)) => workers,
        (_, None) => {
            return Err((
                "workers",
                format!(
                    "missing for mode {}: set workers in [fixed] or [matrix]",
                    mode.name()
                ),
            ));
        }
    };
    let unit_bytes = match table.unit_bytes {
        Some(Size(bytes)) if bytes < crate::input::MIN_UNIT_BYTES => {
            return Err((
                "unit_bytes",
                format!(
                    "must be at least {} bytes (got {bytes}): a unit per word costs a commit each; e.g. \"64KiB\"",
                    crate::input::MIN_UNIT_BYTES
                ),
            ));
        }
        other => other.map(|s| s.0),
    };
    let input = table.input.as_ref().ok_or((
        "input",
        "missing: give input = { path = \"...\" } or input = { preset = \"...\", ... }".to_string(),
    ))?;
    let redis = table.redis_params();
    redis
        .validate(RunContext {
            mode: mode.name(),
            workers,
            external_server: false,
        })
        .map_err(|e| (e.key, e.message))?;
    Ok(RunParams {
        mode,
        workers,
        tokenizer: table.tokenizer.unwrap_or_default(),
        unit_bytes,
        input: input_source(input, scale)?,
        redis,
    })
}

/// Checks one `[[plot]]` table (its kind was checked when it was read):
/// an x for every kind but timelines, and every column it names (x, y,
/// series, where) one a results CSV has, so a typo fails before any run.
pub(super) fn validate_plot(plot: &PlotSpec) -> Result<(), Invalid> {
    if plot.kind.needs_x() && plot.x.is_empty() {
        return Err((
            "x",
            format!(
                "the {} plot needs x = \"COLUMN\" (e.g. workers)",
                plot.kind.as_str()
            ),
        ));
    }
    let known = crate::results::RunRow::known_columns();
    let y = plot.y.iter();
    let named = std::iter::once(("x", &plot.x))
        .filter(|(_, column)| !column.is_empty())
        .chain(y.map(|column| ("y", column)))
        .chain(plot.series.iter().map(|column| ("series", column)))
        .chain(plot.filter.keys().map(|column| ("where", column)));
    for (key, column) in named {
        if !known.contains_key(column.as_str()) {
            let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
            names.sort_unstable();
            return Err((
                key,
                format!(
                    "the {} plot names the column `{column}`, which results CSVs do not have; columns are: {}",
                    plot.kind.as_str(),
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Checks one `[[inexact]]` table: it names parameters a run has.
pub(super) fn validate_inexact(table: &InexactTable) -> Result<(), Invalid> {
    if table.filter.is_empty() {
        return Err((
            "inexact",
            "an [[inexact]] table needs where = { PARAMETER = VALUE, ... }".into(),
        ));
    }
    let matchable = matchable_parameters();
    if let Some(key) = table
        .filter
        .keys()
        .find(|k| !matchable.contains(&k.as_str()))
    {
        return Err((
            "inexact",
            format!("cannot match on `{key}`: use {}", matchable.join(", ")),
        ));
    }
    Ok(())
}
