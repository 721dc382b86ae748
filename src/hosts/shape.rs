//! How one emulated host's link is shaped: round-trip time, jitter, loss
//! and rate, whatever [`super::Shaper`] applies them.

/// How a host's link to Redis is shaped (zeros: not shaped).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct LinkShape {
    /// Round-trip time added, milliseconds (half on each direction).
    pub rtt_ms: f64,
    /// Jitter of the round trip, milliseconds (half on each direction).
    pub jitter_ms: f64,
    /// Loss, percent (host to Redis direction; see the shaper for what it
    /// means on each).
    pub loss_pct: f64,
    /// Rate limit, Mbit/s (0: none).
    pub rate_mbit: f64,
}

impl LinkShape {
    /// True when nothing is shaped.
    pub(crate) fn is_none(&self) -> bool {
        self.rtt_ms == 0.0 && self.jitter_ms == 0.0 && self.loss_pct == 0.0 && self.rate_mbit == 0.0
    }
}
