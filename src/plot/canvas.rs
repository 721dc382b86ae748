//! Shared drawing helpers: font registration, atomic PNG output, pixel-space
//! primitives (text, markers, hatching), title header and legends.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PlotError;

/// The drawing area all helpers draw on: the whole image, absolute pixel coordinates.
pub(crate) type Root<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// Result of a drawing step; the error is the drawing library's message.
pub(crate) type DResult<T = ()> = Result<T, String>;

/// Converts any drawing error to its message.
pub(crate) fn es<E: Display>(e: E) -> String {
    e.to_string()
}

/// Font family name the embedded DejaVu Sans is registered under.
pub(crate) const FONT: &str = "sans-serif";
pub(crate) const TITLE_PX: f64 = 28.0;
pub(crate) const SUBTITLE_PX: f64 = 20.0;
pub(crate) const DESC_PX: f64 = 20.0;
pub(crate) const TICK_PX: f64 = 16.0;
pub(crate) const LEGEND_PX: f64 = 17.0;

pub(crate) const TEXT_C: RGBColor = RGBColor(30, 30, 30);
pub(crate) const SUBTLE_C: RGBColor = RGBColor(90, 90, 90);
pub(crate) const REF_C: RGBColor = RGBColor(120, 120, 120);

/// Colour-blind-friendly palette (Okabe-Ito without yellow, plus Tol's wine).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(136, 34, 85),   // wine
];

/// Colour of series/group `i` (cycles through [`PALETTE`]).
pub(crate) fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Mixes `c` with black; `t` = 0 keeps the colour, 1 gives black.
pub(crate) fn darken(c: RGBColor, t: f64) -> RGBColor {
    let f = |v: u8| (f64::from(v) * (1.0 - t)).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Registers the embedded DejaVu Sans (regular and bold) once per process.
fn ensure_fonts() -> Result<(), String> {
    static FONTS: OnceLock<Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "embedded DejaVu Sans regular font is invalid".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "embedded DejaVu Sans bold font is invalid".to_string())?;
            Ok(())
        })
        .clone()
}

/// Temporary sibling of `out` (same directory, ends in `.png` so the encoder picks PNG).
fn temp_path(out: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = format!(".{name}.tmp-{}-{n}.png", std::process::id());
    out.with_file_name(tmp)
}

/// Creates a `size` white image, lets `draw` paint it, and writes it atomically to `out`.
pub(crate) fn render_png(
    out: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Root) -> DResult,
) -> Result<(), PlotError> {
    let draw_err = |message: String| PlotError::Draw {
        path: out.to_path_buf(),
        message,
    };
    ensure_fonts().map_err(draw_err)?;
    if out.file_name().is_none() {
        return Err(PlotError::Io {
            path: out.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "output path has no file name; pass a path like results/plots/speedup.png",
            ),
        });
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let tmp = temp_path(out);
    let result = {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        let r = root
            .fill(&WHITE)
            .map_err(es)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(es));
        drop(root);
        r
    };
    if let Err(message) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(draw_err(message));
    }
    if !tmp.exists() {
        return Err(draw_err("the PNG encoder produced no file".to_string()));
    }
    // Like the shell's `>`: a symlink is followed, a FIFO or device written through.
    crate::fsutil::install_output(&tmp, out).map_err(|source| PlotError::Io {
        path: out.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------- text

/// Font of the given pixel size.
pub(crate) fn font(px: f64, bold: bool) -> TextStyle<'static> {
    // The style must be given at construction: `FontDesc::style` keeps the regular glyphs.
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::Name(FONT), px, style).into()
}

/// Vertical placement of a text line relative to a y coordinate.
#[derive(Clone, Copy)]
pub(crate) enum VAlign {
    /// Top of capital letters at y.
    Top,
    /// Middle of capital letters at y.
    Middle,
    /// Baseline at y.
    Baseline,
}

