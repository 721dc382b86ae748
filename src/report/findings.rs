//! The findings table both reports open with: one row per lab question,
//! its answer in one line from the first experiment that answers it, and a
//! verdict a reader can act on: beyond the noise, within the noise, too
//! short, not shown (its faults did not happen), or not run (and why).
//! A question whose first figure asks for a ratio of two series is
//! answered with that ratio at the largest x where both have a value;
//! any other with the measured effect of the experiment's plot of the
//! figure's column (or else its first plot).

use super::format::{quantity, ratio};
use super::groups::Correctness;
use super::markdown::Table;
use super::questions::{
    LAB_QUESTIONS, LabQuestion, Metric, Pivot, not_covered, not_run_yet, ratio_at_largest_x,
};
use super::view::{ExperimentView, PlotEffect};

/// How far a finding can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The effect's extreme points' repetitions do not overlap.
    BeyondNoise,
    /// They overlap: the effect may be noise.
    WithinNoise,
    /// Every run of the experiment is under the too-short threshold.
    TooShort,
    /// The plot's planned faults never fired: it shows nothing about them.
    NotShown,
    /// No results: why, and the command that gets them.
    NotRun(String),
    /// Results, but no plot effect to measure.
    NoEffect,
    /// A correctness question: every run that should be exact was
    /// (`inexact_on_purpose`: the control runs marked `[[inexact]]`).
    Exact {
        /// Wrong runs the experiment expects (the control that proves the
        /// check bites).
        inexact_on_purpose: usize,
    },
    /// A correctness question: runs that should have been exact were not.
    Wrong(usize),
}

impl Verdict {
    /// The verdict as the table writes it.
    pub(crate) fn text(&self) -> String {
        match self {
            Verdict::BeyondNoise => "beyond the noise".into(),
            Verdict::WithinNoise => {
                "⚠ within the noise (more repetitions or a larger --scale)".into()
            }
            Verdict::TooShort => "⚠ too short to trust (runs under 50 ms; raise --scale)".into(),
            Verdict::NotShown => "⚠ not shown: the faults did not happen".into(),
            Verdict::NotRun(why) => why.clone(),
            Verdict::NoEffect => "no effect to measure".into(),
            Verdict::Exact {
                inexact_on_purpose: 0,
            } => "exact in every run".into(),
            Verdict::Exact { inexact_on_purpose } => format!(
                "exact wherever expected ({inexact_on_purpose} runs inexact on purpose: the control)"
            ),
            Verdict::Wrong(runs) => format!("⚠ {runs} runs WRONG that should be exact"),
        }
    }
}

/// One row of the findings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Lab 1` .. `Lab 4`.
    pub lab: &'static str,
    /// The question.
    pub question: &'static str,
    /// The answer in one line, with its figure.
    pub answer: String,
    /// How far it can be trusted.
    pub verdict: Verdict,
}

/// The finding of each lab question over the experiments in `views`.
pub fn findings(views: &[ExperimentView<'_>]) -> Vec<Finding> {
    LAB_QUESTIONS
        .iter()
        .map(|question| finding(question, views))
        .collect()
}

fn finding(question: &LabQuestion, views: &[ExperimentView<'_>]) -> Finding {
    let answered = question
        .experiments
        .iter()
        .find_map(|name| views.iter().find(|view| view.name() == *name));
    let (answer, verdict) = match answered {
        None => match question.experiments.first() {
            None => (String::new(), Verdict::NotRun(not_covered(question))),
            Some(name) => (String::new(), Verdict::NotRun(not_run_yet(name))),
        },
        Some(view) => {
            let effect = answering_effect(question, view);
            let not_shown = effect.is_some_and(|effect| effect.faults.none_fired());
            if let Some((statement, verdict)) = exactness_answer(question, view) {
                return Finding {
                    lab: question.lab,
                    question: question.question,
                    answer: format!("`{}`: {statement}", view.name()),
                    verdict,
                };
            }
            match (ratio_answer(question, view), effect) {
                (Some((statement, apart)), _) => (
                    format!("`{}`: {statement}", view.name()),
                    verdict_of(view, not_shown, Some(apart)),
                ),
                (None, Some(effect)) => (
                    format!("`{}`: {}", view.name(), effect.statement),
                    verdict_of(view, not_shown, effect.beyond_noise),
                ),
                (None, None) => (format!("`{}`: no plot", view.name()), Verdict::NoEffect),
            }
        }
    };
    Finding {
        lab: question.lab,
        question: question.question,
        answer,
        verdict,
    }
}

/// The plot effect of `view` that answers `question`: the one plotting the
/// column of the question's first figure, else the first.
fn answering_effect<'v>(
    question: &LabQuestion,
    view: &'v ExperimentView<'_>,
) -> Option<&'v PlotEffect> {
    let wanted = question.figures.first().map(|figure| match figure.metric {
        Metric::Efficiency => "efficiency",
        Metric::Median(column) => column,
        Metric::Exact => "correct",
    });
    wanted
        .and_then(|wanted| view.effects.iter().find(|effect| effect.column == wanted))
        .or_else(|| view.effects.first())
}

