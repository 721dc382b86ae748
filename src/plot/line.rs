//! Line charts: medians connected in x order, min..max whiskers, legend on the right.

use std::path::Path;

use plotters::prelude::*;

use super::axis::{Axis, Fit};
use super::canvas::{
    DESC_PX, DResult, LegendEntry, LegendLayout, REF_C, Root, Swatch, TEXT_C, TICK_PX,
    dashed_hline, draw_vertical_legend, es, font, header, header_height, marker, marker_for,
    palette, polyline, render_png, text_width, vertical_legend_layout, whisker,
};
use super::{HEIGHT, LineChart, PlotError, WIDTH};

/// One drawable point in drawing space (log10 applied where the axis is logarithmic).
#[derive(Debug, Clone, Copy)]
struct P {
    x: f64,
    med: f64,
    lo: Option<f64>,
    hi: Option<f64>,
}

/// Keeps the drawable points of one series, sorted by x.
fn prepare(points: &[super::SpreadPoint], x_log: bool, y_log: bool) -> Vec<P> {
    let t = |log: bool, v: f64| -> Option<f64> {
        if !v.is_finite() || (log && v <= 0.0) {
            None
        } else if log {
            Some(v.log10())
        } else {
            Some(v)
        }
    };
    let mut out: Vec<P> = points
        .iter()
        .filter_map(|p| {
            let x = t(x_log, p.x)?;
            let med = t(y_log, p.median)?;
            // Whisker ends that cannot be drawn (<= 0 on a log axis, NaN) are cut at the median.
            let lo = t(y_log, p.min.min(p.median));
            let hi = t(y_log, p.max.max(p.median));
            Some(P { x, med, lo, hi })
        })
        .collect();
    out.sort_by(|a, b| a.x.total_cmp(&b.x));
    out
}

/// Draws `chart` as a 1280x800 PNG at `out` (written atomically, parent directory created).
///
/// Points with non-finite coordinates are skipped, and so are x values <= 0 on a
/// log x axis and medians <= 0 on a log y axis. Fails with [`PlotError::NoData`]
/// when no point of any series remains.
pub fn draw_line_chart(chart: &LineChart, out: &Path) -> Result<(), PlotError> {
    let prepared: Vec<Vec<P>> = chart
        .series
        .iter()
        .map(|s| prepare(&s.points, chart.x_log, chart.y_log))
        .collect();
    if prepared.iter().all(Vec::is_empty) {
        let total: usize = chart.series.iter().map(|s| s.points.len()).sum();
        let mut what = format!(
            "line chart \"{}\" has {} series with {total} points but none is drawable",
            chart.title,
            chart.series.len()
        );
        if chart.x_log || chart.y_log {
            what.push_str(" (log axes need x > 0 and median > 0)");
        }
        return Err(PlotError::NoData { what });
    }

    // Axes from the raw values of the drawable points.
    let xs: Vec<f64> = prepared.iter().flatten().map(|p| p.x).collect();
    let raw = |log: bool, t: f64| if log { 10f64.powf(t) } else { t };
    let mut x_axis = Axis::fit(
        xs.iter().map(|&t| raw(chart.x_log, t)),
        Fit {
            log: chart.x_log,
            format: chart.x_format,
            pad: 0.04,
            from_zero: false,
            ticks: 10,
        },
    )
    .expect("at least one drawable point");
    // Few distinct x values (e.g. 1, 2, 4, 8, 16 workers): label exactly those,
    // unless their labels would collide.
    let mut distinct = xs.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    if (2..=10).contains(&distinct.len()) && labels_fit(&x_axis, &distinct) {
        if !chart.x_log {
            // The old labelled ticks become the light grid; finer lines would be clutter.
            x_axis.minor.clear();
        }
        x_axis.minor.extend(x_axis.major.iter().copied());
        x_axis
            .minor
            .retain(|m| distinct.iter().all(|d| (d - m).abs() > 1e-6));
        x_axis.major = distinct;
    }
    let ys = prepared
        .iter()
        .flatten()
        .flat_map(|p| [Some(p.med), p.lo, p.hi])
        .flatten();
    let ref_y = reference_y(chart);
    let y_axis = Axis::fit(ys.map(|t| raw(chart.y_log, t)).chain(ref_y), fit_y(chart))
        .expect("at least one drawable point");

    render_png(out, (WIDTH, HEIGHT), |root| {
        draw(root, chart, &prepared, &x_axis, &y_axis, ref_y)
    })
}

