//! Grouped bar charts with optional min..max whiskers.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axis::{Axis, Fit, Ticked};
use super::canvas::{
    DESC_PX, DResult, LegendEntry, LegendLayout, Root, Swatch, TEXT_C, TICK_PX, VAlign, darken,
    draw_vertical_legend, es, fill_for, fill_pattern, fit_text_middle, font, header, header_height,
    palette, rect, render_png, text, text_width, vertical_legend_layout, whisker,
};
use super::{BarChart, HEIGHT, PlotError, SpreadPoint, WIDTH};

/// The drawable value of `groups[g].values[c]`, if any (finite median).
fn value(chart: &BarChart, g: usize, c: usize) -> Option<&SpreadPoint> {
    chart.groups[g]
        .values
        .get(c)?
        .as_ref()
        .filter(|v| v.median.is_finite())
}

/// Draws `chart` as a 1280x800 PNG at `out` (written atomically, parent directory created).
///
/// Bars are medians, whiskers span min..max when they differ. `None` values and
/// non-finite medians get no bar; on a log axis medians <= 0 get no bar either (only
/// their value is written at the bottom). Fails with [`PlotError::NoData`] when there
/// are no categories, no groups, or no drawable value.
pub fn draw_bar_chart(chart: &BarChart, out: &Path) -> Result<(), PlotError> {
    let nc = chart.categories.len();
    let cells = || {
        (0..chart.groups.len()).flat_map(move |g| (0..nc).filter_map(move |c| value(chart, g, c)))
    };
    let drawable = cells().filter(|v| !chart.y_log || v.median > 0.0).count();
    if nc == 0 || chart.groups.is_empty() || drawable == 0 {
        let mut what = format!(
            "bar chart \"{}\" has {} categories and {} groups but no drawable value",
            chart.title,
            nc,
            chart.groups.len()
        );
        if chart.y_log {
            what.push_str(" (a log axis needs values > 0)");
        }
        return Err(PlotError::NoData { what });
    }
    let values = cells().flat_map(|v| [v.median, v.min, v.max]);
    let fit = Fit {
        log: chart.y_log,
        format: chart.y_format,
        pad: 0.08,
        from_zero: !chart.y_log,
        ticks: 8,
    };
    let ya = Axis::fit(values, fit).expect("at least one drawable value");
    render_png(out, (WIDTH, HEIGHT), |root| draw(root, chart, &ya))
}

/// Widest a legend label may be before it wraps, pixels.
const LEGEND_LABEL_W: i32 = 260;

/// The legend entries of `chart`: one per group (colour and fill pattern).
fn legend_entries(chart: &BarChart) -> Vec<LegendEntry> {
    chart
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| LegendEntry {
            swatch: Swatch::Box {
                fill: palette(i),
                border: darken(palette(i), 0.35),
                hatch: None,
                pattern: fill_for(i),
            },
            label: if g.label.trim().is_empty() {
                format!("group {}", i + 1)
            } else {
                g.label.clone()
            },
        })
        .collect()
}

/// The legend's layout and left edge (`top`: height of the header).
fn place_legend(root: &Root, entries: &[LegendEntry], top: i32) -> DResult<(LegendLayout, i32)> {
    let layout = vertical_legend_layout(root, entries, LEGEND_LABEL_W, HEIGHT as i32 - top - 80)?;
    let x = WIDTH as i32 - layout.w - 16;
    Ok((layout, x))
}

/// The legend of `chart` as [`draw_bar_chart`] lays it out.
pub(crate) fn legend_of(chart: &BarChart) -> Result<super::layout::ChartLayout, PlotError> {
    let top = header_height(chart.subtitle.as_deref());
    super::layout::ChartLayout::measured(top, |root| {
        let entries = legend_entries(chart);
        let (layout, x) = place_legend(root, &entries, top)?;
        Ok((entries, layout, x))
    })
}