/// The answer to a correctness question (its first figure counts exact
/// runs): how many runs were exact, naming the cells that were not, and
/// whether every run that should be exact was. `None` for other questions.
fn exactness_answer(
    question: &LabQuestion,
    view: &ExperimentView<'_>,
) -> Option<(String, Verdict)> {
    let figure = question.figures.first()?;
    if figure.metric != Metric::Exact {
        return None;
    }
    let pivot = Pivot::new(figure, &view.sets, view.name())?;
    let tally: Correctness = view.sets.iter().map(|set| set.correctness).sum();
    let verdict = match tally.wrong_unexpected {
        0 => Verdict::Exact {
            inexact_on_purpose: tally.wrong_expected,
        },
        wrong => Verdict::Wrong(wrong),
    };
    Some((pivot.statement(), verdict))
}

/// The answer to `question` when its first figure asks for the ratio of two
/// series of a median: that ratio at the largest x where both series have
/// a value, each side's median with its min..max over the repetitions, and
/// whether those two ranges are apart (beyond the noise). `None` for any
/// other question, or when no x has both sides.
fn ratio_answer(question: &LabQuestion, view: &ExperimentView<'_>) -> Option<(String, bool)> {
    let figure = question.figures.first()?;
    let Metric::Median(column) = figure.metric else {
        return None;
    };
    let at = ratio_at_largest_x(figure, &view.sets, view.name())?;
    let numerator = at.numerator.1.spread_of(column)?;
    let denominator = at.denominator.1.spread_of(column)?;
    let side = |label: &str, spread: super::groups::Spread| {
        format!(
            "{label} {}{unit} ({}..{})",
            quantity(column, spread.median),
            quantity(column, spread.min),
            quantity(column, spread.max),
            unit = figure.metric.unit(),
        )
    };
    let statement = format!(
        "{column} at {}: {} vs {}, ratio {}x",
        at.at,
        side(at.numerator.0, numerator),
        side(at.denominator.0, denominator),
        ratio(at.ratio),
    );
    let apart = numerator.max < denominator.min || denominator.max < numerator.min;
    Some((statement, apart))
}

/// The verdict of an answer whose effect is (or is not) beyond the noise;
/// faults that never fired, then an experiment whose every set is too
/// short, take precedence.
fn verdict_of(view: &ExperimentView<'_>, not_shown: bool, beyond_noise: Option<bool>) -> Verdict {
    if not_shown {
        return Verdict::NotShown;
    }
    if !view.sets.is_empty() && view.sets.iter().all(|set| set.is_too_short()) {
        return Verdict::TooShort;
    }
    match beyond_noise {
        Some(true) => Verdict::BeyondNoise,
        Some(false) => Verdict::WithinNoise,
        None => Verdict::NoEffect,
    }
}