/// Whether tick labels at `ticks` (drawing space) can sit side by side on a plot
/// roughly 850 pixels wide (tick font: about 9 pixels per character).
fn labels_fit(axis: &Axis, ticks: &[f64]) -> bool {
    let px_per_unit = 850.0 / (axis.hi - axis.lo);
    let width = |t: f64| axis.label(t).chars().count() as f64 * 9.0 + 12.0;
    ticks
        .windows(2)
        .all(|w| (w[1] - w[0]) * px_per_unit >= (width(w[0]) + width(w[1])) / 2.0)
}

/// The reference line's y, when it can be drawn on the chart's y axis.
fn reference_y(chart: &LineChart) -> Option<f64> {
    chart
        .reference_line
        .as_ref()
        .and_then(|(y, _)| Axis::fit([*y], fit_y(chart)).map(|_| *y))
}

/// Widest a legend label may be before it wraps, pixels.
const LEGEND_LABEL_W: i32 = 280;

/// The legend entries of `chart`: one per series (colour and marker), then the reference line.
fn legend_entries(chart: &LineChart, prepared: &[Vec<P>], ref_y: Option<f64>) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = chart
        .series
        .iter()
        .zip(prepared)
        .enumerate()
        .map(|(i, (s, p))| {
            let mut label = if s.label.trim().is_empty() {
                format!("series {}", i + 1)
            } else {
                s.label.clone()
            };
            if p.is_empty() {
                label.push_str(" (no data)");
            }
            LegendEntry {
                swatch: Swatch::Line {
                    color: palette(i),
                    marker: marker_for(i),
                },
                label,
            }
        })
        .collect();
    if let (Some((_, label)), Some(_)) = (&chart.reference_line, ref_y) {
        entries.push(LegendEntry {
            swatch: Swatch::Dashed { color: REF_C },
            label: label.clone(),
        });
    }
    entries
}

/// Where the legend goes: its entries, its layout and its top-left corner
/// (`top`: height of the header).
fn place_legend(
    root: &Root,
    chart: &LineChart,
    prepared: &[Vec<P>],
    ref_y: Option<f64>,
    top: i32,
) -> DResult<(Vec<LegendEntry>, LegendLayout, i32)> {
    let entries = legend_entries(chart, prepared, ref_y);
    let layout = vertical_legend_layout(root, &entries, LEGEND_LABEL_W, HEIGHT as i32 - top - 80)?;
    let legend_x = WIDTH as i32 - layout.w - 16;
    Ok((entries, layout, legend_x))
}

/// The legend of `chart` as [`draw_line_chart`] lays it out.
pub(crate) fn legend_of(chart: &LineChart) -> Result<super::layout::ChartLayout, PlotError> {
    let prepared: Vec<Vec<P>> = chart
        .series
        .iter()
        .map(|s| prepare(&s.points, chart.x_log, chart.y_log))
        .collect();
    let top = header_height(chart.subtitle.as_deref());
    super::layout::ChartLayout::measured(top, |root| {
        place_legend(root, chart, &prepared, reference_y(chart), top)
    })
}

fn fit_y(chart: &LineChart) -> Fit {
    Fit {
        log: chart.y_log,
        format: chart.y_format,
        pad: 0.06,
        from_zero: chart.y_from_zero && !chart.y_log,
        ticks: 8,
    }
}

