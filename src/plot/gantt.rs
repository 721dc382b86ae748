//! Drawing a [`Timeline`]: the per-worker Gantt chart with coloured spans,
//! event markers and shaded outages. Knows nothing of runs or event logs
//! (see [`super::run_timeline`] for that).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axis::{Axis, Fit, Ticked};
use super::canvas::{
    DESC_PX, DResult, Fill, LegendEntry, Root, Swatch, TEXT_C, TICK_PX, VAlign, WHITE_RGB, darken,
    draw_flow_legend, es, fit_text, fit_text_middle, flow_legend_height, font, hatch, header,
    header_height, polyline, rect, render_png, text, text_width, with_measuring_root,
};
use super::{MarkKind, PlotError, SpanKind, TIMELINE_MIN_HEIGHT, Timeline, WIDTH};

const ROW_H: i32 = 40;
const X_AREA: i32 = 66;
const STRIP_LEVEL_H: i32 = 24;
const MAX_ROW_LABEL_W: i32 = 320;
/// More rows than this would make an absurdly tall image (likely a bad row index).
const MAX_ROWS: usize = 400;

const SPAN_ORDER: [SpanKind; 5] = [
    SpanKind::Wait,
    SpanKind::Count,
    SpanKind::Stolen,
    SpanKind::Commit,
    SpanKind::Wasted,
];
const MARK_ORDER: [MarkKind; 5] = [
    MarkKind::Start,
    MarkKind::Exit,
    MarkKind::Steal,
    MarkKind::Crash,
    MarkKind::Refused,
];

const CRASH_C: RGBColor = RGBColor(214, 39, 40);
const STEAL_C: RGBColor = RGBColor(118, 42, 131);
const START_C: RGBColor = RGBColor(0, 135, 60);
const OUTAGE_FILL: RGBAColor = RGBAColor(214, 39, 40, 0.13);
const OUTAGE_EDGE: RGBColor = RGBColor(230, 150, 150);
const OUTAGE_TEXT: RGBColor = RGBColor(170, 20, 20);

/// Fill, border, text colour and hatch of a span kind.
fn span_style(k: SpanKind) -> (RGBColor, RGBColor, RGBColor, Option<RGBColor>) {
    match k {
        SpanKind::Count => (
            RGBColor(0, 114, 178),
            darken(RGBColor(0, 114, 178), 0.35),
            WHITE_RGB,
            None,
        ),
        SpanKind::Commit => (
            RGBColor(230, 159, 0),
            darken(RGBColor(230, 159, 0), 0.35),
            RGBColor(0, 0, 0),
            None,
        ),
        SpanKind::Wait => (
            RGBColor(218, 218, 218),
            RGBColor(175, 175, 175),
            RGBColor(60, 60, 60),
            None,
        ),
        SpanKind::Stolen => (
            RGBColor(128, 77, 172),
            darken(RGBColor(128, 77, 172), 0.35),
            WHITE_RGB,
            None,
        ),
        SpanKind::Wasted => (
            RGBColor(250, 200, 200),
            CRASH_C,
            RGBColor(90, 0, 0),
            Some(CRASH_C),
        ),
    }
}

fn span_name(k: SpanKind) -> &'static str {
    match k {
        SpanKind::Count => "count",
        SpanKind::Commit => "commit",
        SpanKind::Wait => "wait",
        SpanKind::Stolen => "stolen unit",
        SpanKind::Wasted => "wasted work",
    }
}

fn mark_name(k: MarkKind) -> &'static str {
    match k {
        MarkKind::Crash => "crash",
        MarkKind::Steal => "steal",
        MarkKind::Start => "start",
        MarkKind::Exit => "exit",
        MarkKind::Refused => "commit refused",
    }
}

/// Draws one event marker centred at `(x, y)`; ticks reach `half` pixels up and down.
fn draw_mark(root: &Root, k: MarkKind, (x, y): (i32, i32), half: i32) -> DResult {
    match k {
        MarkKind::Crash => {
            let s = 7;
            for (c, wd) in [(WHITE_RGB, 6), (CRASH_C, 3)] {
                polyline(root, vec![(x - s, y - s), (x + s, y + s)], c, wd)?;
                polyline(root, vec![(x - s, y + s), (x + s, y - s)], c, wd)?;
            }
            Ok(())
        }
        MarkKind::Steal => {
            let pts = vec![(x, y - 8), (x + 8, y + 6), (x - 8, y + 6)];
            root.draw(&Polygon::new(pts.clone(), STEAL_C.filled()))
                .map_err(es)?;
            polyline(root, vec![pts[0], pts[1], pts[2], pts[0]], WHITE_RGB, 1)
        }
        MarkKind::Refused => {
            root.draw(&Circle::new((x, y), 6, RGBColor(0, 0, 0).filled()))
                .map_err(es)?;
            root.draw(&Circle::new((x, y), 6, WHITE_RGB.stroke_width(1)))
                .map_err(es)
        }
        MarkKind::Start => polyline(root, vec![(x, y - half), (x, y + half)], START_C, 3),
        MarkKind::Exit => polyline(
            root,
            vec![(x, y - half), (x, y + half)],
            RGBColor(0, 0, 0),
            3,
        ),
    }
}

