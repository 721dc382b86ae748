//! Which experiments the lab runs and in what order: every `*.toml` of the
//! experiments folder (or those of the labs chosen with `--only`), sorted
//! by the lab their `lab = "Lab 2: ..."` key names, each either runnable or
//! skipped with the reason ([`super::requirements`]).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::requirements::skip_reason;
use crate::experiment::{Experiment, ExperimentFile, load_experiment};

/// A lab as an experiment's `lab` key names it: `Lab 4.1: ...` is
/// `major` 4, `minor` Some(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabId {
    /// The lab's number.
    pub major: u32,
    /// The part after the dot, if any.
    pub minor: Option<u32>,
}

impl LabId {
    /// The lab at the start of `text` (`Lab 1 Q1: ...`, `lab3`, `4.1`),
    /// case and spaces ignored; `None` when it names none.
    pub(crate) fn parse(text: &str) -> Option<LabId> {
        let lower = text.trim().to_ascii_lowercase();
        let rest = lower.strip_prefix("lab").unwrap_or(&lower).trim_start();
        let number: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = number.trim_end_matches('.').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = match parts.next() {
            Some(minor) => Some(minor.parse().ok()?),
            None => None,
        };
        Some(LabId { major, minor })
    }

    /// Whether an experiment of lab `other` belongs to this one: `lab4`
    /// holds `lab4.1`; `lab4.1` holds only itself.
    pub(crate) fn holds(&self, other: &LabId) -> bool {
        self.major == other.major && (self.minor.is_none() || self.minor == other.minor)
    }
}

impl fmt::Display for LabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "lab{}.{minor}", self.major),
            None => write!(f, "lab{}", self.major),
        }
    }
}

/// One experiment file of the lab.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The file.
    pub path: PathBuf,
    /// Its name (the CSV's name).
    pub name: String,
    /// The lab its `lab` key names, if any.
    pub lab: Option<LabId>,
    /// Why it cannot run here, if it cannot.
    pub skip: Option<String>,
}

impl Planned {
    /// The experiment validated at `scale`.
    pub(crate) fn load(&self, scale: f64) -> Result<Experiment> {
        Ok(load_experiment(&self.path, scale)?)
    }
}

/// The experiments of `dir` in lab order (lab number, then the rest of the
/// `lab` key, then the name; files without a lab last), keeping those of
/// the labs in `only` when it is not empty. Every runnable file is
/// validated here, so a broken one stops the lab before anything runs.
pub(crate) fn plan(dir: &Path, only: &[LabId]) -> Result<Vec<Planned>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list the experiments folder {}: run from the repository root or pass --experiments DIR",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    files.sort();
    let mut planned = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read experiment {}", path.display()))?;
        let file: ExperimentFile = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "experiment {}: {}",
                path.display(),
                e.to_string().trim_end()
            )
        })?;
        let lab_text = file.lab.clone().unwrap_or_default();
        let lab = LabId::parse(&lab_text);
        if !only.is_empty() && !lab.is_some_and(|lab| only.iter().any(|o| o.holds(&lab))) {
            continue;
        }
        let skip = skip_reason(&file);
        let name = match skip {
            None => load_experiment(&path, 1.0)?.name,
            Some(_) => file.name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
        };
        planned.push((
            lab_text,
            Planned {
                path,
                name,
                lab,
                skip,
            },
        ));
    }
    if planned.is_empty() {
        if only.is_empty() {
            bail!("no experiment files (*.toml) in {}", dir.display());
        }
        let only: Vec<String> = only.iter().map(ToString::to_string).collect();
        bail!(
            "no experiment in {} belongs to {} (an experiment's lab comes from its `lab = \"Lab N: ...\"` key)",
            dir.display(),
            only.join(", ")
        );
    }
    planned.sort_by(|(a_text, a), (b_text, b)| {
        let order = |p: &Planned| p.lab.map_or((1, None), |lab| (0, Some(lab)));
        order(a)
            .cmp(&order(b))
            .then_with(|| a_text.cmp(b_text))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(planned.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_ids_come_from_lab_keys_and_options() {
        let id = |major, minor| Some(LabId { major, minor });
        assert_eq!(LabId::parse("Lab 1 Q2: how does ..."), id(1, None));
        assert_eq!(LabId::parse("Lab 4.1: Redis restarts"), id(4, Some(1)));
        assert_eq!(LabId::parse("lab3"), id(3, None));
        assert_eq!(LabId::parse("2"), id(2, None));
        assert_eq!(LabId::parse("Demo"), None);
        assert_eq!(LabId::parse(""), None);
        let lab4 = LabId::parse("lab4").unwrap();
        assert!(lab4.holds(&LabId::parse("Lab 4.1").unwrap()));
        assert!(
            !LabId::parse("lab4.2")
                .unwrap()
                .holds(&LabId::parse("Lab 4.1").unwrap())
        );
        assert_eq!(LabId::parse("Lab 4.1").unwrap().to_string(), "lab4.1");
    }

    #[test]
    fn experiments_run_in_lab_order_and_only_keeps_the_chosen_labs() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, lab: &str| {
            std::fs::write(
                dir.path().join(format!("{name}.toml")),
                format!("description = \"d\"\n{lab}[fixed]\nmode = \"serial\"\ninput = {{ preset = \"uniform\" }}\n"),
            )
            .unwrap();
        };
        write("a", "lab = \"Lab 3: q\"\n");
        write("b", "lab = \"Lab 1 Q2: q\"\n");
        write("c", "");
        write("d", "lab = \"Lab 1 Q1: q\"\n");
        let names = |only: &[LabId]| -> Vec<String> {
            plan(dir.path(), only)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(names(&[]), ["d", "b", "a", "c"]);
        let only = [LabId::parse("lab3").unwrap(), LabId::parse("lab1").unwrap()];
        assert_eq!(names(&only), ["d", "b", "a"]);
        let error = plan(dir.path(), &[LabId::parse("lab2").unwrap()]).unwrap_err();
        assert!(error.to_string().contains("lab2"), "{error}");
    }
}
