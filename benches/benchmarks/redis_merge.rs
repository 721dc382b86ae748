//! Merging one unit's counts into a Redis sorted set, in word updates per
//! second, against a real redis-server the bench starts (loopback, random
//! password, stopped at the end):
//!
//! - `pipelined-per-unit`: one `ZINCRBY key count word` per distinct word,
//!   pipelined 10k per round trip (the default commit path);
//! - `pipelined-per-word`: one `ZINCRBY key 1 word` per occurrence (each
//!   word occurs 1-4 times, 2.5 on average), pipelined the same way;
//! - `eval-batch`: one `EVALSHA` of a Lua loop of `ZINCRBY` over ARGV
//!   carrying the whole batch of distinct words.
//!
//! The sorted set keeps its members between iterations, so most updates
//! hit existing members, as in a job after its first units.

use criterion::{Criterion, Throughput, criterion_group};
use harness::queue::{CommitPath, for_each_pipeline};
use harness::servers::{RedisConfig, RedisServer};
use harness::words::WordCounts;

const PIPELINE_COMMANDS: usize = 10_000;
const LUA_ZINCRBY_LOOP: &str = "for i = 1, #ARGV, 2 do redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i]) end return #ARGV / 2";

fn batch(distinct: usize) -> WordCounts {
    let mut counts = WordCounts::new();
    for i in 0..distinct {
        counts.add(format!("word{i:07}").as_bytes(), 1 + (i % 4) as u64);
    }
    counts
}

fn pipelined(con: &mut redis::Connection, path: CommitPath, key: &str, counts: &WordCounts) {
    for_each_pipeline(path, key, counts, PIPELINE_COMMANDS, |pipe, _last| {
        pipe.query::<()>(con)
    })
    .expect("ZINCRBY pipeline");
}

fn bench_redis_merge(c: &mut Criterion) {
    let server = match RedisServer::start(RedisConfig::default()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("note: redis_merge skipped: {e}");
            return;
        }
    };
    let mut con = redis::Client::open(server.url())
        .and_then(|client| client.get_connection())
        .expect("connect to the bench's redis-server");
    let script = redis::Script::new(LUA_ZINCRBY_LOOP);
    let mut group = c.benchmark_group("redis_merge");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    for distinct in [1_000usize, 10_000, 100_000] {
        let counts = batch(distinct);
        let key = format!("bench:{distinct}");
        for path in [CommitPath::PerUnit, CommitPath::PerWord] {
            group.throughput(Throughput::Elements(path.updates(&counts)));
            group.bench_function(format!("pipelined-{path}/{distinct}"), |b| {
                b.iter(|| pipelined(&mut con, path, &key, &counts))
            });
        }
        let mut invocation = script.key(&key);
        for (word, count) in counts.iter() {
            invocation.arg(word).arg(count);
        }
        group.throughput(Throughput::Elements(distinct as u64));
        group.bench_function(format!("eval-batch/{distinct}"), |b| {
            b.iter(|| {
                invocation
                    .invoke::<u64>(&mut con)
                    .expect("EVALSHA of the ZINCRBY loop")
            })
        });
    }
    group.finish();
    drop(server);
}

criterion_group!(benches, bench_redis_merge);
