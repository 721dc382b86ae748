//! How a chart's legend and series look, computed by the code that draws
//! them (no pixels read back), so tests can check that a plot reads at a
//! glance: every legend label shown whole inside the image, and no two
//! series drawn alike (same colour and same marker or fill).

use super::canvas::{DResult, LegendEntry, LegendLayout, Root, Swatch, with_measuring_root};
use super::{BarChart, HEIGHT, LineChart, PlotError, WIDTH};

/// One legend entry as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    /// The full label.
    pub label: String,
    /// The lines the label is drawn on (long labels wrap).
    pub lines: Vec<String>,
    /// Width of the widest line at the legend font, pixels.
    pub widest_px: i32,
    /// Width the label may take inside the legend box, pixels.
    pub room_px: i32,
    /// How the series is drawn, e.g. `#0072b2 Circle` or `#d55e00 Hatched`;
    /// `None` for entries that are no series (a reference line).
    pub look: Option<String>,
}

/// A chart's legend as laid out for drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLayout {
    /// The legend entries, in order.
    pub items: Vec<LegendItem>,
    /// The legend box: left, top, width, height, pixels.
    pub legend_box: (i32, i32, i32, i32),
    /// The image size, pixels.
    pub size: (u32, u32),
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

impl ChartLayout {
    /// From the entries and the layout the drawing code uses.
    /// The layout a chart's `place` puts its legend in (entries, their
    /// layout, its left edge), on a measuring surface, for a legend whose
    /// top is `top`.
    pub(crate) fn measured(
        top: i32,
        place: impl FnOnce(&Root) -> DResult<(Vec<LegendEntry>, LegendLayout, i32)>,
    ) -> Result<ChartLayout, PlotError> {
        with_measuring_root(|root| {
            let (entries, layout, x) = place(root)?;
            Ok(ChartLayout::new(
                &entries,
                &layout,
                (x, top),
                (WIDTH, HEIGHT),
            ))
        })
        .map_err(|message| PlotError::Draw {
            path: "(layout only)".into(),
            message,
        })
    }

    pub(crate) fn new(
        entries: &[LegendEntry],
        layout: &LegendLayout,
        (x, y): (i32, i32),
        size: (u32, u32),
    ) -> ChartLayout {
        let items = entries
            .iter()
            .zip(&layout.entries)
            .map(|(e, p)| LegendItem {
                label: e.label.clone(),
                lines: p.lines.clone(),
                widest_px: p.line_w.iter().copied().max().unwrap_or(0),
                room_px: p.room,
                look: match &e.swatch {
                    Swatch::Line { color, marker } => Some(format!("{} {marker:?}", hex(*color))),
                    Swatch::Box { fill, pattern, .. } => {
                        Some(format!("{} {pattern:?}", hex(*fill)))
                    }
                    Swatch::Dashed { .. } | Swatch::Band { .. } | Swatch::Glyph(_) => None,
                },
            })
            .collect();
        ChartLayout {
            items,
            legend_box: (x, y, layout.w, layout.h),
            size,
        }
    }

    /// What a reader would trip over, one line each: a legend label cut,
    /// wider than its room or missing words, the legend box outside the
    /// image, two series drawn alike. Empty when the chart reads.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        for item in &self.items {
            if squash(&item.lines.concat()) != squash(&item.label) {
                out.push(format!(
                    "legend label {:?} is drawn as {:?}",
                    item.label, item.lines
                ));
            }
            if item.lines.iter().any(|l| l.contains('…')) && !item.label.contains('…') {
                out.push(format!("legend label {:?} is cut", item.label));
            }
            if item.widest_px > item.room_px {
                out.push(format!(
                    "legend label {:?} is {} px wide, its room {} px",
                    item.label, item.widest_px, item.room_px
                ));
            }
        }
        let (x, y, w, h) = self.legend_box;
        let (iw, ih) = (self.size.0 as i32, self.size.1 as i32);
        if x < 0 || y < 0 || x + w > iw || y + h > ih {
            out.push(format!(
                "legend box {w}x{h} at ({x}, {y}) does not fit the {iw}x{ih} image"
            ));
        }
        for (i, a) in self.items.iter().enumerate() {
            for b in &self.items[i + 1..] {
                if a.look.is_some() && a.look == b.look {
                    out.push(format!(
                        "series {:?} and {:?} are both drawn {}",
                        a.label,
                        b.label,
                        a.look.as_deref().unwrap_or_default()
                    ));
                }
            }
        }
        out
    }
}

/// The legend of a line chart as [`super::draw_line_chart`] lays it out.
pub fn line_chart_layout(chart: &LineChart) -> Result<ChartLayout, PlotError> {
    super::line::legend_of(chart)
}

/// The legend of a bar chart as [`super::draw_bar_chart`] lays it out.
pub fn bar_chart_layout(chart: &BarChart) -> Result<ChartLayout, PlotError> {
    super::bar::legend_of(chart)
}

#[cfg(test)]
mod tests {
    use super::super::{BarGroup, Series, SpreadPoint};
    use super::*;

    fn line_chart(n: usize, label: impl Fn(usize) -> String) -> LineChart {
        LineChart {
            title: "t".into(),
            subtitle: Some("s".into()),
            series: (0..n)
                .map(|i| Series {
                    label: label(i),
                    points: vec![SpreadPoint::exact(1.0, 1.0 + i as f64)],
                })
                .collect(),
            reference_line: Some((1.0, "ideal efficiency".into())),
            ..Default::default()
        }
    }

    #[test]
    fn forty_series_read_apart_and_long_labels_wrap_whole() {
        let long = "merge=parts, commit_units=16, topology=replicated, queue=lease, atomic=true";
        let layout = line_chart_layout(&line_chart(40, |i| {
            if i == 3 {
                long.to_string()
            } else {
                format!("workers={i}")
            }
        }))
        .unwrap();
        assert_eq!(layout.problems(), Vec::<String>::new());
        let item = &layout.items[3];
        assert!(item.lines.len() > 1, "{item:?}");
        assert_eq!(item.lines.join(" "), long);
        assert_eq!(layout.items.len(), 41);
    }

    #[test]
    fn twenty_bar_groups_read_apart() {
        let chart = BarChart {
            title: "t".into(),
            categories: vec!["a".into(), "b".into()],
            groups: (0..20)
                .map(|g| BarGroup {
                    label: format!("crash=1:mid-commit:{g}, atomic=true"),
                    values: vec![Some(SpreadPoint::exact(0.0, 1.0)); 2],
                })
                .collect(),
            ..Default::default()
        };
        assert_eq!(
            bar_chart_layout(&chart).unwrap().problems(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn problems_name_repeated_looks_and_cut_labels() {
        let item = |label: &str, lines: &[&str], look: &str| LegendItem {
            label: label.into(),
            lines: lines.iter().map(|s| s.to_string()).collect(),
            widest_px: 10,
            room_px: 20,
            look: Some(look.into()),
        };
        let layout = ChartLayout {
            items: vec![
                item("a b", &["a b"], "#000000 Circle"),
                item("long label", &["long l…"], "#000000 Circle"),
            ],
            legend_box: (1200, 10, 200, 50),
            size: (1280, 800),
        };
        let problems = layout.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