/// The findings as a table (lab, question, answer, verdict).
pub(crate) fn findings_table(views: &[ExperimentView<'_>]) -> Table {
    let mut table = Table::new(
        [
            "lab",
            "question",
            "answer (the ratio asked for, else the largest measured effect)",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
    );
    for f in findings(views) {
        table.push(vec![
            f.lab.to_string(),
            f.question.to_string(),
            f.answer,
            f.verdict.text(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::ExperimentResults;
    use crate::results::{PlotKind, PlotSpec, RunRow, Sidecar, capture_environment};

    /// An `atomic-cost` experiment: three repetitions of plain and atomic
    /// commits at 1 MB and 100 MB, `plain` and `atomic` the 100 MB wall
    /// times (1 MB takes `small` s either way), with its time plot.
    fn atomic_cost(small: f64, plain: [f64; 3], atomic: [f64; 3]) -> ExperimentResults {
        let mut rows = Vec::new();
        for (is_atomic, at_100mb) in [(false, plain), (true, atomic)] {
            for (bytes, walls) in [(1_000_000u64, [small; 3]), (100_000_000, at_100mb)] {
                for (rep, wall_s) in (1..).zip(walls) {
                    rows.push(RunRow {
                        atomic: is_atomic,
                        max_file_bytes: bytes,
                        params_key: format!("atomic={is_atomic}-{bytes}"),
                        ..RunRow::sample("redis", 2, rep, wall_s)
                    });
                }
            }
        }
        ExperimentResults {
            name: "atomic-cost".into(),
            csv: "results/atomic-cost.csv".into(),
            rows,
            sidecar: Some(Sidecar {
                environment: capture_environment("test".into(), "now".into()),
                source: "atomic-cost.toml".into(),
                description: "d".into(),
                lab: None,
                shows: None,
                scale: 1.0,
                plots: vec![PlotSpec::new(PlotKind::Time, "max_file_bytes", &["atomic"])],
            }),
        }
    }

    fn atomic_cost_finding(results: &ExperimentResults) -> Finding {
        let views = [ExperimentView::new(results)];
        findings(&views)
            .into_iter()
            .find(|f| f.question == "What the atomic commit costs without faults")
            .expect("the atomic-cost question has a row")
    }

    /// A `crash-points` experiment: atomic and plain commits without a
    /// crash and with a mid-commit crash (plain: wrong, expected unless
    /// `plain_expected` is false).
    fn crash_points(plain_expected: bool) -> ExperimentResults {
        let mut rows = Vec::new();
        for atomic in [true, false] {
            for crash in ["", "0:mid-commit"] {
                let wrong = !atomic && !crash.is_empty();
                rows.push(RunRow {
                    atomic,
                    crash: crash.into(),
                    correct: !wrong,
                    diff_words: u64::from(wrong) * 2237,
                    expect_exact: !(wrong && plain_expected),
                    params_key: format!("{atomic}-{crash}"),
                    ..RunRow::sample("redis", 2, 1, 1.0)
                });
            }
        }
        ExperimentResults {
            name: "crash-points".into(),
            csv: "results/crash-points.csv".into(),
            rows,
            sidecar: None,
        }
    }

    #[test]
    fn a_correctness_question_is_answered_by_the_runs_exactness() {
        let question = "A crash at each crash point still gives exact counts";
        let finding = |results: &ExperimentResults| {
            let views = [ExperimentView::new(results)];
            findings(&views)
                .into_iter()
                .find(|f| f.question == question)
                .expect("the crash-points question has a row")
        };
        let control = finding(&crash_points(true));
        assert!(
            control
                .answer
                .starts_with("`crash-points`: 3 of 4 runs exact"),
            "{}",
            control.answer
        );
        assert!(
            control.answer.contains("0:mid-commit"),
            "{}",
            control.answer
        );
        assert_eq!(
            control.verdict,
            Verdict::Exact {
                inexact_on_purpose: 1
            }
        );
        assert!(control.verdict.text().contains("on purpose"));
        let broken = finding(&crash_points(false));
        assert_eq!(broken.verdict, Verdict::Wrong(1));
        assert!(broken.verdict.text().contains("WRONG"));
    }

    #[test]
    fn every_question_gets_a_row_and_an_unrun_one_says_how_to_run_it() {
        let rows = findings(&[]);
        assert_eq!(rows.len(), LAB_QUESTIONS.len());
        for row in &rows {
            match &row.verdict {
                Verdict::NotRun(why) => assert!(why.contains("experiment"), "{why}"),
                other => panic!("{} has no results but {other:?}", row.question),
            }
        }
    }

    #[test]
    fn a_ratio_question_is_answered_by_its_ratio_at_the_largest_size() {
        let apart = atomic_cost(0.1, [3.30, 3.39, 3.45], [3.70, 3.79, 3.85]);
        let finding = atomic_cost_finding(&apart);
        assert_eq!(
            finding.answer,
            "`atomic-cost`: wall_s at max_file_bytes = 100MB: atomic=true 3.79 s (3.70..3.85) \
             vs atomic=false 3.39 s (3.30..3.45), ratio 1.12x"
        );
        assert_eq!(finding.verdict, Verdict::BeyondNoise);
    }

    #[test]
    fn a_ratio_whose_sides_overlap_is_within_the_noise() {
        let overlapping = atomic_cost(0.1, [3.30, 3.39, 3.45], [3.40, 3.50, 3.60]);
        let finding = atomic_cost_finding(&overlapping);
        assert!(
            finding.answer.ends_with("ratio 1.03x"),
            "{}",
            finding.answer
        );
        assert_eq!(finding.verdict, Verdict::WithinNoise);
        // The file-size effect is far beyond the noise, but it is not the question.
        let view = ExperimentView::new(&overlapping);
        assert_eq!(
            view.effects[0].beyond_noise,
            Some(true),
            "{:?}",
            view.effects
        );
        let short = atomic_cost(0.01, [0.01; 3], [0.04; 3]);
        assert_eq!(atomic_cost_finding(&short).verdict, Verdict::TooShort);
    }
}