/// Width in pixels of `s` in `style`.
pub(crate) fn text_width(root: &Root, s: &str, style: &TextStyle) -> DResult<i32> {
    if s.is_empty() {
        return Ok(0);
    }
    Ok(root.estimate_text_size(s, style).map_err(es)?.0 as i32)
}

/// `s`, shortened with an ellipsis so that it is at most `max_w` pixels wide.
pub(crate) fn fit_text(root: &Root, s: &str, style: &TextStyle, max_w: i32) -> DResult<String> {
    if text_width(root, s, style)? <= max_w {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut lo, mut hi) = (0usize, chars.len());
    // Largest prefix length whose ellipsised form fits (binary search).
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let cand: String = chars[..mid].iter().collect::<String>() + "…";
        if text_width(root, &cand, style)? <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 {
        return Ok(String::new());
    }
    Ok(chars[..lo]
        .iter()
        .collect::<String>()
        .trim_end()
        .to_string()
        + "…")
}

/// `s`, shortened in the middle ("a long…name 3") so that it is at most `max_w` pixels
/// wide; keeps both ends, which is where names usually differ.
pub(crate) fn fit_text_middle(
    root: &Root,
    s: &str,
    style: &TextStyle,
    max_w: i32,
) -> DResult<String> {
    if text_width(root, s, style)? <= max_w {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    let build = |n: usize| -> String {
        let tail = n / 2;
        let head = n - tail;
        let h: String = chars[..head].iter().collect();
        let t: String = chars[chars.len() - tail..].iter().collect();
        format!("{}…{}", h.trim_end(), t.trim_start())
    };
    let (mut lo, mut hi) = (0usize, chars.len().saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if text_width(root, &build(mid), style)? <= max_w {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(if lo == 0 { String::new() } else { build(lo) })
}

/// Draws one line of text at pixel `(x, y)` with horizontal anchor `h`.
///
/// The ab_glyph text path of plotters places glyphs a bit off its nominal
/// layout box, so the vertical position is computed from the font metrics
/// (DejaVu: baseline at anchor + size/2, cap height ≈ 0.63 × size).
pub(crate) fn text(
    root: &Root,
    s: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    h: HPos,
    v: VAlign,
) -> DResult {
    if s.is_empty() {
        return Ok(());
    }
    let px = match style.font.get_size() {
        p if p > 0.0 => p,
        _ => 16.0,
    };
    let anchor_y = match v {
        VAlign::Top => y as f64 + 0.126 * px,
        VAlign::Middle => y as f64 - 0.187 * px,
        VAlign::Baseline => y as f64 - 0.5 * px,
    };
    let st = style.pos(Pos::new(h, VPos::Top));
    root.draw_text(s, &st, (x, anchor_y.round() as i32))
        .map_err(es)
}

// ---------------------------------------------------------------- shapes

/// A straight polyline in pixel coordinates.
pub(crate) fn polyline(root: &Root, pts: Vec<(i32, i32)>, color: RGBColor, width: u32) -> DResult {
    if pts.len() < 2 {
        return Ok(());
    }
    root.draw(&PathElement::new(pts, color.stroke_width(width)))
        .map_err(es)
}

/// A horizontal dashed line from `x0` to `x1` at `y`.
pub(crate) fn dashed_hline(
    root: &Root,
    x0: i32,
    x1: i32,
    y: i32,
    color: RGBColor,
    width: u32,
) -> DResult {
    let (dash, gap) = (10, 6);
    let mut x = x0;
    while x < x1 {
        let e = (x + dash).min(x1);
        polyline(root, vec![(x, y), (e, y)], color, width)?;
        x += dash + gap;
    }
    Ok(())
}

/// A filled rectangle, optionally with a 1 px border.
pub(crate) fn rect<C: Color>(
    root: &Root,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    fill: &C,
    border: Option<RGBColor>,
) -> DResult {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
        .map_err(es)?;
    if let Some(b) = border {
        root.draw(&Rectangle::new([(x0, y0), (x1, y1)], b.stroke_width(1)))
            .map_err(es)?;
    }
    Ok(())
}

/// 45° hatching inside a rectangle.
pub(crate) fn hatch(
    root: &Root,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    color: RGBColor,
    spacing: i32,
) -> DResult {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    // Lines x + y = c, clipped to the rectangle.
    let mut c = x0 + y0 + spacing / 2;
    while c < x1 + y1 {
        let lo = x0.max(c - y1);
        let hi = x1.min(c - y0);
        if lo <= hi {
            polyline(root, vec![(lo, c - lo), (hi, c - hi)], color, 1)?;
        }
        c += spacing;
    }
    Ok(())
}

/// Marker shapes for line chart series (cycled when the palette wraps around).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    InvTriangle,
    Cross,
}

pub(crate) const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::InvTriangle,
    Marker::Cross,
];

/// Marker of series `i`: changes each time the colour palette wraps around,
/// so no two of the first `PALETTE.len() * MARKERS.len()` series share colour and marker.
pub(crate) fn marker_for(i: usize) -> Marker {
    MARKERS[(i / PALETTE.len()) % MARKERS.len()]
}

/// Fill patterns of bar groups, in the order they are used once the palette wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Plain colour.
    Solid,
    /// Colour with white 45° lines.
    Hatched,
    /// Colour with white lines both ways.
    CrossHatched,
}

