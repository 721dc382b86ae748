//! Merging partial count maps (what the local modes do after the workers
//! finish), in distinct words merged per second.

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use harness::words::{DEFAULT_CHUNK_BYTES, Tokenizer, WordCounts};

fn partial(text: &[u8]) -> WordCounts {
    let mut counts = WordCounts::new();
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
    let (a, b) = (
        partial(&left[..cut]),
        partial(&[&left[cut..], right].concat()),
    );
    group.throughput(Throughput::Elements(b.distinct() as u64));
    group.bench_function(format!("two-halves-{}-distinct", a.distinct()), |bench| {
        bench.iter_batched(
            || (a.clone(), b.clone()),
            |(mut x, y)| x.merge(y),
            BatchSize::LargeInput,
        )
    });
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
