//! The `netem` shaper: a `tc netem` qdisc on both ends of each host's veth
//! pair (half the delay and jitter each way, the loss on the host's side
//! only, so a packet is lost at most once per round trip; the rate on both).
//! The qdiscs go with their veth pair when the hosts are torn down.

use super::super::command::output;
use super::super::{EmulatedHosts, HostsError, LinkShape};

/// The netem arguments of one direction.
pub(super) fn netem_args(shape: &LinkShape, with_loss: bool) -> Vec<String> {
    let mut args = vec!["netem".to_owned()];
    if shape.rtt_ms > 0.0 || shape.jitter_ms > 0.0 {
        args.extend([
            "delay".into(),
            format!("{}us", (shape.rtt_ms * 500.0).round() as u64),
        ]);
        if shape.jitter_ms > 0.0 {
            args.push(format!("{}us", (shape.jitter_ms * 500.0).round() as u64));
        }
    }
    if with_loss && shape.loss_pct > 0.0 {
        args.extend(["loss".into(), format!("{}%", shape.loss_pct)]);
    }
    if shape.rate_mbit > 0.0 {
        args.extend([
            "rate".into(),
            format!("{}kbit", (shape.rate_mbit * 1000.0).round() as u64),
        ]);
    }
    args
}

/// Adds a netem qdisc to `dev` (inside `netns` when given).
fn add(netns: Option<&str>, dev: &str, netem: Vec<String>) -> Result<(), HostsError> {
    let mut args: Vec<String> = Vec::new();
    if let Some(ns) = netns {
        args.extend(["-n".to_owned(), ns.to_owned()]);
    }
    args.extend(["qdisc", "add", "dev", dev, "root"].map(str::to_owned));
    args.extend(netem);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    output("tc", &args).map(drop).map_err(|e| match e {
        HostsError::Failed { stderr, .. } if stderr.contains("qdisc kind is unknown") => {
            HostsError::NoNetem
        }
        other => other,
    })
}

/// Whether this kernel has the netem qdisc: adds one to the run's bridge
/// and deletes it again.
pub(super) fn available(hosts: &EmulatedHosts) -> Result<bool, HostsError> {
    let bridge = hosts.bridge_name();
    match add(None, &bridge, vec!["netem".into()]) {
        Ok(()) => {
            output("tc", &["qdisc", "del", "dev", &bridge, "root"])?;
            Ok(true)
        }
        Err(HostsError::NoNetem) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Shapes every host's veth pair.
pub(super) fn apply(hosts: &EmulatedHosts, shape: &LinkShape) -> Result<(), HostsError> {
    if shape.is_none() {
        return Ok(());
    }
    for host in 1..=hosts.hosts() {
        add(
            Some(&hosts.namespace(host)),
            &hosts.inner_link(host),
            netem_args(shape, true),
        )?;
        add(None, &hosts.outer_link(host), netem_args(shape, false))?;
    }
    Ok(())
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
            netem_args(&shape, true),
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
            netem_args(&shape, false),
            ["netem", "delay", "2500us", "500us", "rate", "100000kbit"]
        );
        assert!(LinkShape::default().is_none());
    }
}