fn draw(root: &Root, chart: &BarChart, ya: &Axis) -> DResult {
    let h = HEIGHT as i32;
    let nc = chart.categories.len();
    let ng = chart.groups.len();
    let top = header(root, &chart.title, chart.subtitle.as_deref())?;

    let entries = legend_entries(chart);
    let (legend, legend_x) = place_legend(root, &entries, top)?;
    let plot_w = legend_x - 8;

    let tick_font = font(TICK_PX, false).color(&TEXT_C);
    let mut max_tick_w = 0;
    for &t in &ya.major {
        max_tick_w = max_tick_w.max(text_width(root, &ya.label(t), &tick_font)?);
    }
    let y_area = max_tick_w + 14 + DESC_PX as i32 + 18;

    // Category labels: shrink the font, then shorten, until they fit their slot.
    let slot_px = ((plot_w - y_area - 40) / nc as i32).max(8);
    let mut cat_font = tick_font.clone();
    let mut widest = 0;
    for c in &chart.categories {
        widest = widest.max(text_width(root, c, &cat_font)?);
    }
    if widest > slot_px - 6 {
        cat_font = font(13.0, false).color(&TEXT_C);
    }
    let cat_names: Vec<String> = chart
        .categories
        .iter()
        .map(|c| fit_text_middle(root, c, &cat_font, slot_px - 6))
        .collect::<DResult<_>>()?;

    let area = root
        .clone()
        .shrink((0, top), (plot_w as u32, (h - top) as u32));
    let ncf = nc as f64;
    let centers: Vec<f64> = (0..nc).map(|i| i as f64 + 0.5).collect();
    let mut cc = ChartBuilder::on(&area)
        .margin_top(6)
        .margin_right(20)
        .margin_left(12)
        .margin_bottom(14)
        .x_label_area_size(66)
        .y_label_area_size(y_area)
        .build_cartesian_2d(Ticked::new(0.0, ncf, centers, Vec::new()), ya.coord())
        .map_err(es)?;
    let xf = |v: &f64| {
        let i = (v - 0.5).round();
        if i >= 0.0 && (i as usize) < nc {
            cat_names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let yf = |v: &f64| ya.label(*v);
    cc.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(tick_font.clone())
        .x_label_style(cat_font.clone())
        .axis_desc_style(font(DESC_PX, false).color(&TEXT_C))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .disable_x_mesh()
        .bold_line_style(RGBColor(210, 210, 210).stroke_width(1))
        .light_line_style(RGBColor(238, 238, 238).stroke_width(1))
        .axis_style(RGBColor(60, 60, 60).stroke_width(1))
        .y_label_offset(3)
        .set_all_tick_mark_size(5)
        .draw()
        .map_err(es)?;

    let (_, yr) = cc.plotting_area().get_pixel_range();
    let map = |x: f64, y: f64| cc.backend_coord(&(x, y));
    let base = if ya.log {
        ya.lo
    } else {
        0.0f64.clamp(ya.lo, ya.hi)
    };
    let group_w = 0.8 / ng as f64;

    // Geometry of every bar: (group, category, x0, x1 in pixels).
    let mut bars = Vec::new();
    for c in 0..nc {
        for g in 0..ng {
            if value(chart, g, c).is_none() {
                continue;
            }
            let xl = c as f64 + 0.1 + group_w * g as f64;
            let (x0, _) = map(xl, base);
            let (x1, _) = map(xl + group_w, base);
            let gap = if x1 - x0 > 8 { 2 } else { 0 };
            bars.push((g, c, x0 + gap / 2, x1 - gap / 2));
        }
    }

    // Value labels only when every one of them fits over its bar.
    let value_font = font(14.0, false).color(&TEXT_C);
    let mut labels = Vec::with_capacity(bars.len());
    let mut labels_fit = true;
    for &(g, c, x0, x1) in &bars {
        let v = value(chart, g, c).expect("bar has a value");
        let s = ya.value_label(v.median);
        labels_fit &= text_width(root, &s, &value_font)? <= x1 - x0 + 4;
        labels.push(s);
    }

    let (_, base_py) = map(0.0, base);
    for (&(g, c, x0, x1), label) in bars.iter().zip(&labels) {
        let v = value(chart, g, c).expect("bar has a value");
        let color = palette(g);
        let mut label_y = base_py;
        if let Some(t) = ya.t(v.median) {
            let (_, py) = map(0.0, t);
            rect(root, (x0, base_py), (x1, py), &color, None)?;
            fill_pattern(root, (x0, base_py), (x1, py), fill_for(g))?;
            rect(
                root,
                (x0, base_py),
                (x1, py),
                &TRANSPARENT,
                Some(darken(color, 0.35)),
            )?;
            label_y = label_y.min(py);
            let lo = ya.t(v.min.min(v.median)).map_or(py, |t| map(0.0, t).1);
            let hi = ya.t(v.max.max(v.median)).map_or(py, |t| map(0.0, t).1);
            let cap = ((x1 - x0) / 4).clamp(2, 8);
            whisker(root, (x0 + x1) / 2, lo, hi, cap, RGBColor(40, 40, 40), 2)?;
            label_y = label_y.min(hi).min(lo);
        }
        if labels_fit {
            let y = (label_y - 6).max(yr.start + 12);
            text(
                root,
                label,
                ((x0 + x1) / 2, y),
                &value_font,
                HPos::Center,
                VAlign::Baseline,
            )?;
        }
    }

    draw_vertical_legend(root, &entries, &legend, (legend_x, yr.start))
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Sample data shared by the tests.
    use super::super::{AxisFormat, BarGroup};
    use super::*;

    pub(crate) fn v(m: f64, lo: f64, hi: f64) -> Option<SpreadPoint> {
        Some(SpreadPoint {
            x: 0.0,
            median: m,
            min: lo,
            max: hi,
        })
    }

    pub(crate) fn sample() -> BarChart {
        BarChart {
            title: "Words differing from the reference after a crash".into(),
            subtitle: Some("books-1GB, 4 workers, 5 runs per crash point".into()),
            x_label: "crash point".into(),
            y_label: "words differing".into(),
            categories: [
                "before count",
                "mid count",
                "before commit",
                "mid commit",
                "after commit",
            ]
            .map(String::from)
            .to_vec(),
            groups: vec![
                BarGroup {
                    label: "atomic commit".into(),
                    values: vec![v(0.0, 0.0, 0.0); 5],
                },
                BarGroup {
                    label: "plain commit".into(),
                    values: vec![
                        v(0.0, 0.0, 0.0),
                        v(0.0, 0.0, 0.0),
                        v(0.0, 0.0, 0.0),
                        v(15230.0, 9800.0, 20100.0),
                        None,
                    ],
                },
            ],
            y_log: false,
            y_format: AxisFormat::Plain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::BarGroup;
    use super::super::canvas::test_util::{assert_no_temp_files, png_size};
    use super::tests_support::{sample, v};
    use super::*;

    #[test]
    fn writes_png_of_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bars.png");
        draw_bar_chart(&sample(), &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
        assert_no_temp_files(dir.path());
    }

    #[test]
    fn log_axis_skips_non_positive() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bars-log.png");
        let mut c = sample();
        c.y_log = true;
        draw_bar_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
        c.groups[1].values[3] = v(-1.0, -2.0, 0.0);
        assert!(matches!(
            draw_bar_chart(&c, &out),
            Err(PlotError::NoData { .. })
        ));
    }

    #[test]
    fn empty_chart_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("none.png");
        let mut c = sample();
        c.groups.clear();
        assert!(matches!(
            draw_bar_chart(&c, &out),
            Err(PlotError::NoData { .. })
        ));
        let mut c = sample();
        c.categories.clear();
        assert!(matches!(
            draw_bar_chart(&c, &out),
            Err(PlotError::NoData { .. })
        ));
        let mut c = sample();
        for g in &mut c.groups {
            g.values = vec![None; 5];
        }
        assert!(matches!(
            draw_bar_chart(&c, &out),
            Err(PlotError::NoData { .. })
        ));
        assert!(!out.exists());
    }

    #[test]
    fn many_groups_and_categories() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("many.png");
        let categories: Vec<String> = (0..14)
            .map(|i| format!("a rather long category name {i}"))
            .collect();
        let groups = (0..11)
            .map(|g| BarGroup {
                label: format!("group {g}"),
                values: (0..14)
                    .map(|c| v(f64::from(c * g + 1), 0.5, f64::from(c * g + 3)))
                    .collect(),
            })
            .collect();
        let c = BarChart {
            title: "many".into(),
            categories,
            groups,
            ..Default::default()
        };
        draw_bar_chart(&c, &out).unwrap();
        assert_eq!(png_size(&out), (1280, 800));
    }
}