pub(crate) const FILLS: [Fill; 3] = [Fill::Solid, Fill::Hatched, Fill::CrossHatched];

/// Fill of bar group `i`: changes each time the colour palette wraps around,
/// so no two of the first `PALETTE.len() * FILLS.len()` groups look alike.
pub(crate) fn fill_for(i: usize) -> Fill {
    FILLS[(i / PALETTE.len()) % FILLS.len()]
}

/// Draws the pattern of `fill` over the rectangle (nothing for [`Fill::Solid`]).
pub(crate) fn fill_pattern(root: &Root, a: (i32, i32), b: (i32, i32), fill: Fill) -> DResult {
    match fill {
        Fill::Solid => Ok(()),
        Fill::Hatched => hatch(root, a, b, WHITE_RGB, 6),
        Fill::CrossHatched => {
            hatch(root, a, b, WHITE_RGB, 6)?;
            hatch_back(root, a, b, WHITE_RGB, 6)
        }
    }
}

/// -45° hatching inside a rectangle (the mirror of [`hatch`]).
pub(crate) fn hatch_back(
    root: &Root,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    color: RGBColor,
    spacing: i32,
) -> DResult {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    // Lines x - y = c, clipped to the rectangle.
    let mut c = x0 - y1 + spacing / 2;
    while c < x1 - y0 {
        let lo = x0.max(c + y0);
        let hi = x1.min(c + y1);
        if lo <= hi {
            polyline(root, vec![(lo, lo - c), (hi, hi - c)], color, 1)?;
        }
        c += spacing;
    }
    Ok(())
}

