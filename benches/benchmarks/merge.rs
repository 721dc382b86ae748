//! Merging partial count maps (what the local modes do after the workers
//! finish), in distinct words merged per second.

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use harness::words::{DEFAULT_CHUNK_BYTES, TableSeeds, Tokenizer, WordCounts};

/// The counts of `text` in a map hashing with `seeds`.
fn partial(text: &[u8], seeds: TableSeeds) -> WordCounts {
    let mut counts = WordCounts::with_seeds(seeds);
    counts
        .count_reader(text, Tokenizer::Whitespace, true, DEFAULT_CHUNK_BYTES)
        .expect("reading memory cannot fail");
    counts
}

fn bench_merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    let text = super::synthetic_text(32_000_000);
    let (left, right) = text.split_at(text.len() / 2);
    let cut = left
        .iter()
        .rposition(|b| b.is_ascii_whitespace())
        .unwrap_or(0);
    let (first, second) = (&left[..cut], [&left[cut..], right].concat());
    // Own seeds per map (a merge jumps around memory) and shared seeds (the
    // local modes: the merge walks both tables in order, one thread per core).
    for (name, seeds) in [
        ("own-seeds", None),
        ("shared-seeds", Some(TableSeeds::random())),
    ] {
        let a = partial(first, seeds.unwrap_or_else(TableSeeds::random));
        let b = partial(&second, seeds.unwrap_or_else(TableSeeds::random));
        group.throughput(Throughput::Elements(b.distinct() as u64));
        let id = format!("two-halves-{}-distinct-{name}", a.distinct());
        group.bench_function(id, |bench| {
            bench.iter_batched(
                || (a.clone(), b.clone()),
                |(mut x, y)| x.merge(y),
                BatchSize::LargeInput,
            )
        });
    }
    let b = partial(&second, TableSeeds::random());
    let mut encoded = Vec::new();
    b.write_binary(&mut encoded)
        .expect("writing memory cannot fail");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.bench_function("decode-binary-partial", |bench| {
        bench.iter(|| {
            let mut back = WordCounts::new();
            back.read_binary(&encoded[..]).expect("valid encoding");
            back.distinct()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_merge);