fn legend_crash(r: &Root, p: (i32, i32)) -> DResult {
    draw_mark(r, MarkKind::Crash, p, 10)
}
fn legend_steal(r: &Root, p: (i32, i32)) -> DResult {
    draw_mark(r, MarkKind::Steal, p, 10)
}
fn legend_refused(r: &Root, p: (i32, i32)) -> DResult {
    draw_mark(r, MarkKind::Refused, p, 10)
}
fn legend_start(r: &Root, p: (i32, i32)) -> DResult {
    draw_mark(r, MarkKind::Start, p, 10)
}
fn legend_exit(r: &Root, p: (i32, i32)) -> DResult {
    draw_mark(r, MarkKind::Exit, p, 10)
}

fn legend_entries(tl: &Timeline) -> Vec<LegendEntry> {
    let mut entries = Vec::new();
    for k in [
        SpanKind::Count,
        SpanKind::Commit,
        SpanKind::Wait,
        SpanKind::Stolen,
        SpanKind::Wasted,
    ] {
        if tl.spans.iter().any(|s| s.kind == k) {
            let (fill, border, _, h) = span_style(k);
            entries.push(LegendEntry {
                swatch: Swatch::Box {
                    fill,
                    border,
                    hatch: h,
                    pattern: Fill::Solid,
                },
                label: span_name(k).into(),
            });
        }
    }
    for k in MARK_ORDER {
        if tl.marks.iter().any(|m| m.kind == k) {
            let f: fn(&Root, (i32, i32)) -> DResult = match k {
                MarkKind::Crash => legend_crash,
                MarkKind::Steal => legend_steal,
                MarkKind::Refused => legend_refused,
                MarkKind::Start => legend_start,
                MarkKind::Exit => legend_exit,
            };
            entries.push(LegendEntry {
                swatch: Swatch::Glyph(f),
                label: mark_name(k).into(),
            });
        }
    }
    if !tl.outages.is_empty() {
        entries.push(LegendEntry {
            swatch: Swatch::Band {
                fill: OUTAGE_FILL,
                border: OUTAGE_EDGE,
            },
            label: "outage".into(),
        });
    }
    entries
}

