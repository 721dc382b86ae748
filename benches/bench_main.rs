//! Criterion benchmarks: `cargo bench` (or `cargo bench -- count` for one group).
//!
//! - `count`: tokenize + count throughput (bytes/s) on real book text and on
//!   synthetic Zipf text.
//! - `merge`: merging partial count maps, as the local modes do at the end.

mod benchmarks;

use criterion::criterion_main;

criterion_main!(benchmarks::count::benches, benchmarks::merge::benches);
