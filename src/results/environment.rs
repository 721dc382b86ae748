//! The environment a set of results was measured in: host, CPU, kernel,
//! memory, Redis version (asked of `redis-server --version` directly, so
//! results depend on no other module), git commit and command line.

use serde::{Deserialize, Serialize};

/// Where and with what results were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Kernel version.
    pub kernel: String,
    /// OS name and version.
    pub os: String,
    /// `redis-server --version`, or why it is unknown.
    pub redis_version: String,
    /// Git commit of the harness (with `-dirty` when the tree had changes).
    pub git_commit: String,
    /// Harness version.
    pub harness_version: String,
    /// The command line that produced the results.
    pub command: String,
    /// When it was captured (RFC 3339, UTC).
    pub captured_at: String,
}

/// The git commit of the working directory, or "unknown".
pub fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        _ => "unknown".to_string(),
    }
}

/// Where `redis-server` is looked for: `PATH`, then where distributions
/// and `make install` put it.
const REDIS_SERVER_CANDIDATES: [&str; 4] = [
    "redis-server",
    "/usr/bin/redis-server",
    "/usr/sbin/redis-server",
    "/usr/local/bin/redis-server",
];

/// The version `redis-server --version` reports (`7.0.15`), or
/// `unavailable: ...` saying why there is none.
fn redis_server_version() -> String {
    for binary in REDIS_SERVER_CANDIDATES {
        let Ok(output) = std::process::Command::new(binary)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            continue;
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        return stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix("v="))
            .map_or_else(
                || {
                    format!(
                        "unavailable: no v=VERSION in `{binary} --version`: {}",
                        stdout.trim()
                    )
                },
                str::to_owned,
            );
    }
    "unavailable: redis-server not found on PATH (nor in /usr/bin, /usr/sbin, /usr/local/bin)"
        .to_string()
}

/// Captures the environment now.
pub fn capture_environment(command: String, timestamp: String) -> Environment {
    let (cpu_model, memory_bytes) = match sysinfo::System::new() {
        Ok(mut system) => {
            system.refresh_cpu_all();
            system.refresh_memory();
            let model = system
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default();
            (model, system.total_memory())
        }
        Err(_) => (String::from("unknown"), 0),
    };
    let redis_version = redis_server_version();
    Environment {
        host: sysinfo::System::host_name().unwrap_or_default(),
        cpu_model,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes,
        kernel: sysinfo::System::kernel_version().unwrap_or_default(),
        os: sysinfo::System::long_os_version().unwrap_or_default(),
        redis_version,
        git_commit: git_commit(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        command,
        captured_at: timestamp,
    }
}

/// The current time as RFC 3339 UTC, e.g. `2026-11-25T13:05:00Z`.
pub fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_redis_version_is_a_version_or_says_why_not() {
        let version = super::redis_server_version();
        assert!(
            version.starts_with("unavailable: ")
                || version.split('.').all(|part| part.parse::<u32>().is_ok()),
            "{version}"
        );
    }

    #[test]
    fn timestamps_look_like_rfc3339() {
        let now = super::utc_timestamp();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