/// Draws `timeline` as a PNG 1280 pixels wide at `out` (written atomically, parent
/// directory created). The height grows with the number of rows (at least 400 pixels).
///
/// Spans and marks with non-finite times are skipped; spans whose end precedes their
/// start are drawn reversed. Fails with [`PlotError::NoData`] when there is no row or
/// no drawable span or mark.
pub fn draw_timeline(timeline: &Timeline, out: &Path) -> Result<(), PlotError> {
    let spans: Vec<_> = timeline
        .spans
        .iter()
        .filter(|s| s.start_s.is_finite() && s.end_s.is_finite())
        .map(|s| {
            (
                s.row,
                s.start_s.min(s.end_s),
                s.start_s.max(s.end_s),
                s.kind,
                s.label.as_deref(),
            )
        })
        .collect();
    let marks: Vec<_> = timeline
        .marks
        .iter()
        .filter(|m| m.at_s.is_finite())
        .collect();
    let outages: Vec<_> = timeline
        .outages
        .iter()
        .filter(|o| o.start_s.is_finite() && o.end_s.is_finite())
        .collect();
    if spans.is_empty() && marks.is_empty() {
        return Err(PlotError::NoData {
            what: format!(
                "timeline \"{}\" has {} rows, {} spans and {} marks but no span or mark with finite times",
                timeline.title,
                timeline.rows.len(),
                timeline.spans.len(),
                timeline.marks.len()
            ),
        });
    }
    let n_rows = spans
        .iter()
        .map(|s| s.0 + 1)
        .chain(marks.iter().map(|m| m.row + 1))
        .chain([timeline.rows.len()])
        .max()
        .unwrap_or(0);
    if n_rows > MAX_ROWS {
        return Err(PlotError::Draw {
            path: out.to_path_buf(),
            message: format!(
                "timeline \"{}\" would have {n_rows} rows (highest row index in spans/marks + 1) but at most \
                 {MAX_ROWS} can be drawn; check the row indices or split the timeline",
                timeline.title
            ),
        });
    }
    let rows: Vec<String> = (0..n_rows)
        .map(|i| {
            timeline
                .rows
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("row {i}"))
        })
        .collect();

    let times = spans
        .iter()
        .flat_map(|s| [s.1, s.2])
        .chain(marks.iter().map(|m| m.at_s))
        .chain(outages.iter().flat_map(|o| [o.start_s, o.end_s]));
    let xa = Axis::fit(
        times.chain([0.0]),
        Fit {
            log: false,
            format: super::AxisFormat::Plain,
            pad: 0.02,
            from_zero: true,
            ticks: 12,
        },
    )
    .expect("time 0 is always drawable");

    // Layout: header, outage label strip, rows, x axis, legend.
    let entries = legend_entries(timeline);
    let legend_w = WIDTH as i32 - 60;
    let measure = with_measuring_root(|r| {
        let lh = flow_legend_height(r, &entries, legend_w)?;
        let tf = font(TICK_PX, false);
        let mut lw = 0;
        for name in &rows {
            lw = lw.max(text_width(r, name, &tf)?);
        }
        Ok((lh, lw.min(MAX_ROW_LABEL_W)))
    });
    let (legend_h, row_label_w) = measure.map_err(|message| PlotError::Draw {
        path: out.to_path_buf(),
        message,
    })?;
    let top = header_height(timeline.subtitle.as_deref());
    let strip = match outages.len() {
        0 => 4,
        1 => STRIP_LEVEL_H + 4,
        _ => 2 * STRIP_LEVEL_H + 4,
    };
    let fixed = top + strip + X_AREA + 10 + legend_h + 20;
    let height = (fixed + n_rows as i32 * ROW_H).max(TIMELINE_MIN_HEIGHT as i32);
    let plot_h = height - fixed;

    let layout = Layout {
        top,
        strip,
        plot_h,
        legend_w,
        row_label_w,
    };
    render_png(out, (WIDTH, height as u32), |root| {
        draw(
            root, timeline, &rows, &spans, &marks, &outages, &xa, &entries, &layout,
        )
    })
}

struct Layout {
    top: i32,
    strip: i32,
    plot_h: i32,
    legend_w: i32,
    row_label_w: i32,
}

type SpanRef<'a> = (usize, f64, f64, SpanKind, Option<&'a str>);