/// Draws a filled marker of radius `r` centred at `(x, y)`.
pub(crate) fn marker(
    root: &Root,
    m: Marker,
    (x, y): (i32, i32),
    r: i32,
    color: RGBColor,
) -> DResult {
    let poly = |pts: Vec<(i32, i32)>| -> DResult {
        root.draw(&Polygon::new(pts.clone(), color.filled()))
            .map_err(es)?;
        let mut closed = pts;
        closed.push(closed[0]);
        polyline(root, closed, WHITE_RGB, 1)
    };
    match m {
        Marker::Circle => {
            root.draw(&Circle::new((x, y), r, color.filled()))
                .map_err(es)?;
            root.draw(&Circle::new((x, y), r, WHITE_RGB.stroke_width(1)))
                .map_err(es)
        }
        Marker::Square => {
            let s = r - 1;
            poly(vec![
                (x - s, y - s),
                (x + s, y - s),
                (x + s, y + s),
                (x - s, y + s),
            ])
        }
        Marker::Triangle => poly(vec![
            (x, y - r - 1),
            (x + r + 1, y + r - 1),
            (x - r - 1, y + r - 1),
        ]),
        Marker::InvTriangle => poly(vec![
            (x, y + r + 1),
            (x + r + 1, y - r + 1),
            (x - r - 1, y - r + 1),
        ]),
        Marker::Diamond => poly(vec![
            (x, y - r - 1),
            (x + r + 1, y),
            (x, y + r + 1),
            (x - r - 1, y),
        ]),
        Marker::Cross => {
            let s = r;
            polyline(root, vec![(x - s, y - s), (x + s, y + s)], color, 3)?;
            polyline(root, vec![(x - s, y + s), (x + s, y - s)], color, 3)
        }
    }
}

pub(crate) const WHITE_RGB: RGBColor = RGBColor(255, 255, 255);

/// A vertical min..max whisker at `x` with caps `cap` pixels wide on each side.
pub(crate) fn whisker(
    root: &Root,
    x: i32,
    y_lo: i32,
    y_hi: i32,
    cap: i32,
    color: RGBColor,
    width: u32,
) -> DResult {
    if y_lo == y_hi {
        return Ok(());
    }
    polyline(root, vec![(x, y_lo), (x, y_hi)], color, width)?;
    polyline(root, vec![(x - cap, y_lo), (x + cap, y_lo)], color, width)?;
    polyline(root, vec![(x - cap, y_hi), (x + cap, y_hi)], color, width)
}

// ---------------------------------------------------------------- header

/// The non-blank lines of a subtitle (a plot's note goes on its own line).
fn subtitle_lines(subtitle: Option<&str>) -> Vec<&str> {
    subtitle
        .map(|s| s.lines().filter(|line| !line.trim().is_empty()).collect())
        .unwrap_or_default()
}

/// Height used by [`header`].
pub(crate) fn header_height(subtitle: Option<&str>) -> i32 {
    match subtitle_lines(subtitle).len() {
        0 => 60,
        n => 68 + 20 * n as i32,
    }
}

/// A 16x16 scratch drawing area for measuring text before the real image size is known.
pub(crate) fn with_measuring_root<T>(f: impl FnOnce(&Root) -> DResult<T>) -> DResult<T> {
    ensure_fonts()?;
    let mut buf = vec![255u8; 16 * 16 * 3];
    let root = BitMapBackend::with_buffer(&mut buf, (16, 16)).into_drawing_area();
    f(&root)
}

/// Draws title and optional subtitle centred at the top; returns the height used.
pub(crate) fn header(root: &Root, title: &str, subtitle: Option<&str>) -> DResult<i32> {
    let (w, _) = root.dim_in_pixel();
    let w = w as i32;
    let tf = font(TITLE_PX, true).color(&TEXT_C);
    let mut y = 16;
    let t = fit_text(root, title, &tf, w - 40)?;
    text(root, &t, (w / 2, y), &tf, HPos::Center, VAlign::Top)?;
    y += 30;
    let lines = subtitle_lines(subtitle);
    if !lines.is_empty() {
        let sf = font(SUBTITLE_PX, false).color(&SUBTLE_C);
        y += 8;
        for sub in lines {
            let s = fit_text(root, sub, &sf, w - 40)?;
            text(root, &s, (w / 2, y), &sf, HPos::Center, VAlign::Top)?;
            y += 20;
        }
    }
    debug_assert_eq!(y + 14, header_height(subtitle));
    Ok(y + 14)
}

// ---------------------------------------------------------------- legend

