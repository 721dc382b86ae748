//! Axis ranges, tick positions and tick labels.
//!
//! Charts are drawn on plain linear f64 coordinates; a log axis is drawn by
//! mapping values through log10 first. This module owns that transform and
//! chooses tick positions itself, so log axes get 1-2-5 / decade ticks with
//! readable labels (`100`, `1k`, `10MB`) instead of the library defaults.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

use super::AxisFormat;

/// A linear f64 coordinate whose tick positions are given explicitly.
///
/// (plotters' own `with_key_points` loses the value formatter needed by the mesh.)
#[derive(Clone)]
pub(crate) struct Ticked {
    inner: RangedCoordf64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ticked {
    /// Coordinate `lo..hi` with labelled ticks `major` and light grid lines `minor`.
    pub(crate) fn new(lo: f64, hi: f64, major: Vec<f64>, minor: Vec<f64>) -> Self {
        Self {
            inner: (lo..hi).into(),
            major,
            minor,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// A fully resolved axis: range and ticks in transformed (drawing) space.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub log: bool,
    pub format: AxisFormat,
    /// Lower end, in drawing space (log10 of the value for log axes).
    pub lo: f64,
    /// Upper end, in drawing space.
    pub hi: f64,
    /// Labelled ticks, in drawing space.
    pub major: Vec<f64>,
    /// Unlabelled light grid lines, in drawing space.
    pub minor: Vec<f64>,
    /// Largest absolute labelled value; picks the unit of linear second axes.
    max_abs: f64,
}

/// Options for [`Axis::fit`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fit {
    pub log: bool,
    pub format: AxisFormat,
    /// Fraction of the data span added on both sides.
    pub pad: f64,
    /// Include 0 in a linear axis and do not pad below it when all data is >= 0.
    pub from_zero: bool,
    /// Aim for about this many labelled ticks.
    pub ticks: usize,
}

impl Axis {
    /// Maps a data value to drawing space; `None` for non-finite values and, on log axes, values <= 0.
    pub(crate) fn t(&self, v: f64) -> Option<f64> {
        transform(self.log, v)
    }

    /// Builds an axis covering `values` (already-transformed values are not expected:
    /// pass raw data). Returns `None` when no value is drawable.
    pub(crate) fn fit(values: impl IntoIterator<Item = f64>, opt: Fit) -> Option<Axis> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter_map(|v| transform(opt.log, v)) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() || !hi.is_finite() {
            return None;
        }
        Some(if opt.log {
            Self::fit_log(lo, hi, opt)
        } else {
            Self::fit_linear(lo, hi, opt)
        })
    }

    fn fit_linear(mut lo: f64, mut hi: f64, opt: Fit) -> Axis {
        let nonneg = lo >= 0.0;
        if opt.from_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
            let d = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
            if opt.from_zero && nonneg {
                hi = if hi == 0.0 { 1.0 } else { hi + d };
            } else {
                lo -= d;
                hi += d;
            }
        }
        let span = hi - lo;
        if !(opt.from_zero && nonneg && lo == 0.0) {
            lo -= span * opt.pad;
        }
        hi += span * opt.pad;
        let step = nice_step((hi - lo) / opt.ticks.max(2) as f64);
        let major = steps_in(lo, hi, step);
        let minor_div = match leading_digit(step) {
            2 => 4.0,
            _ => 5.0,
        };
        let minor = steps_in(lo, hi, step / minor_div)
            .into_iter()
            .filter(|m| major.iter().all(|t| (t - m).abs() > step * 1e-6))
            .collect();
        let max_abs = major.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        Axis {
            log: false,
            format: opt.format,
            lo,
            hi,
            major,
            minor,
            max_abs,
        }
    }

