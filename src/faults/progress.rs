//! Progress-relative fault times: `at:50%` fires when half of the job's
//! units are acknowledged, so a fault lands at any scale, where a time in
//! milliseconds can come after a short job has ended. Parsed once into a
//! [`Percent`]; the supervisor compares it with a [`JobProgress`] it reads
//! from Redis.

use std::fmt;
use std::str::FromStr;

/// A share of the job's units, in hundredths of a percent (`12.5%` is
/// 1250), from 0% to 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

/// Hundredths of a percent in the whole job.
const WHOLE: u32 = 100 * 100;

impl Percent {
    /// `pct` percent (`Percent::new(50)` is 50%); `None` above 100.
    #[cfg(test)]
    pub(crate) fn new(pct: u32) -> Option<Percent> {
        (pct <= 100).then_some(Percent(pct * 100))
    }

    /// The share as a fraction from 0 to 1.
    pub(crate) fn fraction(self) -> f64 {
        f64::from(self.0) / f64::from(WHOLE)
    }

    /// The `n`th multiple of this share (`25%` times 3 is `75%`); `None`
    /// when it reaches or passes the whole job.
    pub(crate) fn times_below_whole(self, n: u64) -> Option<Percent> {
        let value = u64::from(self.0).checked_mul(n)?;
        (value < u64::from(WHOLE)).then(|| Percent(value as u32))
    }
}

impl FromStr for Percent {
    type Err = String;

    /// `50%`, `12.5%` (two decimals at most), from 0% to 100%.
    fn from_str(text: &str) -> Result<Percent, String> {
        let bad =
            || format!("bad share {text:?}: write a percentage from 0% to 100%, e.g. 50% or 12.5%");
        let number = text.trim().strip_suffix('%').ok_or_else(bad)?;
        let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || decimals.len() > 2 || !decimals.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let hundredths: u32 = format!("{decimals:0<2}").parse().map_err(|_| bad())?;
        let value = whole
            .checked_mul(100)
            .and_then(|v| v.checked_add(hundredths))
            .filter(|v| *v <= WHOLE)
            .ok_or_else(bad)?;
        Ok(Percent(value))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => write!(f, "{whole}%"),
            h if h % 10 == 0 => write!(f, "{whole}.{}%", h / 10),
            h => write!(f, "{whole}.{h:02}%"),
        }
    }
}

impl serde::Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How far a job is, as Redis says: units acknowledged of all units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JobProgress {
    /// Units acknowledged (done).
    pub acked: u64,
    /// Units in the job.
    pub total: u64,
}

impl JobProgress {
    /// True when at least `share` of the units are acknowledged.
    pub(crate) fn reached(self, share: Percent) -> bool {
        u128::from(self.acked) * u128::from(WHOLE) >= u128::from(share.0) * u128::from(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_and_print_back() {
        for text in ["0%", "50%", "100%", "12.5%", "33.33%", "0.05%"] {
            let p: Percent = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        assert_eq!("12.50%".parse::<Percent>().unwrap().to_string(), "12.5%");
        assert_eq!("50%".parse::<Percent>().unwrap(), Percent::new(50).unwrap());
        for bad in ["50", "101%", "-1%", "x%", "%", "1.234%", ".5%", "1e2%"] {
            let err = bad.parse::<Percent>().unwrap_err();
            assert!(err.contains("percentage"), "{bad}: {err}");
        }
    }

    #[test]
    fn progress_reaches_a_share_at_the_right_unit() {
        let half = Percent::new(50).unwrap();
        let at = |acked| JobProgress { acked, total: 16 };
        assert!(!at(7).reached(half));
        assert!(at(8).reached(half));
        assert!(at(0).reached(Percent::new(0).unwrap()));
        assert!(!at(15).reached(Percent::new(100).unwrap()));
        let quarter = Percent::new(25).unwrap();
        assert_eq!(quarter.times_below_whole(3), Percent::new(75));
        assert_eq!(quarter.times_below_whole(4), None);
        assert!((quarter.fraction() - 0.25).abs() < 1e-12);
    }
}
