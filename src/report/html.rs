//! The HTML report document: one self-contained file (inline CSS, plots
//! embedded as base64 `data:` URIs, no external file or network request)
//! that opens from an e-mail attachment. Lays out the same model as the
//! Markdown document (`view`, `questions`): the environment and provenance
//! first, then one section per lab question with the plots, a measured
//! statement per figure, the tables, which runs were exact and warnings
//! about noisy or too short runs. Every text is escaped.

use std::io::{self, Write};
use std::path::Path;

use super::markdown::Table;
use super::questions::{LAB_QUESTIONS, LabQuestion, Pivot, not_covered, not_run_yet};
use super::render::counted;
use super::view::{
    ExperimentView, ReportSource, environment_table, param_set_table, summary_table, views,
    without_sidecar,
};

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d1d1f;
  max-width: 1180px; margin: 0 auto; padding: 1.5em 2em 4em; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #0072b2; padding-bottom: 0.2em; margin-top: 2em; }
h3 { color: #0072b2; margin-top: 1.6em; }
h4 { margin: 0 0 0.6em; font-size: 1.15em; }
h5 { margin: 1.2em 0 0.4em; font-size: 1em; }
.meta { color: #555; }
code { background: #f2f2f2; padding: 0 0.25em; border-radius: 3px; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
tr:nth-child(even) td { background: #fafafa; }
.question { border: 1px solid #dde3ea; border-radius: 6px; padding: 1em 1.2em; margin: 1em 0; }
.experiment { border-top: 1px dashed #ccc; margin-top: 1em; }
.findings { background: #eef7ee; border-left: 4px solid #009e73; padding: 0.5em 0.8em 0.5em 2em; }
.exact { font-weight: 600; }
.warning { background: #fff4e5; border-left: 4px solid #e69f00; padding: 0.4em 0.8em; margin: 0.4em 0; }
.missing { background: #f4f4f4; border-left: 4px solid #999; padding: 0.4em 0.8em; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { color: #555; font-size: 0.85em; }
nav ul { columns: 2; }
";

/// Marks `<body data-images-loaded="N/M">` once the page has loaded:
/// N images decoded out of M (a headless browser checks it).
const SCRIPT: &str = "
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.setAttribute('data-images-loaded', loaded.length + '/' + images.length);
});
";

/// Writes the whole HTML report.
pub fn render_html<W: Write + ?Sized>(source: &ReportSource<'_>, out: &mut W) -> io::Result<()> {
    let views = views(source.lab);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Lab report: distributed word count</title>\n<style>{STYLE}</style>\n\
         <script>{SCRIPT}</script>\n</head>\n<body>"
    )?;
    writeln!(out, "<h1>Lab report: distributed word count</h1>")?;
    writeln!(
        out,
        "<p class=\"meta\">Generated {} by <code>harness report --html</code> from <code>{}</code> ({}, {}); plots from <code>{}</code>, embedded.</p>",
        escape(source.generated_at),
        escape(&source.results_dir.display().to_string()),
        counted(source.lab.experiments.len(), "experiment"),
        counted(source.lab.run_count(), "run"),
        escape(&source.plots.dir.display().to_string()),
    )?;
    writeln!(out, "<section id=\"findings\"><h2>Findings</h2>")?;
    write_table(out, &super::findings::findings_table(&views))?;
    writeln!(out, "</section>")?;
    write_contents(out)?;
    write_environment(out, source, &views)?;
    write_questions(out, source, &views)?;
    write_other_experiments(out, source, &views)?;
    writeln!(out, "</body>\n</html>")
}

fn write_contents<W: Write + ?Sized>(out: &mut W) -> io::Result<()> {
    writeln!(
        out,
        "<nav><h2>Contents</h2><ul><li><a href=\"#environment\">Environment and provenance</a></li>"
    )?;
    for (i, question) in LAB_QUESTIONS.iter().enumerate() {
        writeln!(
            out,
            "<li><a href=\"#{}\">{}: {}</a></li>",
            question_id(i),
            escape(question.lab),
            escape(question.question)
        )?;
    }
    writeln!(
        out,
        "<li><a href=\"#other-experiments\">Other experiments</a></li></ul></nav>"
    )
}

fn question_id(index: usize) -> String {
    format!("question-{}", index + 1)
}

fn write_environment<W: Write + ?Sized>(
    out: &mut W,
    source: &ReportSource<'_>,
    views: &[ExperimentView<'_>],
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"environment\">\n<h2>Environment and provenance</h2>"
    )?;
    write_table(out, &environment_table(source.lab))?;
    let without = without_sidecar(source.lab);
    if !without.is_empty() {
        writeln!(
            out,
            "<p class=\"warning\">No readable environment sidecar (<code>&lt;name&gt;.env.json</code>) for {}: their command lines and machine are unknown.</p>",
            without
                .iter()
                .map(|name| format!("<code>{}</code>", escape(name)))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(out, "<h3>Where each experiment's numbers come from</h3>")?;
    let mut provenance = Table::new(
        [
            "experiment",
            "experiment file",
            "scale",
            "git commit",
            "command line",
            "measured",
        ]
        .map(String::from)
        .to_vec(),
    );
    for view in views {
        let sidecar = view.results.sidecar.as_ref();
        let unknown = || "unknown (no sidecar)".to_string();
        provenance.push(vec![
            view.name().to_string(),
            sidecar.map_or_else(unknown, |s| s.source.clone()),
            view.scales(),
            view.commits(),
            sidecar.map_or_else(unknown, |s| s.environment.command.clone()),
            sidecar.map_or_else(unknown, |s| s.environment.captured_at.clone()),
        ]);
    }
    write_table(out, &provenance)?;
    writeln!(out, "<h3>Summary</h3>")?;
    write_table(out, &summary_table(views, &|name| name.to_string()))?;
    if !source.lab.skipped.is_empty() {
        writeln!(out, "<h3>Results files left out</h3>\n<ul>")?;
        for skipped in &source.lab.skipped {
            writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(&skipped.csv.display().to_string()),
                escape(&skipped.reason)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")
}

fn write_questions<W: Write + ?Sized>(
    out: &mut W,
    source: &ReportSource<'_>,
    views: &[ExperimentView<'_>],
) -> io::Result<()> {
    writeln!(out, "<section id=\"questions\">\n<h2>Lab questions</h2>")?;
    let mut lab = "";
    for (i, question) in LAB_QUESTIONS.iter().enumerate() {
        if question.lab != lab {
            lab = question.lab;
            writeln!(out, "<h3>{}</h3>", escape(lab))?;
        }
        write_question(out, i, question, source, views)?;
    }
    writeln!(out, "</section>")
}

fn write_question<W: Write + ?Sized>(
    out: &mut W,
    index: usize,
    question: &LabQuestion,
    source: &ReportSource<'_>,
    views: &[ExperimentView<'_>],
) -> io::Result<()> {
    writeln!(
        out,
        "<section class=\"question\" id=\"{}\" data-question=\"{}\">\n<h4>{}: {}</h4>",
        question_id(index),
        index + 1,
        escape(question.lab),
        escape(question.question)
    )?;
    if question.experiments.is_empty() {
        writeln!(
            out,
            "<p class=\"missing\">{}</p>",
            inline(&not_covered(question))
        )?;
    }
    for &name in question.experiments {
        match views.iter().find(|view| view.name() == name) {
            None => writeln!(
                out,
                "<p class=\"missing\">{}</p>",
                inline(&not_run_yet(name))
            )?,
            Some(view) => write_experiment(out, view, question, source)?,
        }
    }
    writeln!(out, "</section>")
}

fn write_experiment<W: Write + ?Sized>(
    out: &mut W,
    view: &ExperimentView<'_>,
    question: &LabQuestion,
    source: &ReportSource<'_>,
) -> io::Result<()> {
    writeln!(
        out,
        "<div class=\"experiment\" data-experiment=\"{0}\">\n<h5>Experiment <code>{0}</code></h5>",
        escape(view.name())
    )?;
    if let Some(sidecar) = &view.results.sidecar {
        writeln!(out, "<p>{}</p>", escape(&sidecar.description))?;
    }
    if let Some(shows) = view.shows() {
        writeln!(
            out,
            "<p class=\"shows\">What the plots should show: <em>{}</em></p>",
            escape(shows)
        )?;
    }
    if let Some(unfired) = super::groups::Unfired::of(&view.sets) {
        writeln!(
            out,
            "<p class=\"warning\">⚠ {}</p>",
            escape(&unfired.text())
        )?;
    }
    let effects = &view.effects;
    if !effects.is_empty() {
        writeln!(out, "<ul class=\"effects\">")?;
        for effect in effects {
            let class = if effect.verdict() == Some(false) {
                " class=\"warning\""
            } else {
                ""
            };
            writeln!(out, "<li{class}>{}</li>", escape(&effect.text()))?;
        }
        writeln!(out, "</ul>")?;
    }
    let pivots: Vec<Option<Pivot>> = question
        .figures
        .iter()
        .map(|figure| Pivot::new(figure, &view.sets, view.name()))
        .collect();
    if pivots.iter().any(Option::is_some) {
        writeln!(out, "<ul class=\"findings\">")?;
        for pivot in pivots.iter().flatten() {
            writeln!(out, "<li>{}</li>", escape(&pivot.statement()))?;
        }
        writeln!(out, "</ul>")?;
    }
    write_plots(out, view, source)?;
    for (figure, pivot) in question.figures.iter().zip(&pivots) {
        let title = figure.metric.title();
        match pivot {
            Some(pivot) => {
                writeln!(out, "<h5>{}</h5>", escape(&title))?;
                write_table(out, &pivot.table())?;
            }
            None => writeln!(
                out,
                "<p class=\"missing\">No {} in these results (see the table of parameter sets).</p>",
                escape(&title)
            )?,
        }
    }
    write_details(out, view)?;
    writeln!(out, "</div>")
}

/// The parameter-set table, which runs were exact, and the warnings.
fn write_details<W: Write + ?Sized>(out: &mut W, view: &ExperimentView<'_>) -> io::Result<()> {
    writeln!(out, "<h5>Parameter sets</h5>")?;
    write_table(out, &param_set_table(view))?;
    writeln!(
        out,
        "<p class=\"exact\">Exact (counts equal to the serial oracle): {}.</p>",
        escape(&view.exactness())
    )?;
    for warning in view.warnings() {
        writeln!(out, "<p class=\"warning\">⚠ {}</p>", escape(&warning))?;
    }
    Ok(())
}

/// Experiments with results that answer no lab question.
fn write_other_experiments<W: Write + ?Sized>(
    out: &mut W,
    source: &ReportSource<'_>,
    views: &[ExperimentView<'_>],
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"other-experiments\">\n<h2>Other experiments</h2>"
    )?;
    let others: Vec<&ExperimentView<'_>> = views
        .iter()
        .filter(|view| {
            !LAB_QUESTIONS
                .iter()
                .any(|question| question.experiments.contains(&view.name()))
        })
        .collect();
    if others.is_empty() {
        writeln!(
            out,
            "<p>Every experiment with results answers a lab question above.</p>"
        )?;
    }
    for view in others {
        writeln!(
            out,
            "<div class=\"experiment\" data-experiment=\"{0}\">\n<h3>Experiment <code>{0}</code></h3>",
            escape(view.name())
        )?;
        if let Some(sidecar) = &view.results.sidecar {
            writeln!(out, "<p>{}</p>", escape(&sidecar.description))?;
        }
        write_plots(out, view, source)?;
        write_details(out, view)?;
        writeln!(out, "</div>")?;
    }
    writeln!(out, "</section>")
}

fn write_plots<W: Write + ?Sized>(
    out: &mut W,
    view: &ExperimentView<'_>,
    source: &ReportSource<'_>,
) -> io::Result<()> {
    let plots = source.plots.plots_of(view.results);
    if plots.is_empty() {
        return writeln!(
            out,
            "<p class=\"missing\">No plots in <code>{}</code> yet: <code>harness plot {} --out {}</code>.</p>",
            escape(&source.plots.dir.display().to_string()),
            escape(&view.results.csv.display().to_string()),
            escape(&source.plots.dir.display().to_string()),
        );
    }
    for plot in plots {
        write_image(out, &plot)?;
    }
    Ok(())
}

/// A PNG embedded as a `data:` URI, or a note saying why it cannot be.
fn write_image<W: Write + ?Sized>(out: &mut W, png: &Path) -> io::Result<()> {
    let name = png
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read(png) {
        Ok(bytes) => writeln!(
            out,
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}</figcaption></figure>",
            escape(&name),
            base64(&bytes)
        ),
        Err(error) => writeln!(
            out,
            "<p class=\"warning\">Cannot embed the plot <code>{}</code>: {}.</p>",
            escape(&png.display().to_string()),
            escape(&error.to_string())
        ),
    }
}

fn write_table<W: Write + ?Sized>(out: &mut W, table: &Table) -> io::Result<()> {
    let width = table.header().len();
    write!(out, "<table>\n<thead><tr>")?;
    for heading in table.header() {
        write!(out, "<th>{}</th>", escape(heading))?;
    }
    writeln!(out, "</tr></thead>\n<tbody>")?;
    for row in table.rows() {
        write!(out, "<tr>")?;
        for i in 0..width {
            write!(
                out,
                "<td>{}</td>",
                escape(row.get(i).map_or("", String::as_str))
            )?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>\n</table>")
}

/// `text` with the five HTML-special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A line of the shared (Markdown-flavoured) model text as HTML: escaped,
/// with `` `code` `` spans as `<code>`.
fn inline(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

/// Standard base64 (RFC 4648, with `=` padding).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::{ExperimentResults, LabResults};
    use crate::report::plots::PlotFolder;
    use crate::results::RunRow;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn text_is_escaped_and_code_spans_kept() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            inline("run `harness <x>` now"),
            "run <code>harness &lt;x&gt;</code> now"
        );
    }

    #[test]
    fn every_question_has_a_section_and_plots_are_embedded() {
        let dir = tempfile::tempdir().unwrap();
        let png = b"\x89PNG\r\n\x1a\n not really";
        std::fs::write(dir.path().join("workers-efficiency-workers.png"), png).unwrap();
        let mut rows = Vec::new();
        for (mode, workers, wall_s) in [("serial", 1, 2.0), ("threads", 2, 1.25)] {
            for rep in 1..=2 {
                rows.push(RunRow {
                    experiment: "workers".into(),
                    input: "<books>".into(),
                    ..RunRow::sample(mode, workers, rep, wall_s)
                });
            }
        }
        let lab = LabResults {
            experiments: vec![ExperimentResults {
                name: "workers".into(),
                csv: "results/workers.csv".into(),
                rows,
                sidecar: None,
            }],
            skipped: Vec::new(),
        };
        let plots = PlotFolder::scan(dir.path());
        let source = ReportSource {
            results_dir: Path::new("results"),
            lab: &lab,
            plots: &plots,
            report_dir: Path::new("."),
            generated_at: "2026-01-01T00:00:00Z",
        };
        let mut out = Vec::new();
        render_html(&source, &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert_eq!(
            html.matches("<section class=\"question\"").count(),
            LAB_QUESTIONS.len()
        );
        assert!(
            html.contains("E(workers = 2) = 0.80 for threads on &lt;books&gt;"),
            "{html}"
        );
        assert!(html.contains(&format!("src=\"data:image/png;base64,{}\"", base64(png))));
        assert!(html.contains("4 of 4 runs exact"), "{html}");
        assert!(html.contains("not run yet: <code>harness run experiments/files.toml</code>"));
        assert!(!html.contains("<books>"), "unescaped text: {html}");
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    }
}