    fn fit_log(mut lo: f64, mut hi: f64, opt: Fit) -> Axis {
        if hi - lo < 1e-9 {
            lo -= 0.5;
            hi += 0.5;
        }
        let pad = ((hi - lo) * opt.pad).max(0.04);
        lo -= pad;
        hi += pad;
        let in_range = |t: f64| t >= lo - 1e-9 && t <= hi + 1e-9;
        let decades: Vec<i32> = ((lo.floor() as i32)..=(hi.ceil() as i32)).collect();
        let with_mult = |mults: &[f64]| -> Vec<f64> {
            let mut v: Vec<f64> = decades
                .iter()
                .flat_map(|&k| mults.iter().map(move |m| m.log10() + f64::from(k)))
                .filter(|&t| in_range(t))
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let mut major = with_mult(&[1.0]);
        if major.len() > opt.ticks {
            let every = major.len().div_ceil(opt.ticks);
            // Keep decades divisible by `every` so labels stay regular (1, 100, 10k...).
            major.retain(|t| (t.round() as i64).rem_euclid(every as i64) == 0);
        }
        if major.len() < 3 {
            major = with_mult(&[1.0, 2.0, 5.0]);
        }
        if major.len() < 3 {
            major = with_mult(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        if major.len() < 3 {
            // Less than a factor of ~2 of range: nice linear steps in value space.
            let (vlo, vhi) = (10f64.powf(lo), 10f64.powf(hi));
            let step = nice_step((vhi - vlo) / 4.0);
            major = steps_in(vlo, vhi, step)
                .into_iter()
                .filter(|&v| v > 0.0)
                .map(f64::log10)
                .collect();
        }
        let minor = if hi - lo <= 8.0 {
            with_mult(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
                .into_iter()
                .filter(|m| major.iter().all(|t| (t - m).abs() > 1e-6))
                .collect()
        } else {
            with_mult(&[1.0])
                .into_iter()
                .filter(|m| major.iter().all(|t| (t - m).abs() > 1e-6))
                .collect()
        };
        let max_abs = major.iter().fold(0.0f64, |a, &t| a.max(10f64.powf(t)));
        Axis {
            log: true,
            format: opt.format,
            lo,
            hi,
            major,
            minor,
            max_abs,
        }
    }

    /// The plotters coordinate of this axis (drawing space, explicit ticks).
    pub(crate) fn coord(&self) -> Ticked {
        Ticked::new(self.lo, self.hi, self.major.clone(), self.minor.clone())
    }

    /// Label for a tick at drawing-space position `t`.
    pub(crate) fn label(&self, t: f64) -> String {
        let v = if self.log { 10f64.powf(t) } else { t };
        format_value(v, self.format, self.log, self.max_abs)
    }

    /// Formats a data value (not transformed) the way this axis labels its ticks.
    pub(crate) fn value_label(&self, v: f64) -> String {
        format_value(v, self.format, true, self.max_abs)
    }
}

fn transform(log: bool, v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * p
}

fn leading_digit(step: f64) -> u32 {
    let p = 10f64.powf(step.log10().floor());
    (step / p).round() as u32
}

/// Multiples of `step` within `[lo, hi]`, snapped to avoid 0.30000000000000004 style noise.
fn steps_in(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    if last < first || last - first > 10_000 {
        return Vec::new();
    }
    (first..=last)
        .map(|k| k as f64 * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// Shortest decimal form of `v` with at most `max_dec` decimals.
fn trim(v: f64, max_dec: usize) -> String {
    let s = format!("{v:.max_dec$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// Number with SI suffix (k, M, G, T) from 1000 on; tiny values in scientific notation.
fn si(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a < 1e-3 {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, suffix) in UNITS {
        if a >= scale * (1.0 - 1e-9) {
            return format!("{}{suffix}", trim(v / scale, 2));
        }
    }
    if a < 1.0 { trim(v, 4) } else { trim(v, 2) }
}

fn bytes(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    const UNITS: [(f64, &str); 5] = [
        (1e15, "PB"),
        (1e12, "TB"),
        (1e9, "GB"),
        (1e6, "MB"),
        (1e3, "KB"),
    ];
    for (scale, suffix) in UNITS {
        if a >= scale * (1.0 - 1e-9) {
            return format!("{}{suffix}", trim(v / scale, 2));
        }
    }
    format!("{}B", trim(v, 1))
}

fn seconds(v: f64, per_value: bool, max_abs: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    // Linear axes use one unit for all ticks, picked by the largest tick.
    let reference = if per_value { a } else { max_abs };
    if reference < 1e-3 {
        format!("{}µs", trim(v * 1e6, 2))
    } else if reference < 1.0 - 1e-9 {
        format!("{}ms", trim(v * 1e3, 2))
    } else {
        format!("{}s", trim(v, 3))
    }
}

/// Formats a value for a tick or bar label.
pub(crate) fn format_value(v: f64, format: AxisFormat, per_value: bool, max_abs: f64) -> String {
    match format {
        AxisFormat::Plain => si(v),
        AxisFormat::Bytes => bytes(v),
        AxisFormat::Seconds => seconds(v, per_value, max_abs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(log: bool, vals: &[f64]) -> Axis {
        Axis::fit(
            vals.iter().copied(),
            Fit {
                log,
                format: AxisFormat::Plain,
                pad: 0.05,
                from_zero: false,
                ticks: 8,
            },
        )
        .unwrap()
    }

    #[test]
    fn plain_labels_use_si_suffixes() {
        assert_eq!(si(100.0), "100");
        assert_eq!(si(1000.0), "1k");
        assert_eq!(si(10_000.0), "10k");
        assert_eq!(si(1_000_000.0), "1M");
        assert_eq!(si(2_500_000.0), "2.5M");
        assert_eq!(si(0.25), "0.25");
        assert_eq!(si(0.1 + 0.2), "0.3");
        assert_eq!(si(-0.0), "0");
        assert_eq!(si(0.0001), "1e-4");
    }

    #[test]
    fn byte_and_second_labels() {
        assert_eq!(bytes(512.0), "512B");
        assert_eq!(bytes(1000.0), "1KB");
        assert_eq!(bytes(1.5e6), "1.5MB");
        assert_eq!(bytes(2e9), "2GB");
        assert_eq!(seconds(0.25, true, 0.0), "250ms");
        assert_eq!(seconds(1.5, true, 0.0), "1.5s");
        assert_eq!(seconds(0.5, false, 2.0), "0.5s");
        assert_eq!(seconds(0.0005, true, 0.0), "500µs");
    }

    #[test]
    fn log_axis_ticks_at_decades() {
        let a = fit(true, &[1.0, 1e6]);
        let labels: Vec<String> = a.major.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["1", "10", "100", "1k", "10k", "100k", "1M"]);
        assert!(!a.minor.is_empty());
    }

    #[test]
    fn narrow_log_axis_gets_intermediate_ticks() {
        let a = fit(true, &[3.0, 40.0]);
        assert!(a.major.len() >= 3, "{:?}", a.major);
        let a = fit(true, &[5.0, 6.0]);
        assert!(a.major.len() >= 2, "{:?}", a.major);
    }

    #[test]
    fn wide_log_axis_thins_decades() {
        let a = fit(true, &[1e-3, 1e12]);
        assert!(a.major.len() <= 8, "{:?}", a.major);
    }

    #[test]
    fn log_axis_ignores_non_positive() {
        let a = fit(true, &[-5.0, 0.0, 10.0, 100.0]);
        assert!(a.lo > 0.9 && a.hi < 2.1, "{a:?}");
        assert!(
            Axis::fit(
                [0.0, -1.0, f64::NAN],
                Fit {
                    log: true,
                    format: AxisFormat::Plain,
                    pad: 0.0,
                    from_zero: false,
                    ticks: 8
                }
            )
            .is_none()
        );
    }

    #[test]
    fn linear_from_zero_starts_at_zero() {
        let a = Axis::fit(
            [3.0, 7.0],
            Fit {
                log: false,
                format: AxisFormat::Plain,
                pad: 0.05,
                from_zero: true,
                ticks: 8,
            },
        )
        .unwrap();
        assert_eq!(a.lo, 0.0);
        assert!(a.hi > 7.0);
        assert_eq!(a.label(a.major[0]), "0");
    }

    #[test]
    fn single_value_gets_a_range() {
        let a = fit(false, &[5.0]);
        assert!(a.lo < 5.0 && a.hi > 5.0);
        let a = fit(true, &[5.0]);
        assert!(a.lo < 5f64.log10() && a.hi > 5f64.log10());
    }
}
