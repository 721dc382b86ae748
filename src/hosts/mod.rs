//! Emulated hosts on one machine: one Linux network namespace per host and
//! one for Redis, each joined by a veth pair to a bridge in the root
//! namespace, on a private /24 (`10.213.S.0/24`, S picked free per run):
//! Redis's namespace holds `10.213.S.1`, host `i` is `10.213.S.(10+i)`, and
//! the bridge itself `10.213.S.254` (so the harness, in the root namespace,
//! reaches Redis unshaped, and the delay proxy listens there). Each host's
//! link is shaped by a [`Shaper`] (`tc netem` on its veth pair, or a
//! userspace delay proxy where the kernel has no netem; chosen in one place,
//! [`Shaper::start`]), and a host can be cut off and restored
//! ([`EmulatedHosts::cut`]: its bridge port goes down, the `partition`
//! fault, whichever shaper runs).
//!
//! Every object is named with a per-run prefix (`hx` + 6 hex digits) and
//! recorded when created; [`EmulatedHosts`] deletes exactly those on drop
//! (success, error, Ctrl-C unwinding through the guards), never anything
//! it did not create. Needs root and iproute2 (`ip`, `tc`); without them
//! [`EmulatedHosts::create`] fails with [`HostsError`] naming what is missing.
//!
//! - `command`: running `ip`/`tc` and the typed errors.
//! - `shape`: how a link is shaped (RTT, jitter, loss, rate).
//! - `shaper`: the shaping seam: `netem` and `proxy` variants.
//! - `partition`: the partition fault (`host-N:at:MS:for:MS`), parsed once.
//! - `netns`: running a closure on a thread inside a namespace (setns).

mod command;
mod netns;
mod partition;
mod shape;
mod shaper;

pub(crate) use command::{HostsError, require_tools};
pub(crate) use netns::in_namespace;
pub(crate) use partition::Partition;
pub(crate) use shape::LinkShape;
pub(crate) use shaper::{Shaper, ShaperKind};

use std::net::Ipv4Addr;

use command::ip;

/// The emulated hosts of one run; dropping it tears everything down.
#[derive(Debug)]
pub(crate) struct EmulatedHosts {
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
    /// Creates `hosts` namespaces and Redis's, linked to a bridge (links
    /// unshaped: see [`Shaper::start`]).
    pub(crate) fn create(hosts: u32) -> Result<EmulatedHosts, HostsError> {
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
        me.build()?;
        Ok(me)
    }

    fn build(&mut self) -> Result<(), HostsError> {
        let bridge = self.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        self.created.push(Created::Bridge(bridge.clone()));
        let own = format!("{}/24", self.bridge_addr());
        ip(&["addr", "add", &own, "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        self.add_member(0, self.redis_addr())?;
        for host in 1..=self.hosts {
            self.add_member(host, self.host_addr(host))?;
        }
        Ok(())
    }

    /// One namespace (0: Redis's, else host `member`) with its veth pair
    /// to the bridge and address `addr`.
    fn add_member(&mut self, member: u32, addr: Ipv4Addr) -> Result<(), HostsError> {
        let ns = self.namespace(member);
        ip(&["netns", "add", &ns])?;
        self.created.push(Created::Namespace(ns.clone()));
        let (outer, inner) = (self.outer_link(member), self.inner_link(member));
        ip(&[
            "link", "add", &outer, "type", "veth", "peer", "name", &inner,
        ])?;
        self.created.push(Created::Veth(outer.clone()));
        ip(&["link", "set", &inner, "netns", &ns])?;
        ip(&["link", "set", &outer, "master", &self.bridge()])?;
        ip(&["link", "set", &outer, "up"])?;
        let addr = format!("{addr}/24");
        ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])?;
        ip(&["-n", &ns, "link", "set", &inner, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The per-run prefix every object's name starts with.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The number of hosts.
    pub(crate) fn hosts(&self) -> u32 {
        self.hosts
    }

    /// The namespace of host `host` (1-based); 0 is Redis's namespace.
    pub(crate) fn namespace(&self, host: u32) -> String {
        if host == 0 {
            format!("{}-redis", self.prefix)
        } else {
            format!("{}-h{host}", self.prefix)
        }
    }

    /// The namespace Redis runs in.
    pub(crate) fn redis_namespace(&self) -> String {
        self.namespace(0)
    }

    /// The address Redis listens on (inside its namespace).
    pub(crate) fn redis_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 1)
    }

    /// The bridge's own address, in the root namespace: reachable from
    /// every host (the delay proxy listens here).
    pub(crate) fn bridge_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 254)
    }

    /// The address of host `host` (1-based).
    pub(crate) fn host_addr(&self, host: u32) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 10 + host as u8)
    }

    /// The command prefix that runs a program inside host `host`'s namespace.
    pub(crate) fn exec_prefix(&self, host: u32) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.namespace(host),
        ]
    }

    /// Host `host`'s link switch, to cut and restore it from another thread.
    pub(crate) fn switch(&self, host: u32) -> LinkSwitch {
        LinkSwitch {
            link: self.outer_link(host),
        }
    }

    fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }

    /// Host `host`'s end of its veth pair on the bridge (root namespace).
    pub(crate) fn outer_link(&self, host: u32) -> String {
        format!("{}h{host}o", self.prefix)
    }

    /// Host `host`'s end of its veth pair inside its namespace.
    pub(crate) fn inner_link(&self, host: u32) -> String {
        format!("{}h{host}i", self.prefix)
    }

    /// The bridge (a probe qdisc may be added to it to learn whether the
    /// kernel has netem).
    pub(crate) fn bridge_name(&self) -> String {
        self.bridge()
    }

    /// The `ip` commands that delete everything created, newest first (for
    /// a process that must exit without dropping this, e.g. a second Ctrl-C).
    pub(crate) fn teardown_commands(&self) -> Vec<Vec<String>> {
        self.created
            .iter()
            .rev()
            .map(|object| {
                let args: &[&str] = match object {
                    Created::Namespace(ns) => &["netns", "del", ns],
                    Created::Bridge(name) | Created::Veth(name) => &["link", "del", name],
                };
                args.iter().map(|a| (*a).to_owned()).collect()
            })
            .collect()
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

/// Cuts and restores one host's link (its bridge port); `Send`, so a
/// partition schedule can run on its own thread.
#[derive(Debug, Clone)]
pub(crate) struct LinkSwitch {
    link: String,
}

impl LinkSwitch {
    /// The link goes down: the host is cut off.
    pub(crate) fn cut(&self) -> Result<(), HostsError> {
        ip(&["link", "set", &self.link, "down"])
    }

    /// The link comes back up.
    pub(crate) fn restore(&self) -> Result<(), HostsError> {
        ip(&["link", "set", &self.link, "up"])
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