/// What is drawn left of a legend label.
#[derive(Debug, Clone)]
pub(crate) enum Swatch {
    /// A short line with a marker in the middle (line chart series).
    Line { color: RGBColor, marker: Marker },
    /// A dashed line (reference lines).
    Dashed { color: RGBColor },
    /// A filled box, optionally hatched (bars, spans).
    Box {
        fill: RGBColor,
        border: RGBColor,
        hatch: Option<RGBColor>,
        /// Pattern over the fill (bar groups past the palette).
        pattern: Fill,
    },
    /// A translucent band (outages).
    Band { fill: RGBAColor, border: RGBColor },
    /// A custom glyph drawn by a callback (timeline marks).
    Glyph(fn(&Root, (i32, i32)) -> DResult),
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    pub swatch: Swatch,
    pub label: String,
}

const SWATCH_W: i32 = 34;
const SWATCH_GAP: i32 = 8;
const ENTRY_H: i32 = 26;

fn draw_swatch(root: &Root, sw: &Swatch, (x, y): (i32, i32)) -> DResult {
    match sw {
        Swatch::Line { color, marker: m } => {
            polyline(root, vec![(x, y), (x + SWATCH_W, y)], *color, 2)?;
            marker(root, *m, (x + SWATCH_W / 2, y), 5, *color)
        }
        Swatch::Dashed { color } => dashed_hline(root, x, x + SWATCH_W, y, *color, 2),
        Swatch::Box {
            fill,
            border,
            hatch: h,
            pattern,
        } => {
            let (a, b) = ((x + 4, y - 8), (x + SWATCH_W - 4, y + 8));
            rect(root, a, b, fill, None)?;
            fill_pattern(root, a, b, *pattern)?;
            if let Some(hc) = h {
                hatch(root, a, b, *hc, 5)?;
            }
            rect(root, a, b, &TRANSPARENT, Some(*border))
        }
        Swatch::Band { fill, border } => {
            let (a, b) = ((x + 4, y - 10), (x + SWATCH_W - 4, y + 10));
            rect(root, a, b, fill, Some(*border))
        }
        Swatch::Glyph(f) => f(root, (x + SWATCH_W / 2, y)),
    }
}

/// Height of one extra line of a wrapped legend label.
const LINE_H: i32 = 20;

/// One legend entry placed: where it goes and its label broken into lines.
#[derive(Debug, Clone)]
pub(crate) struct PlacedEntry {
    /// Top-left corner of the entry, relative to the legend's corner.
    pub at: (i32, i32),
    /// The label's lines, each at most `room` pixels wide; together the whole label.
    pub lines: Vec<String>,
    /// Measured width of each line, pixels.
    pub line_w: Vec<i32>,
    /// Width the label may take, pixels.
    pub room: i32,
}

/// A legend laid out: every entry placed, and the size of the whole.
#[derive(Debug, Clone, Default)]
pub(crate) struct LegendLayout {
    /// The entries, in the order given.
    pub entries: Vec<PlacedEntry>,
    /// Width of the legend, pixels.
    pub w: i32,
    /// Height of the legend, pixels.
    pub h: i32,
}

