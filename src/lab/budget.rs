//! Fitting the lab into a time budget: the budget as written (`20m`,
//! `90s`, `1.5h`), the ladder of scales the lab may run at, and the choice
//! of the largest scale whose estimated total fits (a pure function of the
//! estimates, so it is tested without running anything).

/// A duration in seconds.
pub(crate) type Second = f64;

/// The scales `--budget` chooses from, largest first.
pub(crate) const SCALE_LADDER: &[f64] = &[1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01];

/// Parses a budget: a number with an optional unit `s`, `m`, `h`
/// (seconds when none), e.g. `20m`, `90s`, `1.5h`, `600`.
pub(crate) fn parse_budget(text: &str) -> Result<Second, String> {
    let text = text.trim();
    let (number, unit_s) = match text.char_indices().last() {
        Some((i, 's')) => (&text[..i], 1.0),
        Some((i, 'm')) => (&text[..i], 60.0),
        Some((i, 'h')) => (&text[..i], 3600.0),
        _ => (text, 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value * unit_s),
        _ => Err(format!(
            "`{text}` is not a duration: write a positive number with s, m or h, e.g. 20m, 90s, 1.5h"
        )),
    }
}

/// A duration for people: `42 s`, `3.5 min`, `1.2 h`.
pub(crate) fn human(seconds: Second) -> String {
    let seconds = if seconds > 0.0 { seconds } else { 0.0 };
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// The scale `--budget` picked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScaleChoice {
    /// The scale.
    pub scale: f64,
    /// Its estimated total.
    pub estimate_s: Second,
    /// Whether that estimate fits the budget (false: even the smallest
    /// scale does not, and it is used anyway).
    pub fits: bool,
}

/// The largest scale whose estimated total (of the runs not yet done)
/// fits `budget_s`; when none does, the smallest one (with `fits =
/// false`). `totals` holds (scale, estimated seconds) pairs in any order;
/// it must not be empty. `unfinished` is the scale of an earlier lab that
/// stopped before its end (Ctrl-C): it is resumed when what is left of it
/// fits, even if a larger scale would too, so one lab's rows are never
/// split over two scales.
pub(crate) fn choose_scale(
    totals: &[(f64, Second)],
    budget_s: Second,
    unfinished: Option<f64>,
) -> ScaleChoice {
    let mut by_scale: Vec<(f64, Second)> = totals.to_vec();
    by_scale.sort_by(|a, b| b.0.total_cmp(&a.0));
    if let Some(&(scale, estimate_s)) = by_scale
        .iter()
        .find(|(scale, total)| Some(*scale) == unfinished && *total <= budget_s)
    {
        return ScaleChoice {
            scale,
            estimate_s,
            fits: true,
        };
    }
    if let Some(&(scale, estimate_s)) = by_scale.iter().find(|(_, total)| *total <= budget_s) {
        return ScaleChoice {
            scale,
            estimate_s,
            fits: true,
        };
    }
    let (scale, estimate_s) = by_scale.last().copied().unwrap_or((SCALE_LADDER[0], 0.0));
    ScaleChoice {
        scale,
        estimate_s,
        fits: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_numbers_with_units() {
        assert_eq!(parse_budget("20m"), Ok(1200.0));
        assert_eq!(parse_budget("90s"), Ok(90.0));
        assert_eq!(parse_budget("1.5h"), Ok(5400.0));
        assert_eq!(parse_budget("600"), Ok(600.0));
        assert!(parse_budget("soon").unwrap_err().contains("20m"));
        assert!(parse_budget("-5m").is_err());
        assert!(parse_budget("0").is_err());
        assert!(parse_budget("").is_err());
    }

    #[test]
    fn the_largest_scale_that_fits_is_chosen() {
        let totals = [
            (0.01, 60.0),
            (1.0, 5000.0),
            (0.1, 500.0),
            (0.25, 1300.0),
            (0.5, 2600.0),
            (0.05, 250.0),
            (0.02, 100.0),
        ];
        let choose = |budget| choose_scale(&totals, budget, None);
        assert_eq!(
            choose(900.0),
            ScaleChoice {
                scale: 0.1,
                estimate_s: 500.0,
                fits: true
            }
        );
        assert_eq!(choose(500.0).scale, 0.1, "a total equal to the budget fits");
        assert_eq!(choose(499.0).scale, 0.05);
        assert_eq!(choose(1e9).scale, 1.0);
        let resume = |budget| choose_scale(&totals, budget, Some(0.05)).scale;
        assert_eq!(
            resume(900.0),
            0.05,
            "an unfinished lab is resumed at its scale"
        );
        assert_eq!(
            resume(100.0),
            0.02,
            "unless what is left of it does not fit"
        );
        assert_eq!(
            choose(10.0),
            ScaleChoice {
                scale: 0.01,
                estimate_s: 60.0,
                fits: false
            }
        );
    }
}
