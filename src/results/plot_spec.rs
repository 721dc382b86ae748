//! The plots an experiment asks for (`[[plot]]` tables in its TOML file,
//! kept in the sidecar so `harness plot` needs the CSV alone).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a plot shows; written in TOML and JSON as `time`, `speedup`,
/// `efficiency`, `bars` or `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlotKind {
    /// A measured column (default `wall_s`) against `x`.
    Time,
    /// Speed-up T_s / T_p against `x`.
    Speedup,
    /// Efficiency T_s / (p T_p) against `x`.
    Efficiency,
    /// Grouped bars: a measured column (default `wall_s`) per value of a
    /// categorical `x` (e.g. a crash point), one bar colour per `series` value.
    Bars,
    /// The per-worker timeline (Gantt chart) of one run.
    Timeline,
}

impl PlotKind {
    /// Every kind, in the order the error message lists them.
    pub(crate) const ALL: [PlotKind; 5] = [
        PlotKind::Time,
        PlotKind::Speedup,
        PlotKind::Efficiency,
        PlotKind::Bars,
        PlotKind::Timeline,
    ];

    /// The name written in experiment files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PlotKind::Time => "time",
            PlotKind::Speedup => "speedup",
            PlotKind::Efficiency => "efficiency",
            PlotKind::Bars => "bars",
            PlotKind::Timeline => "timeline",
        }
    }

    /// True for the kinds derived from serial runs of the same input (T_s).
    pub(crate) fn needs_serial_baseline(self) -> bool {
        match self {
            PlotKind::Speedup | PlotKind::Efficiency => true,
            PlotKind::Time | PlotKind::Bars | PlotKind::Timeline => false,
        }
    }

    // Each property below matches every kind by name (no `_` arm), so a new
    // kind does not compile until each says what it does.

    /// How the kind is drawn.
    pub(crate) fn drawing(self) -> Drawing {
        match self {
            PlotKind::Time | PlotKind::Speedup | PlotKind::Efficiency => Drawing::Lines,
            PlotKind::Bars => Drawing::Bars,
            PlotKind::Timeline => Drawing::Timeline,
        }
    }

    /// True when the plot has an `x` column (false: one run's event log).
    pub(crate) fn needs_x(self) -> bool {
        match self {
            PlotKind::Time | PlotKind::Speedup | PlotKind::Efficiency | PlotKind::Bars => true,
            PlotKind::Timeline => false,
        }
    }

    /// The y of a derived kind from the baseline's time `t_base`, the
    /// workers `p` and the run's time `t_p` (`None`: y is a measured column).
    pub(crate) fn derived_y(self, t_base: f64, p: f64, t_p: f64) -> Option<f64> {
        match self {
            PlotKind::Speedup => Some(super::speedup(t_base, t_p)),
            PlotKind::Efficiency => Some(super::efficiency(t_base, p, t_p)),
            PlotKind::Time | PlotKind::Bars | PlotKind::Timeline => None,
        }
    }

    /// True when y goes on a log scale (and not from zero) when its values
    /// span decades, unless the plot says otherwise.
    pub(crate) fn log_y_when_spanning_decades(self) -> bool {
        match self {
            PlotKind::Time => true,
            PlotKind::Speedup | PlotKind::Efficiency | PlotKind::Bars | PlotKind::Timeline => false,
        }
    }

    /// True when a line plot over `workers` shows the ideal line y = p.
    pub(crate) fn ideal_speedup_line(self) -> bool {
        match self {
            PlotKind::Speedup => true,
            PlotKind::Time | PlotKind::Efficiency | PlotKind::Bars | PlotKind::Timeline => false,
        }
    }

    /// A horizontal reference line: its y and its label.
    pub(crate) fn reference_line(self) -> Option<(f64, &'static str)> {
        match self {
            PlotKind::Efficiency => Some((1.0, "ideal efficiency")),
            PlotKind::Time | PlotKind::Speedup | PlotKind::Bars | PlotKind::Timeline => None,
        }
    }
}

