//! The findings table both reports open with: one row per lab question,
//! its answer in one line (the measured effect of the first experiment
//! that answers it, from its plot of the question's first figure's column,
//! or else its first plot) and a verdict a reader can act on:
//! beyond the noise, within the noise, too short, not shown (its faults
//! did not happen), or not run (and why).

use super::markdown::Table;
use super::questions::{LAB_QUESTIONS, LabQuestion, Metric, not_covered, not_run_yet};
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
        Some(view) => match answering_effect(question, view) {
            None => (format!("`{}`: no plot", view.name()), Verdict::NoEffect),
            Some(effect) => (
                format!("`{}`: {}", view.name(), effect.statement),
                verdict_of(view, effect),
            ),
        },
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

fn verdict_of(view: &ExperimentView<'_>, effect: &PlotEffect) -> Verdict {
    if effect.faults.none_fired() {
        return Verdict::NotShown;
    }
    if !view.sets.is_empty() && view.sets.iter().all(|set| set.is_too_short()) {
        return Verdict::TooShort;
    }
    match effect.beyond_noise {
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
            "answer (largest measured effect)",
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
}