/// `s` broken into lines of at most `max_w` pixels: at spaces where it can,
/// inside a word only when the word alone is too wide. Nothing is dropped.
pub(crate) fn wrap_text(
    root: &Root,
    s: &str,
    style: &TextStyle,
    max_w: i32,
) -> DResult<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in s.split_whitespace() {
        let joined = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_width(root, &joined, style)? <= max_w {
            current = joined;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone: split it where it must.
        let mut rest: Vec<char> = word.chars().collect();
        while text_width(root, &rest.iter().collect::<String>(), style)? > max_w && rest.len() > 1 {
            let mut n = rest.len() - 1;
            while n > 1 && text_width(root, &rest[..n].iter().collect::<String>(), style)? > max_w {
                n -= 1;
            }
            lines.push(rest[..n].iter().collect());
            rest.drain(..n);
        }
        current = rest.into_iter().collect();
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    Ok(lines)
}

/// Lines, line widths and height of one entry whose label may take `room` pixels.
fn wrap_entry(root: &Root, e: &LegendEntry, room: i32) -> DResult<(Vec<String>, Vec<i32>, i32)> {
    let f = font(LEGEND_PX, false);
    let lines = wrap_text(root, &e.label, &f, room)?;
    let widths = lines
        .iter()
        .map(|l| text_width(root, l, &f))
        .collect::<DResult<Vec<i32>>>()?;
    let h = ENTRY_H + LINE_H * (lines.len() as i32 - 1);
    Ok((lines, widths, h))
}

/// A boxed vertical legend: labels up to `max_label_w` pixels wide (longer
/// ones wrap onto more lines), a new column when the next entry would pass `max_h`.
pub(crate) fn vertical_legend_layout(
    root: &Root,
    entries: &[LegendEntry],
    max_label_w: i32,
    max_h: i32,
) -> DResult<LegendLayout> {
    if entries.is_empty() {
        return Ok(LegendLayout::default());
    }
    let f = font(LEGEND_PX, false);
    let mut room = 0;
    for e in entries {
        room = room.max(text_width(root, &e.label, &f)?.min(max_label_w));
    }
    let col_w = SWATCH_W + SWATCH_GAP + room + 16;
    let mut placed = Vec::with_capacity(entries.len());
    let (mut col, mut y, mut tallest) = (0, 0, 0);
    for e in entries {
        let (lines, line_w, h) = wrap_entry(root, e, room)?;
        if y > 0 && 16 + y + h > max_h {
            col += 1;
            y = 0;
        }
        placed.push(PlacedEntry {
            at: (10 + col * col_w, 8 + y),
            lines,
            line_w,
            room,
        });
        y += h;
        tallest = tallest.max(y);
    }
    Ok(LegendLayout {
        entries: placed,
        w: (col + 1) * col_w + 8,
        h: tallest + 16,
    })
}

/// Draws the swatch and label lines of each placed entry, legend corner at `(x, y)`.
fn draw_placed(
    root: &Root,
    entries: &[LegendEntry],
    layout: &LegendLayout,
    (x, y): (i32, i32),
) -> DResult {
    let f = font(LEGEND_PX, false).color(&TEXT_C);
    for (e, p) in entries.iter().zip(&layout.entries) {
        let (ex, ey) = (x + p.at.0, y + p.at.1 + ENTRY_H / 2);
        draw_swatch(root, &e.swatch, (ex, ey))?;
        for (k, line) in p.lines.iter().enumerate() {
            text(
                root,
                line,
                (ex + SWATCH_W + SWATCH_GAP, ey + LINE_H * k as i32),
                &f,
                HPos::Left,
                VAlign::Middle,
            )?;
        }
    }
    Ok(())
}

/// Draws a boxed vertical legend laid out by [`vertical_legend_layout`], top-left corner at `(x, y)`.
pub(crate) fn draw_vertical_legend(
    root: &Root,
    entries: &[LegendEntry],
    layout: &LegendLayout,
    (x, y): (i32, i32),
) -> DResult {
    if entries.is_empty() {
        return Ok(());
    }
    rect(
        root,
        (x, y),
        (x + layout.w, y + layout.h),
        &WHITE_RGB,
        Some(RGBColor(190, 190, 190)),
    )?;
    draw_placed(root, entries, layout, (x, y))
}

/// A left-to-right legend wrapping within `width`; a label wider than half
/// the width wraps onto more lines.
pub(crate) fn flow_legend_layout(
    root: &Root,
    entries: &[LegendEntry],
    width: i32,
) -> DResult<LegendLayout> {
    let f = font(LEGEND_PX, false);
    let mut placed = Vec::with_capacity(entries.len());
    let (mut x, mut y, mut row_h) = (0, 0, 0);
    for e in entries {
        let room = text_width(root, &e.label, &f)?.min(width / 2);
        let (lines, line_w, h) = wrap_entry(root, e, room)?;
        let w = SWATCH_W + SWATCH_GAP + room + 24;
        if x > 0 && x + w > width {
            x = 0;
            y += row_h;
            row_h = 0;
        }
        placed.push(PlacedEntry {
            at: (x, y),
            lines,
            line_w,
            room,
        });
        x += w;
        row_h = row_h.max(h);
    }
    Ok(LegendLayout {
        entries: placed,
        w: width,
        h: y + row_h,
    })
}

/// Height of a wrapping legend drawn `width` pixels wide.
pub(crate) fn flow_legend_height(root: &Root, entries: &[LegendEntry], width: i32) -> DResult<i32> {
    Ok(flow_legend_layout(root, entries, width)?.h)
}

/// Draws a wrapping legend, entries left to right, top-left corner at `(x, y)`.
pub(crate) fn draw_flow_legend(
    root: &Root,
    entries: &[LegendEntry],
    (x, y): (i32, i32),
    width: i32,
) -> DResult {
    let layout = flow_legend_layout(root, entries, width)?;
    draw_placed(root, entries, &layout, (x, y))
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the chart tests.

    /// Reads (width, height) from the IHDR chunk after checking the PNG signature.
    pub(crate) fn png_size(path: &std::path::Path) -> (u32, u32) {
        let bytes = std::fs::read(path).expect("read png");
        assert!(bytes.len() > 24, "file too short");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    /// Fails if a temporary file was left next to the chart.
    pub(crate) fn assert_no_temp_files(dir: &std::path::Path) {
        for e in std::fs::read_dir(dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.contains(".tmp-"),
                "temporary file left behind: {name}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darken_is_bounded() {
        assert_eq!(darken(RGBColor(200, 100, 50), 1.0), RGBColor(0, 0, 0));
        assert_eq!(darken(RGBColor(10, 20, 30), 0.0), RGBColor(10, 20, 30));
    }

    fn entry(label: &str) -> LegendEntry {
        LegendEntry {
            swatch: Swatch::Dashed { color: REF_C },
            label: label.into(),
        }
    }

    #[test]
    fn long_labels_wrap_whole_in_both_legends() {
        let long = "merge=parts commit_units=16 topology=replicated queue=lease an-unbroken-word-longer-than-the-room-itself";
        let entries = [entry("short"), entry(long), entry("ideal")];
        with_measuring_root(|root| {
            let vertical = vertical_legend_layout(root, &entries, 200, 600)?;
            let flow = flow_legend_layout(root, &entries, 400)?;
            for layout in [&vertical, &flow] {
                let placed = &layout.entries[1];
                assert!(placed.lines.len() > 2, "{placed:?}");
                assert_eq!(
                    placed.lines.concat().replace(' ', ""),
                    long.replace(' ', "")
                );
                assert!(
                    placed.line_w.iter().all(|&w| w <= placed.room),
                    "{placed:?}"
                );
            }
            // Entries below a wrapped label move down by its extra lines.
            let (a, b) = (&vertical.entries[1], &vertical.entries[2]);
            assert_eq!(
                b.at.1 - a.at.1,
                ENTRY_H + LINE_H * (a.lines.len() as i32 - 1)
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn bar_fills_change_after_palette_wraps() {
        let looks: Vec<_> = (0..PALETTE.len() * FILLS.len())
            .map(|i| (palette(i), fill_for(i)))
            .collect();
        for (i, a) in looks.iter().enumerate() {
            assert!(!looks[i + 1..].contains(a), "group {i} repeats {a:?}");
        }
    }

    #[test]
    fn markers_change_after_palette_wraps() {
        assert_eq!(marker_for(0), marker_for(PALETTE.len() - 1));
        assert_ne!(marker_for(0), marker_for(PALETTE.len()));
        assert_eq!(palette(0), palette(PALETTE.len()));
    }
}