#[allow(clippy::too_many_arguments)]
fn draw(
    root: &Root,
    tl: &Timeline,
    rows: &[String],
    spans: &[SpanRef],
    marks: &[&super::Mark],
    outages: &[&super::Outage],
    xa: &Axis,
    entries: &[LegendEntry],
    lay: &Layout,
) -> DResult {
    header(root, &tl.title, tl.subtitle.as_deref())?;
    let n = rows.len();
    let nf = n as f64;
    let tick_font = font(TICK_PX, false).color(&TEXT_C);
    let row_names: Vec<String> = rows
        .iter()
        .map(|r| fit_text_middle(root, r, &tick_font, MAX_ROW_LABEL_W))
        .collect::<DResult<_>>()?;

    let area_h = lay.strip + lay.plot_h + X_AREA;
    let area = root.clone().shrink((0, lay.top), (WIDTH, area_h as u32));
    let centers: Vec<f64> = (0..n).map(|i| nf - i as f64 - 0.5).collect();
    let mut cc = ChartBuilder::on(&area)
        .margin_top(lay.strip)
        .margin_right(30)
        .margin_left(16)
        .x_label_area_size(X_AREA)
        .y_label_area_size(lay.row_label_w + 18)
        .build_cartesian_2d(xa.coord(), Ticked::new(0.0, nf, centers, Vec::new()))
        .map_err(es)?;
    let xf = |v: &f64| xa.label(*v);
    let yf = |v: &f64| {
        let i = (nf - 0.5 - v).round();
        if i >= 0.0 && (i as usize) < n {
            row_names[i as usize].clone()
        } else {
            String::new()
        }
    };
    cc.configure_mesh()
        .x_desc("time since job start (s)")
        .label_style(tick_font.clone())
        .axis_desc_style(font(DESC_PX, false).color(&TEXT_C))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .disable_y_mesh()
        .bold_line_style(RGBColor(215, 215, 215).stroke_width(1))
        .light_line_style(RGBColor(240, 240, 240).stroke_width(1))
        .axis_style(RGBColor(60, 60, 60).stroke_width(1))
        .y_label_offset(3)
        .set_all_tick_mark_size(5)
        .draw()
        .map_err(es)?;

    let (xr, yr) = cc.plotting_area().get_pixel_range();
    let px = |t: f64| cc.backend_coord(&(t, 0.0)).0;
    let row_y = |i: usize| cc.backend_coord(&(xa.lo, nf - i as f64 - 0.5)).1;
    let row_px = (yr.end - yr.start) as f64 / nf.max(1.0);
    let bar_half = ((row_px * 0.62).min(30.0) / 2.0).round() as i32;

    // Row separators.
    for i in 1..n {
        let y = cc.backend_coord(&(xa.lo, i as f64)).1;
        polyline(
            root,
            vec![(xr.start + 1, y), (xr.end, y)],
            RGBColor(228, 228, 228),
            1,
        )?;
    }

    // Outages behind everything else.
    for o in outages {
        let (a, b) = (
            px(o.start_s.min(o.end_s)),
            px(o.start_s.max(o.end_s)).max(px(o.start_s.min(o.end_s)) + 2),
        );
        rect(root, (a, yr.start), (b, yr.end), &OUTAGE_FILL, None)?;
        polyline(root, vec![(a, yr.start), (a, yr.end)], OUTAGE_EDGE, 1)?;
        polyline(root, vec![(b, yr.start), (b, yr.end)], OUTAGE_EDGE, 1)?;
    }

    // Spans, by kind so that short commits and wasted work stay visible on top.
    let label_font = font(13.0, false);
    for kind in SPAN_ORDER {
        let (fill, border, text_c, h) = span_style(kind);
        for &(row, s, e, _, label) in spans.iter().filter(|s| s.3 == kind) {
            let cy = row_y(row);
            let half = if kind == SpanKind::Wait {
                (bar_half / 2).max(3)
            } else {
                bar_half
            };
            let x0 = px(s);
            let x1 = px(e).max(x0 + 1);
            rect(root, (x0, cy - half), (x1, cy + half), &fill, None)?;
            if let Some(hc) = h {
                hatch(root, (x0, cy - half), (x1, cy + half), hc, 7)?;
            }
            if x1 - x0 >= 3 {
                rect(
                    root,
                    (x0, cy - half),
                    (x1, cy + half),
                    &TRANSPARENT,
                    Some(border),
                )?;
            }
            if let Some(l) = label.filter(|l| !l.is_empty()) {
                let avail = x1 - x0 - 8;
                if avail >= 24 && half >= 8 {
                    let fitted = fit_text(root, l, &label_font, avail)?;
                    if fitted.chars().count() >= 3 {
                        let st = label_font.color(&text_c);
                        text(
                            root,
                            &fitted,
                            ((x0 + x1) / 2, cy),
                            &st,
                            HPos::Center,
                            VAlign::Middle,
                        )?;
                    }
                }
            }
        }
    }

    // Instant events on top.
    for kind in MARK_ORDER {
        for m in marks.iter().filter(|m| m.kind == kind) {
            draw_mark(root, kind, (px(m.at_s), row_y(m.row)), bar_half + 5)?;
        }
    }

    // Outage labels in the strip above the plot, staggered on two levels when they collide.
    let of = font(16.0, true).color(&OUTAGE_TEXT);
    let mut level_end = [i32::MIN; 2];
    for o in outages {
        let (a, b) = (px(o.start_s.min(o.end_s)), px(o.start_s.max(o.end_s)));
        let label = fit_text(root, &o.label, &of, 360)?;
        let w = text_width(root, &label, &of)?;
        let cx = ((a + b) / 2).clamp(xr.start + w / 2, WIDTH as i32 - 8 - w / 2);
        let levels = if outages.len() > 1 { 2 } else { 1 };
        let lvl = (0..levels)
            .find(|&l| level_end[l] + 8 <= cx - w / 2)
            .unwrap_or_else(|| if level_end[0] <= level_end[1] { 0 } else { 1 });
        level_end[lvl] = cx + w / 2;
        let y = yr.start - 7 - lvl as i32 * STRIP_LEVEL_H;
        text(root, &label, (cx, y), &of, HPos::Center, VAlign::Baseline)?;
    }

    // Legend under the x axis.
    let legend_y = lay.top + area_h + 10;
    draw_flow_legend(
        root,
        entries,
        (xr.start.max(30), legend_y),
        lay.legend_w.min(WIDTH as i32 - xr.start - 20),
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Sample data shared by the tests.
    use super::super::{Mark, Outage, Span};
    use super::*;

    pub(crate) fn span(row: usize, s: f64, e: f64, kind: SpanKind, label: Option<&str>) -> Span {
        Span {
            row,
            start_s: s,
            end_s: e,
            kind,
            label: label.map(str::to_string),
        }
    }

    pub(crate) fn sample(workers: usize) -> Timeline {
        let mut spans = Vec::new();
        let mut marks = Vec::new();
        for w in 0..workers {
            marks.push(Mark {
                row: w,
                at_s: 0.1 * w as f64,
                kind: MarkKind::Start,
            });
            let mut t = 0.1 * w as f64;
            for u in 0..6 {
                let d = 1.5 + ((w * 7 + u * 3) % 5) as f64 * 0.4;
                let kind = if w == 1 && u == 4 {
                    SpanKind::Stolen
                } else {
                    SpanKind::Count
                };
                spans.push(span(
                    w,
                    t,
                    t + d,
                    kind,
                    Some(&format!("part-{:03}.txt", w * 6 + u)),
                ));
                t += d;
                spans.push(span(w, t, t + 0.25, SpanKind::Commit, None));
                t += 0.25;
                if u == 2 {
                    spans.push(span(w, t, t + 1.0, SpanKind::Wait, None));
                    t += 1.0;
                }
            }
            if w == 2 {
                spans.push(span(w, t, t + 1.2, SpanKind::Wasted, Some("part-099.txt")));
                marks.push(Mark {
                    row: w,
                    at_s: t + 1.2,
                    kind: MarkKind::Crash,
                });
            } else {
                marks.push(Mark {
                    row: w,
                    at_s: t,
                    kind: MarkKind::Exit,
                });
            }
        }
        marks.push(Mark {
            row: 1,
            at_s: 9.0,
            kind: MarkKind::Steal,
        });
        marks.push(Mark {
            row: 0,
            at_s: 6.0,
            kind: MarkKind::Refused,
        });
        Timeline {
            title: "Worker timeline with crash".into(),
            subtitle: Some("run 3, 4 workers, worker 2 killed at t=14s".into()),
            rows: (0..workers)
                .map(|w| format!("worker {w} (cpu {}%)", 100 - (w % 8) * 10))
                .collect(),
            spans,
            marks,
            outages: vec![
                Outage {
                    start_s: 4.0,
                    end_s: 6.5,
                    label: "Redis down".into(),
                },
                Outage {
                    start_s: 7.0,
                    end_s: 7.5,
                    label: "network partition".into(),
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::super::canvas::test_util::{assert_no_temp_files, png_size};
    use super::tests_support::{sample, span};
    use super::*;

    #[test]
    fn writes_png_with_min_height() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tl.png");
        draw_timeline(&sample(1), &out).unwrap();
        assert_eq!(png_size(&out), (1280, 400));
        draw_timeline(&sample(4), &out).unwrap();
        let (w, h) = png_size(&out);
        assert!(w == 1280 && h >= 400, "{w}x{h}");
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn height_grows_with_rows() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tl32.png");
        draw_timeline(&sample(32), &out).unwrap();
        let (w, h) = png_size(&out);
        assert_eq!(w, 1280);
        assert!(h > 32 * ROW_H as u32, "height {h}");
    }

    #[test]
    fn empty_timeline_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("none.png");
        let tl = Timeline {
            title: "t".into(),
            rows: vec!["worker 0".into()],
            ..Default::default()
        };
        assert!(matches!(
            draw_timeline(&tl, &out),
            Err(PlotError::NoData { .. })
        ));
        assert!(matches!(
            draw_timeline(&Timeline::default(), &out),
            Err(PlotError::NoData { .. })
        ));
        assert!(!out.exists());
    }

    #[test]
    fn absurd_row_index_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("huge.png");
        let tl = Timeline {
            title: "t".into(),
            spans: vec![span(1_000_000, 0.0, 1.0, SpanKind::Count, None)],
            ..Default::default()
        };
        assert!(matches!(
            draw_timeline(&tl, &out),
            Err(PlotError::Draw { .. })
        ));
    }

    #[test]
    fn rows_missing_from_names_are_added() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("extra.png");
        let tl = Timeline {
            title: "t".into(),
            rows: vec![],
            spans: vec![
                span(3, 0.0, 1.0, SpanKind::Count, None),
                span(0, 5.0, 2.0, SpanKind::Wasted, None),
            ],
            marks: vec![Mark {
                row: 5,
                at_s: f64::NAN,
                kind: MarkKind::Crash,
            }],
            ..Default::default()
        };
        draw_timeline(&tl, &out).unwrap();
        assert_eq!(png_size(&out).0, 1280);
    }
}
