//! Results: everything `harness run` leaves in a results folder and
//! everything plots and the report read back from it. Owns the flat CSV
//! row of one run and its CSV file (whole rows only, never a half row; an
//! older schema is refused, not corrupted), where each result file lives,
//! the environment sidecar that gives rows their provenance, the plot
//! specs it carries, the per-run event logs, and the aggregation
//! (medians, spreads, serial baselines, efficiency) that plots and the
//! report share. Knows nothing about how runs are executed and uses no
//! other module of the crate.

mod aggregate;
mod environment;
pub mod events;
mod paths;
mod plot_spec;
mod row;
mod series;
mod sidecar;
mod store;

pub(crate) use aggregate::{
    Columns, baseline_key, columns, efficiency, median_min_max, serial_baselines, speedup, text_of,
};
pub use environment::{Environment, capture_environment, git_commit, utc_timestamp};
pub use paths::{csv_path, events_path, sidecar_path};
pub use plot_spec::{Baseline, Drawing, PlotKind, PlotSpec};
pub use row::{Column, PARAMETER_COLUMNS, RunRow};
pub(crate) use row::{Measured, RunHead, RunMeasures, RunVerdict};
pub(crate) use series::{
    Effect, PlotFaults, Series, SpreadPoint, bar_series, check_column, plot_series,
};
pub(crate) use sidecar::{Sidecar, read_sidecar};
pub(crate) use store::{ResultsError, append_row, read_rows};
