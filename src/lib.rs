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
//! - [`events`]: the per-run event log (who took which unit when).
//! - [`interrupt`]: Ctrl-C as a flag that loops poll, so guards clean up.
//! - [`local`]: the Lab 1 modes (`serial`, `threads`, `processes`).
//! - [`cli`]: the command line: argument structs and one function per command.
//! - [`fsutil`]: writing files whole or not at all.
//! - [`plot`]: PNG line, bar and timeline charts from already-aggregated data.
//! - [`servers`]: redis-server processes the harness starts, kills and restarts.
#![warn(missing_docs)]

pub mod cli;
pub mod events;
pub mod fsutil;
pub mod input;
pub mod interrupt;
pub mod job;
pub mod local;
pub mod plot;
pub mod servers;
pub mod words;
