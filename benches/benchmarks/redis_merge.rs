//! Merging one unit's counts into each merge target, in word updates per
//! second, against a real redis-server the bench starts (loopback, random
//! password, stopped at the end), at 1k / 10k / 200k distinct words:
//!
//! - `zset-per-unit`: one `ZINCRBY key count word` per distinct word,
//!   pipelined 10k per round trip (the lab's default);
//! - `zset-per-word`: one `ZINCRBY key 1 word` per occurrence (each word
//!   occurs 1-4 times, 2.5 on average), pipelined the same way;
//! - `hash-per-unit`: one `HINCRBY key word count` per distinct word;
//! - `parts`: one `SET` of the unit's counts as a binary blob (what the
//!   `parts` target costs the server per commit; its merge happens at the
//!   read, in the client);
//! - `eval-batch`: one `EVALSHA` of a Lua loop of `ZINCRBY` over ARGV
//!   carrying the whole batch (what an inline atomic commit costs).
//!
//! The targets keep their members between iterations, so most updates hit
//! existing members, as in a job after its first units: the cost at 200k
//! is the cost of a book-sized vocabulary.

use criterion::{Criterion, Throughput, criterion_group};
use harness::queue::{CommitPath, MergeTarget, for_each_pipeline};
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

fn pipelined(
    con: &mut redis::Connection,
    path: CommitPath,
    target: MergeTarget,
    key: &str,
    counts: &WordCounts,
) {
    for_each_pipeline(
        path,
        target,
        key,
        counts,
        PIPELINE_COMMANDS,
        |pipe, _last| pipe.query::<()>(con),
    )
    .expect("update pipeline");
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
    for distinct in [1_000usize, 10_000, 200_000] {
        let counts = batch(distinct);
        for (name, path, target) in [
            ("zset-per-unit", CommitPath::PerUnit, MergeTarget::Zset),
            ("zset-per-word", CommitPath::PerWord, MergeTarget::Zset),
            ("hash-per-unit", CommitPath::PerUnit, MergeTarget::Hash),
        ] {
            let key = format!("bench:{name}:{distinct}");
            group.throughput(Throughput::Elements(path.updates(&counts)));
            group.bench_function(format!("{name}/{distinct}"), |b| {
                b.iter(|| pipelined(&mut con, path, target, &key, &counts))
            });
        }
        let mut blob = Vec::new();
        counts.write_binary(&mut blob).expect("encode a part");
        let key = format!("bench:parts:{distinct}");
        group.throughput(Throughput::Elements(distinct as u64));
        group.bench_function(format!("parts/{distinct}"), |b| {
            b.iter(|| {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&blob)
                    .query::<()>(&mut con)
                    .expect("SET of a part")
            })
        });
        let key = format!("bench:eval:{distinct}");
        let mut invocation = script.key(&key);
        for (word, count) in counts.iter() {
            invocation.arg(word).arg(count);
        }
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
