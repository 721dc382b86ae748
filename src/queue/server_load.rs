//! What the server itself says it spent on a job: `INFO cpu` (its CPU
//! seconds) and `INFO commandstats` (calls and microseconds per command,
//! commands run inside Functions included), read before the workers start
//! and after Redis says the job is done. These are the rates a user can
//! trust when several workers wait on one single-threaded server; the
//! workers' own merge time counts every wait twice.

use std::collections::HashMap;

use redis::Connection;

/// A reading of the server's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerLoad {
    /// `used_cpu_user + used_cpu_sys`, seconds.
    pub cpu_s: f64,
    /// Per command (lower case): calls and microseconds.
    pub commands: HashMap<String, (u64, u64)>,
}

impl ServerLoad {
    /// Reads `INFO cpu` and `INFO commandstats`; `None` when the server
    /// refuses `INFO` (e.g. an external server that renamed it): the
    /// server-side figures are then left at 0, nothing fails.
    pub(crate) fn read(con: &mut Connection) -> Option<ServerLoad> {
        let cpu: String = redis::cmd("INFO").arg("cpu").query(con).ok()?;
        let commands: String = redis::cmd("INFO").arg("commandstats").query(con).ok()?;
        Some(ServerLoad::parse(&cpu, &commands))
    }

    /// Parses the two `INFO` sections.
    pub(crate) fn parse(cpu: &str, commandstats: &str) -> ServerLoad {
        let field = |name: &str| {
            cpu.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|value| value.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let mut commands = HashMap::new();
        for line in commandstats.lines() {
            // cmdstat_zincrby:calls=10,usec=20,usec_per_call=2.00,...
            let Some((name, stats)) = line
                .trim()
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let value = |key: &str| {
                stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            commands.insert(name.to_ascii_lowercase(), (value("calls"), value("usec")));
        }
        ServerLoad {
            cpu_s: field("used_cpu_user") + field("used_cpu_sys"),
            commands,
        }
    }

    /// What happened between `before` and `self`.
    pub(crate) fn since(&self, before: &ServerLoad) -> ServerLoad {
        let commands = self
            .commands
            .iter()
            .map(|(name, &(calls, usec))| {
                let (was_calls, was_usec) = before.commands.get(name).copied().unwrap_or((0, 0));
                (
                    name.clone(),
                    (
                        calls.saturating_sub(was_calls),
                        usec.saturating_sub(was_usec),
                    ),
                )
            })
            .collect();
        ServerLoad {
            cpu_s: (self.cpu_s - before.cpu_s).max(0.0),
            commands,
        }
    }

    /// Calls and microseconds of `command` (lower case).
    pub(crate) fn of(&self, command: &str) -> (u64, u64) {
        self.commands.get(command).copied().unwrap_or((0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU: &str =
        "# CPU\r\nused_cpu_sys:1.50\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9\r\n";
    const STATS: &str = "# Commandstats\r\ncmdstat_zincrby:calls=10,usec=25,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\ncmdstat_fcall:calls=2,usec=40,usec_per_call=20.00\r\n";

    #[test]
    fn info_sections_parse() {
        let load = ServerLoad::parse(CPU, STATS);
        assert_eq!(load.cpu_s, 3.75);
        assert_eq!(load.of("zincrby"), (10, 25));
        assert_eq!(load.of("fcall"), (2, 40));
        assert_eq!(load.of("hincrby"), (0, 0));
    }

    #[test]
    fn differences_are_taken_per_command() {
        let before = ServerLoad::parse(CPU, "cmdstat_zincrby:calls=4,usec=5\r\n");
        let after = ServerLoad::parse("used_cpu_sys:2.5\r\nused_cpu_user:2.25\r\n", STATS);
        let job = after.since(&before);
        assert_eq!(job.of("zincrby"), (6, 20));
        assert_eq!(job.of("fcall"), (2, 40));
        assert!((job.cpu_s - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_real_server_reports_its_commands() {
        use crate::test_support::{RedisConfig, RedisServer};
        let server = RedisServer::start(RedisConfig::default()).unwrap();
        let mut con = redis::Client::open(server.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let before = ServerLoad::read(&mut con).unwrap();
        for _ in 0..5 {
            let _: f64 = redis::cmd("ZINCRBY")
                .arg("z")
                .arg(1)
                .arg("w")
                .query(&mut con)
                .unwrap();
        }
        let job = ServerLoad::read(&mut con).unwrap().since(&before);
        assert_eq!(job.of("zincrby").0, 5);
    }
}
