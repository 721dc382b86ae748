//! The shaping of one emulated host's link with `tc netem`: delay (half
//! the round trip on each direction), jitter, loss and rate.

use super::HostsError;
use super::command::output;

/// How a host's link to the bridge is shaped (zeros: not shaped).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkShape {
    /// Round-trip time added, milliseconds.
    pub rtt_ms: f64,
    /// Jitter of the round trip, milliseconds.
    pub jitter_ms: f64,
    /// Packets lost, percent (host to Redis direction).
    pub loss_pct: f64,
    /// Rate limit, Mbit/s (0: none).
    pub rate_mbit: f64,
}

impl LinkShape {
    /// True when nothing is shaped.
    pub fn is_none(&self) -> bool {
        self.rtt_ms == 0.0 && self.jitter_ms == 0.0 && self.loss_pct == 0.0 && self.rate_mbit == 0.0
    }

    fn netem_args(&self, with_loss: bool) -> Vec<String> {
        let mut args = vec!["netem".to_owned()];
        if self.rtt_ms > 0.0 || self.jitter_ms > 0.0 {
            args.extend([
                "delay".into(),
                format!("{}us", (self.rtt_ms * 500.0).round() as u64),
            ]);
            if self.jitter_ms > 0.0 {
                args.push(format!("{}us", (self.jitter_ms * 500.0).round() as u64));
            }
        }
        if with_loss && self.loss_pct > 0.0 {
            args.extend(["loss".into(), format!("{}%", self.loss_pct)]);
        }
        if self.rate_mbit > 0.0 {
            args.extend([
                "rate".into(),
                format!("{}kbit", (self.rate_mbit * 1000.0).round() as u64),
            ]);
        }
        args
    }

    /// Adds the netem qdisc to `dev` (inside namespace `netns`, when
    /// given); the loss only on the host's side (`with_loss`), so a lost
    /// packet is counted once per round trip.
    pub fn apply(&self, netns: Option<&str>, dev: &str, with_loss: bool) -> Result<(), HostsError> {
        if self.is_none() {
            return Ok(());
        }
        let mut args: Vec<String> = Vec::new();
        if let Some(ns) = netns {
            args.extend(["-n".to_owned(), ns.to_owned()]);
        }
        args.extend(["qdisc", "add", "dev", dev, "root"].map(str::to_owned));
        args.extend(self.netem_args(with_loss));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        output("tc", &args).map(drop).map_err(|e| match e {
            HostsError::Failed { stderr, .. } if stderr.contains("qdisc kind is unknown") => {
                HostsError::NoNetem
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_round_trip_goes_on_each_direction() {
        let shape = LinkShape {
            rtt_ms: 5.0,
            jitter_ms: 1.0,
            loss_pct: 2.0,
            rate_mbit: 100.0,
        };
        assert_eq!(
            shape.netem_args(true),
            [
                "netem",
                "delay",
                "2500us",
                "500us",
                "loss",
                "2%",
                "rate",
                "100000kbit"
            ]
        );
        assert_eq!(
            shape.netem_args(false),
            ["netem", "delay", "2500us", "500us", "rate", "100000kbit"]
        );
        assert!(LinkShape::default().is_none());
    }
}
