//! The sidecar written beside a results CSV (`<name>.env.json`): the
//! environment the runs were measured in, where the experiment came from,
//! its scale, and the plots it asks for.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::paths::sidecar_path;
use super::plot_spec::PlotSpec;

/// Provenance of a results CSV and the plots to draw from it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sidecar {
    /// Where and how the results were measured.
    pub environment: Environment,
    /// The experiment file.
    pub source: String,
    /// What the experiment shows.
    pub description: String,
    /// The lab question.
    pub lab: Option<String>,
    /// What the plots should show and why (older sidecars have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shows: Option<String>,
    /// Scale of generated inputs.
    pub scale: f64,
    /// Plots to draw.
    pub plots: Vec<PlotSpec>,
}

/// The sidecar of the results CSV `csv`; `None` when it is missing or
/// cannot be parsed (results without provenance are still results).
pub(crate) fn read_sidecar(csv: &Path) -> Option<Sidecar> {
    std::fs::read(sidecar_path(csv))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
}
