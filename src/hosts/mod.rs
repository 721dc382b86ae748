//! Emulated hosts on one machine: one Linux network namespace per host,
//! each joined by a veth pair to a bridge in the root namespace, on a
//! private /24 (`10.213.S.0/24`, S picked free per run); the bridge holds
//! the Redis address (`10.213.S.1`), host `i` is `10.213.S.(10+i)`. Each
//! host's link is shaped with `tc netem` ([`LinkShape`]: half the RTT on
//! each direction, jitter, loss, rate), and a host can be cut off and
//! restored ([`EmulatedHosts::cut`], the `partition` fault).
//!
//! Every object is named with a per-run prefix (`hx` + 6 hex digits) and
//! recorded when created; [`EmulatedHosts`] deletes exactly those on drop
//! (success, error, Ctrl-C unwinding through the guards), never anything
//! it did not create. Needs root and iproute2 (`ip`, `tc`); without them
//! [`EmulatedHosts::create`] fails with [`HostsError`] naming what is missing.
//!
//! - `command`: running `ip`/`tc` and the typed errors.
//! - `shape`: the netem settings of a link.
//! - `partition`: the partition fault (`host-N:at:MS:for:MS`), parsed once.

mod command;
mod partition;
mod shape;

pub use command::HostsError;
pub use partition::Partition;
pub use shape::LinkShape;

use std::net::Ipv4Addr;

use command::{ip, require_tools};

/// The emulated hosts of one run; dropping it tears everything down.
#[derive(Debug)]
pub struct EmulatedHosts {
    prefix: String,
    subnet: u8,
    hosts: u32,
    /// What was created, in order (deleted in reverse).
    created: Vec<Created>,
}

#[derive(Debug, Clone)]
enum Created {
    Bridge(String),
    Namespace(String),
    /// A veth pair, by its end on the bridge (deleting it deletes both).
    Veth(String),
}

impl EmulatedHosts {
    /// Creates `hosts` namespaces linked to a bridge, each link shaped by `shape`.
    pub fn create(hosts: u32, shape: &LinkShape) -> Result<EmulatedHosts, HostsError> {
        require_tools()?;
        if hosts == 0 || hosts > 200 {
            return Err(HostsError::BadOptions(format!(
                "hosts = {hosts}: use 1 to 200 emulated hosts"
            )));
        }
        let prefix = format!("hx{:06x}", rand::random::<u32>() & 0xff_ffff);
        let subnet = free_subnet()?;
        let mut me = EmulatedHosts {
            prefix,
            subnet,
            hosts,
            created: Vec::new(),
        };
        me.build(shape)?;
        Ok(me)
    }

    fn build(&mut self, shape: &LinkShape) -> Result<(), HostsError> {
        let bridge = self.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        self.created.push(Created::Bridge(bridge.clone()));
        let redis = format!("{}/24", self.redis_addr());
        ip(&["addr", "add", &redis, "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for host in 1..=self.hosts {
            let ns = self.namespace(host);
            ip(&["netns", "add", &ns])?;
            self.created.push(Created::Namespace(ns.clone()));
            let (outer, inner) = (self.outer_link(host), self.inner_link(host));
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            self.created.push(Created::Veth(outer.clone()));
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &outer, "master", &bridge])?;
            ip(&["link", "set", &outer, "up"])?;
            let addr = format!("{}/24", self.host_addr(host));
            ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            // Half the delay each way: the round trip is rtt_ms.
            shape.apply(Some(&ns), &inner, true)?;
            shape.apply(None, &outer, false)?;
        }
        Ok(())
    }

    /// The per-run prefix every object's name starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The number of hosts.
    pub fn hosts(&self) -> u32 {
        self.hosts
    }

    /// The namespace of host `host` (1-based).
    pub fn namespace(&self, host: u32) -> String {
        format!("{}-h{host}", self.prefix)
    }

    /// The address Redis listens on (the bridge's).
    pub fn redis_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 1)
    }

    /// The address of host `host` (1-based).
    pub fn host_addr(&self, host: u32) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 10 + host as u8)
    }

    /// The command prefix that runs a program inside host `host`'s namespace.
    pub fn exec_prefix(&self, host: u32) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.namespace(host),
        ]
    }

    /// Cuts host `host` off (its bridge port goes down): the partition fault.
    pub fn cut(&self, host: u32) -> Result<(), HostsError> {
        ip(&["link", "set", &self.outer_link(host), "down"])
    }

    /// Restores host `host`'s link after [`EmulatedHosts::cut`].
    pub fn restore(&self, host: u32) -> Result<(), HostsError> {
        ip(&["link", "set", &self.outer_link(host), "up"])
    }

    fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }

    fn outer_link(&self, host: u32) -> String {
        format!("{}h{host}o", self.prefix)
    }

    fn inner_link(&self, host: u32) -> String {
        format!("{}h{host}i", self.prefix)
    }

    /// Deletes everything created, newest first (each veth pair with its
    /// qdiscs, then its namespace, then the bridge).
    fn teardown(&mut self) {
        while let Some(object) = self.created.pop() {
            let result = match &object {
                Created::Namespace(ns) => ip(&["netns", "del", ns]),
                Created::Bridge(bridge) => ip(&["link", "del", bridge]),
                // Deleted now, not when the kernel gets round to it after
                // its namespace went.
                Created::Veth(outer) => ip(&["link", "del", outer]),
            };
            if let Err(e) = result {
                eprintln!("warning: could not delete {object:?}: {e}; delete it by hand");
            }
        }
    }
}

impl Drop for EmulatedHosts {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// A third octet S with no address in 10.213.S.0/24 on this machine.
fn free_subnet() -> Result<u8, HostsError> {
    let used = command::output("ip", &["-o", "-4", "addr", "show"])?;
    let start = rand::random::<u8>();
    (0..=255u16)
        .map(|k| start.wrapping_add(k as u8))
        .filter(|s| *s != 0 && *s != 255)
        .find(|s| !used.contains(&format!("10.213.{s}.")))
        .ok_or_else(|| HostsError::BadOptions("no free /24 left in 10.213.0.0/16".into()))
}
