//! The lab's one progress display (indicatif): elapsed time since the lab
//! started, which experiment of how many, which run of how many in the
//! whole lab, and the ETA: the estimated seconds of the runs left when the
//! lab has estimates (`--budget`), else indicatif's rate-based guess.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use super::budget::{Second, human};

/// A bar of `runs` steps. `remaining[pos]`, when given, is the estimated
/// seconds left from step `pos` on.
pub(crate) fn lab_bar(runs: u64, started: Instant, remaining: Option<Vec<Second>>) -> ProgressBar {
    let bar = ProgressBar::new(runs);
    let remaining = remaining.map(Arc::new);
    let style = ProgressStyle::with_template(
        "{lab_elapsed} [{bar:20}] {prefix} | run {pos}/{len} | ETA {lab_eta} | {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "lab_elapsed",
        move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", clock(started.elapsed()));
        },
    )
    .with_key(
        "lab_eta",
        move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let estimate = remaining
                .as_ref()
                .and_then(|r| r.get(state.pos() as usize).copied());
            let _ = match estimate {
                Some(seconds) => write!(w, "~{}", human(seconds)),
                None => write!(w, "{}", clock(state.eta())),
            };
        },
    );
    bar.set_style(style);
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_secs(1));
    }
    bar
}

/// `h:mm:ss`.
pub(crate) fn clock(duration: Duration) -> String {
    let s = duration.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_hours_minutes_seconds() {
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        assert_eq!(clock(Duration::from_millis(59_900)), "0:00:59");
    }
}
