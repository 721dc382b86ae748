//! `harness`: an experiment harness around a distributed word count whose
//! stateless worker processes coordinate through Redis.
//!
//! # Layout
//!
//! Data flows one way: inputs -> units of work -> a mode (local or Redis)
//! -> counts checked against the serial oracle -> CSV rows -> plots.
//!
//! - [`words`]: the word definition, counting, merging and output order.
//! - [`input`]: walking paths into files and cutting files into units.
//! - [`job`]: one execution of one mode over one input, with its timings.
//! - [`experiment`]: TOML experiments, matrix expansion, the runner and the oracle check.
//! - [`events`]: the per-run event log (who took which unit when); lives in
//!   [`results::events`], re-exported here for the queue and the worker.
//! - [`interrupt`]: Ctrl-C as a flag that loops poll, so guards clean up.
//! - [`local`]: the Lab 1 modes (`serial`, `threads`, `processes`).
//! - [`lab`]: `harness lab`, the whole lab as one run: every experiment at one scale
//!   (or the largest that fits a time budget), the plots, the report.
//! - [`chaos`]: `harness chaos`, seeded fault schedules against the real system, each checked.
//! - [`cli`]: the command line: argument structs and one function per command.
//! - [`fsutil`]: writing files whole or not at all.
//! - [`hosts`]: emulated hosts: network namespaces, veth pairs to a bridge, `tc netem` links, partitions.
//! - [`results`]: the result files (CSV rows appended whole, sidecars, event logs,
//!   plot specs), the environment capture, and the aggregation plots and the report share.
//!   The row is declared once (`run_row!` in `results::row`): each measured
//!   column says how it is read from a finished job and whether `harness
//!   count`'s summary shows it.
//! - [`plot`]: PNG line, bar and Gantt charts of results (depends on `results` only).
//! - [`report`]: the Markdown and HTML lab report from every results CSV (depends on `results` only).
//! - [`servers`]: redis-server processes the harness starts, kills and restarts.
//! - [`params`]: the run parameters, each defined once (TOML key, flag, validation, CSV text).
//! - [`queue`]: the Redis work queue (stream and lease backends, commit paths) and
//!   what a worker measures (`WorkerMeasures`: each field once, with how it combines).
//! - [`redis_run`]: one `redis`-mode job: server, enqueue, worker processes, faults, waiting until Redis says done.
//! - [`remote`]: jobs across machines: `harness worker` joins a queued job from any host.
//! - [`worker`]: the stateless `redis-worker` process loop (take, count, commit; reconnects).
//! - [`exit_code`]: the exit codes of every process, one table.
//! - [`faults`]: crash points, CPU throttling of stragglers (cgroups, SIGSTOP fallback), Redis kill schedules.
//!
//! # Public surface
//!
//! Everything inside is `pub(crate)` unless the binary, the integration
//! tests (`tests/`) or the benchmarks (`benches/`) need it: the binary uses
//! [`cli`] (`Cli`, `run`, `exit_code_of`, `is_broken_pipe`); tests and
//! benchmarks use the word count ([`words`]), units ([`input`]), the Redis
//! servers and queue they drive directly ([`servers`], [`queue`], [`worker`]),
//! the event log ([`events`]), the parameter and column lists behind the
//! generated docs ([`experiment`], [`results`], [`report`]), the plot
//! layout checks ([`plot`]) and [`exit_code`]. A `pub` item elsewhere is
//! one of those, or a type their signatures name.
#![warn(missing_docs)]

pub mod chaos;
pub mod cli;
pub mod exit_code;
pub mod experiment;
pub mod faults;
pub mod fsutil;
pub mod hosts;
pub mod input;
pub mod interrupt;
pub mod job;
pub mod lab;
pub mod local;
pub mod params;
pub mod plot;
pub mod queue;
pub mod redis_run;
pub mod remote;
pub mod report;
pub mod results;
pub mod servers;
pub mod words;
pub mod worker;

pub use results::events;

/// What unit tests inside lower rooms need from higher ones: `queue`'s
/// tests start a real Redis through here, so `queue` names no room above it.
#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use crate::servers::{RedisConfig, RedisServer};
}
