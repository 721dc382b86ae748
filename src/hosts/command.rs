//! Running `ip` and `tc`, and what can go wrong (typed: a missing tool or
//! missing root is the user's to fix, a failed command names itself).

use std::process::Command;

/// Why the emulated hosts could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostsError {
    /// A program is not installed.
    #[error(
        "emulated hosts need `{0}` (package iproute2): run scripts/ensure-deps.sh or `apt-get install -y iproute2`"
    )]
    MissingTool(&'static str),
    /// Not running as root.
    #[error(
        "emulated hosts (hosts > 0) need root to create network namespaces, veth pairs and qdiscs: rerun as root (e.g. with sudo)"
    )]
    NotRoot,
    /// The kernel has no netem qdisc (`sch_netem`), so no delay, jitter,
    /// loss or rate can be emulated.
    #[error(
        "this kernel has no tc netem qdisc (module sch_netem): rtt_ms, jitter_ms, loss_pct and rate_mbit need it; load it (`modprobe sch_netem`, package linux-modules-extra on some distributions) or use the userspace delay proxy (shaper = \"proxy\" or \"auto\", --shaper proxy)"
    )]
    NoNetem,
    /// A command failed.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The settings do not fit.
    #[error("{0}")]
    BadOptions(String),
}

/// Fails unless running as root with `ip` and `tc` installed.
pub(crate) fn require_tools() -> Result<(), HostsError> {
    for tool in ["ip", "tc"] {
        let found = Command::new(tool)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Err(HostsError::MissingTool(tool));
        }
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(HostsError::NotRoot);
    }
    Ok(())
}

/// Runs `program args`, returning its stdout.
pub(crate) fn output(program: &str, args: &[&str]) -> Result<String, HostsError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| HostsError::Failed {
            command: command.clone(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(HostsError::Failed {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `ip args`.
pub(crate) fn ip(args: &[&str]) -> Result<(), HostsError> {
    output("ip", args).map(drop)
}