/// How a [`PlotKind`] is drawn: the one place `harness plot` dispatches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawing {
    /// Line chart of medians with min..max bands against `x`.
    Lines,
    /// Grouped bars per category of `x`.
    Bars,
    /// The per-worker timeline (Gantt chart) of one run.
    Timeline,
}

impl fmt::Display for PlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlotKind {
    type Err = String;

    fn from_str(text: &str) -> Result<PlotKind, String> {
        PlotKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown plot kind `{text}`: use time, speedup, efficiency, bars or timeline"
                )
            })
    }
}

/// Compares with the name written in experiment files (`kind == "timeline"`).
impl Serialize for PlotKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PlotKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PlotKind, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What speed-up and efficiency are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// T_s: the median of the serial runs of the same input (the lab's E).
    #[default]
    Serial,
    /// T_1: the median of the runs with the same parameters but 1 worker
    /// (how a mode scales, e.g. redis against redis with one worker).
    OneWorker,
}

impl Baseline {
    /// The formula as written on an axis, e.g. `E = T_s / (p T_p)`.
    pub(crate) fn efficiency_label(self) -> &'static str {
        match self {
            Baseline::Serial => "efficiency E = T_s / (p T_p), T_s = serial",
            Baseline::OneWorker => "efficiency E = T_1 / (p T_p), T_1 = same mode, 1 worker",
        }
    }

    /// The speed-up formula as written on an axis.
    pub(crate) fn speedup_label(self) -> &'static str {
        match self {
            Baseline::Serial => "speed-up T_s / T_p, T_s = serial",
            Baseline::OneWorker => "speed-up T_1 / T_p, T_1 = same mode, 1 worker",
        }
    }
}

/// One `[[plot]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// time, speedup, efficiency, timeline.
    pub kind: PlotKind,
    /// Column on the x axis (e.g. workers, files, max_file_bytes); not used by timelines.
    #[serde(default)]
    pub x: String,
    /// Column on the y axis for `time` plots (default wall_s).
    pub y: Option<String>,
    /// Columns whose values split the runs into lines (e.g. ["mode"]).
    #[serde(default)]
    pub series: Vec<String>,
    /// Only rows whose columns have these values.
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, String>,
    /// Title (default from the experiment).
    pub title: Option<String>,
    /// Output file name without extension (default `<experiment>-<kind>-<x>`).
    pub file: Option<String>,
    /// Log x axis (default: when x spans more than two decades).
    pub log_x: Option<bool>,
    /// Log y axis (default: when y spans more than two decades).
    pub log_y: Option<bool>,
    /// Speed-up and efficiency: against serial runs (default) or the same
    /// mode with 1 worker (`baseline = "one-worker"`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub baseline: Baseline,
    /// A sentence drawn under the title: what the plot shows and the
    /// measured reason for a surprising shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl PlotSpec {
    /// A plot of `kind` against `x` with one line per value of `series`,
    /// everything else by default.
    pub(crate) fn new(kind: PlotKind, x: &str, series: &[&str]) -> PlotSpec {
        PlotSpec {
            kind,
            x: x.to_string(),
            y: None,
            series: series.iter().map(|s| s.to_string()).collect(),
            filter: BTreeMap::new(),
            title: None,
            file: None,
            log_x: None,
            log_y: None,
            baseline: Baseline::Serial,
            note: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_and_write_the_names_of_the_experiment_files() {
        for kind in PlotKind::ALL {
            assert_eq!(kind.as_str().parse::<PlotKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<PlotKind>(&json).unwrap(), kind);
        }
        assert_eq!(
            "pie".parse::<PlotKind>().unwrap_err(),
            "unknown plot kind `pie`: use time, speedup, efficiency, bars or timeline"
        );
    }

    #[test]
    fn an_unknown_kind_in_toml_names_its_line() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            plot: Vec<PlotSpec>,
        }
        let err = toml::from_str::<File>(
            "[[plot]]\nkind = \"time\"\nx = \"workers\"\n\n[[plot]]\nkind = \"pie\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 6") && err.contains("unknown plot kind `pie`"),
            "{err}"
        );
    }
}
