//! Tokenize + count throughput in bytes per second: the hot path of every
//! mode, streamed through the same chunked reader the modes use.

use criterion::{Criterion, Throughput, criterion_group};
use harness::words::{DEFAULT_CHUNK_BYTES, Tokenizer, WordCounts};

fn count_all(text: &[u8], tokenizer: Tokenizer) -> usize {
    let mut counts = WordCounts::new();
    counts
        .count_reader(text, tokenizer, true, DEFAULT_CHUNK_BYTES)
        .expect("reading memory cannot fail");
    counts.distinct()
}

fn bench_count(c: &mut Criterion) {
    let mut group = c.benchmark_group("count");
    group.sample_size(10);
    let mut inputs = vec![("synthetic-16MB", super::synthetic_text(16_000_000))];
    match super::book_text(16_000_000) {
        Some(books) => inputs.push(("books-16MB", books)),
        None => {
            eprintln!("note: ../shared/corpus/gutenberg not found; book-text benchmark skipped")
        }
    }
    for (name, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        for tokenizer in [Tokenizer::Whitespace, Tokenizer::Alnum] {
            group.bench_function(format!("{name}/{tokenizer}"), |b| {
                b.iter(|| count_all(text, tokenizer))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_count);
