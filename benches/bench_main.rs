//! Criterion benchmarks: `cargo bench` (or `cargo bench -- count` for one group).
//!
//! - `count`: tokenize + count throughput (bytes/s) on real book text and on
//!   synthetic Zipf text.
//! - `merge`: merging partial count maps, as the local modes do at the end.
//! - `redis_merge`: merging a unit's counts into a Redis sorted set (pipelined
//!   ZINCRBY per distinct word or per occurrence, or one Lua EVAL), against a
//!   redis-server the bench starts.

mod benchmarks;

use criterion::criterion_main;

criterion_main!(
    benchmarks::count::benches,
    benchmarks::merge::benches,
    benchmarks::redis_merge::benches
);