fn draw(
    root: &Root,
    chart: &LineChart,
    prepared: &[Vec<P>],
    xa: &Axis,
    ya: &Axis,
    ref_y: Option<f64>,
) -> DResult {
    let h = HEIGHT as i32;
    let top = header(root, &chart.title, chart.subtitle.as_deref())?;

    // Legend on the right, sized to its labels (long ones wrap).
    let (entries, legend, legend_x) = place_legend(root, chart, prepared, ref_y, top)?;

    // Plot area: everything left of the legend, below the header.
    let plot_w = legend_x - 8;
    let area = root
        .clone()
        .shrink((0, top), (plot_w as u32, (h - top) as u32));
    let tick_font = font(TICK_PX, false).color(&TEXT_C);
    let mut max_tick_w = 0;
    for &t in &ya.major {
        max_tick_w = max_tick_w.max(text_width(root, &ya.label(t), &tick_font)?);
    }
    let y_area = max_tick_w + 14 + (DESC_PX as i32) + 18;

    let mut cc = ChartBuilder::on(&area)
        .margin_top(6)
        .margin_right(20)
        .margin_left(12)
        .margin_bottom(14)
        .x_label_area_size(66)
        .y_label_area_size(y_area)
        .build_cartesian_2d(xa.coord(), ya.coord())
        .map_err(es)?;
    let xf = |v: &f64| xa.label(*v);
    let yf = |v: &f64| ya.label(*v);
    cc.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(tick_font.clone())
        .axis_desc_style(font(DESC_PX, false).color(&TEXT_C))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .bold_line_style(RGBColor(210, 210, 210).stroke_width(1))
        .light_line_style(RGBColor(238, 238, 238).stroke_width(1))
        .axis_style(RGBColor(60, 60, 60).stroke_width(1))
        .y_label_offset(3)
        .set_all_tick_mark_size(5)
        .draw()
        .map_err(es)?;

    let (px_range, _) = cc.plotting_area().get_pixel_range();
    let map = |x: f64, y: f64| cc.backend_coord(&(x, y));

    if let Some(y) = ref_y.and_then(|y| ya.t(y)) {
        let (_, py) = map(xa.lo, y);
        dashed_hline(root, px_range.start, px_range.end, py, REF_C, 2)?;
    }

    // Small horizontal offsets so whiskers of series sharing an x do not hide each other.
    let drawn: Vec<usize> = (0..prepared.len())
        .filter(|&i| !prepared[i].is_empty())
        .collect();
    let shared_x = {
        let mut all: Vec<f64> = prepared
            .iter()
            .flat_map(|s| s.iter().map(|p| p.x))
            .collect();
        all.sort_by(f64::total_cmp);
        all.windows(2).any(|w| (w[1] - w[0]).abs() < 1e-12)
    };
    let dodge = if drawn.len() >= 2 && shared_x {
        (4.0f64).min(20.0 / (drawn.len() - 1) as f64)
    } else {
        0.0
    };
    let offset = |i: usize| -> i32 {
        let k = drawn.iter().position(|&d| d == i).unwrap_or(0) as f64;
        ((k - (drawn.len() as f64 - 1.0) / 2.0) * dodge).round() as i32
    };

    for (i, pts) in prepared.iter().enumerate() {
        let dx = offset(i);
        let line: Vec<(i32, i32)> = pts
            .iter()
            .map(|p| map(p.x, p.med))
            .map(|(x, y)| (x + dx, y))
            .collect();
        polyline(root, line, palette(i), 2)?;
    }
    for (i, pts) in prepared.iter().enumerate() {
        let dx = offset(i);
        let color = palette(i);
        for p in pts {
            let (x, y) = map(p.x, p.med);
            let lo = p.lo.map_or(y, |v| map(p.x, v).1);
            let hi = p.hi.map_or(y, |v| map(p.x, v).1);
            whisker(root, x + dx, lo, hi, 5, color, 2)?;
        }
        for p in pts {
            let (x, y) = map(p.x, p.med);
            marker(root, marker_for(i), (x + dx, y), 5, color)?;
        }
    }

    let (_, py_range) = cc.plotting_area().get_pixel_range();
    draw_vertical_legend(root, &entries, &legend, (legend_x, py_range.start))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::canvas::test_util::{assert_no_temp_files, png_size};
    use super::super::{AxisFormat, Series, SpreadPoint};
    use super::*;

    fn sp(x: f64, m: f64) -> SpreadPoint {
        SpreadPoint {
            x,
            median: m,
            min: m * 0.9,
            max: m * 1.15,
        }
    }

    fn chart(series: Vec<Series>) -> LineChart {
        LineChart {
            title: "Wall time vs workers".into(),
            subtitle: Some("input: books-1GB, 5 repetitions".into()),
            x_label: "workers (p)".into(),
            y_label: "wall time (s)".into(),
            series,
            ..Default::default()
        }
    }

    #[test]
    fn writes_png_of_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/dir/line.png");
        let c = chart(vec![Series {
            label: "redis".into(),
            points: vec![sp(1.0, 10.0), sp(2.0, 5.5), sp(4.0, 3.0)],
        }]);
        draw_line_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
        assert_no_temp_files(out.parent().unwrap());
    }

    #[test]
    fn log_axes_skip_non_positive_values() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("log.png");
        let mut c = chart(vec![Series {
            label: "s".into(),
            points: vec![
                sp(0.0, 1.0),
                sp(-1.0, 1.0),
                sp(10.0, 0.0),
                sp(100.0, -3.0),
                SpreadPoint {
                    x: 1e3,
                    median: 2.0,
                    min: -1.0,
                    max: 3.0,
                },
                sp(1e6, 5.0),
            ],
        }]);
        c.x_log = true;
        c.y_log = true;
        c.x_format = AxisFormat::Bytes;
        let kept = prepare(&c.series[0].points, true, true);
        assert_eq!(kept.len(), 2);
        assert!(kept[0].lo.is_none() && kept[0].hi.is_some());
        draw_line_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
    }

    #[test]
    fn nothing_positive_on_log_axis_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("none.png");
        let mut c = chart(vec![Series {
            label: "s".into(),
            points: vec![sp(1.0, 0.0), sp(2.0, -1.0)],
        }]);
        c.y_log = true;
        assert!(matches!(
            draw_line_chart(&c, &out),
            Err(PlotError::NoData { .. })
        ));
        assert!(!out.exists());
    }

    #[test]
    fn empty_series_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("empty.png");
        let err = draw_line_chart(&chart(vec![]), &out).unwrap_err();
        assert!(matches!(err, PlotError::NoData { .. }));
        assert!(err.to_string().contains("Wall time vs workers"));
        let err = draw_line_chart(
            &chart(vec![Series {
                label: "a".into(),
                points: vec![],
            }]),
            &out,
        )
        .unwrap_err();
        assert!(matches!(err, PlotError::NoData { .. }));
        assert!(!out.exists());
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn many_series_cycle_colours_and_markers() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("many.png");
        let series = (0..20)
            .map(|i| Series {
                label: format!("series {i}"),
                points: (1..=5)
                    .map(|x| sp(f64::from(x), f64::from(x * (i + 1))))
                    .collect(),
            })
            .collect();
        let mut c = chart(series);
        c.reference_line = Some((1.0, "ideal".into()));
        c.y_from_zero = true;
        draw_line_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
    }

    #[test]
    fn io_error_when_parent_is_a_file_and_overwrite_works() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let c = chart(vec![Series {
            label: "a".into(),
            points: vec![sp(1.0, 2.0), sp(2.0, 1.0)],
        }]);
        let err = draw_line_chart(&c, &file.join("chart.png")).unwrap_err();
        assert!(matches!(err, PlotError::Io { .. }), "{err}");
        let out = dir.path().join("chart.png");
        std::fs::write(&out, b"old").unwrap();
        draw_line_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn single_point_and_nan_values() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("single.png");
        let c = chart(vec![
            Series {
                label: "one".into(),
                points: vec![SpreadPoint::exact(3.0, 7.0)],
            },
            Series {
                label: "nan".into(),
                points: vec![SpreadPoint::exact(f64::NAN, 1.0)],
            },
        ]);
        draw_line_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
    }
}
