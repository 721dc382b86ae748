//! The shaping seam: how the emulated hosts' links get their RTT, jitter,
//! loss and rate. Two variants, one file each, chosen in one place
//! ([`Shaper::start`]):
//! - `netem`: `tc netem` qdiscs on each host's veth pair (the kernel
//!   delays packets; needs the `sch_netem` module);
//! - `proxy`: a userspace delay proxy per host ([`DelayProxy`]), used where
//!   the kernel has no netem (or when asked for): workers of host N
//!   connect to proxy N, which delays the bytes of each direction.
//!
//! Either way a partition cuts the host's veth, so its traffic stops.

mod delay;
mod netem;
mod proxy;

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};
use std::str::FromStr;

pub(crate) use proxy::DelayProxy;

use super::{EmulatedHosts, HostsError, LinkShape};

/// Which shaper a run asks for (the `shaper` run parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShaperKind {
    /// netem when the kernel has it, else the proxy.
    #[default]
    Auto,
    /// `tc netem` (an error where the kernel has none).
    Netem,
    /// The userspace delay proxy.
    Proxy,
}

impl fmt::Display for ShaperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShaperKind::Auto => "auto",
            ShaperKind::Netem => "netem",
            ShaperKind::Proxy => "proxy",
        })
    }
}

impl FromStr for ShaperKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "auto" => Ok(ShaperKind::Auto),
            "netem" => Ok(ShaperKind::Netem),
            "proxy" => Ok(ShaperKind::Proxy),
            other => Err(format!(
                "unknown shaper {other:?}: use auto (netem when the kernel has it, else the proxy), netem or proxy"
            )),
        }
    }
}

/// The shaping of one run's hosts, running; dropping it stops any proxies
/// (netem qdiscs go with the veth pairs).
#[derive(Debug)]
pub(crate) enum Shaper {
    /// netem qdiscs; hosts reach Redis directly.
    Netem {
        /// Redis's address.
        redis: SocketAddr,
    },
    /// One delay proxy per host (index host - 1).
    Proxy(Vec<DelayProxy>),
}

impl Shaper {
    /// Shapes every host's link to Redis (at `redis`) as `shape`, with the
    /// variant `kind` asks for: the one place that picks one.
    pub(crate) fn start(
        kind: ShaperKind,
        hosts: &EmulatedHosts,
        shape: &LinkShape,
        redis: SocketAddr,
    ) -> Result<Shaper, HostsError> {
        let netem = match kind {
            ShaperKind::Auto => netem::available(hosts)?,
            ShaperKind::Netem => true,
            ShaperKind::Proxy => false,
        };
        if netem {
            netem::apply(hosts, shape)?;
            return Ok(Shaper::Netem { redis });
        }
        let listen = SocketAddr::V4(SocketAddrV4::new(hosts.bridge_addr(), 0));
        let proxies = (1..=hosts.hosts())
            .map(|_| {
                DelayProxy::start(listen, redis, *shape).map_err(|e| HostsError::Failed {
                    command: format!("delay proxy on {listen} to {redis}"),
                    stderr: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Shaper::Proxy(proxies))
    }

    /// `netem` or `proxy` (as the CSV's `shaper_used` records it).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Shaper::Netem { .. } => "netem",
            Shaper::Proxy(_) => "proxy",
        }
    }

    /// Where host `host`'s clients connect to reach Redis.
    pub(crate) fn endpoint(&self, host: u32) -> SocketAddr {
        match self {
            Shaper::Netem { redis } => *redis,
            Shaper::Proxy(proxies) => proxies[(host as usize - 1) % proxies.len()].addr(),
        }
    }
}
